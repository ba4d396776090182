"""The integration API staff tools and CRMs use (rules: "API keys and scopes")."""

import csv
import io
from datetime import timedelta

from conftest import api_token, make_partner, make_staff

from core.base.extensions import db
from core.base.models import AuditLog
from core.base.timeutil import now_utc
from core.money.models import Commission, Payout
from core.program.models import TierOverride

COMMISSION_FIELDS = {"id", "partner_id", "deal_id", "type", "amount_cents", "rate_bps",
                     "status", "created_at"}


def staff_headers(app, client, email="admin@example.com", roles=("admin", "finance")):
    with app.app_context():
        make_staff(email, roles)
    return api_token(client, email, kind="staff")


def test_confirm_cancel_and_approve_flow(app, client):
    """Staff confirm a lead into a deal (201 with its commissions), approve them, make and
    approve a payout, and cancelling a deal reverses what is unpaid."""
    h = staff_headers(app, client)
    with app.app_context():
        p = make_partner("Sarah Thompson")
        from core.program.leads import create_lead, move_lead

        lead = create_lead(p, {"company_name": "TechCorp"}, p.user_id)
        move_lead(lead, "won", p.user_id, 150000)
        lead2 = create_lead(p, {"company_name": "RetailSite"}, p.user_id)
        move_lead(lead2, "won", p.user_id, 90000)
        db.session.commit()
        lead_id, lead2_id, pid = lead.id, lead2.id, p.id
    resp = client.post(f"/api/staff/leads/{lead_id}/confirm", json={"deal_value_cents": 150000},
                       headers=h)
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["deal"]["value_cents"] == 150000
    [c] = body["commissions"]
    assert COMMISSION_FIELDS <= set(c) and (c["amount_cents"], c["rate_bps"]) == (30000, 2000)
    second = client.post(f"/api/staff/leads/{lead2_id}/confirm", json={}, headers=h).get_json()
    resp = client.post("/api/staff/commissions/approve", json={"ids": [c["id"]]}, headers=h)
    assert resp.status_code == 200 and resp.get_json()["items"][0]["status"] == "approved"
    payout = client.post("/api/staff/payouts", json={"partner_id": pid}, headers=h).get_json()
    assert payout["amount_cents"] == 30000
    assert client.post(f"/api/staff/payouts/{payout['id']}/approve", headers=h).status_code == 200
    again = client.post(f"/api/staff/payouts/{payout['id']}/approve", headers=h)
    assert again.status_code == 409 and "only requested" in again.get_json()["error"]["message"]
    resp = client.post(f"/api/staff/deals/{second['deal']['id']}/cancel",
                       json={"reason": "client refunded"}, headers=h)
    assert resp.status_code == 200 and resp.get_json()["adjustments"] == []
    bal = client.get(f"/api/staff/partners/{pid}/balance", headers=h).get_json()
    assert bal["this_month"]["earned_cents"] == 30000 + 18000
    assert bal["this_month"]["reversed_cents"] == 18000


def test_team_and_loops(app, client):
    """Staff set a team leader and recruiter; a loop is refused with 422 and nothing
    changes."""
    h = staff_headers(app, client)
    with app.app_context():
        a, b = make_partner("Ann Leader"), make_partner("Bob Member")
        ids = a.id, b.id
    ok = client.put(f"/api/staff/partners/{ids[1]}/team",
                    json={"team_leader_id": ids[0], "recruiter_id": ids[0]}, headers=h)
    assert ok.status_code == 200 and ok.get_json()["team_leader_id"] == ids[0]
    loop = client.put(f"/api/staff/partners/{ids[0]}/team",
                      json={"team_leader_id": ids[1], "recruiter_id": None}, headers=h)
    assert loop.status_code == 422 and "loop" in loop.get_json()["error"]["message"]
    self_lead = client.put(f"/api/staff/partners/{ids[0]}/team",
                           json={"team_leader_id": ids[0], "recruiter_id": None}, headers=h)
    assert self_lead.status_code == 422
    with app.app_context():
        from core.program.models import Partner

        assert db.session.get(Partner, ids[0]).team_leader_id is None


