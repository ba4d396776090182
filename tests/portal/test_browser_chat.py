"""Two partners in two headless Chromium pages (rules: "Chat"): each sees the other's
typing indicator, message and reaction live."""

import os

import pytest
from conftest import make_partner
from test_browser import OUT, desktop, log_in


@pytest.mark.browser
def test_two_pages_see_message_reaction_and_typing(app, live_server, browser):
    """Sarah types (Mike sees "Sarah Thompson is typing…"), sends **bold** text (Mike sees
    it bold, markup never raw HTML), Mike reacts 🎉 and Sarah sees the count; the unread
    badge of another channel counts a message posted there."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        make_partner("Mike Reyes", email="mike@example.com")
    sarah, mike = desktop(browser, live_server), desktop(browser, live_server)
    log_in(sarah, "sarah@example.com")
    log_in(mike, "mike@example.com")
    for p in (sarah, mike):
        p.goto("/partner/chat/general")
        p.wait_for_function("() => document.getElementById('conn-state') !== null && window.io")
    mike.wait_for_timeout(500)
    box = sarah.get_by_label("Message #general-chat")
    box.press_sequentially("Closed **TechCorp** <img src=x>", delay=10)
    mike.get_by_text("Sarah Thompson is typing…").wait_for(timeout=5000)
    box.press("Enter")
    mike.locator("#messages li.msg strong", has_text="TechCorp").wait_for(timeout=5000)
    assert mike.locator("#messages img").count() == 0
    assert mike.get_by_text("<img src=x>").count() == 1
    msg = mike.locator("#messages li.msg").last
    msg.hover()
    msg.get_by_role("button", name="React 🎉").click()
    sarah.locator("#messages li.msg .reaction", has_text="🎉").wait_for(timeout=5000)
    assert sarah.locator("#messages li.msg .reaction .count").last.inner_text() == "1"
    mike.wait_for_function("() => document.getElementById('typing').textContent === ''",
                           timeout=10000)
    os.makedirs(OUT, exist_ok=True)
    sarah.screenshot(path=os.path.join(OUT, "chat-desktop.png"))


@pytest.mark.browser
def test_jump_to_first_unread_reaches_past_the_first_page(app, live_server, browser):
    """Mike read up to "Last one Mike read"; 120 messages came since. The page opens on
    the newest 50, and "Jump to first unread" loads older pages until it can show the
    first message he has not read."""
    from conftest import make_staff

    from core.accounts.models import User
    from core.base.extensions import db
    from core.community.chat import get_channel_for, mark_read, post_message

    with app.app_context():
        make_partner("Mike Reyes", email="mike@example.com")
        staff = make_staff("host@example.com", ("admin",))
        mike = db.session.scalar(db.select(User).where(User.email == "mike@example.com"))
        general = get_channel_for(staff, "general")
        read = post_message(staff, general, "Last one Mike read")
        db.session.flush()
        mark_read(mike, general, read.id)
        unread = [post_message(staff, general, f"While Mike was away {i}") for i in range(120)]
        db.session.commit()
        first_unread = unread[0].id
    page = browser.new_context(viewport={"width": 390, "height": 844},
                               base_url=live_server).new_page()
    log_in(page, "mike@example.com")
    page.goto("/partner/chat/general")
    assert page.locator(f"#m{first_unread}").count() == 0  # not on the first page
    page.wait_for_function("() => window.sisoSocket !== undefined")
    jump = page.locator("#jump-unread")
    assert jump.inner_text() == "Jump to first unread"
    jump.click()
    target = page.locator(f"#m{first_unread}")
    target.wait_for(state="attached", timeout=10000)
    assert "While Mike was away 0" in target.inner_text()
    page.wait_for_timeout(300)
    box = target.bounding_box()
    assert box is not None and 0 <= box["y"] <= 844, box


@pytest.mark.browser
def test_a_new_channel_appears_in_an_open_sidebar(app, live_server, browser):
    """Content staff open #dental-sales while Sarah has chat open: the channel shows in
    her sidebar without a reload and opens when she taps it. A channel for Performers
    and up does not show to her (a Starter), neither live nor after a reload."""
    from conftest import make_staff

    from core.accounts.models import User
    from core.base.extensions import db
    from core.community import moderation

    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        staff_id = make_staff("content@example.com", roles=("content",)).id
    sarah = desktop(browser, live_server)
    log_in(sarah, "sarah@example.com")
    sarah.goto("/partner/chat/general")
    for _ in range(100):  # the socket must be up before staff act
        if sarah.evaluate("!!(window.sisoSocket && window.sisoSocket.connected)"):
            break
        sarah.wait_for_timeout(50)
    sarah.wait_for_timeout(300)
    with app.app_context():
        staff = db.session.get(User, staff_id)
        moderation.create_channel(staff, "vip-lounge", "VIP lounge", min_tier_key="performer")
        moderation.create_channel(staff, "dental-sales", "Dental <b>sales</b>")
        db.session.commit()
    link = sarah.locator(".channels a", has_text="Dental <b>sales</b>")
    link.wait_for(timeout=5000)
    assert sarah.locator(".channels b").count() == 0  # the name is text, not markup
    assert sarah.locator(".channels a", has_text="VIP lounge").count() == 0
    link.click()
    sarah.wait_for_url("**/partner/chat/dental-sales")
    assert sarah.locator(".channels a[aria-current=page]", has_text="Dental").count() == 1
    assert sarah.locator(".channels a", has_text="VIP lounge").count() == 0


@pytest.mark.browser
def test_two_pages_on_two_eventlet_processes(app, db_url, browser):
    """Production's mode: Sarah's page is served by one eventlet process and Mike's by
    another, Redis between them. Chromium opens the socket by long-polling, upgrades it
    to a compressed WebSocket, and from then on broadcasts are written straight to it
    (web.fanout): Mike sees Sarah's message rendered, Sarah sees Mike's reaction."""
    from test_chat_cluster import start_servers, stop_servers

    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        make_partner("Mike Reyes", email="mike@example.com")
    urls, procs = start_servers(db_url, "eventlet")
    try:
        sarah, mike = desktop(browser, urls[0]), desktop(browser, urls[1])
        sockets = []
        mike.on("websocket", lambda ws: sockets.append(ws.url))
        log_in(sarah, "sarah@example.com")
        log_in(mike, "mike@example.com")
        for p in (sarah, mike):
            p.goto("/partner/chat/general")
            p.wait_for_function("() => window.sisoSocket && window.sisoSocket.connected")
        mike.wait_for_function("() => window.sisoSocket.io.engine.transport.name === 'websocket'",
                               timeout=10000)
        mike.wait_for_timeout(500)
        box = sarah.get_by_label("Message #general-chat")
        box.fill("Live on **two** processes")
        box.press("Enter")
        mike.locator("#messages li.msg strong", has_text="two").wait_for(timeout=5000)
        msg = mike.locator("#messages li.msg").last
        msg.hover()
        msg.get_by_role("button", name="React 🎉").click()
        sarah.locator("#messages li.msg .reaction", has_text="🎉").wait_for(timeout=5000)
        assert sarah.locator("#messages li.msg .reaction .count").last.inner_text() == "1"
        assert any("transport=websocket" in u for u in sockets)
    finally:
        stop_servers(procs)
