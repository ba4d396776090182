"""The events the program sends to webhook endpoints, and :func:`emit`, which the
operations call where each event happens (rules: "Webhook events").

An event's ``data`` is the object in the shape the staff API answers with (the same
pydantic schema), taken when the event happens, inside the transaction that makes it:
a rollback drops the event with the change.
"""

import json
import uuid

from sqlalchemy import select

from core.base import outbox
from core.base.extensions import db
from core.base.timeutil import now_utc

#: Every event type, by the object it is about.
EVENT_TYPES = (
    "partner.applied", "partner.approved", "partner.suspended", "partner.tier_changed",
    "lead.created", "lead.status_changed", "lead.won",
    "deal.confirmed", "deal.cancelled",
    "commission.created", "commission.approved", "commission.reversed",
    "payout.approved", "payout.paid", "payout.failed",
    "statement.issued",
)
#: The type of the event the "send test event" button sends (to any endpoint).
TEST_EVENT = "webhook.test"


def _partner(p) -> dict:
    from core.program.schemas import Profile

    return Profile.of(p).model_dump(mode="json")


def _lead(lead) -> dict:
    from core.program.schemas import Lead

    return Lead.of(lead).model_dump(mode="json")


def _deal(deal) -> dict:
    from core.money.schemas import Deal

    return Deal.model_validate(deal).model_dump(mode="json")


def _commission(c) -> dict:
    from core.money.schemas import Commission

    return Commission.model_validate(c).model_dump(mode="json")


def _payout(p) -> dict:
    from core.money.schemas import Payout

    return Payout.model_validate(p).model_dump(mode="json")


def _statement(s) -> dict:
    from core.money.schemas import Statement

    return Statement.of(s).model_dump(mode="json")


#: Object kind (the part of the event type before the dot) -> its staff API shape.
SHAPES = {"partner": _partner, "lead": _lead, "deal": _deal, "commission": _commission,
          "payout": _payout, "statement": _statement}


def new_msg_id() -> str:
    """A new event id (``msg_`` + 24 hex digits)."""
    return f"msg_{uuid.uuid4().hex[:24]}"


def new_key() -> str:
    """A new delivery handle (``dlv_`` + 24 hex digits)."""
    return f"dlv_{uuid.uuid4().hex[:24]}"


def body_of(event_type: str, data: dict, at) -> str:
    """The JSON body of an event: ``{"type", "timestamp", "data"}`` (compact, key order
    fixed), exactly the text that is signed and sent."""
    return json.dumps({"type": event_type, "timestamp": at.isoformat(), "data": data},
                      separators=(",", ":"))


def _subscribers() -> list[tuple[int, set[str]]]:
    """``(endpoint id, event types)`` of the active and paused endpoints, read once per
    transaction (kept on its outbox)."""
    from core.webhooks.models import WebhookEndpoint

    memo = outbox.current().memo
    cached = memo.get("webhook_endpoints")
    if cached is None:
        rows = db.session.execute(select(WebhookEndpoint.id, WebhookEndpoint.events).where(
            WebhookEndpoint.status.in_(("active", "paused")))).all()
        cached = [(eid, set(events.split(","))) for eid, events in rows]
        memo["webhook_endpoints"] = cached
    return cached


def wanted(event_type: str) -> bool:
    """Whether any active or paused endpoint takes ``event_type`` (one read a
    transaction): callers that must load rows to emit ask first."""
    return any(event_type in types for _, types in _subscribers())


def emit(event_type: str, obj) -> int:
    """Record event ``event_type`` about ``obj`` (a ``Partner``, ``Lead``, ``Deal``,
    ``Commission``, ``Payout`` or ``Statement`` row, flushed: it has its id) for every
    active or paused endpoint that takes that type; each delivery is sent by
    :func:`core.webhooks.deliveries.send_delivery` after the commit. Returns how many
    deliveries were made (0, doing nothing else, when no endpoint wants it).
    Raises ``ValueError`` for a type not in :data:`EVENT_TYPES` (a programming error)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type!r}")
    wanted = [eid for eid, types in _subscribers() if event_type in types]
    if not wanted:
        return 0
    kind = event_type.split(".")[0]
    at = now_utc()
    body = body_of(event_type, SHAPES[kind](obj), at)
    return len(add_deliveries(wanted, new_msg_id(), event_type, f"{kind}:{obj.id}", body,
                              "event", at))


def add_deliveries(endpoint_ids: list[int], msg_id: str, event_type: str,
                   object_key: str | None, body: str, kind: str, at) -> list:
    """Add one pending delivery of ``body`` per endpoint, due now, and record its send
    job on the outbox. Returns the ``WebhookDelivery`` rows (not flushed)."""
    from core.webhooks.deliveries import send_delivery
    from core.webhooks.models import WebhookDelivery

    rows = []
    for endpoint_id in endpoint_ids:
        row = WebhookDelivery(key=new_key(), endpoint_id=endpoint_id, msg_id=msg_id,
                              event_type=event_type, object_key=object_key, body=body,
                              kind=kind, status="pending", attempts=0, next_attempt_at=at,
                              created_at=at, updated_at=at)
        db.session.add(row)
        send_delivery.after_commit(row.key, 0, job_id=f"webhook-{row.key}-0")
        rows.append(row)
    return rows
