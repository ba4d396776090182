"""Performance alerts (rules: "Performance alerts"): coaching nudges for no lead in 14
days, a proposal untouched for 21 days, one deal from the next tier and a weekly streak
about to break, each with a link to the matching training module, sent by the scheduled
job on the real worker from 9:00 in the partner's zone, at most once per ISO week per
kind, and never to a partner who switched that kind off."""

from datetime import datetime, timedelta

from conftest import make_partner
from sqlalchemy import update

from core.base.extensions import db
from core.base.timeutil import now_utc
from core.community.models import Notification
from core.content.models import TrainingModule
from core.program.leads import create_lead
from core.program.models import Lead, LeadActivity, Partner


def _friday_morning() -> datetime:
    """A Friday 10:00 UTC between two and three weeks from today (partners made now are
    then 14+ days old)."""
    day = (now_utc() + timedelta(days=15)).replace(hour=10, minute=0, second=0, microsecond=0)
    return day + timedelta(days=(4 - day.weekday()) % 7)


def _alerts(user_id) -> list[tuple[str, str]]:
    return [(n.kind, n.url) for n in db.session.scalars(
        db.select(Notification).where(Notification.user_id == user_id,
                                      Notification.kind.like("alert_%"))
        .order_by(Notification.id))]


def _lead(partner, name, created, status="new", touched=None):
    lead = create_lead(partner, {"company_name": name}, partner.user_id)
    db.session.flush()
    db.session.execute(update(Lead).where(Lead.id == lead.id).values(
        created_at=created, status=status, updated_at=touched or created,
        stage_changed_at=touched or created))
    db.session.execute(update(LeadActivity).where(LeadActivity.lead_id == lead.id).values(
        created_at=touched or created))
    return lead


def test_each_nudge_goes_to_the_partner_it_fits_once_a_week(app, run_worker, monkeypatch):
    """On a Friday morning: Quinn (no lead ever, approved 2+ weeks ago) is nudged to
    prospect, Penny about a proposal untouched 22 days, Ned that one deal takes him to
    Active, Sam that his streak ends Sunday. Olive, as quiet as Quinn, switched that nudge
    off; Lani in Honolulu is still before 9:00. A second round the same week sends
    nothing; the next week Quinn, still quiet, hears again."""
    import core.alerts.performance as performance
    from core.base.jobs import TICK_SECONDS
    from core.community.notifications import set_preferences
    from core.engagement.xp import record_action
    from jobs.ticker import tick

    now = _friday_morning()
    with app.app_context():
        quinn = make_partner("Quinn Quiet")
        olive = make_partner("Olive Off")
        set_preferences(olive.user_id, {"alert_no_lead": {"portal": False, "email": False,
                                                          "push": False}})
        lani = make_partner("Lani Later")
        lani.timezone = "Pacific/Honolulu"
        penny = make_partner("Penny Proposal")
        _lead(penny, "Stale Co", now - timedelta(days=3), "proposal",
              touched=now - timedelta(days=22))
        _lead(penny, "Fresh Co", now - timedelta(days=3), "proposal",
              touched=now - timedelta(days=2))
        ned = make_partner("Ned Nexttier", deals=2)
        db.session.execute(update(Lead).where(Lead.partner_id == ned.id)
                           .values(created_at=now - timedelta(days=1)))
        sam = make_partner("Sam Streak")
        _lead(sam, "Sam Co", now - timedelta(days=1))
        record_action(sam.id, "lead_logged", "lead:old", at=now - timedelta(days=7))
        db.session.commit()
        users = {n: p.user_id for n, p in (("quinn", quinn), ("olive", olive), ("lani", lani),
                              ("penny", penny), ("ned", ned), ("sam", sam))}
        module = {m.slug: m.id for m in db.session.scalars(db.select(TrainingModule))}
    monkeypatch.setattr(performance, "now_utc", lambda: now)
    tick(app, TICK_SECONDS)
    run_worker()
    with app.app_context():
        assert _alerts(users["quinn"]) == [
            ("alert_no_lead", f"/partner/training/{module['sales-fundamentals']}")]
        assert _alerts(users["penny"]) == [
            ("alert_stale_proposal", f"/partner/training/{module['handling-objections']}")]
        assert _alerts(users["ned"]) == [
            ("alert_next_tier", f"/partner/training/{module['advanced-techniques']}")]
        assert [k for k, _ in _alerts(users["sam"])] == ["alert_streak"]
        assert _alerts(users["olive"]) == [] and _alerts(users["lani"]) == []
        body = db.session.scalar(db.select(Notification.body).where(
            Notification.user_id == users["penny"], Notification.kind.like("alert_%")))
        assert body.startswith("Stale Co got a proposal more than 21 days ago")
        body = db.session.scalar(db.select(Notification.body).where(
            Notification.user_id == users["ned"], Notification.kind == "alert_next_tier"))
        assert "one confirmed won deal from Active" in body

        assert performance.send_alerts(now + timedelta(hours=9)) == 1  # 09:00 in Honolulu
        db.session.commit()
        assert [k for k, _ in _alerts(users["lani"])] == ["alert_no_lead"]
        assert performance.send_alerts(now + timedelta(days=1)) == 0  # same ISO week
        db.session.commit()
        assert performance.send_alerts(now + timedelta(days=7)) >= 1
        db.session.commit()
        assert [k for k, _ in _alerts(users["quinn"])] == ["alert_no_lead", "alert_no_lead"]
        assert _alerts(users["olive"]) == []


