"""Web push: the subscriptions (endpoints and keys) that browsers and the installed PWA
hand over when a user allows notifications, and the worker job that sends a notice to
them (rules: "Web push subscriptions", "Web push").

The server sends to these endpoints itself, so an endpoint is accepted only on a known
push service over https (``PUSH_SERVICE_HOSTS``): a subscription can never make the
server call an address of the subscriber's choosing. ``PUSH_ALLOW_LOOPBACK`` (tests only;
production forces it off) also lets ``http://127.0.0.1:<port>`` through, for the tests'
own push service.
"""

import base64
import binascii
import json
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import delete, exists, func, select

from core.base.errors import ValidationError
from core.base.extensions import db
from core.base.jobs import QUEUE_DEFAULT, job, job_logger
from core.base.timeutil import now_utc
from core.community.models import Notification, PushSubscription

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
    if (current_app.config.get("PUSH_ALLOW_LOOPBACK") and parts.scheme == "http"
            and host == "127.0.0.1" and not parts.username):
        return True  # the tests' own push service (never in production)
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


# --- sending (worker) ----------------------------------------------------------------------

#: Seconds a push service keeps a notice for a device that is offline (one day).
PUSH_TTL_SECONDS = 24 * 3600
#: Seconds one push request may take.
PUSH_TIMEOUT_SECONDS = 10


def vapid_keys() -> tuple[str, str] | None:
    """``(private, public)`` VAPID keys from the settings (``VAPID_PRIVATE_KEY``: the raw
    32-byte P-256 private key, base64url; ``VAPID_PUBLIC_KEY``: the 65-byte public point,
    base64url, derived from the private one when empty), or ``None`` when web push is
    not set up (no private key). Rules: "Web push"."""
    private = current_app.config.get("VAPID_PRIVATE_KEY")
    if not private:
        return None
    public = current_app.config.get("VAPID_PUBLIC_KEY") or public_key_of(private)
    return private, public


def public_key_of(private: str) -> str:
    """The base64url uncompressed public point of the raw base64url private key."""
    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid

    point = Vapid.from_raw(private.encode()).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(point).decode().rstrip("=")


def push_ready() -> bool:
    """Whether web push is set up (VAPID keys in the settings)."""
    return vapid_keys() is not None


def wants_push(user_id: int) -> bool:
    """Whether a notice to ``user_id`` can go by web push: push is set up and they have at
    least one subscribed device. One query (none for a user already asked in the same
    ``core.base.bulkwrite.bulk_rows`` block)."""
    from core.base.bulkwrite import block_memo

    if not push_ready():
        return False
    memo = block_memo()
    cache = memo.setdefault("push_devices", {}) if memo is not None else None
    if cache is not None and user_id in cache:
        return cache[user_id]
    found = bool(db.session.scalar(select(exists().where(PushSubscription.user_id == user_id))))
    if cache is not None:
        cache[user_id] = found
    return found


def queue_push(notification_id: int) -> None:
    """Send the notification by web push once the transaction commits (outbox), one job
    per notification (job id ``push-notification-<id>``)."""
    send_notification_push.after_commit(notification_id,
                                        job_id=f"push-notification-{notification_id}")


def payload_of(row: Notification) -> dict:
    """What the service worker receives (JSON): ``{"title", "body", "url", "tag",
    "kind"}``; ``url`` is the site path to open when the notice is tapped (the
    notifications page when the notice has none)."""
    url = row.url if row.url.startswith("/") and not row.url.startswith("//") \
        else "/partner/notifications"
    return {"title": row.title, "body": row.body[:300], "url": url,
            "tag": f"n{row.id}", "kind": row.kind}


@job(queue=QUEUE_DEFAULT, retries=2)
def send_notification_push(notification_id: int) -> dict:
    """Send one notification to every subscribed device of its user (worker, after the
    commit that stored it). Rules: "Web push".

    Each device gets the :func:`payload_of` JSON, encrypted for its keys (aes128gcm) and
    signed with the VAPID key. A subscription the push service answers 404 or 410 for is
    gone for good and removed. Other failures are logged; when every device failed the
    job raises (RQ retries it); devices already served are sent again then (a push
    service shows a repeated ``tag`` once). Returns ``{"sent": n, "removed": n,
    "failed": n}``; ``{"skipped": reason}`` when the notice is gone, push is not set
    up or the user has no device.
    """
    from pywebpush import WebPushException, webpush
    from requests import RequestException, Session

    log = job_logger(__name__)
    row = db.session.get(Notification, notification_id)
    keys = vapid_keys()
    if row is None or keys is None:
        return {"skipped": "gone" if row is None else "push not set up"}
    subs = subscriptions_of(row.user_id)
    if not subs:
        return {"skipped": "no device"}
    from py_vapid import Vapid

    vapid = Vapid.from_raw(keys[0].encode())
    data = json.dumps(payload_of(row))
    session = Session()
    session.max_redirects = 0  # a push service answers; it never sends us elsewhere
    sent = removed = failed = 0
    for sub in subs:
        if not known_push_service(sub.endpoint):
            failed += 1
            continue
        try:
            webpush({"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}},
                    data=data, vapid_private_key=vapid,
                    vapid_claims={"sub": current_app.config["VAPID_SUBJECT"]},
                    ttl=PUSH_TTL_SECONDS, timeout=PUSH_TIMEOUT_SECONDS,
                    requests_session=session)
            sent += 1
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in (404, 410):
                db.session.delete(sub)
                removed += 1
                log.info("push subscription %s expired (%s); removed", sub.id, status)
            else:
                failed += 1
                log.warning("push to subscription %s failed: %s", sub.id, status)
        except RequestException as exc:
            failed += 1
            log.warning("push to subscription %s failed: %s", sub.id, type(exc).__name__)
    session.close()
    if failed and not sent and not removed:
        raise RuntimeError(f"web push of notification {notification_id} failed for every "
                           f"device ({failed}); retrying")
    return {"sent": sent, "removed": removed, "failed": failed}
