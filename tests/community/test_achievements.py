"""Achievements (tier design seed 004 "Achievement Badges"): each badge is awarded once, at
the event that earns it, with a notification; reversals never take one back; the API,
the profile and the leaderboard show them."""

import re
from datetime import timedelta

import pytest
from conftest import api_token, login, make_partner, make_staff_once
from sqlalchemy import func, select

from core.base.extensions import db
from core.base.models import Setting
from core.base.timeutil import month_bounds, now_utc
from core.community import achievements
from core.community.achievements import award_scheduled
from core.community.models import Achievement, Notification
from core.money.commissions import cancel_deal, confirm_deal
from core.money.models import Deal
from core.program.leads import create_lead, move_lead
from core.program.models import Partner


def keys_of(partner_id) -> set[str]:
    return set(db.session.scalars(select(Achievement.key).where(
        Achievement.partner_id == partner_id)))


def award_notes(user_id) -> list[str]:
    return list(db.session.scalars(select(Notification.title).where(
        Notification.user_id == user_id, Notification.kind == "achievement")
        .order_by(Notification.id)))


def close_deal(partner, cents=100000, company="Client"):
    """Log a won lead for ``partner`` and have staff confirm it (committed); the deal."""
    lead = create_lead(partner, {"company_name": company}, partner.user_id)
    move_lead(lead, "won", partner.user_id, cents)
    deal, _ = confirm_deal(lead.id, make_staff_once().id)
    db.session.commit()
    return deal


def test_first_sale_is_awarded_once_at_the_first_confirmed_deal(ctx):
    """Sarah has no badge before her first deal; its confirmation awards First Sale with a
    notification linking to her profile; a second deal awards nothing again."""
    p = make_partner("Sarah Thompson")
    assert keys_of(p.id) == set()
    close_deal(p)
    assert keys_of(p.id) == {"first_sale"}
    note = db.session.scalar(select(Notification).where(Notification.kind == "achievement"))
    assert note.user_id == p.user_id and note.title == "Achievement unlocked: First Sale"
    assert note.url == "/partner/profile#achievements" and note.read_at is None
    close_deal(p, company="Second")
    assert keys_of(p.id) == {"first_sale"}
    assert award_notes(p.user_id) == ["Achievement unlocked: First Sale"]


def test_award_is_idempotent_and_only_the_inserting_call_notifies(ctx):
    """Awarding a badge already held (a retried job, a repeated event) inserts nothing and
    sends no second notification."""
    p = make_partner("Pat Partner")
    first = achievements.award([(p.id, p.user_id, "first_month")])
    again = achievements.award([(p.id, p.user_id, "first_month"),
                                (p.id, p.user_id, "first_month")])
    db.session.commit()
    assert first == [(p.id, "first_month")] and again == []
    assert db.session.scalar(select(func.count()).select_from(Achievement)) == 1
    assert award_notes(p.user_id) == ["Achievement unlocked: First Month"]


def test_quick_starter_needs_three_deals_within_thirty_days_of_approval(ctx):
    """Approved today, Quinn's third confirmed deal (not the second) makes her a Quick
    Starter. Olga, approved 31 days ago, gets First Sale and Active but no Quick Starter."""
    quinn = make_partner("Quinn Quick")
    quinn.approved_at = now_utc() - timedelta(days=2)
    olga = make_partner("Olga Old")
    olga.approved_at = now_utc() - timedelta(days=31)
    db.session.commit()
    close_deal(quinn)
    close_deal(quinn)
    assert "quick_starter" not in keys_of(quinn.id)
    close_deal(quinn)
    assert {"first_sale", "quick_starter", "tier_active"} == keys_of(quinn.id)
    for _ in range(3):
        close_deal(olga)
    assert keys_of(olga.id) == {"first_sale", "tier_active"}


