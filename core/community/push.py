"""Web push subscriptions: the endpoints and keys that browsers and the installed PWA hand
over when a user allows notifications (rules: "Web push subscriptions").

The server later sends to these endpoints itself, so an endpoint is accepted only on a
known push service over https (``PUSH_SERVICE_HOSTS``): a subscription can never make the
server call an address of the subscriber's choosing.
"""

import base64
import binascii
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import delete, func, select

from core.base.errors import ValidationError
from core.base.extensions import db
from core.base.timeutil import now_utc
from core.community.models import PushSubscription

#: Subscriptions kept per user (phones, laptops, browsers); the oldest goes first.
MAX_PER_USER = 10
#: Longest endpoint URL accepted (characters).
ENDPOINT_MAX = 2048


def _key_bytes(value, name: str, size: int) -> str:
    """``value`` as sent (base64url, padding optional) when it decodes to ``size`` bytes."""
    words = f"keys.{name} must be the browser's base64url {name} key ({size} bytes)."
    if not isinstance(value, str) or not 0 < len(value) <= 2 * size + 4:
        raise ValidationError(words)
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ValidationError(words) from None
    if len(raw) != size or (name == "p256dh" and raw[0] != 4):
        raise ValidationError(words)
    return value.rstrip("=")


def known_push_service(endpoint: str) -> bool:
    """Whether ``endpoint`` is an https URL on a host of ``PUSH_SERVICE_HOSTS`` (a host
    listed, or a subdomain of one), on the default port, without user info."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or port not in (None, 443) or parts.username or not host:
        return False
    return any(host == h or host.endswith("." + h)
               for h in current_app.config["PUSH_SERVICE_HOSTS"])


def subscribe(user_id: int, endpoint, p256dh, auth) -> PushSubscription:
    """Store the push subscription of one of ``user_id``'s browsers or devices.

    Args: ``endpoint`` the push service URL, ``p256dh`` and ``auth`` the subscription's
    keys (base64url, 65 and 16 bytes). Subscribing an endpoint again updates its keys and
    gives it to this user; beyond :data:`MAX_PER_USER` the user's oldest is dropped.
    Returns the row (flushed). Raises ``ValidationError`` (422) for an endpoint that is
    not https on a known push service, or malformed keys; nothing is stored then.
    """
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > ENDPOINT_MAX:
        raise ValidationError(f"endpoint must be the subscription's URL (at most "
                              f"{ENDPOINT_MAX:,} characters).")
    if not known_push_service(endpoint):
        raise ValidationError("endpoint must be an https URL of a browser push service "
                              "(the PushSubscription's endpoint).", code="unknown_push_service")
    p256dh, auth = _key_bytes(p256dh, "p256dh", 65), _key_bytes(auth, "auth", 16)
    now = now_utc()
    row = db.session.scalar(select(PushSubscription).where(
        PushSubscription.endpoint == endpoint))
    if row is None:
        row = PushSubscription(user_id=user_id, endpoint=endpoint, created_at=now)
        db.session.add(row)
    row.user_id, row.p256dh, row.auth, row.updated_at = user_id, p256dh, auth, now
    db.session.flush()
    extra = db.session.scalar(select(func.count()).select_from(PushSubscription).where(
        PushSubscription.user_id == user_id)) - MAX_PER_USER
    if extra > 0:
        oldest = select(PushSubscription.id).where(
            PushSubscription.user_id == user_id, PushSubscription.id != row.id
        ).order_by(PushSubscription.updated_at, PushSubscription.id).limit(extra)
        db.session.execute(delete(PushSubscription).where(
            PushSubscription.id.in_(list(db.session.scalars(oldest)))))
    return row


def unsubscribe(user_id: int, endpoint) -> bool:
    """Forget the user's subscription for ``endpoint``; returns whether there was one.
    Another user's endpoint is left alone (and answers ``False`` the same way)."""
    if not isinstance(endpoint, str):
        return False
    return bool(db.session.execute(delete(PushSubscription).where(
        PushSubscription.user_id == user_id,
        PushSubscription.endpoint == endpoint)).rowcount)


def subscriptions_of(user_id: int) -> list[PushSubscription]:
    """The user's push subscriptions, newest first."""
    return list(db.session.scalars(select(PushSubscription).where(
        PushSubscription.user_id == user_id).order_by(PushSubscription.updated_at.desc(),
                                                      PushSubscription.id.desc())))
