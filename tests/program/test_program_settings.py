"""Staff edit the program's numbers: tiers, the payout minimum, holds. Audited."""

from conftest import api_token, login, make_partner, make_staff, submit

from core.base.extensions import db
from core.base.models import AuditLog
from core.money.models import Commission
from core.program.models import Tier


def test_admin_edits_a_tier_and_new_deals_use_it(app, client):
    """An admin raises Active's base rate to 24% in the back office; the change is audited
    and the next confirmed deal of an Active partner pays 24%; bad numbers are refused."""
    with app.app_context():
        make_staff("admin@example.com", ("admin",))
        active_id = db.session.scalar(db.select(Tier.id).where(Tier.key == "active"))
    login(client, "admin@example.com")
    page = f"/admin/tiers/edit/{active_id}"
    # rates are typed as percentages and kept in basis points
    form = {"name": "Active", "min_deals": "3", "base_rate_bps": "24", "referral_rate_bps": "5",
            "team_override_bps": "0", "holding_days": "14", "recurring_months": "24",
            "features": "24% commission"}
    assert submit(client, page, form).status_code == 302
    bad = submit(client, page, dict(form, min_deals="0"))
    assert bad.status_code == 422 and "Thresholds must be different" in bad.get_data(as_text=True)
    over = submit(client, page, dict(form, base_rate_bps="100.01"))
    assert over.status_code == 422
    assert "percentage" in over.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Tier, active_id).base_rate_bps == 2400
        assert db.session.get(Tier, active_id).recurring_months == 24
        row = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "tier.edit"))
        assert '"base_rate_bps": 2200' in row.before and '"base_rate_bps": 2400' in row.after
        p = make_partner("Ann Active", deals=4)
        last = db.session.scalar(db.select(Commission).where(Commission.partner_id == p.id)
                                 .order_by(Commission.id.desc()))
        assert (last.rate_bps, last.amount_cents) == (2400, 24000)


def test_finance_sets_minimum_and_holds(app, client):
    """Finance raises the minimum payout to $250 and a $200 balance cannot be paid out,
    lowers it to $10 and it can; support cannot open the settings; a held commission
    leaves the balance until it is approved."""
    with app.app_context():
        make_staff("fin@example.com", ("finance",))
        make_staff("sup@example.com", ("support",))
        p = make_partner("Sam Small", deals=1)
        c = db.session.scalar(db.select(Commission).where(Commission.partner_id == p.id))
        c.status = "approved"
        db.session.commit()
        pid, cid = p.id, c.id
    login(client, "sup@example.com")
    assert client.get("/admin/settings/").status_code == 403
    fin = app.test_client()
    login(fin, "fin@example.com")
    h = api_token(fin, "fin@example.com", kind="staff")
    assert submit(fin, "/admin/settings/", {"minimum": "25000"}).status_code == 302
    refused = fin.post("/api/staff/payouts", json={"partner_id": pid}, headers=h)
    assert refused.status_code == 422 and "$250.00" in refused.get_json()["error"]["message"]
    assert submit(fin, "/admin/settings/", {"minimum": "1000"}).status_code == 302
    assert submit(fin, "/admin/settings/", {"minimum": "-5"}).status_code == 200  # re-shown
    held = fin.post(f"/api/staff/commissions/{cid}/hold", json={"reason": "fraud check"}, headers=h)
    assert held.status_code == 200 and held.get_json()["status"] == "on_hold"
    assert fin.post("/api/staff/payouts", json={"partner_id": pid}, headers=h).status_code == 422
    assert fin.post("/api/staff/commissions/approve", json={"ids": [cid]},
                    headers=h).status_code == 200
    resp = fin.post("/api/staff/payouts", json={"partner_id": pid}, headers=h)
    assert resp.status_code == 201 and resp.get_json()["amount_cents"] == 20000
    with app.app_context():
        actions = set(db.session.scalars(db.select(AuditLog.action)))
    assert {"setting.payout_minimum", "commission.hold", "payout.request"} <= actions