def test_tier_badge_at_promotion_survives_a_cancelled_deal(ctx):
    """The deal that promotes Tina to Active awards the Active tier badge (after the tier
    notice); cancelling a deal demotes her but keeps every badge; winning the tier back
    awards nothing twice."""
    tina = make_partner("Tina Tiers", deals=2)
    assert "tier_active" not in keys_of(tina.id)
    deal = close_deal(tina)
    assert "tier_active" in keys_of(tina.id)
    kinds = list(db.session.scalars(select(Notification.kind).where(
        Notification.user_id == tina.user_id).order_by(Notification.id)))
    assert kinds[-3:] == ["tier_up", "achievement", "achievement"]  # Active, then Quick Starter
    cancel_deal(deal.id, make_staff_once().id, "client refunded")
    db.session.commit()
    assert db.session.get(Partner, tina.id).tier.key == "starter"
    assert keys_of(tina.id) == {"first_sale", "quick_starter", "tier_active"}
    before = len(award_notes(tina.user_id))
    close_deal(tina, company="Back again")
    assert db.session.get(Partner, tina.id).tier.key == "active"
    assert len(award_notes(tina.user_id)) == before


def test_every_tier_badge_up_to_elite(ctx):
    """Each tier reached earns its own badge; the lowest tier has none."""
    p = make_partner("Elle Elite", deals=25)
    assert {"tier_active", "tier_performer", "tier_elite"} <= keys_of(p.id)
    assert "tier_starter" not in keys_of(p.id)


def test_staff_override_earns_no_tier_badge(ctx):
    """An override to Elite changes the terms, not what the partner achieved."""
    from core.program.tiers import set_override

    p = make_partner("Otto Override")
    set_override(p.id, make_staff_once().id, "elite", reason="strategic account")
    db.session.commit()
    assert keys_of(p.id) == set()


def test_team_builder_at_the_third_recruit_first_sale(ctx):
    """Rita recruited four partners. Two recruits selling, or one recruit selling twice,
    is not enough; the third recruit's first confirmed deal makes Rita a Team Builder."""
    rita = make_partner("Rita Recruiter")
    recruits = [make_partner(f"Recruit {i}", recruiter=rita) for i in range(4)]
    close_deal(recruits[0])
    close_deal(recruits[0], company="Again")
    close_deal(recruits[1])
    assert "team_builder" not in keys_of(rita.id)
    close_deal(recruits[2])
    assert keys_of(rita.id) == {"team_builder"}
    close_deal(recruits[3])
    assert award_notes(rita.user_id) == ["Achievement unlocked: Team Builder"]


def test_reversed_deals_do_not_strip_team_builder_or_first_sale(ctx):
    """Once earned, First Sale and Team Builder stay when the deals behind them are
    cancelled."""
    rita = make_partner("Rita Recruiter")
    recruits = [make_partner(f"Recruit {i}", recruiter=rita) for i in range(3)]
    deals = [close_deal(r) for r in recruits]
    for d in deals:
        cancel_deal(d.id, make_staff_once().id, "cancelled")
    db.session.commit()
    assert keys_of(rita.id) == {"team_builder"}
    assert all(keys_of(r.id) == {"first_sale"} for r in recruits)


def _last_month(days: int = 3):
    now = now_utc()
    y, m = (now.year - 1, 12) if now.month == 1 else (now.year, now.month - 1)
    return month_bounds(y, m)[0] + timedelta(days=days), f"{y:04d}-{m:02d}"


def test_top_performer_goes_to_last_months_revenue_leader_once(ctx):
    """The scheduled check crowns last month's #1 by confirmed revenue (not by deal
    count), records the month, and never crowns anyone else for it: not on a second run,
    not after the winner's deal is cancelled."""
    when, period = _last_month()
    big = make_partner("Bea Big")
    many = make_partner("Manny Many")
    deal = close_deal(big, 900000)
    for i in range(3):
        close_deal(many, 100000, f"Small {i}")
    close_deal(make_partner("Now Nora"), 5_000_000)  # this month: not counted
    db.session.execute(db.update(Deal).where(Deal.partner_id.in_([big.id, many.id]))
                       .values(confirmed_at=when))
    db.session.commit()
    result = award_scheduled()
    db.session.commit()
    assert result["top_performer_month"] == period
    holders = set(db.session.scalars(select(Achievement.partner_id).where(
        Achievement.key == "top_performer")))
    assert holders == {big.id}
    assert db.session.get(Setting, achievements.TOP_PERFORMER_SETTING).value == period
    cancel_deal(deal.id, make_staff_once().id, "refunded")
    db.session.commit()
    assert award_scheduled()["top_performer_month"] is None
    db.session.commit()
    assert set(db.session.scalars(select(Achievement.partner_id).where(
        Achievement.key == "top_performer"))) == {big.id}
    assert award_notes(big.user_id).count("Achievement unlocked: Top Performer") == 1


