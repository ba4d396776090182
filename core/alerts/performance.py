"""Performance alerts: coaching nudges with a link to the matching training module or
playbook, each at most once per ISO week (partner's time zone) and each switched off by
the partner unticking every channel of its kind (rules: "Performance alerts")."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from core.alerts.models import AlertSent, NotificationPreference
from core.alerts.reminders import REMINDER_HOUR, record_once
from core.base.extensions import db
from core.base.jobs import QUEUE_DEFAULT, TICK_SECONDS, job, job_logger
from core.base.timeutil import in_zone, now_utc
from core.program.models import Lead, LeadActivity, Partner

#: Days without a new lead before the nudge.
NO_LEAD_DAYS = 14
#: Days a lead in ``proposal`` may go untouched (no edit, stage move or activity).
STALE_PROPOSAL_DAYS = 21
#: From this local weekday (0 = Monday; 4 = Friday) a streak at risk (rules: "XP, levels
#: and streaks": no action yet this week and no grace week in hand) is about to break.
STREAK_WARN_WEEKDAY = 4


@dataclass(frozen=True)
class Alert:
    """A performance alert kind: its notice and where it sends the partner
    (``module`` a training module slug, else the best published playbook)."""

    kind: str
    title: str
    module: str = ""


#: The performance alerts, in the order they are checked.
ALERTS = {a.kind: a for a in (
    Alert("alert_no_lead", "No new lead in 14 days: five minutes of prospecting today?",
          "sales-fundamentals"),
    Alert("alert_stale_proposal", "A proposal has waited 21 days: time to follow it up",
          "handling-objections"),
    Alert("alert_next_tier", "One more won deal takes you to the next tier", "advanced-techniques"),
    Alert("alert_streak", "Your weekly streak ends on Sunday: one action keeps it"),
)}


def week_key(moment: datetime, tz_name: str | None) -> str:
    """The ISO week of ``moment`` in the zone ``tz_name``: ``"2026-W49"``."""
    year, week, _ = in_zone(moment, tz_name).isocalendar()
    return f"{year}-W{week:02d}"


def coaching_link(alert: Alert) -> str:
    """Where the nudge points: the training module of ``alert.module`` when it exists,
    else the most upvoted published playbook, else the playbooks page. One or two
    queries."""
    from core.community.models import Playbook
    from core.content.models import TrainingModule

    if alert.module:
        module_id = db.session.scalar(select(TrainingModule.id).where(
            TrainingModule.slug == alert.module))
        if module_id is not None:
            return f"/partner/training/{module_id}"
    best = db.session.scalar(select(Playbook.id).where(Playbook.status == "published")
                             .order_by(Playbook.upvote_count.desc(), Playbook.id).limit(1))
    return f"/partner/playbooks/{best}" if best is not None else "/partner/playbooks"


def _switched_off(user_ids: list[int]) -> set[tuple[int, str]]:
    """``(user_id, kind)`` of the alert kinds a user switched off (every channel off)."""
    rows = db.session.execute(select(NotificationPreference.user_id, NotificationPreference.kind)
                              .where(NotificationPreference.user_id.in_(user_ids),
                                     NotificationPreference.kind.in_(list(ALERTS)),
                                     NotificationPreference.portal.is_(False),
                                     NotificationPreference.email.is_(False),
                                     NotificationPreference.push.is_(False)))
    return {(u, k) for u, k in rows}


def findings(partners: list[Partner], now: datetime) -> dict[int, dict[str, str]]:
    """What each partner would be nudged about at ``now``: ``{partner_id: {kind: body}}``
    (before the once-a-week and switched-off checks). A handful of grouped queries."""
    from core.engagement.streaks import streak_for
    from core.program.tiers import tier_status

    ids = [p.id for p in partners]
    out: dict[int, dict[str, str]] = {p.id: {} for p in partners}
    last_lead = dict(db.session.execute(select(Lead.partner_id, func.max(Lead.created_at))
                                        .where(Lead.partner_id.in_(ids))
                                        .group_by(Lead.partner_id)).all())
    quiet_since = now - timedelta(days=NO_LEAD_DAYS)
    for p in partners:
        last = last_lead.get(p.id)
        since = last if last is not None else (p.approved_at or p.created_at)
        if since is not None and _aware(since) <= quiet_since:
            out[p.id]["alert_no_lead"] = (
                f"Your last lead was {(now - _aware(since)).days} days ago. Partners who log "
                f"one lead a week earn more: here is a short module to restart.")
    stale_before = now - timedelta(days=STALE_PROPOSAL_DAYS)
    touched = (select(LeadActivity.lead_id).where(LeadActivity.created_at > stale_before))
    stale = db.session.execute(select(Lead.partner_id, func.count(), func.min(Lead.company_name))
                               .where(Lead.partner_id.in_(ids), Lead.status == "proposal",
                                      Lead.archived_at.is_(None),
                                      Lead.updated_at <= stale_before,
                                      Lead.stage_changed_at <= stale_before,
                                      Lead.id.not_in(touched))
                               .group_by(Lead.partner_id)).all()
    for pid, count, name in stale:
        more = f" and {count - 1} more" if count > 1 else ""
        out[pid]["alert_stale_proposal"] = (
            f"{name}{more} got a proposal more than {STALE_PROPOSAL_DAYS} days ago and nothing "
            f"since. A short check-in often closes it.")
    for p in partners:
        st = tier_status(p)
        nxt = st.get("next_tier")
        if nxt and st.get("deals_needed") == 1:
            out[p.id]["alert_next_tier"] = (
                f"You are one confirmed won deal from {nxt['name']}. Which open lead is "
                f"closest?")
    for p in partners:
        if in_zone(now, p.timezone).weekday() < STREAK_WARN_WEEKDAY:
            continue
        st = streak_for(p, now)
        if st["at_risk"]:
            weeks = st["weeks"]
            out[p.id]["alert_streak"] = (
                f"Your {weeks}-week streak ends on Sunday night unless you act this week: log "
                f"a lead, move a stage or pass a module to keep it.")
    return out


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def send_alerts(now: datetime | None = None) -> int:
    """Send the performance alerts due at ``now`` to active partners whose local time is
    9:00 or later: each kind a partner has not switched off, at most once per ISO week in
    their zone (``alerts_sent``), through ``notify`` (their channels for the kind).
    Returns how many were sent. Rules: "Performance alerts"."""
    from core.community.notifications import notify

    now = now or now_utc()
    partners = [p for p in db.session.scalars(select(Partner).where(Partner.status == "active")
                                              .order_by(Partner.id))
                if in_zone(now, p.timezone).hour >= REMINDER_HOUR]
    if not partners:
        return 0
    off = _switched_off([p.user_id for p in partners])
    weeks = {p.id: week_key(now, p.timezone) for p in partners}
    sent_before = {(pid, kind) for pid, kind, key in db.session.execute(
        select(AlertSent.partner_id, AlertSent.kind, AlertSent.period_key).where(
            AlertSent.partner_id.in_(list(weeks)), AlertSent.kind.in_(list(ALERTS)),
            AlertSent.period_key.in_(set(weeks.values())))) if key == weeks[pid]}
    todo = [p for p in partners
            if any((p.id, k) not in sent_before and (p.user_id, k) not in off for k in ALERTS)]
    if not todo:
        return 0
    links: dict[str, str] = {}
    count = 0
    found = findings(todo, now)
    for p in todo:
        for kind, body in found[p.id].items():
            if (p.id, kind) in sent_before or (p.user_id, kind) in off:
                continue
            if not record_once(p.id, kind, weeks[p.id]):
                continue
            if kind not in links:
                links[kind] = coaching_link(ALERTS[kind])
            notify(p.user_id, kind, ALERTS[kind].title, body, links[kind])
            count += 1
    return count


@job(queue=QUEUE_DEFAULT, every=TICK_SECONDS)
def send_performance_alerts() -> int:
    """The scheduled round (every worker's ticker): :func:`send_alerts` now. Idempotent:
    each kind goes to a partner at most once per ISO week. Returns how many were sent."""
    sent = send_alerts(now_utc())
    if sent:
        job_logger(__name__).info("%s performance alert(s) sent", sent)
    return sent
