"""Partner analytics (rules: "Analytics"): the funnel per link and per period, the same
from the raw clicks and from the worker's daily roll-ups; bad ranges are 422."""

from datetime import timedelta

from conftest import api_token, login, make_partner, make_staff_once, submit

from core.base.extensions import db
from core.base.timeutil import now_utc
from core.money.models import Commission
from core.program.models import Lead, ReferralClick, ReferralClickDay

PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"


def build_funnel(app):
    """Sarah's campaign link: 3 phones click (one twice, 31 minutes apart, on one UTC day
    even just after midnight), Slack previews it, 2 leave their details, one of those becomes
    a $2,000 deal staff confirm; her default link: 1 click, 1 lead. Returns (code, link id,
    commission cents)."""
    from core.money.commissions import confirm_deal
    from core.program.leads import move_lead
    from core.program.links import create_link

    with app.app_context():
        p = make_partner("Sarah Thompson", email="sarah@example.com")
        link = create_link(p, {"name": "Spring", "slug": "spring"}, p.user_id)
        db.session.commit()
        code, link_id = p.referral_code, link.id
    visitors = []
    for i in range(3):
        v = app.test_client()
        v.get(f"/r/{code}/spring", headers={"User-Agent": PHONE},
              environ_base={"REMOTE_ADDR": f"203.0.113.{i + 1}"})
        visitors.append(v)
    app.test_client().get(f"/r/{code}/spring", headers={"User-Agent": SLACK})
    with app.app_context():  # the first phone's click was 31 minutes ago
        first = db.session.scalar(db.select(ReferralClick).order_by(ReferralClick.id))
        first.created_at = first.created_at - timedelta(minutes=31)
        db.session.commit()
    app.test_client().get(f"/r/{code}/spring", headers={"User-Agent": PHONE},
                          environ_base={"REMOTE_ADDR": "203.0.113.1"})
    with app.app_context():  # both of its clicks on one day, as the unique count is per day
        midnight = now_utc().replace(hour=0, minute=0, second=0, microsecond=0)
        first = db.session.scalar(db.select(ReferralClick).order_by(ReferralClick.id))
        first.created_at = max(first.created_at, midnight)
        db.session.commit()
    for i, v in enumerate(visitors[:2]):
        submit(v, f"/r/{code}/spring", {"contact_name": f"Client {i}", "company_name": f"Co {i}",
                                         "contact_email": f"client{i}@co{i}.example"})
    d = app.test_client()
    d.get(f"/r/{code}", headers={"User-Agent": PHONE}, environ_base={"REMOTE_ADDR": "198.51.100.9"})
    submit(d, f"/r/{code}", {"contact_name": "Dee", "company_name": "Dee Co",
                             "contact_email": "dee@dee.example"})
    with app.app_context():
        lead = db.session.scalar(db.select(Lead).where(Lead.company_name == "Co 0"))
        move_lead(lead, "won", lead.partner_id, 200000)
        confirm_deal(lead.id, make_staff_once().id)
        db.session.commit()
        cents = db.session.scalar(db.select(db.func.sum(Commission.amount_cents)).where(
            Commission.partner_id == lead.partner_id))
    return code, link_id, cents


def test_funnel_exact_then_from_rollups(app, client):
    code, link_id, cents = build_funnel(app)
    assert cents and cents > 0
    headers = api_token(client, "sarah@example.com")
    today = now_utc().date()
    url = f"/api/partner/analytics?from={(today - timedelta(days=6)).isoformat()}&to={today.isoformat()}"
    body = client.get(url, headers=headers).get_json()
    assert body["totals"] == {"clicks": 5, "unique_clicks": 4, "leads": 3, "won": 1,
                              "revenue_cents": 200000, "commission_cents": cents}
    assert body["rates"] == {"lead_per_click_bps": 6000, "won_per_lead_bps": 3333,
                             "won_per_click_bps": 2000}
    assert len(body["series"]) == 7 and body["series"][-1]["period"] == today.isoformat()
    assert body["series"][-1]["clicks"] == 5 and sum(s["clicks"] for s in body["series"]) == 5
    links = {x["link_id"]: x for x in body["links"]}
    assert (links[link_id]["clicks"], links[link_id]["unique_clicks"], links[link_id]["leads"],
            links[link_id]["won"], links[link_id]["revenue_cents"]) == (4, 3, 2, 1, 200000)
    assert (links[None]["clicks"], links[None]["leads"], links[None]["won"]) == (1, 1, 0)
    one = client.get(url + f"&link={link_id}&group=week", headers=headers).get_json()
    assert one["totals"]["clicks"] == 4 and one["totals"]["leads"] == 2
    assert one["series"][0]["period"] <= (today - timedelta(days=6)).isoformat()
    # the worker rolls up finished days; today's clicks still come from the raw rows
    from core.program.analytics import roll_up_clicks

    with app.app_context():  # move every click to yesterday and roll it up
        for c in db.session.scalars(db.select(ReferralClick)):
            c.created_at = c.created_at - timedelta(days=1)
        db.session.commit()
        assert roll_up_clicks() == 2
        assert roll_up_clicks() == 0  # nothing new: idempotent
        db.session.commit()
        db.session.execute(db.delete(ReferralClick).where(ReferralClick.lead_id.is_(None)))
        db.session.execute(db.update(ReferralClick).values(ip_hash="gone"))
        db.session.commit()
        assert db.session.scalar(db.select(db.func.sum(ReferralClickDay.clicks))) == 5
    again = client.get(url, headers=headers).get_json()
    assert (again["totals"]["clicks"], again["totals"]["unique_clicks"]) == (5, 4)
    assert again["series"][-2]["clicks"] == 5