def test_top_performer_ties_share_first_place(ctx):
    when, _ = _last_month()
    a, b = make_partner("Ann Equal"), make_partner("Ben Equal")
    close_deal(a, 250000)
    close_deal(b, 250000)
    db.session.execute(db.update(Deal).values(confirmed_at=when))
    db.session.commit()
    award_scheduled()
    db.session.commit()
    assert set(db.session.scalars(select(Achievement.partner_id).where(
        Achievement.key == "top_performer"))) == {a.id, b.id}


def test_first_month_after_thirty_active_days(ctx):
    """The scheduled check awards First Month to active partners approved 30+ days ago,
    not to newer ones, applicants or suspended partners."""
    old = make_partner("Olive Old")
    old.approved_at = now_utc() - timedelta(days=30, minutes=1)
    new = make_partner("Nia New")
    new.approved_at = now_utc() - timedelta(days=29)
    waiting = make_partner("Wes Waiting", status="applied")
    waiting.created_at = now_utc() - timedelta(days=90)
    gone = make_partner("Sue Suspended", status="suspended")
    gone.approved_at = now_utc() - timedelta(days=90)
    db.session.commit()
    award_scheduled()
    db.session.commit()
    holders = set(db.session.scalars(select(Achievement.partner_id).where(
        Achievement.key == "first_month")))
    assert holders == {old.id}
    assert award_notes(old.user_id) == ["Achievement unlocked: First Month"]
    award_scheduled()
    db.session.commit()
    assert award_notes(old.user_id) == ["Achievement unlocked: First Month"]


def test_scheduled_sweep_backfills_badges_earned_before_they_existed(ctx):
    """Partners who qualified before achievements existed (rows missing) get First Sale,
    their tier badges and Team Builder from the scheduled job, once."""
    rita = make_partner("Rita Recruiter")
    for i in range(3):
        make_partner(f"Recruit {i}", recruiter=rita, deals=1)
    vet = make_partner("Vera Veteran", deals=10)
    db.session.execute(db.delete(Achievement))
    db.session.commit()
    assert award_scheduled()["awarded"] == 3 + 1 + 3  # recruits, Rita, Vera's three
    db.session.commit()
    assert keys_of(vet.id) == {"first_sale", "tier_active", "tier_performer"}
    assert keys_of(rita.id) == {"team_builder"}
    assert award_scheduled()["awarded"] == 0


def test_scheduled_job_runs_on_a_real_worker(app, run_worker):
    """``core.community.achievements.award_achievements`` enqueued as the ticker does, run by a real
    forking RQ worker, awards First Month."""
    from core.base.jobs import get_queue

    with app.app_context():
        p = make_partner("Wendy Worker")
        p.approved_at = now_utc() - timedelta(days=45)
        db.session.commit()
        pid = p.id
        get_queue("default").enqueue("core.community.achievements.award_achievements", job_id="tick-test")
    run_worker()
    with app.app_context():
        assert "first_month" in keys_of(pid)


# --- API, profile, leaderboard -------------------------------------------------------------

