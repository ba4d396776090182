"""Engagement on a 390 × 844 phone: the dashboard's goal card with the pace, and the badge
page with earned badges and what is left, with nothing wider than the screen."""

from datetime import UTC, datetime

import pytest
from conftest import make_partner
from test_browser import log_in, phone

from core.base.extensions import db
from core.engagement.badges import award_badges_now
from core.engagement.goals import set_goals
from core.program.leads import create_lead


@pytest.mark.browser
def test_dashboard_goal_and_badge_page_on_a_phone(app, live_server, browser):
    """A partner with a goal of 4 deals and $20,000 and two leads logged reads "0 of 4
    deals", the pace needed and their level and streak on the dashboard; the badges link
    opens the badge page with First Lead earned and Prospector at 2 / 10."""
    with app.app_context():
        p = make_partner("Mo Mobile", email="mo@example.com")
        set_goals(p, {"goal_deals": 4, "goal_revenue_cents": 2_000_000,
                      "experience_level": "beginner"})
        for name in ("Bella Cucina", "FitLife Gym"):
            create_lead(p, {"company_name": name}, p.user_id)
        db.session.commit()
        award_badges_now()
        db.session.commit()
    page = phone(browser, live_server)
    log_in(page, "mo@example.com")
    goal = page.locator("#goal")
    assert goal.get_by_role("heading", name="This month's goal").is_visible()
    assert "0 of 4 deals" in goal.inner_text()
    assert "$0.00 of $20,000.00" in goal.inner_text()
    days_left = (datetime(*(datetime.now(UTC).year + (datetime.now(UTC).month == 12),
                            datetime.now(UTC).month % 12 + 1, 1))
                 - datetime(*datetime.now(UTC).timetuple()[:3])).days
    assert "To reach it:" in goal.inner_text() and f"{days_left} day" in goal.inner_text()
    assert page.locator("#xp-total").inner_text() == "20 XP"
    assert page.locator("#level-name").inner_text() == "Rookie"
    assert "Weekly streak: 1 week" in page.locator("#streak").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("#badges-link").click()
    page.wait_for_url("**/partner/badges")
    assert page.get_by_role("heading", name="Badges", level=1).is_visible()
    first = page.locator('[data-badge="first_lead"]')
    assert first.is_visible() and "Earned" in first.inner_text()
    prospector = page.locator('[data-badge="leads_10"]')
    prospector.scroll_into_view_if_needed()
    assert "2 / 10" in prospector.inner_text()
    assert page.get_by_role("heading", name="Teams").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = prospector.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
