"""The event calendar over the API (rules: "Events"): upcoming events, RSVP and cancel
for partners; creating events for content staff."""

from flask import g

from api import api
from api.common import bearer
from api.spec import operation
from core.base.extensions import db
from core.events import events
from core.events.schemas import Event, EventPage, NewEvent, StaffEvent


@api.get("/partner/events")
@bearer(active=False)
@operation(200, EventPage)
def api_events():
    """Upcoming events

    Not ended and not cancelled, soonest first, with times in UTC and in your time zone;
    tier-locked ones are listed with locked: true. join_url only once you RSVPed."""
    return EventPage(items=[Event.of(i) for i in events.upcoming_for(g.partner)])


@api.post("/partner/events/<int:event_id>/rsvp")
@bearer()
@operation(200, Event, errors=(409,))
def api_event_rsvp(event_id: int):
    """RSVP to an event

    Answers the event with its join_url. Again is a no-op. 403 tier_locked below the
    event's tier; 409 event_full when every seat is taken (two partners taking the last
    seat at once: one gets it), event_started once it began."""
    item = events.rsvp(g.partner, event_id)
    db.session.commit()
    return Event.of(item)


@api.delete("/partner/events/<int:event_id>/rsvp")
@bearer()
@operation(200, Event)
def api_event_rsvp_cancel(event_id: int):
    """Cancel your RSVP

    The seat is freed; without an RSVP nothing changes."""
    item = events.cancel_rsvp(g.partner, event_id)
    db.session.commit()
    return Event.of(item)


@api.post("/staff/events")
@bearer("staff", roles=events.EVENT_ROLES)
@operation(201, StaffEvent)
def api_staff_event_create(json: NewEvent):
    """Create an event (content staff)

    422 for an end before the start, capacity 0, an unknown time zone, a join URL that is
    not https, an unknown tier; nothing is stored then."""
    data = json.model_dump()
    data["min_tier_key"] = data.pop("min_tier") or ""
    event = events.create_event(g.user, data)
    db.session.commit()
    return StaffEvent.of(event), 201
