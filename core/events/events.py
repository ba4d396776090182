"""The event calendar: staff create events, partners RSVP, reminders go out before, and
staff mark attendance, which earns XP (rules: "Events")."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.accounts.models import User
from core.base.audit import audit
from core.base.errors import Conflict, Forbidden, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.jobs import QUEUE_DEFAULT, TICK_SECONDS, job, job_logger
from core.base.timeutil import in_zone, now_utc
from core.community.notifications import notify
from core.events.models import EVENT_KINDS, Event, EventRsvp
from core.program.models import Partner, Tier
from core.program.tiers import standing, tier_by_key

#: Staff roles that create events and mark attendance (admin always may).
EVENT_ROLES = ("content",)
#: Limits of an event's fields.
TITLE_MAX, DESCRIPTION_MAX, HOST_MAX, URL_MAX = 200, 5000, 120, 500
CAPACITY_MAX = 100_000
#: Longest event (hours) and how far ahead one may be scheduled (days).
MAX_HOURS, MAX_DAYS_AHEAD = 24, 730
#: The reminders: key, how long before the start, and the RSVP column that records it.
REMINDERS = (("24h", timedelta(hours=24), "reminded_24h_at"),
             ("1h", timedelta(hours=1), "reminded_1h_at"))
#: Notification kind of a reminder (``core.community.notifications.notify``).
REMINDER_KIND = "event_reminder"


def zone(name) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/London``). Raises ``ValidationError`` for a
    name that is not text or names no zone."""
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise ValidationError("Choose a time zone such as Europe/London.", code="unknown_timezone")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{name!r} is not a time zone; use an IANA name such as "
                              "Europe/London or America/New_York.",
                              code="unknown_timezone") from None


def to_utc(moment, tz: ZoneInfo, what: str) -> datetime:
    """``moment`` (a ``datetime``; a naive one is read in ``tz``, an ISO-8601 string
    likewise) as aware UTC. Raises ``ValidationError`` naming ``what`` for anything else,
    or for a wall-clock time that does not exist in ``tz`` (skipped by a DST change)."""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.strip())
        except ValueError:
            moment = None
    if not isinstance(moment, datetime):
        raise ValidationError(f"{what} must be a date and time (2027-03-01T15:00).",
                              code="bad_time")
    if moment.tzinfo is None:
        local = moment.replace(tzinfo=tz)
        back = local.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if back != moment:
            raise ValidationError(f"{what} {moment:%Y-%m-%d %H:%M} does not exist in "
                                  f"{tz.key} (the clocks skip it).", code="bad_time")
        moment = local
    return moment.astimezone(UTC)


def clean_join_url(url) -> str:
    """The join URL if it is an ``https`` URL with a host (≤500 characters, no spaces,
    no user info). Raises ``ValidationError`` otherwise."""
    url = (url or "").strip() if isinstance(url, str) else ""
    parts = urlsplit(url) if url else None
    if not parts or parts.scheme != "https" or not parts.hostname or "@" in parts.netloc \
            or len(url) > URL_MAX or any(c.isspace() for c in url):
        raise ValidationError("The join URL must be an https:// link (at most 500 "
                              "characters).", code="join_url_not_https")
    return url


def _text(value, what: str, low: int, high: int, one_line: bool = True) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not low <= len(text) <= high or (one_line and any(c in text for c in "\r\n")) \
            or "\x00" in text:
        raise ValidationError(f"{what} must be {low} to {high} characters"
                              f"{' on one line' if one_line else ''}.", code="bad_text")
    return text


