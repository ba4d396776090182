"""The events page in headless Chromium on a 390 px phone: RSVP, the join link appearing,
cancel, and the calendar link (rules: "Events")."""

import os
from datetime import UTC, datetime, timedelta

import pytest
from conftest import make_partner, make_staff
from test_browser import OUT, log_in, phone

from core.base.extensions import db
from core.events import events

JOIN = "https://meet.example.com/phone-room"


@pytest.mark.browser
def test_rsvp_on_a_phone(app, live_server, browser):
    """A partner in Sydney sees the start in AEST, taps RSVP, sees "Going" and the join
    link, gets a calendar link; the page fits 390 px without sideways scrolling; cancel
    takes the link away again."""
    start = datetime(2027, 7, 1, 9, 0, tzinfo=UTC)
    with app.app_context():
        actor = make_staff("content@example.com", ("content",))
        e = events.create_event(actor, {
            "kind": "live_training", "title": "Your first 30 days", "starts_at": start,
            "ends_at": start + timedelta(hours=1), "timezone": "UTC", "host": "Priya",
            "join_url": JOIN, "capacity": 20, "description": "Setting up your pipeline."})
        p = make_partner("Sid Sydney", email="sid@example.com")
        p.timezone = "Australia/Sydney"
        db.session.commit()
        eid = e.id
    page = phone(browser, live_server)
    log_in(page, "sid@example.com")
    page.get_by_role("navigation", name="More").get_by_role("link", name="Events").click()
    page.wait_for_url("**/partner/events")
    card = page.locator(f"#event-{eid}")
    assert "Thu 01 Jul 2027, 19:00–20:00 AEST" in card.inner_text()
    assert card.get_by_role("link", name="Join link").count() == 0
    card.get_by_role("button", name="RSVP").click()
    page.wait_for_url(f"**/partner/events#event-{eid}")
    card = page.locator(f"#event-{eid}")
    assert "Going" in card.inner_text()
    assert card.get_by_role("link", name="Join link").get_attribute("href") == JOIN
    assert page.get_by_role("status").first.inner_text().startswith("You're going")
    page.get_by_role("button", name="Get my calendar link").click()
    assert "/partner/calendar.ics?token=" in page.locator("#feed-url").input_value()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    os.makedirs(OUT, exist_ok=True)
    page.screenshot(path=os.path.join(OUT, "portal-events-390.png"), full_page=True)
    page.locator(f"#event-{eid}").get_by_role("button", name="Cancel my RSVP").click()
    page.wait_for_url("**/partner/events*")
    card = page.locator(f"#event-{eid}")
    assert card.get_by_role("link", name="Join link").count() == 0
    assert card.get_by_role("button", name="RSVP").is_visible()
    page.context.close()
