"""Events: the calendar, RSVPs and each partner's calendar-feed key (rules: "Events")."""

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.base.extensions import db
from core.base.timeutil import UTCDateTime, now_utc

#: Kinds of event, as partners read them.
EVENT_KINDS = {"webinar": "Webinar", "live_training": "Live training", "qa": "Q&A"}


class Event(db.Model):
    """A scheduled event staff created (rules: "Events").

    ``rsvp_count`` is the number of RSVPs in force, moved only by a conditional UPDATE
    (``rsvp_count < capacity``), so two partners taking the last seat at once never both
    get it; the check constraint holds it in the database as well."""

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("kind IN ('webinar', 'live_training', 'qa')", name="kind"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity > 0", name="capacity"),
        CheckConstraint("rsvp_count >= 0 AND rsvp_count <= capacity", name="rsvp_count"),
        Index("ix_events_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: webinar | live_training | qa (``EVENT_KINDS``).
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Start and end (UTC).
    starts_at: Mapped[object] = mapped_column(UTCDateTime)
    ends_at: Mapped[object] = mapped_column(UTCDateTime)
    #: The IANA zone the event is announced in (``America/New_York``); partners read the
    #: times in their own zone.
    timezone: Mapped[str] = mapped_column(String(64))
    #: Who runs it (a name shown to partners).
    host: Mapped[str] = mapped_column(String(120))
    #: The meeting link (https), shown only to partners who RSVPed.
    join_url: Mapped[str] = mapped_column(String(500))
    #: Seats (at least 1).
    capacity: Mapped[int] = mapped_column()
    #: Lowest tier that may RSVP (a ``Tier.key``); ``""``: every active partner.
    min_tier_key: Mapped[str] = mapped_column(String(20), default="", server_default="")
    rsvp_count: Mapped[int] = mapped_column(default=0, server_default="0")
    #: When staff cancelled it (``None``: on).
    cancelled_at: Mapped[object | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)

    def __str__(self) -> str:
        return self.title


class EventRsvp(db.Model):
    """A partner's RSVP to an event; cancelling keeps the row (``cancelled_at``) and a new
    RSVP takes it back. ``reminded_24h_at`` / ``reminded_1h_at`` make each reminder go
    once; ``attended_at`` is set by staff and earns XP once."""

    __tablename__ = "event_rsvps"
    __table_args__ = (
        UniqueConstraint("event_id", "partner_id"),
        Index("ix_event_rsvps_partner_id", "partner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    cancelled_at: Mapped[object | None] = mapped_column(UTCDateTime)
    reminded_24h_at: Mapped[object | None] = mapped_column(UTCDateTime)
    reminded_1h_at: Mapped[object | None] = mapped_column(UTCDateTime)
    attended_at: Mapped[object | None] = mapped_column(UTCDateTime)
    attendance_marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    event = relationship("Event")
    partner = relationship("Partner")


class CalendarFeedKey(db.Model):
    """The secret behind a partner's iCalendar feed URL (rules: "Events").

    The token in the URL is an HMAC of ``nonce`` under the app's secret key; only its
    SHA-256 (``token_hash``) is looked up, so the table alone opens no feed. Regenerating
    replaces the nonce (the old URL stops working); revoking deletes the row."""

    __tablename__ = "calendar_feed_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
