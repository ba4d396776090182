"""Recurring (monthly) deals: commissions on each paid invoice, for the months the
closer's tier allowed at confirmation, at the rates locked then; refunds take them back;
Stripe's invoice.paid and charge.refunded do the same through the webhook receiver
(rules: "Recurring deals")."""

from datetime import UTC, datetime, timedelta

from conftest import api_token, make_partner
from sqlalchemy import func, select, update
from stripe_fake import charge_refunded_event, invoice_paid_event, signed_webhook
from test_staff_api import staff_headers

from core.base.extensions import db
from core.base.models import AuditLog
from core.money.models import Commission, Deal, DealInvoice
from core.program.models import Tier

WEBHOOK_SECRET = "whsec_test_recurring"


def monthly_deal(app, client, h, *, team=True, sub=None, value=50000):
    """A closer (with an Active recruiter and a Performer team leader when ``team``) whose
    won lead staff confirm as a monthly deal. Returns (deal id, ids dict)."""
    from core.program.leads import create_lead, move_lead

    with app.app_context():
        recruiter = make_partner("Rita Recruiter", deals=3) if team else None
        leader = make_partner("Leo Leader", deals=10) if team else None
        closer = make_partner("Cleo Closer", recruiter=recruiter, leader=leader)
        lead = create_lead(closer, {"company_name": "Retainer Co"}, closer.user_id)
        move_lead(lead, "won", closer.user_id, value)
        db.session.commit()
        ids = {"closer": closer.id, "recruiter": recruiter.id if team else None,
               "leader": leader.id if team else None, "lead": lead.id,
               "email": closer.user.email}
    body = {"billing": "monthly", **({"stripe_subscription_id": sub} if sub else {})}
    resp = client.post(f"/api/staff/leads/{ids['lead']}/confirm", headers=h, json=body)
    assert resp.status_code == 201, resp.get_json()
    out = resp.get_json()
    assert out["commissions"] == [] and out["deal"]["billing"] == "monthly"
    return out["deal"]["id"], ids


def invoice(client, h, deal_id, inv_id, amount=50000, month=1, **extra):
    start = datetime(2026, month, 1, tzinfo=UTC).date()
    body = {"external_invoice_id": inv_id, "amount_cents": amount,
            "period_start": start.isoformat(),
            "period_end": (start + timedelta(days=27)).isoformat(),
            "paid_at": f"{start.isoformat()}T09:00:00+00:00", **extra}
    return client.post(f"/api/staff/deals/{deal_id}/invoices", headers=h, json=body)


def lines(resp) -> list[tuple]:
    return sorted((c["type"], c["amount_cents"], c["rate_bps"])
                  for c in resp.get_json()["commissions"])


def test_each_paid_invoice_pays_the_locked_rates_once(app, client):
    """Invoice 1 pays base (20%), the leader's override (10%) and the recruiter's
    referral (5%); the same invoice again pays nothing more; invoice 2 pays base and
    override only; a rate change after confirmation does not touch the deal; the
    partner sees months paid and left."""
    h = staff_headers(app, client)
    deal_id, ids = monthly_deal(app, client, h)
    first = invoice(client, h, deal_id, "inv-001")
    assert first.status_code == 201, first.get_json()
    assert lines(first) == [("base", 10000, 2000), ("referral", 2500, 500),
                            ("team_override", 5000, 1000)]
    again = invoice(client, h, deal_id, "inv-001")
    assert again.status_code == 200 and again.get_json()["invoice"] == first.get_json()["invoice"]
    with app.app_context():
        db.session.execute(update(Tier).values(base_rate_bps=3000, team_override_bps=2000))
        db.session.commit()
    second = invoice(client, h, deal_id, "inv-002", amount=60000, month=2)
    assert lines(second) == [("base", 12000, 2000), ("team_override", 6000, 1000)]
    assert second.get_json()["invoice"]["month_number"] == 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Commission).where(
            Commission.deal_id == deal_id)) == 5
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "deal.invoice")) == 2
    partner = api_token(client, ids["email"])
    [mine] = client.get("/api/partner/recurring-deals", headers=partner).get_json()["items"]
    assert (mine["months_paid"], mine["months_allowed"], mine["months_left"],
            mine["earned_cents"]) == (2, 12, 10, 22000)
    listed = client.get(f"/api/staff/deals/{deal_id}/invoices", headers=h).get_json()["items"]
    assert [i["external_invoice_id"] for i in listed] == ["inv-001", "inv-002"]


