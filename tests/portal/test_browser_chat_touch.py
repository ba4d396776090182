"""Chat on a 390 × 844 touch phone: message actions by tap and keyboard ("⋯"), threads
that open in view, reply counts that stay right after joining, and the page of a
channel locked to a higher tier."""

import pytest
from conftest import make_partner
from test_browser import log_in

from core.base.extensions import db


def touch_phone(browser, base):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, base_url=base,
                              has_touch=True, is_mobile=True)
    return ctx.new_page()


def wait_joined(page):
    """Until the chat's socket is connected (polled here: the CSP refuses in-page eval
    polling), then a moment for the join's catch-up to be applied."""
    for _ in range(200):
        if page.evaluate("!!(window.sisoSocket && window.sisoSocket.connected)"):
            break
        page.wait_for_timeout(50)
    else:
        raise AssertionError("the chat never connected")
    page.wait_for_timeout(800)


def in_view(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844


def seed_message(author_email: str, text: str, replies: int = 0) -> int:
    from core.accounts.models import User
    from core.community.chat import get_channel_for, post_message

    user = db.session.scalar(db.select(User).where(User.email == author_email))
    general = get_channel_for(user, "general")
    msg = post_message(user, general, text, slow_mode=False)
    db.session.flush()
    for i in range(replies):
        post_message(user, general, f"Reply {i + 1}", parent_id=msg.id, slow_mode=False)
    db.session.commit()
    return msg.id


@pytest.mark.browser
def test_message_actions_by_tap_and_thread_opens_in_view(app, live_server, browser):
    """Sarah taps "⋯" on her message: React, Reply, Edit and Delete appear (no hover
    needed); 👍 adds her reaction. "⋯" → Reply opens the thread as a panel in view, its
    reply box on screen; her reply shows there, and closing it shows "1 reply"."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        for i in range(12):  # enough messages that the composer is far down the page
            seed_message("sarah@example.com", f"Earlier message {i}")
        seed_message("sarah@example.com", "Who has a dental case study?")
    page = touch_phone(browser, live_server)
    log_in(page, "sarah@example.com")
    page.goto("/partner/chat/general")
    wait_joined(page)
    msg = page.locator("#messages li.msg", has_text="Who has a dental case study?")
    more = msg.get_by_role("button", name="Actions for Sarah Thompson's message")
    assert more.is_visible()
    more.tap()
    assert more.get_attribute("aria-expanded") == "true"
    bar = msg.get_by_role("group", name="Message actions")
    for name in ("React 👍", "Reply", "Edit", "Delete"):
        assert bar.get_by_role("button", name=name).is_visible(), name
    bar.get_by_role("button", name="React 👍").tap()
    msg = page.locator("#messages li.msg", has_text="Who has a dental case study?")
    msg.locator(".reaction", has_text="👍").wait_for(timeout=5000)
    msg.get_by_role("button", name="Actions for Sarah Thompson's message").tap()
    msg.get_by_role("group", name="Message actions").get_by_role("button", name="Reply").tap()
    thread = page.get_by_role("complementary", name="Thread")
    thread.wait_for()
    assert in_view(page, thread.get_by_role("heading", name="Thread"))
    reply_box = page.get_by_label("Reply in thread")
    assert in_view(page, reply_box)
    reply_box.fill("Here is one from GreenLeaf")
    reply_box.press("Enter")
    thread.get_by_text("Here is one from GreenLeaf").wait_for(timeout=5000)
    page.get_by_role("button", name="Close thread").tap()
    assert thread.is_hidden()
    msg = page.locator("#messages li.msg", has_text="Who has a dental case study?")
    assert msg.get_by_role("button", name="1 reply").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.browser
def test_message_actions_by_keyboard(app, live_server, browser):
    """With the keyboard: Enter on "⋯" opens the actions and moves focus to the first;
    Escape closes them and puts focus back on "⋯"."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        seed_message("sarah@example.com", "Keyboard message")
    page = touch_phone(browser, live_server)
    log_in(page, "sarah@example.com")
    page.goto("/partner/chat/general")
    wait_joined(page)
    more = page.get_by_role("button", name="Actions for Sarah Thompson's message")
    more.focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "React 👍"
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.classList.contains('msg-more')")
    assert more.get_attribute("aria-expanded") == "false"


@pytest.mark.browser
def test_reply_count_is_right_after_joining_and_a_live_reply(app, live_server, browser):
    """A message with 2 replies shows "2 replies" after the page has joined the channel
    (the catch-up replays the newest reply; it is not counted again); one more reply
    posted by Mike makes it "3 replies", once."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        make_partner("Mike Reyes", email="mike@example.com")
        parent = seed_message("mike@example.com", "Thread starter", replies=2)
    page = touch_phone(browser, live_server)
    log_in(page, "sarah@example.com")
    page.goto("/partner/chat/general")
    wait_joined(page)
    msg = page.locator("#messages li.msg", has_text="Thread starter")
    assert msg.locator(".replies").inner_text() == "2 replies"
    page.reload()
    wait_joined(page)
    assert msg.locator(".replies").inner_text() == "2 replies"
    with app.app_context():
        from core.accounts.models import User
        from core.community.chat import get_channel_for, post_message

        mike = db.session.scalar(db.select(User).where(User.email == "mike@example.com"))
        post_message(mike, get_channel_for(mike, "general"), "Third", parent_id=parent,
                     slow_mode=False)
        db.session.commit()
    msg.get_by_role("button", name="3 replies").wait_for(timeout=5000)
    page.wait_for_timeout(500)
    assert msg.locator(".replies").inner_text() == "3 replies"


@pytest.mark.browser
def test_starter_opening_a_locked_channel_reads_when_it_unlocks(app, live_server, browser):
    """A Starter following a link to #elite-council reads "#elite-council unlocks at
    Elite", how many deals that takes, and a way to her progress; not "No such
    channel"."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
    page = touch_phone(browser, live_server)
    log_in(page, "sarah@example.com")
    resp = page.goto("/partner/chat/elite-council")
    assert resp.status == 403
    assert page.get_by_role("heading", name="#elite-council unlocks at Elite").is_visible()
    assert page.get_by_text("25 confirmed won deals").is_visible()
    assert page.get_by_text("No such channel").count() == 0
    page.get_by_role("link", name="See your progress").tap()
    page.wait_for_url("**/partner/tier-progression")