def clean_event(data: dict, now: datetime | None = None) -> dict:
    """Check an event's fields and return them ready to store (rules: "Events", bad
    input). ``data``: ``kind``, ``title``, ``description``, ``starts_at``, ``ends_at``
    (datetimes or ISO strings; naive ones are wall-clock times in ``timezone``),
    ``timezone`` (IANA), ``host``, ``join_url`` (https), ``capacity`` (1..100,000),
    ``min_tier_key`` (a tier's key or ``""``). Raises ``ValidationError`` with a sentence
    naming the field; nothing is stored."""
    now = now or now_utc()
    kind = data.get("kind")
    if kind not in EVENT_KINDS:
        raise ValidationError("Kind must be webinar, live_training or qa.", code="bad_kind")
    tz = zone(data.get("timezone"))
    starts = to_utc(data.get("starts_at"), tz, "Start")
    ends = to_utc(data.get("ends_at"), tz, "End")
    if ends <= starts:
        raise ValidationError("The event must end after it starts.", code="ends_before_start")
    if ends - starts > timedelta(hours=MAX_HOURS):
        raise ValidationError(f"An event lasts at most {MAX_HOURS} hours.", code="too_long")
    if starts > now + timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationError("An event starts within two years.", code="too_far")
    capacity = data.get("capacity")
    if isinstance(capacity, str) and capacity.strip().isdigit():
        capacity = int(capacity.strip())
    if isinstance(capacity, bool) or not isinstance(capacity, int) \
            or not 1 <= capacity <= CAPACITY_MAX:
        raise ValidationError(f"Capacity must be a whole number of seats from 1 to "
                              f"{CAPACITY_MAX:,}.", code="bad_capacity")
    tier_key = data.get("min_tier_key") or ""
    if tier_key and tier_by_key(tier_key) is None:
        raise ValidationError("Unknown tier: choose one from the list, or none.",
                              code="unknown_tier")
    return dict(kind=kind, title=_text(data.get("title"), "Title", 3, TITLE_MAX),
                description=_text(data.get("description") or "", "Description", 0,
                                  DESCRIPTION_MAX, one_line=False),
                starts_at=starts, ends_at=ends, timezone=tz.key,
                host=_text(data.get("host"), "Host", 2, HOST_MAX),
                join_url=clean_join_url(data.get("join_url")), capacity=capacity,
                min_tier_key=tier_key)


def _check_staff(actor: User) -> None:
    if actor is None or not actor.is_staff or not actor.has_role(*EVENT_ROLES):
        raise Forbidden("Only content staff and admins manage events.")


def create_event(actor: User, data: dict) -> Event:
    """Create an event from ``data`` (see :func:`clean_event`); audited. Raises
    ``Forbidden`` unless ``actor`` is content staff or admin, ``ValidationError`` for bad
    fields (nothing stored). Not committed."""
    _check_staff(actor)
    values = clean_event(data)
    event = Event(created_by_id=actor.id, **values)
    db.session.add(event)
    db.session.flush()
    audit(actor.id, "event.create", "event", event.id, after={
        "title": event.title, "starts_at": event.starts_at.isoformat(),
        "capacity": event.capacity, "min_tier_key": event.min_tier_key})
    return event


def cancel_event(actor: User, event_id) -> Event:
    """Cancel an event; every partner who RSVPed is told (``event_cancelled``). Audited.
    Raises ``Forbidden`` (not content staff or admin), ``NotFound``, ``Conflict`` (already
    cancelled). Not committed."""
    _check_staff(actor)
    event = get_row(Event, event_id)
    if event is None:
        raise NotFound("No such event.")
    if event.cancelled_at is not None:
        raise Conflict("This event is already cancelled.", code="already_cancelled")
    event.cancelled_at = now_utc()
    for rsvp in _going(event.id):
        notify(rsvp.partner.user_id, "event_cancelled", f"Cancelled: {event.title}",
               "Staff cancelled this event.", "/partner/events")
    audit(actor.id, "event.cancel", "event", event.id)
    return event


def _going(event_id: int) -> list[EventRsvp]:
    return list(db.session.scalars(select(EventRsvp).where(
        EventRsvp.event_id == event_id, EventRsvp.cancelled_at.is_(None))
        .order_by(EventRsvp.id)))


# --- what partners see ----------------------------------------------------------------------

def _tier_rank(tiers: list[Tier]) -> dict[str, int]:
    return {t.key: t.min_deals for t in tiers}


def tier_ok(partner: Partner, event: Event, ranks: dict[str, int] | None = None,
            own_rank: int | None = None) -> bool:
    """Whether the partner's effective tier reaches the event's ``min_tier_key``."""
    if not event.min_tier_key:
        return True
    if ranks is None:
        need = tier_by_key(event.min_tier_key)
        need_rank = need.min_deals if need else 0
    else:
        need_rank = ranks.get(event.min_tier_key, 0)
    mine = standing(partner).tier.min_deals if own_rank is None else own_rank
    return mine >= need_rank


def upcoming_for(partner: Partner, now: datetime | None = None) -> list[dict]:
    """Events not yet ended and not cancelled, soonest first, as ``partner`` sees them:
    ``{"event", "rsvped" (bool), "attended" (bool), "locked" (tier too low), "full",
    "seats_left", "tier_name", "starts_local", "ends_local" (in the partner's zone),
    "join_url" (only when RSVPed, else ``None``)}``. Locked events are listed so the
    partner sees what a higher tier opens. A few queries."""
    now = now or now_utc()
    events = list(db.session.scalars(select(Event).where(
        Event.ends_at > now, Event.cancelled_at.is_(None)).order_by(Event.starts_at, Event.id)))
    return shape_events(partner, events)


