"""Real headless Chromium at 390 px: a partner fills in the tax form and the payout
method on a phone."""

import os

import pytest
from conftest import TEST_OUTPUT as OUTPUT
from conftest import make_partner
from test_browser import log_in, phone

from core.base.extensions import db
from core.payments.models import PayoutMethod, TaxForm


@pytest.mark.browser
def test_tax_form_and_bank_details_on_a_phone(app, live_server, browser):
    with app.app_context():
        make_partner("Lena Schmidt", email="lena@example.com")
    page = phone(browser, live_server)
    log_in(page, "lena@example.com")
    page.goto("/partner/tax-form")
    page.get_by_label("W-8BEN (non-US individual)").check()
    page.get_by_label("Legal name").fill("Lena Schmidt")
    page.get_by_label("Address (permanent residence)").fill("Hauptstr. 1, 10115 Berlin")
    page.get_by_label("Country of citizenship or incorporation (2 letters)").fill("DE")
    page.get_by_label("Foreign TIN").fill("12345678901")
    page.get_by_label("Date of birth (individuals)").fill("1985-04-12")
    page.get_by_label("Under penalties of perjury").check()
    page.get_by_label("Signature (type your full name)").fill("Lena Schmidt")
    page.get_by_label("Date signed").fill(__import__("datetime").date.today().isoformat())
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    with page.expect_navigation():
        page.get_by_role("button", name="Submit tax form").click()
    assert page.locator("#tax-status").get_by_text("submitted").is_visible()
    assert page.get_by_text("TIN ending 8901").is_visible()
    os.makedirs(str(OUTPUT), exist_ok=True)
    page.screenshot(path=os.path.join(str(OUTPUT), "tax-form-phone.png"), full_page=True)
    page.goto("/partner/earnings#payout-method")
    assert page.locator("#payout-method details").get_attribute("open") is not None  # none yet
    page.get_by_label("Bank transfer").check()
    page.get_by_label("Account holder").fill("Lena Schmidt")
    page.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 00")
    with page.expect_navigation():
        page.get_by_role("button", name="Save payout method").click()
    assert page.get_by_text("bank account ending 3000").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=os.path.join(str(OUTPUT), "payout-method-phone.png"), full_page=True)
    with app.app_context():
        assert db.session.scalar(db.select(TaxForm.tin_last4)) == "8901"
        assert db.session.scalar(db.select(PayoutMethod.bank_last4)) == "3000"
