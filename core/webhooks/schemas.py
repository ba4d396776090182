"""Webhooks' API shapes: endpoints (the secret only when it is made), their delivery log,
and the requests that register and change them. Event names and URLs are checked by
``core.webhooks.endpoints`` (422 with the list of valid events; SSRF checks)."""

from typing import Literal

from core.base.schemas import (
    MISSING,
    Answer,
    ClosedRequest,
    Field,
    Page,
    Query,
    QueryInt,
    Shape,
    Time,
)
from core.webhooks.endpoints import MAX_DESCRIPTION
from core.webhooks.events import EVENT_TYPES
from core.webhooks.models import DELIVERY_KINDS, DELIVERY_STATUSES, ENDPOINT_STATUSES
from core.webhooks.targets import MAX_URL

_EVENTS = Field(description="Event names, one or more of: " + ", ".join(EVENT_TYPES))


class WebhookEndpoint(Answer):
    """A registered endpoint. ``secret`` (``whsec_...``, verify with any Standard
    Webhooks library) is in the answer only when it is created or rotated."""

    id: int
    url: str
    description: str
    events: list[str]
    status: Literal[ENDPOINT_STATUSES]
    disabled_reason: str
    failing_since: Time | None
    previous_secret_until: Time | None = Field(
        description="Until when the secret before the last rotation also signs")
    created_at: Time
    updated_at: Time
    secret: str = Field(MISSING, description="Shown once: when created or rotated")

    @classmethod
    def of(cls, ep, show_secret: bool = False) -> "WebhookEndpoint":
        """The shape of a ``WebhookEndpoint`` row (with its secret when ``show_secret``)."""
        extra = {"secret": ep.secret} if show_secret else {}
        return cls(id=ep.id, url=ep.url, description=ep.description, events=ep.event_list,
                   status=ep.status, disabled_reason=ep.disabled_reason,
                   failing_since=ep.failing_since,
                   previous_secret_until=ep.previous_secret_until,
                   created_at=ep.created_at, updated_at=ep.updated_at, **extra)


class WebhookEndpointPage(Page):
    """Every endpoint, oldest first."""

    items: list[WebhookEndpoint]


class NewWebhookEndpoint(ClosedRequest):
    """An endpoint to register: where, and which events."""

    url: str = Field(min_length=1, max_length=MAX_URL,
                     description="https URL; it must resolve to public addresses")
    events: list[str] = _EVENTS
    description: str = Field("", max_length=MAX_DESCRIPTION)


class WebhookEndpointChange(ClosedRequest):
    """Fields to change; left-out ones stay. ``status`` ``paused`` pauses, ``active``
    resumes or enables a disabled endpoint again."""

    url: str = Field(MISSING, min_length=1, max_length=MAX_URL)
    events: list[str] = Field(MISSING, description=_EVENTS.description)
    description: str = Field(MISSING, max_length=MAX_DESCRIPTION)
    status: Literal["active", "paused"] = MISSING


class WebhookAttempt(Shape):
    """One attempt: when, the answer's status (``null`` without one), how long, the first
    KB of the answer, the error when there was no answer."""

    at: Time
    status_code: int | None
    duration_ms: int
    response_excerpt: str
    error: str


class WebhookDelivery(Answer):
    """One event sent (or to send) to one endpoint, with its attempts."""

    id: int
    endpoint_id: int
    msg_id: str = Field(description="The webhook-id header: the same on every retry")
    event_type: str
    kind: Literal[DELIVERY_KINDS]
    status: Literal[DELIVERY_STATUSES]
    attempts: int
    next_attempt_at: Time | None
    last_status_code: int | None
    created_at: Time
    attempt_log: list[WebhookAttempt]

    @classmethod
    def of(cls, d) -> "WebhookDelivery":
        """The shape of a ``WebhookDelivery`` row."""
        return cls(id=d.id, endpoint_id=d.endpoint_id, msg_id=d.msg_id,
                   event_type=d.event_type, kind=d.kind, status=d.status,
                   attempts=d.attempts, next_attempt_at=d.next_attempt_at,
                   last_status_code=d.last_status_code, created_at=d.created_at,
                   attempt_log=[WebhookAttempt.model_validate(a) for a in d.attempt_rows])


class WebhookDeliveryPage(Page):
    """An endpoint's deliveries, newest first; ``next_cursor`` pages on."""

    items: list[WebhookDelivery]


class DeliveryQuery(Query):
    """Page the delivery log."""

    cursor: QueryInt = Field(MISSING, ge=1, description="The next_cursor of the previous page")
    limit: QueryInt = Field(50, ge=1, le=100)