def test_months_allowed_are_locked_at_confirmation(app, client):
    """With a tier allowing 2 months, the third paid invoice pays nothing, even after the
    tier is changed to allow more; 0 means for life."""
    h = staff_headers(app, client)
    with app.app_context():
        db.session.execute(update(Tier).values(recurring_months=2))
        db.session.commit()
    deal_id, _ = monthly_deal(app, client, h, team=False)
    with app.app_context():
        db.session.execute(update(Tier).values(recurring_months=0))
        db.session.commit()
    got = [lines(invoice(client, h, deal_id, f"lim-{m}", month=m)) for m in (1, 2, 3)]
    assert got == [[("base", 10000, 2000)], [("base", 10000, 2000)], []]
    life_id, _ = monthly_deal(app, client, h, team=False)  # confirmed under "for life"
    assert all(lines(invoice(client, h, life_id, f"life-{m}", month=m)) for m in range(1, 13))
    assert invoice(client, h, life_id, "life-13", month=12).status_code == 201


def test_refund_takes_an_invoices_commissions_back(app, client):
    """Refunding invoice 1 reverses its pending commissions (referral included); once
    paid, a refund adds negative adjustments; a refunded invoice no longer counts as a
    paid month; refunding twice is a 409."""
    h = staff_headers(app, client)
    deal_id, ids = monthly_deal(app, client, h)
    invoice(client, h, deal_id, "r-1")
    refund = client.post(f"/api/staff/deals/{deal_id}/invoices/r-1/refund", headers=h,
                         json={"reason": "client refunded"})
    assert refund.status_code == 200 and refund.get_json()["invoice"]["status"] == "refunded"
    assert refund.get_json()["commissions"] == []  # nothing was paid: reversed, no adjustment
    with app.app_context():
        assert set(db.session.scalars(select(Commission.status).where(
            Commission.deal_id == deal_id))) == {"reversed"}
    assert client.post(f"/api/staff/deals/{deal_id}/invoices/r-1/refund", headers=h,
                       json={}).status_code == 409
    assert client.post(f"/api/staff/deals/{deal_id}/invoices/nope/refund", headers=h,
                       json={}).status_code == 404
    second = invoice(client, h, deal_id, "r-2", month=2)
    assert second.get_json()["invoice"]["month_number"] == 1
    assert ("referral", 2500, 500) in lines(second)  # the referral stands once again
    with app.app_context():
        db.session.execute(update(Commission).where(Commission.deal_id == deal_id,
                                                    Commission.status == "pending")
                           .values(status="paid"))
        db.session.commit()
    paid_back = client.post(f"/api/staff/deals/{deal_id}/invoices/r-2/refund", headers=h)
    assert sorted(c["amount_cents"] for c in paid_back.get_json()["commissions"]) == [
        -10000, -5000, -2500]
    with app.app_context():
        assert db.session.scalar(select(func.sum(Commission.amount_cents)).where(
            Commission.deal_id == deal_id, Commission.status != "reversed")) == 0


