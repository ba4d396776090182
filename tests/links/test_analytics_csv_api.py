"""The analytics as CSV in the API (rules: "Analytics"): the partner's funnel and the staff
program figures, the same numbers as the JSON for the same query; roles and bad ranges."""

import csv
import io

from conftest import api_token, make_staff
from test_analytics import build_funnel

from core.program.analytics import METRICS


def test_partner_analytics_csv_matches_the_json(app, client):
    _code, link_id, cents = build_funnel(app)
    sarah = api_token(client, "sarah@example.com")
    for q in ("", "group=week", f"group=month&link={link_id}"):
        body = client.get(f"/api/partner/analytics?{q}", headers=sarah).get_json()
        resp = client.get(f"/api/partner/analytics.csv?{q}", headers=sarah)
        assert resp.status_code == 200 and resp.mimetype == "text/csv"
        assert "attachment" in resp.headers["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
        total = rows[-1]
        assert total["kind"] == "total"
        assert {m: int(total[m]) for m in METRICS} == body["totals"]
        periods = [r for r in rows if r["kind"] == "period"]
        assert [(r["period_or_link"], int(r["clicks"]), int(r["revenue_cents"])) for r in periods] \
            == [(s["period"], s["clicks"], s["revenue_cents"]) for s in body["series"]]
        links = [r for r in rows if r["kind"] == "link"]
        assert [(r["period_or_link"], int(r["leads"])) for r in links] == \
            [(x["name"], x["leads"]) for x in body["links"]]
    assert int(total["commission_cents"]) == cents
    bad = client.get("/api/partner/analytics.csv?from=2026-05-02&to=2026-05-01", headers=sarah)
    assert bad.status_code == 422
    assert client.get("/api/partner/analytics.csv?link=999999", headers=sarah).status_code == 404
    assert client.get("/api/partner/analytics.csv").status_code == 401


def test_staff_program_csv_matches_the_json(app, client):
    build_funnel(app)
    with app.app_context():
        make_staff("fin@example.com", ("finance",))
        make_staff("help@example.com", ("support",))
    fin = api_token(client, "fin@example.com", kind="staff")
    body = client.get("/api/staff/analytics/program", headers=fin).get_json()
    resp = client.get("/api/staff/analytics/program.csv", headers=fin)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0] == ["section", "key", "a", "b", "c"]
    assert rows[-1] == ["total", "", str(body["revenue_cents"]), str(body["commission_cents"]),
                        str(body["commission_paid_cents"])]
    assert [(r[1], int(r[2]), int(r[3])) for r in rows if r[0] == "month"] == \
        [(m["month"], m["revenue_cents"], m["commission_cents"]) for m in body["months"]]
    assert [r[1] for r in rows if r[0] == "partner"] == [p["name"] for p in body["top_partners"]]
    assert client.get("/api/staff/analytics/program.csv?from=2026-05-02&to=2026-05-01",
                      headers=fin).status_code == 422
    helper = api_token(client, "help@example.com", kind="staff")
    assert client.get("/api/staff/analytics/program.csv", headers=helper).status_code == 403