def test_api_lists_earned_and_not_yet_earned_badges(app, client):
    """GET /api/partner/achievements: every badge with its condition; earned ones with the
    award time, the others with the partner's progress."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com", deals=1)
    h = api_token(client, "sarah@example.com")
    resp = client.get("/api/partner/achievements", headers=h)
    assert resp.status_code == 200
    body = resp.get_json()
    items = {i["key"]: i for i in body["items"]}
    assert list(items)[:5] == ["first_sale", "quick_starter", "team_builder", "top_performer",
                               "first_month"]
    assert {"tier_active", "tier_performer", "tier_elite"} <= set(items)
    assert body["earned"] == 1 and items["first_sale"]["earned"] is True
    assert items["first_sale"]["awarded_at"].endswith("+00:00")
    assert items["quick_starter"] == {**items["quick_starter"], "earned": False,
                                      "awarded_at": None,
                                      "progress": {"done": 1, "target": 3}}
    assert items["quick_starter"]["closes_at"] is not None
    assert items["tier_performer"]["progress"] == {"done": 1, "target": 10}
    assert items["top_performer"]["progress"] is None
    assert "revenue" in items["top_performer"]["condition"]
    assert client.get("/api/partner/achievements").status_code == 401


def test_profile_page_shows_badges(app, client):
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com", deals=3)
    login(client, "sarah@example.com")
    html = client.get("/partner/profile").get_data(as_text=True)
    section = html.split('id="achievements"')[1].split("</section>")[0]
    assert "3 of 9" in section  # 5 fixed badges, partner of the month, 3 tiers
    earned = re.findall(r'class="earned" data-badge="([a-z_]+)"', section)
    assert set(earned) == {"first_sale", "quick_starter", "tier_active"}
    assert 'class="locked" data-badge="team_builder"' in section
    assert "Not earned yet." in section and "partners you recruited" in section


def test_leaderboard_shows_badges_next_to_names_in_constant_queries(app, client):
    """Badges appear beside names on the leaderboard (tier badges left out: the tier is
    shown); the page costs the same queries with 2 ranked partners as with 9 holding
    badges."""
    from test_admin_queries import count_queries

    with app.app_context():
        make_partner("Top Seller", deals=4)
        make_partner("Me Myself", email="me@example.com", deals=1)
    login(client, "me@example.com")
    html = client.get("/partner/leaderboard").get_data(as_text=True)
    top = html.split("<strong>Top Seller</strong>")[1].split("</li>")[0]
    assert 'title="First Sale"' in top and 'title="Quick Starter"' in top
    assert "(badges: First Sale, Quick Starter)" in top and "Active tier" not in top
    small = count_queries(app, client, "/partner/leaderboard")
    with app.app_context():
        for i in range(7):
            make_partner(f"Busy {i}", deals=3)
    large = count_queries(app, client, "/partner/leaderboard")
    assert large == small
    board = client.get("/api/leaderboard", headers=api_token(client, "me@example.com"))
    rows = {r["name"]: r for r in board.get_json()["items"]}
    assert rows["Top Seller"]["badges"] == ["first_sale", "quick_starter"]


@pytest.mark.parametrize("kind", ["staff API", "back office"])
def test_staff_confirmation_notifies_the_partner_of_the_badge(app, client, kind):
    """Staff confirming Sarah's first won deal (API or back-office form) gives her a First
    Sale notification in the same transaction as the deal."""
    from conftest import make_staff, submit

    with app.app_context():
        p = make_partner("Sarah Thompson", email="sarah@example.com")
        lead = create_lead(p, {"company_name": "TechCorp"}, p.user_id)
        move_lead(lead, "won", p.user_id, 150000)
        make_staff("fin@example.com", ("finance",))
        db.session.commit()
        lead_id, uid = lead.id, p.user_id
    if kind == "staff API":
        h = api_token(client, "fin@example.com", kind="staff")
        assert client.post(f"/api/staff/leads/{lead_id}/confirm", headers=h,
                           json={}).status_code == 201
    else:
        login(client, "fin@example.com")
        resp = submit(client, f"/admin/leads/confirm/{lead_id}", {"deal_value": "1500"})
        assert resp.status_code in (302, 303), resp.status_code
    with app.app_context():
        assert award_notes(uid) == ["Achievement unlocked: First Sale"]
        deal = db.session.scalar(select(Deal))
        badge = db.session.scalar(select(Achievement))
        assert badge.awarded_at >= deal.confirmed_at - timedelta(seconds=5)


def test_quick_starter_shows_closed_once_its_window_passed(app, client):
    """Past 30 days without three deals, Quick Starter says its window closed instead of
    counting deals toward it."""
    with app.app_context():
        p = make_partner("Lena Late", email="lena@example.com", deals=1)
        p.approved_at = now_utc() - timedelta(days=40)
        db.session.commit()
    h = api_token(client, "lena@example.com")
    items = {i["key"]: i for i in client.get("/api/partner/achievements",
                                             headers=h).get_json()["items"]}
    assert items["quick_starter"]["progress"] is None and items["quick_starter"]["closes_at"]
    login(client, "lena@example.com")
    html = client.get("/partner/profile").get_data(as_text=True)
    quick = html.split('data-badge="quick_starter"')[1].split("</li>")[0]
    assert "Closed " in quick and "/3" not in quick