def test_bad_invoices_are_refused_and_pay_nothing(app, client):
    """An invoice for a one-time deal or a cancelled deal, a negative amount, a bad
    period or time, or an id already used for another amount or deal: 409/422, no
    commission."""
    h = staff_headers(app, client)
    with app.app_context():
        one_time = make_partner("One Time", deals=1)
        one_deal = db.session.scalar(select(Deal.id).where(Deal.partner_id == one_time.id))
    assert invoice(client, h, one_deal, "x-1").status_code == 409
    deal_id, _ = monthly_deal(app, client, h, team=False)
    for extra in ({"amount_cents": -500}, {"amount_cents": 0}, {"amount_cents": "500"},
                  {"period_start": "2026-02-01", "period_end": "2026-01-01"},
                  {"paid_at": "2026-01-01T09:00:00"}, {"period_start": "yesterday"},
                  {"external_invoice_id": "has space"}):
        resp = invoice(client, h, deal_id, "bad-1", **extra)
        assert resp.status_code == 422, (extra, resp.get_json())
    assert invoice(client, h, deal_id, "ok-1").status_code == 201
    assert invoice(client, h, deal_id, "ok-1", amount=40000).status_code == 409
    other_id, _ = monthly_deal(app, client, h, team=False)
    assert invoice(client, h, other_id, "ok-1").status_code == 409
    assert client.post(f"/api/staff/deals/{deal_id}/cancel", headers=h,
                       json={"reason": "client left"}).status_code == 200
    assert invoice(client, h, deal_id, "after-cancel").status_code == 409
    assert invoice(client, h, 999999, "x-2").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DealInvoice)) == 1
        # the cancellation reversed ok-1's pending base; nothing else was ever written
        assert db.session.scalar(select(func.count()).select_from(Commission).where(
            Commission.deal_id.in_([deal_id, other_id]))) == 1


def test_stripe_invoice_paid_and_charge_refunded(app, client, monkeypatch):
    """Stripe's invoice.paid for the linked subscription records the invoice once (a
    redelivery is a duplicate, a new event for the same invoice changes nothing);
    charge.refunded takes its commissions back; a partial refund is left to staff."""
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    h = staff_headers(app, client)
    deal_id, _ = monthly_deal(app, client, h, team=False, sub="sub_Retainer1")
    start = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())

    def post(evt):
        body, sig = signed_webhook(evt, WEBHOOK_SECRET)
        resp = client.post("/webhooks/stripe", data=body, headers={"Stripe-Signature": sig})
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()["result"]

    paid = invoice_paid_event("in_1Retainer", "sub_Retainer1", 45000, start,
                              start + 30 * 86400, event_id="evt_paid_1")
    assert post(paid) == "invoice_recorded"
    assert post(paid) == "duplicate"
    assert post(invoice_paid_event("in_1Retainer", "sub_Retainer1", 45000, start,
                                   start + 30 * 86400)) == "invoice_known"
    assert post(invoice_paid_event("in_other", "sub_Unknown", 45000, start,
                                   start + 86400)) == "ignored"
    with app.app_context():
        inv = db.session.scalar(select(DealInvoice))
        assert (inv.source, inv.amount_cents, str(inv.period_start)) == (
            "stripe", 45000, "2026-11-01")
        [c] = db.session.scalars(select(Commission).where(Commission.invoice_id == inv.id))
        assert (c.amount_cents, c.status) == (9000, "pending")
        assert "in_1Retainer" in c.note
    assert post(charge_refunded_event("in_1Retainer", 45000, 1000)) == "partial_refund"
    assert post(charge_refunded_event("in_1Retainer", 45000)) == "invoice_refunded"
    assert post(charge_refunded_event("in_1Retainer", 45000)) == "ignored"
    with app.app_context():
        assert db.session.scalar(select(Commission.status).where(
            Commission.deal_id == deal_id)) == "reversed"


def test_statement_lists_each_invoices_commission(app, client):
    """The partner's statement of the month has one line per invoice commission, naming
    the invoice."""
    h = staff_headers(app, client)
    deal_id, ids = monthly_deal(app, client, h, team=False)
    invoice(client, h, deal_id, "st-1", month=1)
    invoice(client, h, deal_id, "st-2", month=2)
    from core.base.timeutil import now_utc
    from core.money.statements import issue_statement, statement_lines

    with app.app_context():
        now = now_utc()
        issue_statement(ids["closer"], now.year, now.month, 1)
        db.session.commit()
        described = [x["description"] for x in statement_lines(ids["closer"], now.year,
                                                                now.month)]
    assert any("Invoice st-1" in d and "month 1 of 12" in d for d in described)
    assert any("Invoice st-2" in d and "month 2 of 12" in d for d in described)


