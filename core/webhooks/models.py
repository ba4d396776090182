"""Outbound webhooks: endpoints, deliveries (one event to one endpoint) and attempts."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.base.extensions import db
from core.base.timeutil import UTCDateTime, now_utc

#: Endpoint states: ``active`` (sent to), ``paused`` (kept, sent once resumed),
#: ``disabled`` (a 410 answer or 3 days of failures; an admin enables it again).
ENDPOINT_STATUSES = ("active", "paused", "disabled")
#: Delivery states: ``pending`` (waiting for its first or next attempt), ``succeeded``
#: (a 2xx answer), ``failed`` (every retry used), ``cancelled`` (its endpoint was
#: disabled or deleted first).
DELIVERY_STATUSES = ("pending", "succeeded", "failed", "cancelled")
#: Why a delivery exists: a program ``event``, a ``replay`` of one, or a ``test`` event.
DELIVERY_KINDS = ("event", "replay", "test")


class WebhookEndpoint(db.Model):
    """A URL an admin registered to receive some of the program's events."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'paused', 'disabled')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    #: The event types it receives, comma-separated (``core.webhooks.events.EVENT_TYPES``).
    events: Mapped[str] = mapped_column(Text)
    #: The signing secret, ``whsec_`` + base64 of 32 random bytes.
    secret: Mapped[str] = mapped_column(String(100))
    #: The secret before the last rotation, which signs beside ``secret`` until
    #: ``previous_secret_until``; ``None`` when there is none.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_until: Mapped[object | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="active")
    #: Why it was disabled (``"410 Gone"``, ``"failing for 3 days"``), empty otherwise.
    disabled_reason: Mapped[str] = mapped_column(String(200), default="")
    #: The first failed attempt since the last success; ``None`` while all is well.
    failing_since: Mapped[object | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)

    @property
    def event_list(self) -> list[str]:
        """The event types as a list."""
        return [e for e in self.events.split(",") if e]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(db.Model):
    """One event (or replay, or test event) to send to one endpoint, with its fixed body;
    every attempt at it carries the same ``msg_id`` (the ``webhook-id`` header)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed', 'cancelled')",
                        name="status"),
        Index("ix_webhook_deliveries_endpoint_id_status_object_key", "endpoint_id",
              "status", "object_key"),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The handle jobs use (made before the row has an id): ``dlv_`` + 24 hex digits.
    key: Mapped[str] = mapped_column(String(40), unique=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id",
                                                        ondelete="CASCADE"))
    #: The event's id (``msg_`` + 24 hex digits): the same on every retry and replay.
    msg_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(40))
    #: The object the event is about (``"lead:12"``): deliveries of one object to one
    #: endpoint go out in the order the events happened. ``None`` for replays and tests.
    object_key: Mapped[str | None] = mapped_column(String(60))
    #: The JSON body exactly as signed and sent.
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(10), default="event")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    #: When the next attempt is due (``None`` once it is no longer pending).
    next_attempt_at: Mapped[object | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None]
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)

    endpoint = relationship("WebhookEndpoint")
    attempt_rows = relationship("WebhookAttempt", order_by="WebhookAttempt.id",
                                viewonly=True)

    def __str__(self) -> str:
        return f"{self.event_type} {self.msg_id}"


class WebhookAttempt(db.Model):
    """One try at sending a delivery: the delivery log's line."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id", "delivery_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id",
                                                        ondelete="CASCADE"))
    at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    #: The answer's HTTP status; ``None`` when there was none (refused, timed out).
    status_code: Mapped[int | None]
    duration_ms: Mapped[int] = mapped_column(default=0)
    #: The first KB of the answer's body (text, undecodable bytes replaced).
    response_excerpt: Mapped[str] = mapped_column(Text, default="")
    #: Why no answer came, or why it was refused before sending (SSRF); empty otherwise.
    error: Mapped[str] = mapped_column(String(300), default="")
