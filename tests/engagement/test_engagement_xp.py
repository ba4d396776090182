"""XP where things happen, amounts staff set, levels staff name, and the weekly streak with
its grace rule (rules: "XP, levels and streaks")."""

from datetime import UTC, date, datetime, timedelta

from conftest import login, make_partner, make_staff, make_staff_once, submit
from sqlalchemy import func, select

from core.base.extensions import db
from core.base.models import AuditLog
from core.community.models import Playbook
from core.community.playbooks import review_playbook, submit_playbook
from core.content import training
from core.content.models import TrainingModule
from core.engagement.models import Level, XpEntry, XpRule
from core.engagement.streaks import GRACE_EVERY, streak_for, streak_from_weeks
from core.engagement.xp import XP_ACTIONS, level_for, record_action, total_xp
from core.money.commissions import confirm_deal
from core.money.models import Commission
from core.program.leads import create_lead, move_lead


def _actions(pid):
    return sorted(db.session.scalars(select(XpEntry.action).where(XpEntry.partner_id == pid)))


def test_leads_stages_and_a_confirmed_deal_earn_xp_once_each(ctx):
    """A lead logged (10), moved to contacted and proposal (5 each, once per stage even
    when it goes back and forth), won and confirmed (100 at confirmation, not before)."""
    p = make_partner("Xavi Xp", email="xavi@example.com")
    lead = create_lead(p, {"company_name": "TechCorp"}, p.user_id)
    move_lead(lead, "contacted", p.user_id)
    move_lead(lead, "new", p.user_id)
    move_lead(lead, "contacted", p.user_id)
    move_lead(lead, "proposal", p.user_id)
    move_lead(lead, "won", p.user_id, 250000)
    db.session.commit()
    assert _actions(p.id) == ["lead_logged", "stage_moved", "stage_moved", "stage_moved"]
    confirm_deal(lead.id, make_staff_once().id)
    db.session.commit()
    assert "deal_won" in _actions(p.id)
    assert total_xp(p.id) == 10 + 5 * 3 + 100  # contacted, proposal, won moves


def test_xp_never_changes_money(ctx):
    """Commissions (the ledger) of a confirmed deal are the same with XP rules at 0 or at
    10,000: XP lives in its own ledger."""
    def money_of(name, points):
        for rule in db.session.scalars(select(XpRule)):
            rule.points = points
        p = make_partner(name)
        lead = create_lead(p, {"company_name": name}, p.user_id)
        move_lead(lead, "won", p.user_id, 100000)
        deal, _ = confirm_deal(lead.id, make_staff_once().id)
        db.session.commit()
        comm = db.session.scalar(select(func.sum(Commission.amount_cents)).where(
            Commission.deal_id == deal.id))
        rows = db.session.scalar(select(func.count()).select_from(Commission).where(
            Commission.partner_id == p.id))
        return comm, rows, total_xp(p.id)

    low, high = money_of("Low Xp", 0), money_of("High Xp", 10000)
    assert low[:2] == high[:2]
    assert low[2] == 0 and high[2] > 0


def test_training_pass_and_published_playbook_earn_xp(ctx):
    """Passing a module (once, however often) and a playbook published in review."""
    p = make_partner("Tara Train", email="tara@example.com", training=False)
    module = db.session.scalar(select(TrainingModule).order_by(TrainingModule.position))
    qs = training.questions(module)
    answers = {q.id: q.correct_index for q in qs}
    training.submit(p, module, answers)
    training.submit(p, module, answers)
    content = make_staff("content@example.com", ("content",))
    pb = submit_playbook(p.user, "Opening line for dentists", "Health & dental", "script",
                         "Ask how many patients miss their cleaning each month, then listen.")
    db.session.commit()
    assert "playbook_published" not in _actions(p.id)
    review_playbook(content, pb.id, "publish")
    db.session.commit()
    assert _actions(p.id).count("module_passed") == 1
    assert _actions(p.id).count("playbook_published") == 1
    assert db.session.get(Playbook, pb.id).status == "published"


