"""Registering webhook endpoints (rules: "Webhook endpoints"): create, list, change,
pause and resume, rotate the secret, delete. Every change is audited (never the secret).
"""

import base64
import secrets as pysecrets
from datetime import timedelta

from sqlalchemy import delete, select

from core.base.audit import audit
from core.base.errors import NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.timeutil import now_utc
from core.webhooks.deliveries import disable_endpoint, queue_pending
from core.webhooks.events import EVENT_TYPES
from core.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from core.webhooks.targets import resolve

#: How long the secret before a rotation keeps signing beside the new one.
ROTATION_OVERLAP = timedelta(hours=24)
#: Longest description (characters).
MAX_DESCRIPTION = 500


def new_secret() -> str:
    """A new signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(pysecrets.token_bytes(32)).decode()


def check_events(events) -> str:
    """``events`` (a list of event type names) as stored (comma-separated, sorted, no
    repeats). Raises ``ValidationError`` (422) for an empty list or unknown names,
    listing the valid ones."""
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise ValidationError("events must be a list of one or more event names: "
                              + ", ".join(EVENT_TYPES) + ".")
    unknown = sorted({e for e in events if e not in EVENT_TYPES})
    if unknown:
        raise ValidationError(f"Unknown event names: {', '.join(unknown)}. Valid events: "
                              + ", ".join(EVENT_TYPES) + ".")
    return ",".join(sorted(set(events)))


def _description(text) -> str:
    if not isinstance(text, str) or len(text) > MAX_DESCRIPTION:
        raise ValidationError(f"description must be text of at most {MAX_DESCRIPTION} "
                              "characters.")
    return text.strip()


def get_endpoint(endpoint_id) -> WebhookEndpoint:
    """The endpoint, or ``NotFound``."""
    ep = get_row(WebhookEndpoint, endpoint_id)
    if ep is None:
        raise NotFound("No such webhook endpoint.")
    return ep


def list_endpoints() -> list[WebhookEndpoint]:
    """Every endpoint, oldest first."""
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def create_endpoint(actor_id: int, url, events, description="") -> WebhookEndpoint:
    """Register ``url`` for ``events`` (list of names). The URL is checked now
    (``core.webhooks.targets.resolve``) and again before every send. Returns the
    endpoint (flushed), whose ``secret`` the caller shows once. Raises
    ``ValidationError`` (422: bad URL or target, unknown events, long description)."""
    stored = check_events(events)
    desc = _description(description)
    resolve(url)
    now = now_utc()
    ep = WebhookEndpoint(url=url.strip(), events=stored, description=desc, secret=new_secret(),
                         status="active", disabled_reason="", created_by_id=actor_id,
                         created_at=now, updated_at=now)
    db.session.add(ep)
    db.session.flush()
    audit(actor_id, "webhook.create", "webhook_endpoint", ep.id, None,
          {"url": ep.url, "events": stored})
    return ep


def update_endpoint(endpoint_id, actor_id: int, changes: dict) -> WebhookEndpoint:
    """Change an endpoint: ``changes`` may hold ``url``, ``events``, ``description`` and
    ``status`` (``active`` resumes or enables it again, ``paused`` pauses it: its
    deliveries wait). Raises ``NotFound``, ``ValidationError``."""
    ep = get_endpoint(endpoint_id)
    before = {"url": ep.url, "events": ep.events, "description": ep.description,
              "status": ep.status}
    if "url" in changes:
        resolve(changes["url"])
        ep.url = changes["url"].strip()
    if "events" in changes:
        ep.events = check_events(changes["events"])
    if "description" in changes:
        ep.description = _description(changes["description"])
    resume = False
    if "status" in changes and changes["status"] != ep.status:
        if changes["status"] not in ("active", "paused"):
            raise ValidationError("status must be active or paused.")
        resume = changes["status"] == "active"
        ep.status = changes["status"]
        ep.disabled_reason, ep.failing_since = "", None
    ep.updated_at = now_utc()
    after = {"url": ep.url, "events": ep.events, "description": ep.description,
             "status": ep.status}
    audit(actor_id, "webhook.update", "webhook_endpoint", ep.id,
          {k: v for k, v in before.items() if after[k] != v},
          {k: v for k, v in after.items() if before[k] != v})
    if resume:
        queue_pending(ep)
    return ep


def pause_endpoint(endpoint_id, actor_id: int) -> WebhookEndpoint:
    """Pause an endpoint (``update_endpoint`` with ``status`` ``paused``)."""
    return update_endpoint(endpoint_id, actor_id, {"status": "paused"})


def rotate_secret(endpoint_id, actor_id: int) -> WebhookEndpoint:
    """Give the endpoint a new secret; the old one signs beside it for
    :data:`ROTATION_OVERLAP` (a receiver checking either verifies). Returns the endpoint
    (its new ``secret`` shown once). Raises ``NotFound``."""
    ep = get_endpoint(endpoint_id)
    now = now_utc()
    ep.previous_secret, ep.previous_secret_until = ep.secret, now + ROTATION_OVERLAP
    ep.secret, ep.updated_at = new_secret(), now
    audit(actor_id, "webhook.rotate_secret", "webhook_endpoint", ep.id, None,
          {"previous_until": ep.previous_secret_until.isoformat()})
    return ep


def delete_endpoint(endpoint_id, actor_id: int) -> WebhookEndpoint:
    """Delete an endpoint with its delivery log (pending deliveries are never sent).
    Returns the deleted row. Raises ``NotFound``."""
    ep = get_endpoint(endpoint_id)
    ids = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == ep.id)
    db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)))
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == ep.id))
    audit(actor_id, "webhook.delete", "webhook_endpoint", ep.id,
          {"url": ep.url, "events": ep.events}, None)
    db.session.delete(ep)
    db.session.flush()
    return ep


__all__ = ["check_events", "create_endpoint", "delete_endpoint", "disable_endpoint",
           "get_endpoint", "list_endpoints", "pause_endpoint", "rotate_secret",
           "update_endpoint"]
