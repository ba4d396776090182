"""Removing a lead (rules: "Removing a lead"), as a partner does it from the app
(``DELETE /api/partner/leads/{id}``) and from the lead's page: the lead leaves every list
and count the partner sees, stays on record for staff with an audit row, and a won or
confirmed lead, or someone else's, is refused with nothing changed."""

from conftest import api_token, csrf_from, login, make_partner, make_staff
from sqlalchemy import func, select

from core.base.extensions import db
from core.base.models import AuditLog
from core.program.leads import create_lead, move_lead
from core.program.models import Lead


def _partner_with_leads(app, client):
    with app.app_context():
        maya = make_partner("Maya Chen", email="maya@example.com")
        ids = {}
        for name, stage in (("Acme", "new"), ("Bolt", "qualified"), ("Cato", "lost"),
                            ("Dune", "won")):
            lead = create_lead(maya, {"company_name": name}, maya.user_id)
            if stage == "won":
                move_lead(lead, "won", maya.user_id, 250000)
            elif stage != "new":
                move_lead(lead, stage, maya.user_id)
            db.session.flush()
            ids[name] = lead.id
        db.session.commit()
    return ids, api_token(client, "maya@example.com")


def _names(client, token, **query) -> list[str]:
    body = client.get("/api/partner/leads", headers=token, query_string=query).get_json()
    return [x["company_name"] for x in body["items"]]


def test_a_removed_lead_leaves_lists_and_counts_but_stays_on_record(app, client):
    ids, token = _partner_with_leads(app, client)

    resp = client.delete(f"/api/partner/leads/{ids['Bolt']}", headers=token)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["id"] == ids["Bolt"] and body["archived_at"].endswith("+00:00")

    assert "Bolt" not in _names(client, token)
    assert _names(client, token, status="qualified") == []
    assert client.get(f"/api/partner/leads/{ids['Bolt']}", headers=token).status_code == 404
    # nothing more can be done to it, and removing it again finds nothing
    for method, path, body in (("put", "", {"notes": "x"}), ("post", "/move", {"status": "new"}),
                               ("post", "/activity", {"activity_type": "note", "notes": "x"}),
                               ("delete", "", None)):
        resp = getattr(client, method)(f"/api/partner/leads/{ids['Bolt']}{path}",
                                       headers=token, json=body)
        assert resp.status_code == 404, (method, path)
        assert resp.get_json()["error"]["message"] == "No such lead."

    # a lost lead can go too
    assert client.delete(f"/api/partner/leads/{ids['Cato']}", headers=token).status_code == 200
    assert sorted(_names(client, token)) == ["Acme", "Dune"]

    with app.app_context():
        row = db.session.get(Lead, ids["Bolt"])
        assert row is not None and row.archived_at is not None
        assert row.status == "qualified" and row.company_name == "Bolt"
        audits = db.session.scalars(select(AuditLog).where(
            AuditLog.action == "lead.archived", AuditLog.object_id == ids["Bolt"])).all()
        assert len(audits) == 1 and audits[0].actor_id == row.partner.user_id

    # the pipeline page: the columns' counts leave them out
    page = app.test_client()
    login(page, "maya@example.com")
    html = page.get("/partner/leads").get_data(as_text=True)
    assert "Bolt" not in html and "Cato" not in html and "Acme" in html


def test_won_confirmed_and_other_partners_leads_are_refused_unchanged(app, client):
    ids, token = _partner_with_leads(app, client)
    with app.app_context():
        other = make_partner("Omar Reyes", email="omar@example.com")
        theirs = create_lead(other, {"company_name": "Omar's prospect"}, other.user_id).id
        confirmed = make_partner("Cara Deal", email="cara@example.com", deals=1)
        confirmed_lead = db.session.scalar(select(Lead.id).where(
            Lead.partner_id == confirmed.id))
        db.session.commit()

    resp = client.delete(f"/api/partner/leads/{ids['Dune']}", headers=token)
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "lead_won"
    assert "move it to lost first" in resp.get_json()["error"]["message"]

    assert client.delete(f"/api/partner/leads/{theirs}", headers=token).status_code == 404

    cara = api_token(client, "cara@example.com")
    resp = client.delete(f"/api/partner/leads/{confirmed_lead}", headers=cara)
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "deal_confirmed"

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Lead).where(
            Lead.archived_at.is_not(None))) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "lead.archived")) == 0
    assert "Dune" in _names(client, token)


def test_partner_removes_a_lead_from_its_page_and_staff_still_see_it(app, client):
    ids, _token = _partner_with_leads(app, client)
    login(client, "maya@example.com")
    html = client.get(f"/partner/leads/{ids['Acme']}").get_data(as_text=True)
    assert "Remove lead" in html and 'data-confirm="Remove Acme from your pipeline?"' in html
    # a won lead's page offers no removal
    assert "Remove lead" not in client.get(
        f"/partner/leads/{ids['Dune']}").get_data(as_text=True)

    # without the CSRF token nothing happens
    assert client.post(f"/partner/leads/{ids['Acme']}/remove").status_code == 400
    resp = client.post(f"/partner/leads/{ids['Acme']}/remove",
                       data={"csrf_token": csrf_from(html)})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/partner/leads")
    page = client.get("/partner/leads").get_data(as_text=True)
    assert "Acme removed from your pipeline." in page
    assert client.get(f"/partner/leads/{ids['Acme']}").status_code == 404

    with app.app_context():
        make_staff("support@example.com", ("support",))
    staff = app.test_client()
    login(staff, "support@example.com")
    listing = staff.get("/admin/leads/?search=Acme").get_data(as_text=True)
    assert "Acme" in listing and "Removed by partner" in listing
