"""Referral links on a 390 × 844 phone: on one line, a visible Copy button that copies
and says so, and Share where the phone offers it (Web Share API)."""

import pytest
from conftest import make_partner
from playwright.sync_api import expect
from test_browser import log_in


@pytest.mark.browser
def test_referral_link_copy_and_share(app, live_server, browser):
    """Sarah's client link sits on one line (no code broken in two); tapping Copy puts it
    on the clipboard and the button says "Copied ✓"; Share hands the same link to the
    phone's share sheet."""
    with app.app_context():
        code = make_partner("Sarah Thompson", email="sarah@example.com").referral_code
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server,
                              has_touch=True, is_mobile=True)
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    # The phone's share sheet, recorded (headless Chromium on Linux has none of its own).
    ctx.add_init_script("navigator.share = (d) => { window.__shared = d; return Promise.resolve(); };")
    page = ctx.new_page()
    log_in(page, "sarah@example.com")
    link = page.locator("#ref-link")
    url = link.inner_text()
    assert url.endswith(f"/r/{code}")
    line = page.evaluate("parseFloat(getComputedStyle(document.getElementById('ref-link')).lineHeight)")
    assert link.bounding_box()["height"] < 2 * line + 20  # one line (plus padding)
    copy = page.get_by_role("button", name="Copy client link")
    assert copy.is_visible()
    copy.tap()
    expect(copy).to_have_text("Copied ✓")  # once the clipboard has taken it
    assert page.evaluate("navigator.clipboard.readText()") == url
    share = page.get_by_role("button", name="Share client link")
    assert share.is_visible()
    share.tap()
    assert page.evaluate("window.__shared.url") == url
    recruit = page.get_by_role("button", name="Copy recruiting link")
    recruit.tap()
    assert "/partner/register?ref=" in page.evaluate("navigator.clipboard.readText()")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