def test_staff_set_the_amounts_in_the_back_office(app, client):
    """Content staff change lead_logged to 25 on the XP rules screen (audited); the next
    lead earns 25, the earlier one keeps its 10; a negative amount is refused."""
    with app.app_context():
        p = make_partner("Amy Amount", email="amy@example.com")
        create_lead(p, {"company_name": "Before"}, p.user_id)
        db.session.commit()
        make_staff("content@example.com", ("content",))
        rule_id = db.session.scalar(select(XpRule.id).where(XpRule.action == "lead_logged"))
        pid = p.id
    login(client, "content@example.com")
    url = f"/admin/xp-rules/edit/?id={rule_id}"
    resp = submit(client, url, {"points": "-5"})
    with app.app_context():
        assert db.session.get(XpRule, rule_id).points == XP_ACTIONS["lead_logged"]
    assert resp.status_code == 200
    assert "Points are a whole number from 0 to 10000." in resp.get_data(as_text=True)
    resp = submit(client, url, {"points": "25"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(XpRule, rule_id).points == 25
        from core.program.models import Partner

        partner = db.session.get(Partner, pid)
        create_lead(partner, {"company_name": "After"}, partner.user_id)
        db.session.commit()
        points = sorted(db.session.scalars(select(XpEntry.points).where(
            XpEntry.partner_id == pid)))
        assert points == [10, 25]
        assert db.session.scalar(select(AuditLog.after).where(
            AuditLog.action == "xp_rule.update")) is not None


def test_levels_come_from_xp_with_the_names_staff_set(ctx):
    """Seeded: Rookie at 0, Explorer at 100. 120 XP is Explorer, 180 to Hustler (300);
    a renamed level shows its new name."""
    got = level_for(120)
    assert (got["name"], got["number"], got["next_name"], got["to_next"]) == \
        ("Explorer", 2, "Hustler", 180)
    assert level_for(0)["name"] == "Rookie"
    top = level_for(10**7)
    assert top["next_name"] is None and top["progress_percent"] == 100
    db.session.scalar(select(Level).where(Level.min_xp == 100)).name = "Scout"
    assert level_for(150)["name"] == "Scout"


# --- streaks ---------------------------------------------------------------------------

MON = date(2027, 1, 4)  # a Monday


def weeks(*offsets):
    return {MON + timedelta(weeks=o) for o in offsets}


def test_streak_counts_kept_weeks_and_the_running_week_never_breaks_it():
    """Three kept weeks, the running week not yet: 3, at risk; once kept: 4."""
    got = streak_from_weeks(weeks(0, 1, 2), MON + timedelta(weeks=3))
    assert (got["weeks"], got["this_week_done"], got["at_risk"]) == (3, False, True)
    got = streak_from_weeks(weeks(0, 1, 2, 3), MON + timedelta(weeks=3))
    assert (got["weeks"], got["this_week_done"], got["at_risk"]) == (4, True, False)


def test_grace_week_after_four_kept_weeks_then_a_second_miss_breaks():
    """Four kept weeks earn one grace: a missed fifth week is forgiven (streak stays 4, and
    grows on). A second miss before four more kept weeks breaks it."""
    assert GRACE_EVERY == 4
    got = streak_from_weeks(weeks(0, 1, 2, 3, 5, 6), MON + timedelta(weeks=6))
    assert (got["weeks"], got["grace_used"], got["grace_available"]) == (6, 1, False)
    got = streak_from_weeks(weeks(0, 1, 2, 3, 5, 6, 8), MON + timedelta(weeks=8))
    assert got["weeks"] == 1 and got["best"] == 6


def test_no_grace_before_four_kept_weeks_and_grace_is_not_saved_up():
    """Three kept weeks then a miss: broken. Twelve kept weeks hold one grace, not three:
    two misses in a row break the streak."""
    assert streak_from_weeks(weeks(0, 1, 2, 4), MON + timedelta(weeks=4))["weeks"] == 1
    kept = weeks(*range(12))
    got = streak_from_weeks(kept | weeks(14), MON + timedelta(weeks=14))
    assert got["weeks"] == 1 and got["best"] == 12
    got = streak_from_weeks(kept | weeks(13), MON + timedelta(weeks=13))
    assert got["weeks"] == 13 and got["grace_used"] == 1


def test_weeks_are_iso_weeks_in_the_partners_time_zone(ctx):
    """An action at Sunday 23:30 in Los Angeles is Monday 07:30 UTC: it keeps the Sunday's
    week there. Two actions a week apart by the local calendar make a streak of 2."""
    p = make_partner("Lou Angeles", email="lou@example.com")
    p.timezone = "America/Los_Angeles"
    sunday_night = datetime(2027, 1, 11, 7, 30, tzinfo=UTC)   # Sun 10 Jan 23:30 PST
    record_action(p.id, "lead_logged", "lead:a", at=sunday_night)
    record_action(p.id, "lead_logged", "lead:b", at=datetime(2027, 1, 12, 18, tzinfo=UTC))
    db.session.commit()
    got = streak_for(p, now=datetime(2027, 1, 13, 18, tzinfo=UTC))
    assert got["weeks"] == 2 and got["this_week_done"]
    p.timezone = "UTC"
    assert streak_for(p, now=datetime(2027, 1, 13, 18, tzinfo=UTC))["weeks"] == 1
