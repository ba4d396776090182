"""Support on a 390 × 844 phone: the answer-by time promised when a ticket is opened is
the one the ticket page shows, until staff answer."""

import pytest
from conftest import make_partner
from test_browser import log_in, phone

from core.base.extensions import db


@pytest.mark.browser
def test_ticket_page_shows_the_promised_answer_time(app, live_server, browser):
    """Sarah opens a ticket: the confirmation names the answer-by time, and the ticket page
    shows the same time under "We answer by"; once staff reply it says "Answered …"."""
    from core.support.models import SupportTicket
    from core.support.tickets import reply

    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
    page = phone(browser, live_server)
    log_in(page, "sarah@example.com")
    page.goto("/partner/support")
    page.get_by_text("+ Open a ticket").click()
    page.get_by_label("Subject").fill("Payout question")
    page.get_by_label("How can we help?").fill("When is my first payout?")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url("**/partner/support/*")
    flash = page.locator(".flash-success").inner_text()
    assert flash.startswith("Ticket opened. We answer by ")
    promised = flash.removeprefix("Ticket opened. We answer by ").rstrip(".")
    answer_by = page.locator("#answer-by")
    assert answer_by.inner_text() == f"We answer by {promised}."
    with app.app_context():
        from conftest import make_staff

        staff = make_staff("help@example.com", ("support",))
        ticket = db.session.scalar(db.select(SupportTicket))
        assert ticket.respond_by is not None
        reply(staff, ticket, "Payouts go out within two business days of approval.")
        db.session.commit()
    page.reload()
    assert page.locator("#answer-by").inner_text().startswith("Answered ")
    assert page.get_by_text("Payouts go out within two business days").is_visible()
