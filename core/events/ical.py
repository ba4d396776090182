"""Each partner's iCalendar feed (``/partner/calendar.ics?token=...``), made with the
``icalendar`` library, and its revocable key (rules: "Events")."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from icalendar import Calendar, vText
from icalendar import Event as IcsEvent
from sqlalchemy import or_, select

from core.base.errors import NotFound
from core.base.extensions import db
from core.base.mail import public_url
from core.base.timeutil import now_utc
from core.events.events import shape_events
from core.events.models import EVENT_KINDS, CalendarFeedKey, Event, EventRsvp
from core.program.models import Partner

#: How far back the feed keeps events (so a calendar keeps last week's entries).
PAST_DAYS = 30
#: Longest token accepted (anything longer is not ours).
TOKEN_MAX = 100


def _token_of(nonce: str) -> str:
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), f"calendar:{nonce}".encode(),
                      hashlib.sha256).hexdigest()
    return f"{nonce[:8]}{digest}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_token(partner: Partner) -> str | None:
    """The partner's current feed token, or ``None`` when they have none (never made, or
    revoked)."""
    key = db.session.scalar(select(CalendarFeedKey).where(
        CalendarFeedKey.partner_id == partner.id))
    return _token_of(key.nonce) if key else None


def regenerate_token(partner: Partner) -> str:
    """Make a new feed token for ``partner`` (the old URL stops working at once) and
    return it. Not committed."""
    nonce = secrets.token_hex(16)
    token = _token_of(nonce)
    key = db.session.scalar(select(CalendarFeedKey).where(
        CalendarFeedKey.partner_id == partner.id))
    if key is None:
        key = CalendarFeedKey(partner_id=partner.id)
        db.session.add(key)
    key.nonce, key.token_hash, key.created_at = nonce, _hash(token), now_utc()
    db.session.flush()
    return token


def revoke_token(partner: Partner) -> bool:
    """Revoke ``partner``'s feed token (its URL answers 404 from now on); returns whether
    there was one. Not committed."""
    key = db.session.scalar(select(CalendarFeedKey).where(
        CalendarFeedKey.partner_id == partner.id))
    if key is None:
        return False
    db.session.delete(key)
    db.session.flush()
    return True


def feed_url(token: str) -> str:
    """The feed's absolute URL (on ``PUBLIC_BASE_URL``) for ``token``."""
    return public_url(f"/partner/calendar.ics?token={token}")


def partner_for_token(token) -> Partner:
    """The active partner whose feed ``token`` opens. Raises ``NotFound`` (one answer for
    a missing, forged, revoked or regenerated token, or a partner no longer active), so
    the answer tells nothing about which."""
    if not isinstance(token, str) or not 8 < len(token) <= TOKEN_MAX or not token.isalnum():
        raise NotFound("No such calendar.")
    key = db.session.scalar(select(CalendarFeedKey).where(
        CalendarFeedKey.token_hash == _hash(token)))
    if key is None or not hmac.compare_digest(_token_of(key.nonce), token):
        raise NotFound("No such calendar.")
    partner = db.session.get(Partner, key.partner_id)
    if partner is None or partner.status != "active":
        raise NotFound("No such calendar.")
    return partner


def build_feed(partner: Partner) -> bytes:
    """The partner's calendar (``text/calendar``): every event they RSVPed to (with the
    join URL) and every other upcoming event their tier may join (without it, marked
    "not RSVPed"), from ``PAST_DAYS`` ago on, cancelled ones left out. Times are UTC
    (``...Z``); ``X-WR-TIMEZONE`` names the partner's zone so calendars show them there.
    Each event's ``UID`` is stable (``event-<id>@<host>``), so re-fetching updates it."""
    since = now_utc() - timedelta(days=PAST_DAYS)
    mine = select(EventRsvp.event_id).where(EventRsvp.partner_id == partner.id,
                                            EventRsvp.cancelled_at.is_(None))
    events = list(db.session.scalars(select(Event).where(
        Event.cancelled_at.is_(None), Event.ends_at > since,
        or_(Event.id.in_(mine), Event.ends_at > now_utc())).order_by(Event.starts_at)))
    host = public_url("/").split("//", 1)[-1].strip("/").split("/")[0] or "siso"
    cal = Calendar()
    cal.add("prodid", "-//SISO Partners//Event calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "SISO Partners events")
    cal.add("x-wr-timezone", partner.timezone or "UTC")
    stamp = now_utc()
    for item in shape_events(partner, events):
        if item["locked"] and not item["rsvped"]:
            continue
        e = item["event"]
        ev = IcsEvent()
        ev.add("uid", f"event-{e.id}@{host}")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", e.starts_at)
        ev.add("dtend", e.ends_at)
        ev.add("summary", e.title if item["rsvped"] else f"{e.title} (not RSVPed)")
        lines = [f"{EVENT_KINDS[e.kind]} hosted by {e.host}."]
        if e.description:
            lines.append(e.description)
        if item["rsvped"]:
            lines.append(f"Join: {e.join_url}")
            ev.add("url", e.join_url)
            ev.add("location", vText(e.join_url))
        else:
            lines.append("RSVP in the partner portal to get the join link: "
                         f"{public_url('/partner/events')}")
        ev.add("description", "\n\n".join(lines))
        ev.add("status", "CONFIRMED")
        cal.add_component(ev)
    return cal.to_ical()
