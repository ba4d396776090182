"""Leads from SISO's website through /t.js and POST /t/lead (rules: "Links and
attribution"): listed origins only (403 and no CORS otherwise), idempotent by client id,
attributed from the cookie, rate-limited."""

from conftest import login, make_partner, make_staff, submit

from core.base.extensions import db
from core.program.models import Lead, ReferralClick

PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
SITE = "https://www.siso.example"


def _origins(app, text=SITE):
    with app.app_context():
        make_staff("admin@example.com", ("admin",))
    admin = app.test_client()
    login(admin, "admin@example.com")
    assert submit(admin, "/admin/attribution/", {"days": "90", "model": "first",
                                                 "origins": "javascript:alert(1)"}).status_code == 200
    assert submit(admin, "/admin/attribution/", {"days": "90", "model": "first",
                                                 "origins": text}).status_code == 302


def test_tag_and_lead_from_listed_origin(app):
    _origins(app)
    with app.app_context():
        from core.program.links import create_link

        p = make_partner("Sarah Thompson", email="sarah@example.com")
        link = create_link(p, {"name": "Site", "slug": "site",
                               "target_url": "https://www.siso.example/"}, p.user_id)
        db.session.commit()
        code, pid, link_id = p.referral_code, p.id, link.id
    tag = app.test_client().get("/t.js")
    assert tag.status_code == 200 and tag.mimetype == "text/javascript"
    assert len(tag.data) < 4096 and b"http" not in tag.data.split(b"*/", 1)[1]  # no other site
    visitor = app.test_client()
    assert visitor.get(f"/r/{code}/site", headers={"User-Agent": PHONE}).status_code == 302
    pre = visitor.options("/t/lead", headers={"Origin": SITE,
                                              "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204 and pre.headers["Access-Control-Allow-Origin"] == SITE
    assert pre.headers["Access-Control-Allow-Credentials"] == "true"
    body = {"client_id": "b7c1d2e3-0000-4000-8000-000000000001", "company_name": "Web Co",
            "contact_name": "Wendy", "contact_email": "wendy@webco.example"}
    first = visitor.post("/t/lead", json=body, headers={"Origin": SITE})
    assert first.status_code == 201 and first.get_json() == {"attributed": True, "created": True}
    assert first.headers["Access-Control-Allow-Origin"] == SITE
    again = visitor.post("/t/lead", json=body, headers={"Origin": SITE})
    assert again.status_code == 200 and again.get_json()["created"] is False
    with app.app_context():
        leads = list(db.session.scalars(db.select(Lead)))
        assert len(leads) == 1
        lead = leads[0]
        assert (lead.partner_id, lead.source, lead.link_id) == (pid, "website", link_id)
        click = db.session.scalar(db.select(ReferralClick))
        assert click.lead_id == lead.id and f'"click_id": {click.id}' in lead.attribution
    # no attribution cookie: nothing stored
    anon = app.test_client().post("/t/lead", json=dict(body, client_id="x" * 10),
                                  headers={"Origin": SITE})
    assert anon.status_code == 200 and anon.get_json() == {"attributed": False}
    # bad input: a clear 4xx, nothing stored
    for bad in ({"client_id": "short"}, dict(body, client_id="b" * 9, contact_email="",
                                                  contact_phone="")):
        assert visitor.post("/t/lead", json=bad, headers={"Origin": SITE}).status_code == 422
    assert visitor.post("/t/lead", data="nope", headers={"Origin": SITE,
                                                         "Content-Type": "text/plain"}).status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Lead)) == 1


def test_unlisted_origin_refused(app):
    _origins(app)
    with app.app_context():
        p = make_partner("Mike Reyes", email="mike@example.com")
        code = p.referral_code
    visitor = app.test_client()
    visitor.get(f"/r/{code}", headers={"User-Agent": PHONE})
    body = {"client_id": "c" * 12, "company_name": "Evil Co", "contact_email": "e@evil.example"}
    for origin in ("https://evil.example", "", "https://www.siso.example.evil.example", "null"):
        headers = {"Origin": origin} if origin else {}
        pre = visitor.options("/t/lead", headers=headers)
        resp = visitor.post("/t/lead", json=body, headers=headers)
        assert pre.status_code == 403 and resp.status_code == 403, origin
        assert "Access-Control-Allow-Origin" not in resp.headers
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Lead)) == 0


def test_rate_limited(app):
    _origins(app)
    app.config["WEBSITE_LEAD_LIMIT_PER_IP"] = "3 per hour"
    try:
        client = app.test_client()
        codes = [client.post("/t/lead", json={"client_id": f"limit-{i:04d}",
                                              "company_name": "X", "contact_email": "x@x.example"},
                             headers={"Origin": SITE}).status_code for i in range(5)]
        assert codes == [200, 200, 200, 429, 429]
    finally:
        app.config["WEBSITE_LEAD_LIMIT_PER_IP"] = "1000 per hour"
