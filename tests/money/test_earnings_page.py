"""/partner/earnings as a partner sees it: this month by type, the change against last
month, a 12-month chart drawn on the server, and commissions filtered by type and status."""

import re
from datetime import UTC, datetime, timedelta

from conftest import api_token, login, make_partner

from core.base.extensions import db
from core.base.timeutil import month_bounds, now_utc
from core.money.earnings import change_percent, chart_bars, monthly_earned
from core.money.models import Commission


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def months_ago(n: int) -> datetime:
    """A moment in the middle-ish of the calendar month ``n`` months before this one."""
    now = now_utc()
    y, m = now.year, now.month
    for _ in range(n):
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return month_bounds(y, m)[0] + timedelta(days=1, hours=3)


def bonus(partner_id: int, cents: int, at: datetime, status: str = "approved", note="prize"):
    db.session.add(Commission(partner_id=partner_id, type="bonus", amount_cents=cents,
                              status=status, note=note, created_at=at))


def test_change_percent_rounds_and_needs_a_last_month():
    assert change_percent(45000, 20000) == 125
    assert change_percent(10000, 30000) == -67
    assert change_percent(1, 3) == -67
    assert change_percent(5000, 0) is None
    assert change_percent(0, 5000) == -100


def test_monthly_earned_crosses_the_year_and_counts_only_earnings(ctx):
    p = make_partner("Yara Year")
    jan = datetime(2026, 1, 15, tzinfo=UTC)
    bonus(p.id, 1000, datetime(2026, 1, 2, tzinfo=UTC))
    bonus(p.id, 2500, datetime(2025, 12, 31, 23, 59, tzinfo=UTC))
    bonus(p.id, 700, datetime(2025, 2, 1, tzinfo=UTC))
    bonus(p.id, 900, datetime(2025, 1, 31, 23, 59, tzinfo=UTC))  # 13 months back: out
    db.session.add(Commission(partner_id=p.id, type="adjustment", amount_cents=-400,
                              status="approved", created_at=datetime(2026, 1, 3, tzinfo=UTC)))
    db.session.commit()
    series = monthly_earned(p.id, now=jan)
    assert [(s["year"], s["month"]) for s in series][:2] == [(2025, 2), (2025, 3)]
    assert (series[-1]["year"], series[-1]["label"]) == (2026, "Jan")
    assert [s["earned_cents"] for s in series] == [700] + [0] * 9 + [2500, 1000]
    bars = chart_bars(series)
    assert [b["height"] for b in bars] == [28] + [0] * 9 + [100, 40]
    assert chart_bars([{"earned_cents": 1}, {"earned_cents": 100000}])[0]["height"] == 2


def test_earnings_page_breakdown_change_and_chart(app, client):
    with app.app_context():
        p = make_partner("Erin Earner", email="erin@example.com", deals=2)  # 2 × $200 base
        bonus(p.id, 5000, now_utc())
        bonus(p.id, 20000, months_ago(1))
        bonus(p.id, 10000, months_ago(3))
        db.session.commit()
    login(client, "erin@example.com")
    html = client.get("/partner/earnings").get_data(as_text=True)
    page = text_of(html)
    assert "$450.00 earned this month · ↑ 125% vs last month · last month $200.00" in page
    assert "This month by type Base commission $400.00 Bonuses $50.00" in page
    assert "Team override" not in page.split("This month by type")[1].split("Last 12")[0]
    bars = re.findall(r'<rect class="bar" x="\d+" y="(\d+)" width="20" height="(\d+)"', html)
    assert len(bars) == 12
    assert bars[-1] == ("10", "100") and bars[-2] == ("66", "44") and bars[-4] == ("88", "22")
    assert "style=" not in html and "<script>" not in html
    assert "Best month $450.00" in page


def test_commission_filters_are_allow_listed_and_own_only(app, client):
    with app.app_context():
        p = make_partner("Erin Earner", email="erin@example.com", deals=1)
        bonus(p.id, 5000, now_utc(), note="March challenge")
        bonus(p.id, 7000, now_utc(), status="reversed", note="Duplicate prize")
        other = make_partner("Oscar Other", deals=1)
        bonus(other.id, 9900, now_utc(), note="Oscar's prize")
        db.session.commit()
    login(client, "erin@example.com")

    def rows(query):
        html = client.get("/partner/earnings" + query).get_data(as_text=True)
        body = html.split('<ul class="commissions" id="commission-list">')[1].split("</ul>")[0]
        return text_of(body), html

    every, _ = rows("")
    assert "March challenge" in every and "Duplicate prize" in every
    assert "Base commission (20%)" in every
    assert "Oscar" not in every and "$99.00" not in every
    only_bonus, html = rows("?type=bonus")
    assert "March challenge" in only_bonus and "Duplicate prize" in only_bonus
    assert "Base commission" not in only_bonus
    assert '<option value="bonus" selected>' in html
    kept, _ = rows("?type=bonus&status=approved")
    assert "March challenge" in kept and "Duplicate prize" not in kept
    none_, _ = rows("?type=referral")
    assert "No commissions match these filters." in none_
    bad, html = rows("?type=evil%27--&status=pending")
    assert "That type filter is not known" in text_of(html)
    assert "Duplicate prize" not in bad and "$200.00" in bad  # status kept, type dropped
    assert 'value="evil' not in html and "evil" not in bad


def test_api_filters_and_chart(app, client):
    with app.app_context():
        p = make_partner("Erin Earner", email="erin@example.com", deals=1)
        bonus(p.id, 5000, now_utc())
        db.session.commit()
    h = api_token(client, "erin@example.com")
    items = client.get("/api/partner/commissions?type=bonus", headers=h).get_json()["items"]
    assert [(c["type"], c["amount_cents"]) for c in items] == [("bonus", 5000)]
    assert client.get("/api/partner/commissions?type=evil", headers=h).status_code == 422
    chart = client.get("/api/partner/earnings/chart", headers=h).get_json()["items"]
    assert len(chart) == 12 and chart[-1]["earned_cents"] == 25000
    summary = client.get("/api/partner/earnings/summary", headers=h).get_json()
    assert summary["change_percent"] is None


def test_dashboard_glance_agrees_with_the_statement_figures(ctx):
    """month_glance (two queries) gives the same months as earnings_summary (statements)."""
    from core.money.earnings import earnings_summary, month_glance

    p = make_partner("Gina Glance", deals=2)
    bonus(p.id, 20000, months_ago(1))
    bonus(p.id, 5000, months_ago(2))
    db.session.add(Commission(partner_id=p.id, type="adjustment", amount_cents=-3000,
                              status="approved", created_at=now_utc()))
    db.session.commit()
    full, glance = earnings_summary(p.id), month_glance(p.id)
    assert glance["this_month_cents"] == full["this_month"]["earned_cents"] == 40000
    assert glance["last_month_cents"] == full["last_month"]["earned_cents"] == 20000
    assert glance["change_percent"] == full["change_percent"] == 100
    assert glance["approved_cents"] == full["approved_cents"] == 22000
