"""Lead follow-up reminders: a lead's follow-up day (``Lead.next_action_on``) brings a
reminder at 9:00 in the partner's time zone, once per lead per day, and the dashboard
lists the follow-ups due and overdue (rules: "Follow-up reminders")."""

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.alerts.models import AlertSent
from core.base.errors import ValidationError
from core.base.extensions import db
from core.base.jobs import QUEUE_DEFAULT, TICK_SECONDS, job, job_logger
from core.base.timeutil import in_zone, now_utc
from core.program.models import Lead, Partner

#: Local hour (partner's time zone) from which the day's reminders go out.
REMINDER_HOUR = 9
#: Stages a follow-up still matters in (won and lost leads are done).
OPEN_STAGES = ("new", "contacted", "qualified", "proposal")
#: Furthest ahead a follow-up day may be set (days).
MAX_DAYS_AHEAD = 366
#: Kind of the notice and of its ``alerts_sent`` row.
KIND = "follow_up"


def local_today(partner: Partner, now: datetime | None = None) -> date:
    """The partner's calendar day at ``now`` (default: now) in their time zone (UTC
    when the zone is unknown)."""
    return in_zone(now or now_utc(), partner.timezone).date()


def set_follow_up(lead: Lead, next_action, on, now: datetime | None = None) -> Lead:
    """Set what the partner will do next on ``lead`` and the day they will do it.

    Args: ``next_action`` text (at most 200 characters, ``None`` keeps it), ``on`` a
    ``date``, an ISO ``YYYY-MM-DD`` string, or ``""``/``None`` to clear the day. Returns
    the lead. Raises ``ValidationError`` (422) for a day that is not a date, before the
    partner's today, more than :data:`MAX_DAYS_AHEAD` days ahead, or on a won or lost
    lead; nothing changes then. Rules: "Follow-up reminders"."""
    if next_action is not None:
        if not isinstance(next_action, str) or len(next_action.strip()) > 200:
            raise ValidationError("next_action is text of at most 200 characters.")
    if on in (None, ""):
        day = None
    elif isinstance(on, date) and not isinstance(on, datetime):
        day = on
    else:
        try:
            day = date.fromisoformat(on) if isinstance(on, str) else None
        except ValueError:
            day = None
        if day is None:
            raise ValidationError("The follow-up day must be a date (YYYY-MM-DD).")
    if day is not None:
        if lead.status not in OPEN_STAGES:
            raise ValidationError(f"This lead is {lead.status}: there is nothing to follow up.")
        today = local_today(lead.partner, now)
        if day < today:
            raise ValidationError("The follow-up day is in the past: pick today or later.")
        if day > today + timedelta(days=MAX_DAYS_AHEAD):
            raise ValidationError("The follow-up day is more than a year ahead.")
    if next_action is not None:
        lead.next_action = next_action.strip()
    lead.next_action_on = day
    lead.updated_at = now_utc()
    return lead


def follow_ups(partner: Partner, now: datetime | None = None, limit: int = 20) -> list[dict]:
    """The partner's open leads whose follow-up day is today or past (their time zone),
    oldest day first: ``[{"lead": Lead, "on": date, "days_overdue": int}]`` (0 = today).
    One query."""
    today = local_today(partner, now)
    rows = db.session.scalars(select(Lead).where(
        Lead.partner_id == partner.id, Lead.archived_at.is_(None),
        Lead.status.in_(OPEN_STAGES), Lead.next_action_on.is_not(None),
        Lead.next_action_on <= today).order_by(Lead.next_action_on, Lead.id).limit(limit))
    return [{"lead": lead, "on": lead.next_action_on,
             "days_overdue": (today - lead.next_action_on).days} for lead in rows]


def due_now(now: datetime | None = None) -> list[tuple[Lead, Partner]]:
    """Leads whose reminder is due at ``now``: an open lead of an active partner whose
    follow-up day is the partner's today and whose local time is 9:00 or later, and no
    reminder was sent for that lead and day. Two queries."""
    now = now or now_utc()
    utc_day = now.date()
    rows = db.session.execute(select(Lead, Partner).join(Partner, Partner.id == Lead.partner_id)
                              .where(Lead.archived_at.is_(None), Lead.status.in_(OPEN_STAGES),
                                     Partner.status == "active",
                                     Lead.next_action_on.between(utc_day - timedelta(days=1),
                                                                 utc_day + timedelta(days=1)))
                              .order_by(Lead.id)).all()
    due = []
    for lead, partner in rows:
        local = in_zone(now, partner.timezone)
        if local.date() == lead.next_action_on and local.hour >= REMINDER_HOUR:
            due.append((lead, partner))
    if not due:
        return []
    sent = set(db.session.scalars(select(AlertSent.period_key).where(
        AlertSent.kind == KIND, AlertSent.period_key.in_([_key(lead) for lead, _ in due]))))
    return [(lead, p) for lead, p in due if _key(lead) not in sent]


def _key(lead: Lead) -> str:
    return f"lead:{lead.id}:{lead.next_action_on.isoformat()}"


def record_once(partner_id: int, kind: str, period_key: str) -> bool:
    """Record that ``kind`` went to the partner for ``period_key``; False when it already
    had (the unique row exists: another worker won). Uses a savepoint."""
    try:
        with db.session.begin_nested():
            db.session.add(AlertSent(partner_id=partner_id, kind=kind, period_key=period_key))
    except IntegrityError:
        return False
    return True


def send_due(now: datetime | None = None) -> int:
    """Send every reminder due at ``now`` (:func:`due_now`) through ``notify`` (the
    partner's channels for ``follow_up``); returns how many were sent."""
    from core.community.notifications import notify

    count = 0
    for lead, partner in due_now(now):
        if not record_once(partner.id, KIND, _key(lead)):
            continue
        what = lead.next_action or "Your follow-up is due today."
        notify(partner.user_id, KIND, f"Follow up with {lead.company_name} today", what,
               f"/partner/leads/{lead.id}")
        count += 1
    return count


@job(queue=QUEUE_DEFAULT, every=TICK_SECONDS)
def send_follow_up_reminders() -> int:
    """The scheduled round (every worker's ticker, every ``TICK_SECONDS``): send the
    follow-up reminders now due (:func:`send_due`). Idempotent: a lead's reminder for a
    day goes once. Returns how many were sent."""
    sent = send_due(now_utc())
    if sent:
        job_logger(__name__).info("%s follow-up reminder(s) sent", sent)
    return sent
