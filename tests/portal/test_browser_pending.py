"""A pending applicant's portal on a 390 × 844 phone: one status card, no dead referral
links, and locked sections that say why and what happens next."""

import pytest
from conftest import make_partner
from test_browser import log_in, phone


@pytest.mark.browser
def test_pending_applicant_sees_one_status_card_and_why_sections_are_locked(
        app, live_server, browser):
    """Nina applied and has not confirmed her e-mail. Her dashboard shows one card, "Your
    application is under review", with the steps (e-mail to confirm, staff review) and no
    other banner, and no referral links (they would not work yet). Tapping Leads, Chat
    and Materials opens each section's page saying it opens when the application is
    approved, with the same card; nothing bounces her back to the dashboard."""
    with app.app_context():
        make_partner("Nina Novak", email="nina@example.com", status="applied", verified=False)
    page = phone(browser, live_server)
    log_in(page, "nina@example.com")
    card = page.locator("#status-card")
    assert card.get_by_role("heading", name="Your application is under review").is_visible()
    assert "Confirm your e-mail" in card.inner_text()
    assert "reviews your application" in card.inner_text()
    assert page.locator(".flash").count() == 0, page.locator(".flash").all_inner_texts()
    assert page.locator("#referral-links").count() == 0
    assert page.get_by_text("/r/").count() == 0
    for tab, name in (("Leads", "Leads"), ("Chat", "Chat"), ("Materials", "Materials")):
        page.locator(".bottom-nav").get_by_role("link", name=tab).click()
        page.wait_for_load_state()
        assert "/partner/dashboard" not in page.url, tab
        assert page.get_by_role("heading", name=name, exact=True).is_visible(), tab
        assert page.get_by_text(f"{name} opens when your application is approved.").is_visible()
        assert page.locator("#status-card").is_visible()
        assert page.locator(".flash").count() == 0
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

