"""The event calendar's API shapes (rules: "Events"). Times are ISO 8601: UTC, and the
same moment in the partner's own time zone."""

from typing import Annotated, Literal

from core.base.schemas import Answer, Field, Page, Request, Says, Shape, Time
from core.events.events import CAPACITY_MAX, DESCRIPTION_MAX, HOST_MAX, TITLE_MAX, URL_MAX
from core.events.models import EVENT_KINDS

Kind = Literal[tuple(EVENT_KINDS)]


class Event(Shape):
    """An event as a partner sees it. ``join_url`` is present only once you RSVPed."""

    id: int
    kind: Kind
    title: str
    description: str
    host: str
    starts_at: Time = Field(description="Start (UTC)")
    ends_at: Time = Field(description="End (UTC)")
    starts_local: Time = Field(description="Start in your time zone (your profile)")
    ends_local: Time = Field(description="End in your time zone")
    timezone: str = Field(description="The IANA zone the event is announced in")
    capacity: int = Field(ge=1)
    seats_left: int = Field(ge=0)
    min_tier: str | None = Field(description="Lowest tier that may RSVP (a tier key), or "
                                             "null for every active partner")
    locked: bool = Field(description="Your tier is below min_tier")
    full: bool
    rsvped: bool = Field(description="You RSVPed")
    attended: bool = Field(description="Staff marked you as attended")
    join_url: str | None = Field(description="The meeting link; null until you RSVP")

    @classmethod
    def of(cls, item: dict) -> "Event":
        """One of ``core.events.events.upcoming_for``'s dicts."""
        e = item["event"]
        return cls(id=e.id, kind=e.kind, title=e.title, description=e.description,
                   host=e.host, starts_at=e.starts_at, ends_at=e.ends_at,
                   starts_local=item["starts_local"], ends_local=item["ends_local"],
                   timezone=e.timezone, capacity=e.capacity, seats_left=item["seats_left"],
                   min_tier=e.min_tier_key or None, locked=item["locked"], full=item["full"],
                   rsvped=item["rsvped"], attended=item["attended"], join_url=item["join_url"])


class EventPage(Page):
    """Upcoming events (not ended, not cancelled), soonest first; tier-locked ones too."""

    items: list[Event]
    next_cursor: None = None


class StaffEvent(Answer):
    """An event as staff see it (with the join URL and seats taken)."""

    id: int
    kind: Kind
    title: str
    description: str
    host: str
    starts_at: Time
    ends_at: Time
    timezone: str
    join_url: str
    capacity: int
    rsvp_count: int
    min_tier: str | None
    created_at: Time

    @classmethod
    def of(cls, e) -> "StaffEvent":
        """An ``Event`` row."""
        return cls(id=e.id, kind=e.kind, title=e.title, description=e.description,
                   host=e.host, starts_at=e.starts_at, ends_at=e.ends_at, timezone=e.timezone,
                   join_url=e.join_url, capacity=e.capacity, rsvp_count=e.rsvp_count,
                   min_tier=e.min_tier_key or None, created_at=e.created_at)


class NewEvent(Request):
    """A new event. ``starts_at``/``ends_at``: ISO 8601; with an offset they are that
    moment, without one they are wall-clock times in ``timezone``."""

    kind: Annotated[Kind, Says("kind: choose webinar, live_training or qa.")]
    title: str = Field(min_length=3, max_length=TITLE_MAX)
    description: str = Field("", max_length=DESCRIPTION_MAX)
    starts_at: Annotated[str, Says("starts_at must be a date and time such as "
                                   "2027-03-01T15:00.")] = Field(max_length=40)
    ends_at: Annotated[str, Says("ends_at must be a date and time such as "
                                 "2027-03-01T16:00.")] = Field(max_length=40)
    timezone: Annotated[str, Says("timezone must be an IANA name such as Europe/London.")] = \
        Field(max_length=64)
    host: str = Field(min_length=2, max_length=HOST_MAX)
    join_url: Annotated[str, Says("join_url must be an https:// link.")] = Field(
        max_length=URL_MAX)
    capacity: Annotated[int, Says(f"capacity must be a whole number of seats from 1 to "
                                  f"{CAPACITY_MAX:,}.")] = Field(ge=1, le=CAPACITY_MAX)
    min_tier: str | None = Field(None, max_length=20, description="A tier key, or null "
                                                                  "for every active partner")
