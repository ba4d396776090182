"""The CRM sync API: change feeds a CRM polls by updated_since and a cursor without
missing or repeating a row while rows change, and leads it writes by its own id
(rules: "CRM sync")."""

from datetime import timedelta

from conftest import make_partner
from sqlalchemy import func, select, update
from test_staff_api import staff_headers

from core.base.extensions import db
from core.base.models import AuditLog
from core.base.timeutil import now_utc
from core.money.models import Commission


def feed(client, h, path, **params):
    """Every page of a feed from ``params``; returns (items in order, last cursor)."""
    items, cursor = [], None
    while True:
        q = dict(params, **({"cursor": cursor} if cursor else {}))
        resp = client.get(path, headers=h, query_string=q)
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        items += body["items"]
        cursor = body["next_cursor"] or cursor
        if not body["has_more"]:
            return items, cursor


def test_paging_while_rows_change_misses_nothing_and_repeats_only_changes(app, client):
    """A CRM pages leads two at a time; meanwhile one lead it already read and one it
    has not reached change, and a new one is added: it gets every lead, the changed one
    it had read comes again with its new state, nothing else twice; polling on from the
    last cursor gets only later changes."""
    h = staff_headers(app, client)
    from core.program.leads import create_lead, update_lead
    from core.program.models import Lead

    with app.app_context():
        p = make_partner("Cursor Carl")
        ids = [create_lead(p, {"company_name": f"Co {i}"}, p.user_id).id for i in range(5)]
        db.session.commit()
        pid = p.id
    first = client.get("/api/staff/leads", headers=h, query_string={"limit": 2}).get_json()
    assert [x["id"] for x in first["items"]] == ids[:2] and first["has_more"]
    with app.app_context():
        for lead_id, name in ((ids[0], "Co 0 renamed"), (ids[3], "Co 3 renamed")):
            update_lead(db.session.get(Lead, lead_id), {"company_name": name})
        from core.program.models import Partner

        owner = db.session.get(Partner, pid)
        new = create_lead(owner, {"company_name": "Co new"}, owner.user_id)
        db.session.commit()
        new_id = new.id
    rest, cursor = feed(client, h, "/api/staff/leads", cursor=first["next_cursor"], limit=2)
    seen = [x["id"] for x in first["items"] + rest]
    assert sorted(set(seen)) == sorted(ids + [new_id])
    assert seen.count(ids[0]) == 2 and all(seen.count(i) == 1 for i in ids[1:] + [new_id])
    latest = {x["id"]: x["company_name"] for x in first["items"] + rest}
    assert latest[ids[0]] == "Co 0 renamed" and latest[ids[3]] == "Co 3 renamed"
    again = client.get("/api/staff/leads", headers=h, query_string={"cursor": cursor}).get_json()
    assert again["items"] == [] and again["next_cursor"] == cursor and not again["has_more"]


def test_updated_since_bulk_changes_and_settling(app, client):
    """updated_since filters; a commission approved by the holding-period job (one bulk
    UPDATE) shows as changed; rows changed within SYNC_SETTLE_SECONDS wait; bad
    parameters are 422s."""
    h = staff_headers(app, client)
    with app.app_context():
        make_partner("Feed Fay", deals=1)
    start = now_utc()
    everything, _ = feed(client, h, "/api/staff/commissions")
    assert len(everything) == 1 and everything[0]["status"] == "pending"
    assert feed(client, h, "/api/staff/commissions",
                updated_since=start.isoformat())[0] == []
    with app.app_context():
        db.session.execute(update(Commission).values(hold_until=now_utc() - timedelta(days=1)))
        db.session.commit()
        from core.money.commissions import approve_due_commissions

        assert approve_due_commissions() == 1
        db.session.commit()
    changed, _ = feed(client, h, "/api/staff/commissions", updated_since=start.isoformat())
    assert [c["status"] for c in changed] == ["approved"]
    for path in ("/api/staff/partners", "/api/staff/deals", "/api/staff/payouts"):
        assert client.get(path, headers=h).status_code == 200
    assert len(feed(client, h, "/api/staff/deals")[0]) == 1
    app.config["SYNC_SETTLE_SECONDS"] = 60
    try:
        held = client.get("/api/staff/commissions", headers=h).get_json()
        assert held["items"] == [] and held["next_cursor"] is None
    finally:
        app.config["SYNC_SETTLE_SECONDS"] = 0
    for params in ({"updated_since": "yesterday"}, {"updated_since": "2026-12-01T00:00:00"},
                   {"cursor": "not-ours"}, {"limit": "0"}, {"limit": "501"}):
        resp = client.get("/api/staff/commissions", headers=h, query_string=params)
        assert resp.status_code == 422, (params, resp.get_json())


