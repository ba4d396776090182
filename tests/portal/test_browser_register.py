"""Applying on a 390 × 844 phone: the agreement is a link to its text, and invalid
fields are outlined, marked aria-invalid and read with their message."""

import pytest
from test_browser import phone


@pytest.mark.browser
def test_register_links_the_agreement_and_marks_invalid_fields(app, live_server, browser):
    """Nina opens the agreement from the form (a new tab with the commission table and
    the code of conduct); she sends the form with a bad e-mail, a short password and the
    agreement unticked: those fields are outlined red, aria-invalid, and each one's
    message is its accessible description; the valid name field is not marked."""
    page = phone(browser, live_server)
    page.goto("/partner/register")
    with page.context.expect_page() as new_tab:
        page.get_by_role("link", name="Read the partner agreement and commission terms").click()
    terms = new_tab.value
    terms.wait_for_load_state()
    assert terms.get_by_role("heading", name="SISO partner agreement and commission terms").is_visible()
    assert terms.get_by_role("heading", name="4. Code of conduct").is_visible()
    assert terms.get_by_role("row", name="Starter 0+ 20%").count() == 1
    assert terms.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_label("Your name").fill("Nina Novak")
    page.get_by_label("E-mail").fill("not-an-email")
    page.get_by_label("Password (10+ characters)").fill("short")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    red = "rgb(255, 138, 141)"  # --err-text, dark theme
    for label in ("E-mail", "Password (10+ characters)"):
        box = page.get_by_label(label)
        assert box.get_attribute("aria-invalid") == "true", label
        assert page.evaluate("(e) => getComputedStyle(e).borderColor", box.element_handle()) == red
        described = box.get_attribute("aria-describedby")
        assert page.locator("#" + described).inner_text(), label
    terms_box = page.get_by_label("I accept the partner agreement and commission terms")
    assert terms_box.get_attribute("aria-invalid") == "true"
    ids = terms_box.get_attribute("aria-describedby").split()
    assert "agreement-link" in ids
    assert "You must accept the agreement." in page.locator("#" + ids[-1]).inner_text()
    assert page.get_by_label("Your name").get_attribute("aria-invalid") is None