def test_an_active_partner_hears_nothing(ctx):
    """A partner who logged a lead yesterday, has no proposal waiting, is two deals from a
    tier and acted this week gets no nudge at all."""
    from core.alerts.performance import send_alerts
    from core.engagement.xp import record_action

    now = _friday_morning()
    busy = make_partner("Busy Bee", deals=1)
    db.session.execute(update(Lead).where(Lead.partner_id == busy.id)
                       .values(created_at=now - timedelta(days=1)))
    record_action(busy.id, "lead_logged", "lead:a", at=now - timedelta(days=7))
    record_action(busy.id, "lead_logged", "lead:b", at=now - timedelta(hours=2))
    db.session.commit()
    assert send_alerts(now) == 0
    assert _alerts(busy.user_id) == []


def test_streak_nudge_waits_for_friday_in_the_partners_zone(ctx):
    """Sam was active last week, not yet this one: on Thursday there is no nudge; on
    Friday 09:00 in Sydney (still Thursday in UTC) it comes."""
    from core.alerts.performance import send_alerts
    from core.engagement.xp import record_action

    friday = _friday_morning()
    sam = make_partner("Sam Streak")
    sam.timezone = "Australia/Sydney"
    _lead(sam, "Sam Co", friday - timedelta(days=1))
    record_action(sam.id, "lead_logged", "lead:old", at=friday - timedelta(days=6))
    db.session.commit()
    midnight = friday.replace(hour=0)  # Friday 00:00 UTC = Friday 11:00 in Sydney (AEDT)
    thursday_10_sydney = midnight - timedelta(hours=25)
    assert send_alerts(thursday_10_sydney) == 0
    friday_9_sydney = midnight - timedelta(hours=2) + timedelta(minutes=5)
    assert friday_9_sydney.weekday() == 3  # still Thursday in UTC
    assert send_alerts(friday_9_sydney) == 1
    assert [k for k, _ in _alerts(sam.user_id)] == ["alert_streak"]
    assert db.session.get(Partner, sam.id).timezone == "Australia/Sydney"


def test_no_streak_nudge_while_a_grace_week_is_in_hand(ctx):
    """Gail kept four weeks in a row, so a missed week would use her grace week (rules:
    "XP, levels and streaks"): her streak is not at risk and she hears nothing on Friday."""
    from core.alerts.performance import send_alerts
    from core.engagement.xp import record_action

    friday = _friday_morning()
    gail = make_partner("Gail Grace")
    _lead(gail, "Gail Co", friday - timedelta(days=1))
    for weeks_back in (1, 2, 3, 4):
        record_action(gail.id, "lead_logged", f"lead:w{weeks_back}",
                      at=friday - timedelta(days=7 * weeks_back))
    db.session.commit()
    assert send_alerts(friday) == 0
    assert _alerts(gail.user_id) == []