def test_a_crm_writes_leads_by_its_own_id_and_marks_them_won(app, client):
    """PUT by external id creates the lead once (the same call again changes nothing),
    updates it, marks it won with a value, and staff confirm it from the queue; a lead
    of another partner, an unknown partner and bad input are refused."""
    h = staff_headers(app, client)
    with app.app_context():
        p, other = make_partner("Crm Cara"), make_partner("Other Otto")
        applied = make_partner("New Nia", status="applied")
        pid, other_id, applied_id = p.id, other.id, applied.id
    url = "/api/staff/leads/by-external-id/hubspot-deal:4711"
    body = {"partner_id": pid, "company_name": "Acme Ltd", "contact_email": "jo@acme.test"}
    made = client.put(url, headers=h, json=body)
    assert made.status_code == 200, made.get_json()
    lead = made.get_json()
    assert (lead["external_id"], lead["source"], lead["status"]) == (
        "hubspot-deal:4711", "crm", "new")
    same = client.put(url, headers=h, json=body).get_json()
    assert same["id"] == lead["id"] and same["updated_at"] == lead["updated_at"]
    won = client.put(url, headers=h, json={"partner_id": pid, "status": "won",
                                           "deal_value_cents": 250000}).get_json()
    assert (won["status"], won["deal_value_cents"], won["company_name"]) == (
        "won", 250000, "Acme Ltd")
    confirmed = client.post(f"/api/staff/leads/{lead['id']}/confirm", headers=h, json={})
    assert confirmed.status_code == 201
    assert client.put(url, headers=h, json={"partner_id": pid, "status": "lost"}
                      ).status_code == 409  # its deal is confirmed
    assert client.put(url, headers=h, json={"partner_id": other_id, "company_name": "X"}
                      ).status_code == 409
    assert client.put(url, headers=h, json={"partner_id": 999999, "company_name": "X"}
                      ).status_code == 404
    assert client.put("/api/staff/leads/by-external-id/fresh-1", headers=h,
                      json={"partner_id": applied_id, "company_name": "X"}).status_code == 409
    for bad in ({"partner_id": pid}, {"partner_id": pid, "company_name": "X", "status": "won"},
                {"partner_id": pid, "company_name": "X", "deal_value_cents": 5},
                {"partner_id": pid, "company_name": "X", "status": "closed"},
                {"partner_id": pid, "company_name": "X", "owner": "me"}):
        resp = client.put("/api/staff/leads/by-external-id/fresh-2", headers=h, json=bad)
        assert resp.status_code == 422, (bad, resp.get_json())
    assert client.put("/api/staff/leads/by-external-id/" + "x" * 101, headers=h,
                      json={"partner_id": pid, "company_name": "X"}).status_code == 422
    with app.app_context():
        from core.program.models import Lead

        assert db.session.scalar(select(func.count()).select_from(Lead)) == 1
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "lead.crm_upsert")) == 2  # created, then marked won


def test_crm_ids_of_partners_and_deals(app, client):
    """Staff set the CRM's id of a partner and a deal; another row cannot take it; null
    clears it; the feeds show it."""
    h = staff_headers(app, client)
    with app.app_context():
        a, b = make_partner("Ext Ann", deals=1), make_partner("Ext Ben")
        aid, bid = a.id, b.id
        from core.money.models import Deal

        deal_id = db.session.scalar(select(Deal.id))
    ok = client.put(f"/api/staff/partners/{aid}/external-id", headers=h,
                    json={"external_id": "sf-001"})
    assert ok.status_code == 200 and ok.get_json()["external_id"] == "sf-001"
    assert client.put(f"/api/staff/partners/{bid}/external-id", headers=h,
                      json={"external_id": "sf-001"}).status_code == 409
    assert client.put(f"/api/staff/partners/{bid}/external-id", headers=h,
                      json={"external_id": "has space"}).status_code == 422
    deal = client.put(f"/api/staff/deals/{deal_id}/external-id", headers=h,
                      json={"external_id": "sf-deal-9"})
    assert deal.status_code == 200 and deal.get_json()["external_id"] == "sf-deal-9"
    partners, _ = feed(client, h, "/api/staff/partners")
    assert {x["id"]: x["external_id"] for x in partners}[aid] == "sf-001"
    cleared = client.put(f"/api/staff/partners/{aid}/external-id", headers=h,
                         json={"external_id": None})
    assert cleared.get_json()["external_id"] is None
    _, cursor = feed(client, h, "/api/staff/partners")
    with app.app_context():
        from core.program.models import Partner
        from core.program.profile import update_profile

        update_profile(db.session.get(Partner, bid), {"name": "Ben Renamed"})
        db.session.commit()
    renamed, _ = feed(client, h, "/api/staff/partners", cursor=cursor)
    assert [(x["id"], x["name"]) for x in renamed] == [(bid, "Ben Renamed")]