def shape_events(partner: Partner, events: list[Event]) -> list[dict]:
    """``events`` as ``partner`` sees them (the dicts of :func:`upcoming_for`). A few
    queries whatever the number of events."""
    tiers = list(db.session.scalars(select(Tier)))
    ranks, names = _tier_rank(tiers), {t.key: t.name for t in tiers}
    own_rank = standing(partner).tier.min_deals
    rsvps = {r.event_id: r for r in db.session.scalars(select(EventRsvp).where(
        EventRsvp.partner_id == partner.id,
        EventRsvp.event_id.in_([e.id for e in events] or [0])))}
    out = []
    for e in events:
        r = rsvps.get(e.id)
        going = r is not None and r.cancelled_at is None
        out.append({
            "event": e, "rsvped": going, "attended": bool(r and r.attended_at),
            "locked": not tier_ok(partner, e, ranks, own_rank),
            "full": e.rsvp_count >= e.capacity, "seats_left": max(e.capacity - e.rsvp_count, 0),
            "tier_name": names.get(e.min_tier_key, ""),
            "starts_local": in_zone(e.starts_at, partner.timezone),
            "ends_local": in_zone(e.ends_at, partner.timezone),
            "join_url": e.join_url if going else None,
        })
    return out


def event_for(partner: Partner, event_id) -> dict:
    """One event as :func:`upcoming_for` shapes it (past ones too). Raises ``NotFound``
    for an unknown or cancelled event."""
    event = get_row(Event, event_id)
    if event is None or event.cancelled_at is not None:
        raise NotFound("No such event.")
    return shape_events(partner, [event])[0]


def rsvp(partner: Partner, event_id, now: datetime | None = None) -> dict:
    """RSVP ``partner`` to an event and return it shaped as in :func:`upcoming_for` (with
    the join URL). RSVPing again is a no-op.

    The seat is taken with one conditional UPDATE (``rsvp_count < capacity``), so when
    two partners take the last seat at once exactly one gets it. Raises ``NotFound``
    (unknown or cancelled event), ``Forbidden`` (partner not active: ``not_active``;
    tier too low: ``tier_locked``), ``Conflict`` (``event_started``, ``event_full``).
    Not committed; on a refusal nothing is stored."""
    now = now or now_utc()
    event = get_row(Event, event_id)
    if event is None or event.cancelled_at is not None:
        raise NotFound("No such event.")
    if partner.status != "active":
        raise Forbidden("Events open once your application is approved.", code="not_active")
    if not tier_ok(partner, event):
        need = tier_by_key(event.min_tier_key)
        raise Forbidden(f"This event is for {need.name if need else 'higher'} partners and "
                        "above.", code="tier_locked")
    if event.starts_at <= now:
        raise Conflict("This event has already started; RSVPs are closed.",
                       code="event_started")
    row = db.session.scalar(select(EventRsvp).where(
        EventRsvp.event_id == event.id, EventRsvp.partner_id == partner.id))
    if row is not None and row.cancelled_at is None:
        return event_for(partner, event.id)
    try:
        with db.session.begin_nested():
            taken = db.session.execute(
                update(Event).where(Event.id == event.id, Event.rsvp_count < Event.capacity)
                .values(rsvp_count=Event.rsvp_count + 1)
                .execution_options(synchronize_session=False)).rowcount
            if taken != 1:
                raise Conflict("This event is full.", code="event_full")
            if row is None:
                db.session.add(EventRsvp(event_id=event.id, partner_id=partner.id,
                                         created_at=now))
            else:
                row.cancelled_at, row.created_at = None, now
                row.reminded_24h_at = row.reminded_1h_at = None
            db.session.flush()
    except IntegrityError:
        # the same partner's other request RSVPed first: its seat stands, this one's
        # increment went with the savepoint
        pass
    db.session.refresh(event)
    return event_for(partner, event.id)


def cancel_rsvp(partner: Partner, event_id) -> dict:
    """Take back ``partner``'s RSVP (the seat is freed) and return the event shaped as in
    :func:`upcoming_for`. Cancelling without an RSVP is a no-op. Raises ``NotFound`` for
    an unknown or cancelled event. Not committed."""
    event = get_row(Event, event_id)
    if event is None or event.cancelled_at is not None:
        raise NotFound("No such event.")
    row = db.session.scalar(select(EventRsvp).where(
        EventRsvp.event_id == event.id, EventRsvp.partner_id == partner.id,
        EventRsvp.cancelled_at.is_(None)).with_for_update())
    if row is not None:
        row.cancelled_at = now_utc()
        db.session.execute(update(Event).where(Event.id == event.id, Event.rsvp_count > 0)
                           .values(rsvp_count=Event.rsvp_count - 1)
                           .execution_options(synchronize_session=False))
        db.session.flush()
        db.session.refresh(event)
    return event_for(partner, event.id)


