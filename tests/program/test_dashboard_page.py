"""The dashboard as a partner sees it: this month's earnings and the change against last
month, rank, quick actions (log sale), and an activity feed with what everyone may see."""

import re
from datetime import timedelta

from conftest import login, make_partner, make_staff, make_staff_once, submit

from core.base.extensions import db
from core.base.timeutil import month_bounds, now_utc
from core.money.models import Commission
from core.program.models import Lead


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def last_month_moment():
    now = now_utc()
    y, m = (now.year - 1, 12) if now.month == 1 else (now.year, now.month - 1)
    return month_bounds(y, m)[0] + timedelta(days=2)


def other_closes(partner, company: str, cents: int):
    from core.money.commissions import confirm_deal
    from core.program.leads import create_lead, move_lead

    lead = create_lead(partner, {"company_name": company}, partner.user_id)
    move_lead(lead, "won", partner.user_id, cents)
    confirm_deal(lead.id, make_staff_once().id)
    db.session.commit()


def test_dashboard_figures_rank_and_quick_actions(app, client):
    with app.app_context():
        make_partner("Top Seller", deals=3)
        me = make_partner("Mia Me", email="mia@example.com", deals=1)  # $200 base this month
        db.session.add(Commission(partner_id=me.id, type="bonus", amount_cents=10000,
                                  status="approved", note="prize",
                                  created_at=last_month_moment()))
        db.session.commit()
    login(client, "mia@example.com")
    html = client.get("/partner/dashboard").get_data(as_text=True)
    page = text_of(html)
    assert "This month $200.00 ↑ 100% vs last month" in page
    assert "Rank #2 1 deal this month" in page
    assert 'href="/partner/leads#log-sale"' in html and "Log sale" in page
    assert 'href="/partner/leads#new-lead"' in html and 'href="/partner/team"' in html
    assert "style=" not in html


def test_activity_feed_shows_others_events_without_amounts_or_clients(app, client):
    with app.app_context():
        me = make_partner("Mia Me", email="mia@example.com")
        sarah = make_partner("Sarah Thompson")
        other_closes(sarah, "SecretCo Holdings", 777700)
        make_partner("Tina Tiers", deals=3)  # promoted to Active
        from core.content.models import TrainingModule

        db.session.add(TrainingModule(slug="cold-calling", title="Cold calling 101",
                                      channel="sales-fundamentals", position=9))
        from core.community import chat

        staff = make_staff("news@example.com", ("admin",))
        chat.post_message(staff, chat.get_channel_for(staff, "announcements"),
                          "Webinar on **Friday**: pricing for restaurants")
        from core.community.notifications import notify

        notify(me.user_id, "commission", "Your own notice", "only for Mia")
        db.session.commit()
    login(client, "mia@example.com")
    html = client.get("/partner/dashboard").get_data(as_text=True)
    feed = text_of(html.split('id="feed-h"')[1])
    assert "Sarah T. closed a deal!" in feed
    assert "Tina T. reached Active!" in feed and "Tina T. closed a deal!" in feed
    assert "New training module: Cold calling 101" in feed
    assert "Webinar on Friday: pricing for restaurants" in feed
    assert "Your own notice" in feed and "only for Mia" in feed
    assert "SecretCo" not in html and "7,777" not in html and "1,555" not in html
    assert "Sarah Thompson" not in feed
    assert 'href="/partner/chat/announcements#m' in html


def test_feed_hides_announcements_from_applicants_and_others_notices(app, client):
    with app.app_context():
        make_partner("Ann Applied", email="ann@example.com", status="applied")
        mia = make_partner("Mia Me")
        from core.community import chat
        from core.community.notifications import notify

        staff = make_staff("news@example.com", ("admin",))
        chat.post_message(staff, chat.get_channel_for(staff, "announcements"), "Members only")
        notify(mia.user_id, "commission", "Mia's private notice")
        db.session.commit()
    login(client, "ann@example.com")
    html = client.get("/partner/dashboard").get_data(as_text=True)
    assert "Members only" not in html and "Mia's private notice" not in html
    assert 'id="rank"' not in html and "Log sale" not in html


def test_log_sale_marks_own_open_lead_won_and_refuses_others(app, client):
    with app.app_context():
        me = make_partner("Mia Me", email="mia@example.com")
        from core.program.leads import create_lead

        mine = create_lead(me, {"company_name": "Acme Bakery"}, me.user_id)
        other = make_partner("Oscar Other")
        theirs = create_lead(other, {"company_name": "Oscar's Client"}, other.user_id)
        db.session.commit()
        mine_id, theirs_id = mine.id, theirs.id
    login(client, "mia@example.com")
    page = client.get("/partner/leads").get_data(as_text=True)
    assert 'id="log-sale"' in page and f'<option value="{mine_id}">Acme Bakery</option>' in page
    assert "Oscar" not in page
    resp = submit(client, "/partner/leads", {"sale-lead_id": str(theirs_id),
                                             "sale-deal_value": "900"},
                  post_url="/partner/leads/log-sale")
    assert resp.status_code == 404
    resp = submit(client, "/partner/leads", {"sale-lead_id": str(mine_id),
                                             "sale-deal_value": "abc"},
                  post_url="/partner/leads/log-sale")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/partner/leads#log-sale")
    resp = submit(client, "/partner/leads", {"sale-lead_id": str(mine_id),
                                             "sale-deal_value": "2,500"},
                  post_url="/partner/leads/log-sale")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/partner/leads/{mine_id}")
    detail = text_of(client.get(resp.headers["Location"]).get_data(as_text=True))
    assert "Sale logged: Acme Bakery, $2,500.00" in detail and "Deal value $2,500.00" in detail
    with app.app_context():
        assert db.session.get(Lead, mine_id).won_value_cents == 250000
        assert db.session.get(Lead, theirs_id).status == "new"


def test_dashboard_and_team_query_counts_do_not_grow(app, client):
    """The dashboard (feed included) and the team page cost the same number of queries
    with a few partners, deals and promotions as with many."""
    from test_admin_queries import count_queries

    with app.app_context():
        me = make_partner("Lena Lead", email="lena@example.com", deals=10)
        make_partner("Amy Alpha", leader=me, deals=1)
    login(client, "lena@example.com")
    client.get("/partner/team")  # creates the team channel once
    small = {u: count_queries(app, client, u) for u in ("/partner/dashboard", "/partner/team")}
    with app.app_context():
        for i in range(6):
            make_partner(f"Busy Member{i}", leader=db.session.merge(me), deals=3)
    large = {u: count_queries(app, client, u) for u in ("/partner/dashboard", "/partner/team")}
    assert large == small
    assert small["/partner/dashboard"] <= 30, small
