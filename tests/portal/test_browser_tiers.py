"""Tier progress on a 390 × 844 phone: a page title, the history with tier names, no
"Days in tier: 0 ✓", training named as a step for a Starter, and an Elite's link that
leads to their benefits."""

import pytest
from conftest import make_partner
from test_browser import log_in, phone

from core.base.extensions import db


@pytest.mark.browser
def test_starter_sees_deals_and_training_needed(app, live_server, browser):
    """A Starter with no deals and the two required modules not passed reads "3 more deals
    and 2 required training modules to Active" on the dashboard and the tier page, which
    has the heading "Tier progress", a link to training, and no "Days in tier" checkmark."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com", training=False)
    page = phone(browser, live_server)
    log_in(page, "sarah@example.com")
    step = "3 more deals and 2 required training modules to Active"
    assert page.get_by_text(step).is_visible()
    page.get_by_role("link", name="See what unlocks next").click()
    assert page.get_by_role("heading", name="Tier progress", level=1).is_visible()
    assert page.title().startswith("Tier progress")
    assert page.get_by_text(step).is_visible()
    assert page.get_by_role("heading", name="Unlocks at Active").is_visible()
    assert page.get_by_text("Days in tier").count() == 0
    assert "0 days" in page.locator("#tier-since").inner_text()
    assert page.get_by_role("link", name="Go to training").is_visible()


@pytest.mark.browser
def test_elite_history_names_the_tiers_and_the_link_leads_somewhere(app, live_server, browser):
    """An Elite partner promoted three times reads "Promoted to Active (from Starter)",
    "… Performer (from Active)", "… Elite (from Performer)"; the dashboard's link reads
    "Your Elite benefits" and opens the page on the list of Elite benefits."""
    with app.app_context():
        make_partner("Eli Elite", email="eli@example.com", deals=25)
        db.session.remove()
    page = phone(browser, live_server)
    log_in(page, "eli@example.com")
    assert page.get_by_text("Top tier reached").is_visible()
    page.get_by_role("link", name="Your Elite benefits").click()
    page.wait_for_url("**/partner/tier-progression")
    assert page.get_by_role("heading", name="Your Elite benefits").is_visible()
    assert page.locator("#benefits li").count() >= 1
    history = page.get_by_role("heading", name="History").locator("..").inner_text()
    for line in ("Promoted to Active (from Starter)", "Promoted to Performer (from Active)",
                 "Promoted to Elite (from Performer)"):
        assert line in history, history
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