def test_tier_override_applies_and_expires(app, client):
    """An override with a custom rate pays that rate; clearing it restores the computed
    tier; each change is audited; bad values are refused."""
    h = staff_headers(app, client)
    with app.app_context():
        p = make_partner("Eve Elite")
        pid = p.id
    soon = (now_utc() + timedelta(days=30)).isoformat()
    resp = client.post(f"/api/staff/partners/{pid}/tier-override", headers=h,
                       json={"tier": "elite", "base_rate_bps": 3500, "reason": "strategic",
                             "expires_at": soon})
    assert resp.status_code == 200
    status = resp.get_json()["tier_status"]
    assert status["current_tier"]["key"] == "elite" and status["base_rate_bps"] == 3500
    for bad in ({"tier": "platinum", "reason": "x"}, {"base_rate_bps": 10001, "reason": "x"},
                {"tier": "elite", "reason": ""},
                {"tier": "elite", "reason": "x", "expires_at": "2020-01-01T00:00:00+00:00"}):
        assert client.post(f"/api/staff/partners/{pid}/tier-override", json=bad,
                           headers=h).status_code == 422, bad
    cleared = client.post(f"/api/staff/partners/{pid}/tier-override", headers=h,
                          json={"tier": None, "base_rate_bps": None, "reason": "back to normal"})
    assert cleared.get_json()["tier_status"]["current_tier"]["key"] == "starter"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(TierOverride)) == 1
        actions = list(db.session.scalars(db.select(AuditLog.action).where(
            AuditLog.action.like("tier.override%")).order_by(AuditLog.id)))
        assert actions == ["tier.override", "tier.override_cleared"]


def test_api_keys_are_scoped_shown_once_and_revocable(app, client):
    """A support-only key reads a partner's balance but cannot approve partners (admin's)
    nor make payouts; revoking a key stops it at once; only the hash is stored."""
    h = staff_headers(app, client)
    key = client.post("/api/staff/api-keys", json={"name": "HubSpot sync", "roles": ["support"]},
                      headers=h)
    assert key.status_code == 201
    secret = key.get_json()["key"]
    kh = {"Authorization": f"Bearer {secret}"}
    with app.app_context():
        p = make_partner("Pat Applicant", status="applied")
        pid = p.id
        from core.accounts.models import ApiToken

        assert secret not in {t.token_hash for t in db.session.scalars(db.select(ApiToken))}
    assert client.post("/api/staff/payouts/batch", headers=kh).status_code == 403
    assert client.post(f"/api/staff/partners/{pid}/approve", headers=kh).status_code == 403
    assert client.get(f"/api/staff/partners/{pid}/balance", headers=kh).status_code == 200
    listed = client.get("/api/staff/api-keys", headers=h).get_json()["items"]
    assert listed[0]["name"] == "HubSpot sync" and "key" not in listed[0]
    assert client.delete(f"/api/staff/api-keys/{listed[0]['id']}", headers=h).status_code == 200
    assert client.get("/api/staff/api-keys", headers=kh).status_code == 401
    bad = client.post("/api/staff/api-keys", json={"name": "x", "roles": ["wizard"]}, headers=h)
    assert bad.status_code == 422


def test_batch_payouts_and_csv_export(app, client):
    """Finance pays everyone over the minimum in one call, then exports the ledger; text
    that would be a spreadsheet formula is neutralised."""
    h = staff_headers(app, client)
    with app.app_context():
        rich = make_partner("=HYPERLINK(\"http://evil\")", deals=1)
        make_partner("Poor Partner")
        db.session.execute(db.update(Commission).values(status="approved"))
        db.session.commit()
        rich_id = rich.id
    resp = client.post("/api/staff/payouts/batch", headers=h)
    assert resp.status_code == 201
    assert [p["partner_id"] for p in resp.get_json()["items"]] == [rich_id]
    assert client.post("/api/staff/payouts/batch", headers=h).get_json()["items"] == []
    today = now_utc().date()
    resp = client.get(f"/api/staff/exports/ledger.csv?from={today}&to={today + timedelta(days=1)}",
                      headers=h)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [(r["kind"], r["amount_cents"], r["amount"]) for r in rows] == [
        ("commission", "20000", "200.00"), ("payout", "20000", "200.00")]
    assert rows[0]["partner_name"].startswith("'=")
    assert client.get("/api/staff/exports/ledger.csv?from=2026-13-01&to=x",
                      headers=h).status_code == 422
    with app.app_context():
        assert db.session.scalar(db.select(Payout.status)) == "requested"


def test_bonus_and_holding_period(app, client, run_worker):
    """A staff bonus is a pending bonus commission; the scheduled job approves commissions
    whose holding period ended and leaves younger ones pending."""
    h = staff_headers(app, client)
    with app.app_context():
        p = make_partner("Bo Nus", deals=1)
        pid = p.id
    resp = client.post(f"/api/staff/partners/{pid}/bonus",
                       json={"amount_cents": 50000, "note": "Weekly Sprint winner"}, headers=h)
    assert resp.status_code == 201 and resp.get_json()["type"] == "bonus"
    assert client.post(f"/api/staff/partners/{pid}/bonus", json={"amount_cents": -5, "note": "x"},
                       headers=h).status_code == 422
    with app.app_context():
        old = db.session.scalar(db.select(Commission).where(Commission.type == "base"))
        old.hold_until = now_utc() - timedelta(minutes=1)
        db.session.commit()
        from core.base.jobs import get_queue

        get_queue("default").enqueue("core.money.commissions.approve_due")
    run_worker()
    with app.app_context():
        got = dict(db.session.execute(db.select(Commission.type, Commission.status)).all())
    assert got == {"base": "approved", "bonus": "pending"}
