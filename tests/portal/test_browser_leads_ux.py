"""Adding and winning leads on a 390 × 844 phone: the confirmation in view, "—" for a
lead with no estimate, the right keyboards, and "Mark won" starting from the estimate
with the expected commission at the partner's rate."""

import pytest
from conftest import make_partner
from test_browser import log_in, phone

from core.base.extensions import db


def below_top_bar(page, locator) -> bool:
    """The element is in the viewport and not under the sticky top bar."""
    bar = page.locator(".topbar").bounding_box()
    box = locator.bounding_box()
    return box is not None and box["y"] >= bar["y"] + bar["height"] - 1 \
        and box["y"] + box["height"] <= 844


@pytest.mark.browser
def test_added_lead_message_is_in_view_and_no_estimate_shows_a_dash(app, live_server, browser):
    """Sarah adds a lead with no estimate: "Lead added" shows below the top bar, in view,
    and the card says "—", not "$0.00". The lead page says "—" for Estimated too."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
    page = phone(browser, live_server)
    log_in(page, "sarah@example.com")
    page.goto("/partner/leads#new-lead")
    page.get_by_label("Company").fill("No Estimate Ltd")
    with page.expect_navigation():
        page.get_by_role("button", name="Add lead").click()
    message = page.locator(".flash", has_text="Lead added")
    message.wait_for()
    assert below_top_bar(page, message)
    card = page.locator(".lead-card", has_text="No Estimate Ltd")
    assert "$0.00" not in card.inner_text()
    assert "—" in card.inner_text()
    card.get_by_role("link", name="No Estimate Ltd").click()
    assert page.locator(".facts dd").nth(3).inner_text() == "—"
    assert "$0.00" not in page.locator(".facts").inner_text()


@pytest.mark.browser
def test_money_and_phone_inputs_and_mark_won_with_expected_commission(
        app, live_server, browser):
    """Money fields bring up the decimal keypad (inputmode=decimal), the phone field is a
    telephone input. "Mark won…" on a $2,500 lead opens with $2,500.00 filled in and says
    the commission at her Starter rate (20%) is $500.00; typing 1,234.56 makes it $246.91."""
    from core.program.leads import create_lead

    with app.app_context():
        p = make_partner("Sarah Thompson", email="sarah@example.com")
        create_lead(p, {"company_name": "TechCorp", "estimated_value_cents": 250000}, p.user_id)
        for stage in ("contacted", "qualified", "proposal"):
            from core.program.leads import move_lead
            from core.program.models import Lead

            lead = db.session.scalar(db.select(Lead))
            move_lead(lead, stage, p.user_id)
        db.session.commit()
    page = phone(browser, live_server)
    log_in(page, "sarah@example.com")
    page.goto("/partner/leads#new-lead")
    assert page.get_by_label("Estimated value ($)").get_attribute("inputmode") == "decimal"
    assert page.get_by_label("Contact phone").get_attribute("type") == "tel"
    page.goto("/partner/leads#log-sale")
    assert page.locator("#log-sale").get_by_label("Deal value ($)").get_attribute(
        "inputmode") == "decimal"
    page.goto("/partner/leads")
    page.locator(".lead-card", has_text="TechCorp").get_by_role("link", name="Mark won…").click()
    value = page.get_by_label("Deal value ($, for won)")
    assert value.get_attribute("inputmode") == "decimal"
    assert value.input_value() == "2500.00"
    expected = page.locator("#expected-commission")
    assert expected.is_visible()
    assert "Starter rate (20%)" in expected.inner_text()
    assert "$500.00" in expected.inner_text()
    value.fill("1,234.56")
    assert "$246.91" in expected.inner_text()
    page.get_by_role("button", name="Save stage").click()
    page.wait_for_load_state()
    assert page.locator(".stage").inner_text() == "#won"
    assert page.get_by_text("$1,234.56").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
