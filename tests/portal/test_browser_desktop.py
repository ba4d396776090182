"""The desktop layout at 1440 × 900 (same pages and URLs as the phone): a side navigation
instead of a stretched tab bar, a two-column dashboard, the whole pipeline visible, and
chat with channels, messages and an open thread side by side."""

import os

import pytest
from conftest import make_partner
from test_browser import OUT, log_in
from test_browser_fit import fill_portal, partner_pages

from core.base.extensions import db


def wide(browser, base):
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=base)
    return ctx.new_page()


@pytest.mark.browser
def test_side_navigation_dashboard_columns_and_full_pipeline(app, live_server, browser):
    """At 1440 px the navigation is a column on the left with every section (Team,
    Leaderboard, Training... too), the leaderboard's own entry lit; the dashboard's tier
    card and onboarding sit side by side; all six pipeline columns, "lost" included, are
    on screen with no sideways scrolling. No page is wider than the window."""
    with app.app_context():
        ids = fill_portal()
        db.session.remove()
    page = wide(browser, live_server)
    log_in(page, "lena@example.com")
    nav = page.get_by_role("navigation", name="Main")
    box = nav.bounding_box()
    assert box["x"] == 0 and box["width"] <= 240 and box["height"] > 600, box
    for name in ("Home", "Leads", "Chat", "Earnings", "Materials", "Team", "Leaderboard",
                 "Training", "Playbooks", "Support"):
        assert nav.get_by_role("link", name=name, exact=True).is_visible(), name
    main = page.locator("main").bounding_box()
    assert main["x"] >= box["width"]
    columns = {round(b["x"]) for b in page.locator("main > section.card").evaluate_all(
        "(els) => els.map((e) => e.getBoundingClientRect().toJSON())")}
    assert len(columns) >= 2, columns  # two columns of cards
    os.makedirs(OUT, exist_ok=True)
    page.screenshot(path=os.path.join(OUT, "desktop-dashboard.png"))
    page.goto("/partner/leaderboard")
    assert nav.get_by_role("link", name="Leaderboard").get_attribute("aria-current") == "page"
    page.goto("/partner/leads")
    for stage in ("new", "contacted", "qualified", "proposal", "won", "lost"):
        col = page.locator("section.column", has=page.locator(f"#st-{stage}")).bounding_box()
        assert col["x"] >= 0 and col["x"] + col["width"] <= 1440, stage
        assert col["width"] >= 150, (stage, col)
    assert page.evaluate("document.querySelector('.pipeline').scrollWidth <= "
                         "document.querySelector('.pipeline').clientWidth")
    page.screenshot(path=os.path.join(OUT, "desktop-pipeline.png"))
    too_wide = {}
    for url in partner_pages(ids):
        page.goto(url)
        if page.evaluate("document.documentElement.scrollWidth") > 1440:
            too_wide[url] = page.evaluate("document.documentElement.scrollWidth")
    assert too_wide == {}


@pytest.mark.browser
def test_chat_channels_messages_and_thread_side_by_side(app, live_server, browser):
    """At 1440 px the channel list, the messages and an opened thread are three panes
    next to each other, all on screen; closing the thread gives the messages the room."""
    from test_browser_chat_touch import seed_message, wait_joined

    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        seed_message("sarah@example.com", "Desktop thread starter", replies=1)
    page = wide(browser, live_server)
    log_in(page, "sarah@example.com")
    page.goto("/partner/chat/general")
    wait_joined(page)
    page.locator("#messages li.msg", has_text="Desktop thread starter").get_by_role(
        "button", name="1 reply").click()
    thread = page.get_by_role("complementary", name="Thread")
    thread.get_by_text("Reply 1").wait_for(timeout=5000)
    channels = page.get_by_role("navigation", name="Channels").bounding_box()
    messages = page.locator(".chat-main").bounding_box()
    pane = thread.bounding_box()
    assert channels["x"] + channels["width"] <= messages["x"]
    assert messages["x"] + messages["width"] <= pane["x"]
    assert pane["x"] + pane["width"] <= 1440
    assert abs(channels["y"] - messages["y"]) < 40 and abs(messages["y"] - pane["y"]) < 40
    assert page.get_by_label("Message #general-chat").is_visible()
    assert page.get_by_label("Reply in thread").is_visible()
    page.screenshot(path=os.path.join(OUT, "desktop-chat-thread.png"))
    page.get_by_role("button", name="Close thread").click()
    assert page.locator(".chat-main").bounding_box()["width"] > messages["width"]
