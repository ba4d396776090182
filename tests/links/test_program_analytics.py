"""Staff program analytics (rules: "Analytics"): revenue, commission, activation, ROI,
top partners, cohorts and pipeline checked exactly; roles; 422 for bad ranges; CSV."""

from datetime import timedelta

from conftest import api_token, login, make_partner, make_staff

from core.base.extensions import db
from core.base.timeutil import now_utc
from core.money.models import Commission, Deal
from core.program.models import Partner


def _world(app):
    """Ann: approved an hour ago, 2 confirmed $1,000 deals since, one commission paid.
    Bob: approved an hour ago, no lead. Cy: approved 40 days ago, a first $500 lead today (not within 30 days
    of approval: not activated)."""
    from core.program.leads import create_lead

    with app.app_context():
        ann = make_partner("Ann Seller", email="ann@example.com", deals=2)
        make_partner("Bob Idle", email="bob@example.com")
        cy = make_partner("Cy Late", email="cy@example.com")
        cy.approved_at = now_utc() - timedelta(days=40)
        for p in db.session.scalars(db.select(Partner).where(Partner.id != cy.id)):
            p.approved_at = now_utc() - timedelta(hours=1)
        lead = create_lead(cy, {"company_name": "Late Co", "estimated_value_cents": 50000},
                           cy.user_id)
        c = db.session.scalar(db.select(Commission).where(Commission.partner_id == ann.id)
                              .order_by(Commission.id))
        c.status = "paid"
        db.session.commit()
        paid = c.amount_cents
        total = db.session.scalar(db.select(db.func.sum(Commission.amount_cents)))
        return {"paid": paid, "total": total, "ann": ann.id, "lead": lead.id}


def test_program_figures_exact(app, client):
    w = _world(app)
    with app.app_context():
        make_staff("finance@example.com", ("finance",))
        make_staff("support@example.com", ("support",))
        assert db.session.scalar(db.select(db.func.sum(Deal.value_cents))) == 200000
    fin = api_token(client, "finance@example.com", kind="staff")
    sup = api_token(client, "support@example.com", kind="staff")
    assert client.get("/api/staff/analytics/program", headers=sup).status_code == 403
    body = client.get("/api/staff/analytics/program", headers=fin).get_json()
    assert len(body["months"]) == 12
    assert body["months"][-1]["revenue_cents"] == 200000
    assert (body["revenue_cents"], body["commission_cents"], body["commission_paid_cents"]) == \
        (200000, w["total"], w["paid"])
    assert body["partners"] == {"approved": 3, "active": 2, "activated": 1,
                                "activation_rate_bps": 3333}
    assert body["revenue_per_partner_cents"] == 100000
    assert body["roi_bps"] == 200000 * 10000 // w["paid"]
    top = body["top_partners"][0]
    assert (top["partner_id"], top["deals"], top["revenue_cents"], top["commission_paid_cents"]) == \
        (w["ann"], 2, 200000, w["paid"])
    stages = {s["stage"]: s for s in body["pipeline"]}
    assert (stages["new"]["leads"], stages["new"]["value_cents"]) == (1, 50000)
    assert stages["won"]["leads"] == 0  # Ann's are confirmed: no longer pipeline
    cohorts = {c["month"]: c for c in body["cohorts"]}
    this_month = (now_utc() - timedelta(hours=1)).date().replace(day=1).isoformat()
    cy_month = (now_utc() - timedelta(days=40)).date().replace(day=1).isoformat()
    assert cohorts[this_month]["activated"] == 1 and cohorts[this_month]["revenue_cents"] == 200000
    assert cohorts[cy_month]["activated"] == (1 if cy_month == this_month else 0)
    assert sum(c["approved"] for c in body["cohorts"]) == 3
    for q in ("from=2026-05-02&to=2026-05-01", "from=2020-01-01&to=2026-01-01", "to=someday"):
        assert client.get(f"/api/staff/analytics/program?{q}", headers=fin).status_code == 422
    page = app.test_client()
    login(page, "finance@example.com")
    html = page.get("/admin/program-analytics/").get_data(as_text=True)
    assert "$2,000.00" in html and "Ann Seller" in html and "33.3%" in html
    csv = page.get("/admin/program-analytics/csv").get_data(as_text=True).splitlines()
    assert csv[0] == "section,key,a,b,c" and csv[-1] == f"total,,200000,{w['total']},{w['paid']}"
    assert page.get("/admin/program-analytics/?from=2026-05-02&to=2026-05-01").status_code == 422
    other = app.test_client()
    login(other, "support@example.com")
    assert other.get("/admin/program-analytics/").status_code == 403


def test_links_and_landing_pages_from_rollups_and_raw(app, client):
    from core.content.models import LandingPage
    from core.program.analytics import roll_up_clicks
    from core.program.links import create_link
    from core.program.models import ReferralClick

    with app.app_context():
        make_staff("admin@example.com", ("admin",))
        p = make_partner("Lia Links", email="lia@example.com")
        page = LandingPage(slug="apps", title="Apps", status="published")
        db.session.add(page)
        db.session.flush()
        link = create_link(p, {"name": "Apps link", "slug": "apps", "landing_page_id": page.id},
                           p.user_id)
        db.session.commit()
        code, link_id, page_id = p.referral_code, link.id, page.id
    for i in range(3):
        app.test_client().get(f"/r/{code}/apps", headers={"User-Agent": "Mozilla/5.0 (iPhone)"},
                              environ_base={"REMOTE_ADDR": f"198.51.100.{i}"})
    with app.app_context():  # two of them yesterday, rolled up; one today, raw
        for c in list(db.session.scalars(db.select(ReferralClick).order_by(ReferralClick.id)))[:2]:
            c.created_at = c.created_at - timedelta(days=1)
        db.session.commit()
        roll_up_clicks()
        db.session.commit()
    staff = api_token(client, "admin@example.com", kind="staff")
    body = client.get("/api/staff/analytics/program", headers=staff).get_json()
    assert [(x["link_id"], x["clicks"]) for x in body["links"]] == [(link_id, 3)]
    assert [(x["landing_page_id"], x["clicks"]) for x in body["landing_pages"]] == [(page_id, 3)]