# --- staff: attendance ----------------------------------------------------------------------

def attendees(event_id) -> tuple[Event, list[EventRsvp]]:
    """An event and its RSVPs in force, by RSVP time. Raises ``NotFound``."""
    event = get_row(Event, event_id)
    if event is None:
        raise NotFound("No such event.")
    return event, _going(event.id)


def mark_attended(actor: User, event_id, partner_ids) -> int:
    """Mark partners who RSVPed as having attended; each earns ``event_attended`` XP once
    (source ``event:<id>``). Marking again changes nothing. Audited. Returns how many
    were newly marked. Raises ``Forbidden`` (not content staff or admin), ``NotFound``,
    ``Conflict`` (the event has not started: ``not_started``), ``ValidationError`` (a
    partner id that did not RSVP). Not committed."""
    from core.engagement.xp import record_action

    _check_staff(actor)
    event, going = attendees(event_id)
    if event.starts_at > now_utc():
        raise Conflict("Attendance is marked once the event has started.", code="not_started")
    by_partner = {r.partner_id: r for r in going}
    try:
        wanted = {int(p) for p in partner_ids}
    except (TypeError, ValueError):
        raise ValidationError("Partner ids must be whole numbers.") from None
    unknown = wanted - set(by_partner)
    if unknown:
        raise ValidationError("Only partners who RSVPed can be marked as attended.",
                              code="not_rsvped")
    marked = 0
    for pid in sorted(wanted):
        r = by_partner[pid]
        if r.attended_at is None:
            r.attended_at, r.attendance_marked_by_id = now_utc(), actor.id
            record_action(pid, "event_attended", f"event:{event.id}")
            marked += 1
    if marked:
        audit(actor.id, "event.attendance", "event", event.id,
              after={"partner_ids": sorted(wanted)})
    return marked


# --- reminders (worker) ---------------------------------------------------------------------

def send_due_reminders(now: datetime | None = None) -> int:
    """Send each reminder that is due: 24 hours and 1 hour before an event's start, to
    every partner whose RSVP is in force (rules: "Events"). A reminder is due from its
    moment until the start; one whose moment passed while a later one is due is skipped
    (an RSVP 3 hours before gets only the 1-hour one). Each goes once: the RSVP's
    ``reminded_*`` column is set by a conditional UPDATE in the same transaction as the
    notice. Returns how many were sent."""
    now = now or now_utc()
    sent = 0
    for key, before, column in REMINDERS:
        col = getattr(EventRsvp, column)
        rows = db.session.execute(
            select(EventRsvp.id, Event.id, Event.title, Event.starts_at, Partner.user_id,
                   Partner.timezone)
            .join(Event, Event.id == EventRsvp.event_id)
            .join(Partner, Partner.id == EventRsvp.partner_id)
            .where(EventRsvp.cancelled_at.is_(None), col.is_(None),
                   Event.cancelled_at.is_(None), Event.starts_at > now,
                   Event.starts_at <= now + before, Partner.status == "active")
            .order_by(Event.starts_at, EventRsvp.id)).all()
        for rsvp_id, event_id, title, starts, user_id, tz in rows:
            if key == "24h" and starts <= now + REMINDERS[1][1]:
                # the 1-hour one is due already: send that one only
                db.session.execute(update(EventRsvp).where(EventRsvp.id == rsvp_id)
                                   .values(reminded_24h_at=now))
                continue
            claimed = db.session.execute(
                update(EventRsvp).where(EventRsvp.id == rsvp_id, col.is_(None))
                .values({column: now})).rowcount
            if claimed != 1:
                continue
            local = in_zone(starts, tz)
            when = "tomorrow" if key == "24h" else "in 1 hour"
            notify(user_id, REMINDER_KIND, f"Starts {when}: {title}",
                   f"{title} starts {local:%a %d %b %H:%M} ({local.tzname()}).",
                   f"/partner/events#event-{event_id}")
            sent += 1
    return sent


@job(queue=QUEUE_DEFAULT, every=TICK_SECONDS // 5)
def send_event_reminders() -> int:
    """The scheduled reminders (every minute, by every worker's ticker):
    :func:`send_due_reminders`. Idempotent. Returns how many were sent."""
    sent = send_due_reminders()
    if sent:
        job_logger(__name__).info("%s event reminders sent", sent)
    return sent
