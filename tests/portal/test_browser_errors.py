"""Styled error pages with a way back (portal, public pages, back office), in headless
Chromium at 390 × 844 and 1440 × 900: not Werkzeug's bare page."""

import pytest
from conftest import make_partner, make_staff
from test_browser import log_in, phone, staff_log_in


def desktop_1440(browser, base):
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=base)
    return ctx.new_page()


def styled(page) -> bool:
    """The page uses the app's stylesheet (not Werkzeug's unstyled page)."""
    return page.evaluate(
        "getComputedStyle(document.querySelector('.error-card')).borderRadius") == "12px"


@pytest.mark.browser
def test_partner_404_and_403_pages_have_a_way_back(app, live_server, browser):
    """A partner who opens a mistyped address sees "Page not found" in the portal's own
    layout (tab bar included), with "Back to the dashboard", which works; another partner's
    lead says "No access" or "Page not found" the same way. The page fits the phone."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        other = make_partner("Mike Reyes", email="mike@example.com")
        from core.base.extensions import db
        from core.program.leads import create_lead

        lead = create_lead(other, {"company_name": "Mike's lead"}, other.user_id)
        db.session.commit()
        lead_id = lead.id
    page = phone(browser, live_server)
    log_in(page, "sarah@example.com")
    resp = page.goto("/partner/no-such-page")
    assert resp.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    assert page.get_by_text("Error 404").is_visible()
    assert styled(page)
    assert page.locator(".bottom-nav").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert "Page not found" in page.title()
    resp = page.goto(f"/partner/leads/{lead_id}")
    assert resp.status in (403, 404)
    assert page.locator(".error-card h1").inner_text() in ("No access", "Page not found")
    page.get_by_role("link", name="Back to the dashboard").click()
    page.wait_for_url("**/partner/dashboard")


@pytest.mark.browser
def test_visitor_404_offers_home_and_log_in(app, live_server, browser):
    """A visitor (not logged in) on a dead referral-ish address gets a styled 404 with
    "Go to the home page" and "Log in", no tab bar."""
    page = phone(browser, live_server)
    resp = page.goto("/no/such/thing")
    assert resp.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    assert styled(page)
    assert page.locator(".bottom-nav").count() == 0
    page.get_by_role("link", name="Log in").click()
    page.wait_for_url("**/login")


@pytest.mark.browser
def test_back_office_errors_are_styled_with_a_way_back(app, live_server, browser):
    """Staff on a desktop open a back-office address that does not exist: a styled 404
    titled for the back office, with "Back to the back office"; a partner who tries the
    back office's finance pages gets a styled 403, pointing to their dashboard."""
    with app.app_context():
        make_staff("ops@example.com", ("admin",))
        make_partner("Sarah Thompson", email="sarah@example.com")
    page = desktop_1440(browser, live_server)
    staff_log_in(page, "ops@example.com")
    resp = page.goto("/admin/no-such-view/")
    assert resp.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    assert "back office" in page.title()
    assert styled(page)
    page.get_by_role("link", name="Back to the back office").click()
    page.wait_for_url("**/admin/")
    partner = phone(browser, live_server)
    log_in(partner, "sarah@example.com")
    resp = partner.goto("/admin/")
    assert resp.status == 403
    assert partner.get_by_role("heading", name="No access").is_visible()
    assert styled(partner)
    partner.get_by_role("link", name="Back to your dashboard").click()
    partner.wait_for_url("**/partner/dashboard")


def test_server_error_and_throttle_pages_are_styled(app, client):
    """An unexpected error answers 500 with the styled page and nothing of the error; a
    refused method answers 405 with ``Allow`` kept."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        with app.test_request_context("/partner/earnings"):
            resp = app.handle_exception(RuntimeError("secret detail"))
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    html = resp.get_data(as_text=True)
    assert resp.status_code == 500
    assert "Something went wrong" in html and "secret detail" not in html
    assert 'class="card narrow error-card"' in html
    resp = client.post("/partner/dashboard")
    assert resp.status_code == 405
    assert "GET" in resp.headers["Allow"]
    assert "Not allowed" in resp.get_data(as_text=True)