def test_partner_earnings_page_shows_monthly_deals(app, client):
    """The partner's earnings page lists the monthly deal with months paid and left."""
    from conftest import login

    h = staff_headers(app, client)
    deal_id, ids = monthly_deal(app, client, h, team=False)
    invoice(client, h, deal_id, "pg-1")
    page_client = app.test_client()
    assert login(page_client, ids["email"]).status_code == 302
    html = page_client.get("/partner/earnings").get_data(as_text=True)
    assert "Monthly deals" in html and "Retainer Co" in html and "1 of 12" in html


def test_crm_can_mark_a_lead_monthly(app, client):
    """A CRM writes a lead as monthly; confirmed from the queue it is a monthly deal."""
    h = staff_headers(app, client)
    with app.app_context():
        p = make_partner("Crm Monthly")
        pid = p.id
    lead = client.put("/api/staff/leads/by-external-id/crm-m-1", headers=h, json={
        "partner_id": pid, "company_name": "Sub Co", "billing": "monthly", "status": "won",
        "deal_value_cents": 30000}).get_json()
    done = client.post("/api/staff/deals/confirm", headers=h,
                       json={"leads": [{"lead_id": lead["id"]}]})
    assert done.status_code == 201
    [one] = done.get_json()["deals"]
    assert one["deal"]["billing"] == "monthly" and one["commissions"] == []


def test_a_subscription_is_linked_after_confirmation_once(app, client):
    """Finance links a confirmed monthly deal to its Stripe subscription later; a one-time
    deal, or a subscription another deal has, is a 409; a malformed id a 422."""
    h = staff_headers(app, client)
    deal_id, _ = monthly_deal(app, client, h, team=False)
    other_id, _ = monthly_deal(app, client, h, team=False, sub="sub_Taken")
    url = f"/api/staff/deals/{deal_id}/stripe-subscription"
    ok = client.put(url, headers=h, json={"stripe_subscription_id": "sub_Later1"})
    assert ok.status_code == 200 and ok.get_json()["id"] == deal_id
    assert client.put(url, headers=h, json={"stripe_subscription_id": "sub_Taken"}
                      ).status_code == 409
    assert client.put(url, headers=h, json={"stripe_subscription_id": "in_nope"}
                      ).status_code == 422
    with app.app_context():
        one_time = make_partner("Once Only", deals=1)
        one_deal = db.session.scalar(select(Deal.id).where(Deal.partner_id == one_time.id))
        assert db.session.get(Deal, deal_id).stripe_subscription_id == "sub_Later1"
        assert db.session.get(Deal, other_id).stripe_subscription_id == "sub_Taken"
    assert client.put(f"/api/staff/deals/{one_deal}/stripe-subscription", headers=h,
                      json={"stripe_subscription_id": "sub_X1"}).status_code == 409


def test_finance_confirms_a_monthly_deal_in_the_back_office(app, client):
    """The back office's confirm screen offers "Monthly": the deal is monthly and no
    commission is made until an invoice is paid."""
    from conftest import login, make_staff, submit

    from core.program.leads import create_lead, move_lead

    with app.app_context():
        make_staff("fin.bo@example.com", ("finance",))
        p = make_partner("Bo Monthly")
        lead = create_lead(p, {"company_name": "Care Plan Ltd"}, p.user_id)
        move_lead(lead, "won", p.user_id, 20000)
        db.session.commit()
        lead_id = lead.id
    assert login(client, "fin.bo@example.com").status_code == 302
    page = f"/admin/leads/confirm/{lead_id}"
    assert "Monthly" in client.get(page).get_data(as_text=True)
    resp = submit(client, page, {"deal_value": "200.00", "billing": "monthly"})
    assert resp.status_code == 302
    with app.app_context():
        deal = db.session.scalar(select(Deal).where(Deal.lead_id == lead_id))
        assert (deal.billing, deal.months_allowed, deal.base_rate_bps) == ("monthly", 12, 2000)
        assert db.session.scalar(select(func.count()).select_from(Commission).where(
            Commission.deal_id == deal.id)) == 0