def test_bad_ranges_and_other_partners_link(app, client):
    code, link_id, _ = build_funnel(app)
    with app.app_context():
        make_partner("Olga Other", email="olga@example.com")
    olga = api_token(client, "olga@example.com")
    sarah = api_token(client, "sarah@example.com")
    for q in ("from=2026-05-02&to=2026-05-01", "from=2024-01-01&to=2026-01-02",
              "from=2026-13-01&to=2026-12-01", "from=yesterday", "group=year",
              "link=abc"):
        resp = client.get(f"/api/partner/analytics?{q}", headers=sarah)
        assert resp.status_code == 422, (q, resp.get_json())
    assert client.get(f"/api/partner/analytics?link={link_id}", headers=olga).status_code == 404
    empty = client.get("/api/partner/analytics", headers=olga).get_json()
    assert empty["totals"] == {"clicks": 0, "unique_clicks": 0, "leads": 0, "won": 0,
                               "revenue_cents": 0, "commission_cents": 0}
    assert empty["rates"]["lead_per_click_bps"] is None and len(empty["series"]) == 30
    assert client.get("/api/partner/analytics?from=2024-12-08&to=2026-12-07",
                      headers=sarah).status_code == 200  # exactly 730 days
    assert client.get("/api/partner/analytics").status_code == 401


def test_portal_page_svg_tables_csv_and_size(app):
    code, link_id, cents = build_funnel(app)
    partner = app.test_client()
    login(partner, "sarah@example.com")
    resp = partner.get("/partner/analytics")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and len(resp.data) < 150_000
    assert html.count("<svg class=\"chart\"") == 2 and 'role="img"' in html
    assert '<div class="sr-only"><table id="funnel-table">' in html
    assert "<th scope=\"row\">Clicks</th><td>5</td>" in html
    assert "<th scope=\"row\">Leads</th><td>3</td>" in html and "$2,000.00" in html
    assert "60.0%" in html  # 3 leads of 5 clicks
    bad = partner.get("/partner/analytics?from=2026-05-02&to=2026-05-01")
    assert bad.status_code == 422 and "on or before" in bad.get_data(as_text=True)
    assert partner.get("/partner/analytics?from=2023-01-01&to=2026-01-01").status_code == 422
    csv = partner.get(f"/partner/analytics.csv?link={link_id}")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).splitlines()
    assert lines[0] == "kind,period_or_link,clicks,unique_clicks,leads,won,revenue_cents,commission_cents"
    assert lines[-1] == f"total,,4,3,2,1,200000,{cents}"
    assert partner.get("/partner/analytics.csv?to=2020-01-01&from=2021-01-01").status_code == 422
    with app.app_context():
        make_partner("Olga Other", email="olga@example.com")
    olga = app.test_client()
    login(olga, "olga@example.com")
    assert olga.get(f"/partner/analytics.csv?link={link_id}").status_code == 404
    assert olga.get(f"/partner/analytics?link={link_id}").status_code == 404


def test_the_worker_keeps_the_rollups(app, run_worker):
    """The ticker asks for the hourly roll-up; the real worker runs it: yesterday's clicks
    land in referral_click_days, today's stay raw."""
    from core.base.jobs import TICK_SECONDS
    from jobs.ticker import tick

    with app.app_context():
        p = make_partner("Wes Worker", email="wes@example.com")
        code = p.referral_code
    for i in range(3):
        app.test_client().get(f"/r/{code}", headers={"User-Agent": PHONE},
                              environ_base={"REMOTE_ADDR": f"192.0.2.{i}"})
    with app.app_context():
        for c in list(db.session.scalars(db.select(ReferralClick).order_by(ReferralClick.id)))[:2]:
            c.created_at = c.created_at - timedelta(days=1)
        db.session.commit()
    tick(app, TICK_SECONDS)
    run_worker()
    with app.app_context():
        rows = list(db.session.scalars(db.select(ReferralClickDay)))
        assert [(r.link_key, r.clicks, r.unique_clicks) for r in rows] == [(0, 2, 2)]
        assert rows[0].day == (now_utc() - timedelta(days=1)).date()
