"""The profile's time zone picker on a 390 × 844 phone: grouped by region, searchable,
defaulting to the phone's zone, and a light page."""

import pytest
from conftest import make_partner
from test_browser import log_in


@pytest.mark.browser
def test_time_zone_defaults_from_the_phone_and_is_searchable(app, live_server, browser):
    """Sarah's phone is set to Europe/Berlin and she never chose a zone: the picker shows
    Berlin, saying it came from the device. Its options are grouped by region (Europe,
    Americas, ...), one per place (no "US/Eastern"); typing "tokyo" leaves Asia's Tokyo;
    saved, the profile keeps Asia/Tokyo. The page's HTML is under 40 KB."""
    from core.base.extensions import db
    from core.program.models import Partner

    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server,
                              timezone_id="Europe/Berlin")
    page = ctx.new_page()
    log_in(page, "sarah@example.com")
    resp = page.goto("/partner/profile")
    assert len(resp.body()) < 40_000, len(resp.body())
    select = page.get_by_label("Time zone", exact=True)
    assert select.input_value() == "Europe/Berlin"
    assert "Set from this device (Europe/Berlin)" in page.locator("#tz-note").inner_text()
    groups = page.locator("#timezone optgroup").evaluate_all("(gs) => gs.map((g) => g.label)")
    assert {"Europe", "Americas", "Asia", "Africa", "Pacific"} <= set(groups)
    assert page.locator('#timezone option[value="US/Eastern"]').count() == 0
    assert page.locator("#timezone option").count() < 480
    page.get_by_label("Search time zones").fill("tokyo")
    options = page.locator("#timezone option").evaluate_all(
        "(os) => os.map((o) => [o.parentNode.label, o.value, o.textContent])")
    assert options == [["Asia", "Asia/Tokyo", "Tokyo"]]
    assert page.locator("#tz-note").inner_text().startswith("1 time zone matches")
    select.select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save profile").click()
    page.get_by_text("Profile saved.").wait_for()
    with app.app_context():
        assert db.session.scalar(db.select(Partner.timezone)) == "Asia/Tokyo"
    assert page.get_by_label("Time zone", exact=True).input_value() == "Asia/Tokyo"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
