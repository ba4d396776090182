"""The back office in real headless Chromium (Debian's package, driven by Playwright):
finance approves a requested payout from the list; support is refused the payout screen."""

import os

import pytest
from conftest import make_partner, make_staff
from test_browser import OUT, desktop, staff_log_in

from core.base.extensions import db
from core.base.jobs import QUEUE_PAYOUTS, get_queue
from core.money.models import Commission, Payout
from core.money.payouts import create_payout


@pytest.mark.browser
def test_finance_approves_a_payout_and_support_is_refused(app, live_server, browser):
    """Finance logs in, sees the approval queue (1 payout, $200.00), ticks the payout,
    picks "Approve payout" under "With selected", accepts the confirmation and sees the
    success message and the payout approved with its transfer queued. A support user
    gets no Payouts menu entry and a 403 page when typing the URL."""
    with app.app_context():
        make_staff("finance@example.com", ("finance",))
        make_staff("support@example.com", ("support",))
        p = make_partner("Paula Payee", deals=1)
        db.session.execute(db.update(Commission).values(status="approved"))
        payout = create_payout(p.id, p.user_id)
        db.session.commit()
        pid = payout.id

    page = desktop(browser, live_server)
    staff_log_in(page, "finance@example.com")
    page.get_by_role("link", name="Money").click()
    page.get_by_role("link", name="Payouts").click()
    page.wait_for_url("**/admin/payouts/")
    queue = page.locator("#approval-queue")
    assert queue.is_visible() and "1 requested payout" in queue.inner_text()
    assert queue.locator("#queue-count").inner_text() == "1"
    assert queue.locator("#queue-total").inner_text() == "$200.00"
    row = page.locator("tr", has=page.locator(f"input.action-checkbox[value='{pid}']"))
    assert row.get_by_text("requested").is_visible()
    row.locator("input.action-checkbox").check()
    page.once("dialog", lambda d: d.accept())
    page.get_by_text("With selected").click()
    page.get_by_text("Approve payout", exact=True).click()
    page.get_by_text("Approved 1 payout(s); transfers are queued.").wait_for(timeout=15000)
    assert page.locator("#queue-count").inner_text() == "0"
    os.makedirs(OUT, exist_ok=True)
    page.screenshot(path=os.path.join(OUT, "admin-payout-approved.png"))
    with app.app_context():
        assert db.session.get(Payout, pid).status == "approved"
        assert get_queue(QUEUE_PAYOUTS).job_ids == [f"payout-{pid}"]
        db.session.remove()

    support = desktop(browser, live_server)
    staff_log_in(support, "support@example.com")
    assert support.get_by_role("link", name="Partners").first.is_visible()
    assert support.get_by_role("link", name="Payouts").count() == 0
    assert support.get_by_role("link", name="Money").count() == 0
    resp = support.goto("/admin/payouts/")
    assert resp.status == 403
    assert support.locator("#action_form").count() == 0
    with app.app_context():
        assert db.session.get(Payout, pid).status == "approved"
        assert get_queue(QUEUE_PAYOUTS).count == 1


@pytest.mark.browser
def test_staff_approve_a_partner_confirm_a_deal_and_answer_a_ticket(app, live_server,
                                                                    browser):
    """The back office's other main flows in Chromium: an admin approves Ann's
    application from the partners list, confirms Dan's won deal at the value he
    reported (commissions created), and support answers Dan's ticket, which he then
    reads in the portal. A partner typing /admin gets a refusal, not the back office."""
    from test_browser import log_in

    from core.program.leads import create_lead, move_lead
    from core.program.models import Lead, Partner
    from core.support.tickets import open_ticket

    with app.app_context():
        make_staff("admin@example.com", ("admin",))
        make_staff("support@example.com", ("support",))
        ann = make_partner("Ann Applicant", email="ann@example.com", status="applied")
        dan = make_partner("Dan Dealer", email="dan@example.com")
        lead = create_lead(dan, {"company_name": "Harbor Realty"}, dan.user_id)
        move_lead(lead, "won", dan.user_id, deal_value_cents=250000)
        ticket = open_ticket(dan, "Where is my commission?", "I closed Harbor Realty.")
        db.session.commit()
        ann_id, lead_id, ticket_id = ann.id, lead.id, ticket.id

    page = desktop(browser, live_server)
    staff_log_in(page, "admin@example.com")
    page.goto("/admin/partners/?flt1_status_equals=applied")
    row = page.locator("tr", has=page.locator(f"input.action-checkbox[value='{ann_id}']"))
    row.locator("input.action-checkbox").check()
    page.once("dialog", lambda d: d.accept())
    page.get_by_text("With selected").click()
    page.get_by_text("Approve application", exact=True).click()
    page.get_by_text("Approved 1 partner(s).").wait_for(timeout=15000)
    with app.app_context():
        assert db.session.get(Partner, ann_id).status == "active"
        db.session.remove()

    page.goto("/admin/leads/")
    page.locator("tr", has_text="Harbor Realty").get_by_role("link", name="Confirm deal").click()
    page.get_by_text("Partner reported $2,500.00").wait_for()
    assert page.get_by_label("Deal value ($)").input_value() in ("2500.00", "2,500.00")
    page.get_by_role("button", name="Confirm deal and create commissions").click()
    page.locator(".alert-success").wait_for(timeout=15000)
    with app.app_context():
        deal = db.session.get(Lead, lead_id).deal
        assert deal is not None and deal.value_cents == 250000
        assert list(db.session.scalars(db.select(Commission.amount_cents).where(
            Commission.deal_id == deal.id))) == [50000]  # 20% at Starter
        db.session.remove()

    support = desktop(browser, live_server)
    staff_log_in(support, "support@example.com")
    support.goto(f"/admin/tickets/ticket/{ticket_id}")
    support.get_by_label("Reply").fill("It is pending its 30-day hold; it pays next month.")
    support.get_by_role("button", name="Send").click()
    support.get_by_text("Reply sent.").wait_for(timeout=15000)
    os.makedirs(OUT, exist_ok=True)
    support.screenshot(path=os.path.join(OUT, "admin-ticket-answered.png"))

    partner = desktop(browser, live_server)
    log_in(partner, "dan@example.com")
    partner.goto(f"/partner/support/{ticket_id}")
    partner.get_by_text("It is pending its 30-day hold").wait_for()
    resp = partner.goto("/admin/")
    assert resp.status == 403
    assert partner.get_by_role("link", name="Payouts").count() == 0
