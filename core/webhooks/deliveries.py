"""Sending deliveries: the job that makes one attempt, the retry schedule, the rules that
disable an endpoint, the sweep of overdue retries, replays and test events (rules:
"Webhook deliveries").

A delivery is sent by :func:`send_delivery` (RQ, after the commit that made it; never
from a web request). Any 2xx answer is a success. Another answer, or none, is retried
after ``WEBHOOK_RETRY_SECONDS`` (about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 24 h), then
the delivery has failed. A 410 disables the endpoint at once; an endpoint whose attempts
have failed for :data:`DISABLE_AFTER` without a success in between is disabled and the
admins are e-mailed. Deliveries of one object to one endpoint go out in the order the
events happened: a delivery waits while an earlier one of the same object is pending.
"""

import json
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select, update

from core.base import outbox
from core.base.audit import audit
from core.base.errors import Conflict, NotFound
from core.base.extensions import db, get_row
from core.base.jobs import QUEUE_DEFAULT, QUEUE_EMAIL, TICK_SECONDS, get_queue, job, job_logger
from core.base.timeutil import now_utc
from core.webhooks import http
from core.webhooks.events import TEST_EVENT, add_deliveries, body_of, new_msg_id
from core.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

#: An endpoint whose attempts fail this long, with no success between, is disabled.
DISABLE_AFTER = timedelta(days=3)
#: A retry this far past its time is sent by :func:`send_due_deliveries` (the RQ
#: scheduler normally sends it on time; this catches one Redis lost).
OVERDUE = timedelta(seconds=60)


def signing_secrets(ep: WebhookEndpoint, now) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during the 24
    hours after a rotation."""
    out = [ep.secret]
    if ep.previous_secret and ep.previous_secret_until and ep.previous_secret_until > now:
        out.append(ep.previous_secret)
    return out


def _locked(key: str) -> WebhookDelivery | None:
    q = select(WebhookDelivery).where(WebhookDelivery.key == key)
    if db.engine.dialect.name == "postgresql":
        q = q.with_for_update()
    return db.session.scalar(q)


def _earlier_pending(d: WebhookDelivery) -> bool:
    """Whether an earlier delivery of the same object to the same endpoint is pending."""
    if d.object_key is None:
        return False
    return db.session.scalar(select(WebhookDelivery.id).where(
        WebhookDelivery.endpoint_id == d.endpoint_id, WebhookDelivery.status == "pending",
        WebhookDelivery.object_key == d.object_key, WebhookDelivery.id < d.id).limit(1)) \
        is not None


def _enqueue(key: str, attempt: int, delay: int = 0, tag: str = "") -> None:
    """Queue :func:`send_delivery` for attempt ``attempt`` of ``key`` after the commit,
    ``delay`` seconds later (the RQ scheduler). Redis away: the sweep sends it later."""
    job_id = f"webhook-{key}-{attempt}{tag}"

    def run():
        queue = get_queue(send_delivery.queue)
        kwargs = dict(job_id=job_id, job_timeout=send_delivery.time_limit(),
                      result_ttl=send_delivery.result_ttl, failure_ttl=send_delivery.failure_ttl)
        try:
            if delay > 0:
                queue.enqueue_in(timedelta(seconds=delay), send_delivery.name, key, attempt,
                                 **kwargs)
            else:
                queue.enqueue(send_delivery.name, key, attempt, **kwargs)
        except RedisError:
            job_logger(__name__).warning("webhook %s: Redis away; the sweep sends it", key)

    if not current_app.config.get("RQ_ASYNC", True):
        outbox.after_commit(lambda: send_delivery(key, attempt))
    else:
        outbox.after_commit(run)


def _kick_next(d: WebhookDelivery, now) -> None:
    """After ``d`` is settled, queue the next pending delivery of its object (it waited)."""
    if d.object_key is None:
        return
    nxt = db.session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == d.endpoint_id, WebhookDelivery.status == "pending",
        WebhookDelivery.object_key == d.object_key, WebhookDelivery.id > d.id)
        .order_by(WebhookDelivery.id).limit(1))
    if nxt is not None and nxt.next_attempt_at <= now:
        _enqueue(nxt.key, nxt.attempts, tag="-next")


def disable_endpoint(ep: WebhookEndpoint, reason: str, now, actor_id: int | None = None) -> None:
    """Disable ``ep`` for ``reason``: its pending deliveries are cancelled; audited."""
    before = ep.status
    ep.status, ep.disabled_reason, ep.updated_at = "disabled", reason[:200], now
    db.session.execute(update(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == ep.id, WebhookDelivery.status == "pending")
        .values(status="cancelled", next_attempt_at=None, updated_at=now)
        .execution_options(synchronize_session=False))
    audit(actor_id, "webhook.disable", "webhook_endpoint", ep.id, {"status": before},
          {"status": "disabled", "reason": reason})


def _settle(d: WebhookDelivery, ep: WebhookEndpoint, result: http.Result, now) -> str:
    """Apply the rules to the attempt's ``result``; returns what became of ``d``."""
    code = result.status_code
    if code is not None and 200 <= code < 300:
        d.status, d.next_attempt_at = "succeeded", None
        ep.failing_since = None
        _kick_next(d, now)
        return "succeeded"
    if code == 410:
        d.status, d.next_attempt_at = "failed", None
        disable_endpoint(ep, "The endpoint answered 410 Gone.", now)
        return "disabled"
    if d.kind != "event":  # replays and test events are tried once, while someone looks
        d.status, d.next_attempt_at = "failed", None
        return "failed"
    ep.failing_since = ep.failing_since or now
    if now - ep.failing_since >= DISABLE_AFTER:
        d.status, d.next_attempt_at = "failed", None
        disable_endpoint(ep, "Every attempt failed for 3 days.", now)
        email_endpoint_disabled.after_commit(ep.id)
        return "disabled"
    schedule = current_app.config["WEBHOOK_RETRY_SECONDS"]
    if d.attempts > len(schedule):
        d.status, d.next_attempt_at = "failed", None
        _kick_next(d, now)
        return "failed"
    delay = int(schedule[d.attempts - 1])
    d.next_attempt_at = now + timedelta(seconds=delay)
    _enqueue(d.key, d.attempts, delay)
    return "retrying"


@job(queue=QUEUE_DEFAULT, timeout=60)
def send_delivery(key: str, attempt: int) -> str:
    """Make attempt number ``attempt`` (0 first) of delivery ``key``, once: a job for an
    attempt already made, a settled delivery, an endpoint not active, a retry not yet
    due or a delivery waiting for an earlier one of its object does nothing. Returns
    what happened (``succeeded``, ``retrying``, ``failed``, ``disabled``, ``waiting``,
    ``skipped``, ``gone``)."""
    d = _locked(key)
    if d is None:
        return "gone"
    if d.status != "pending" or d.attempts != attempt:
        return "skipped"
    ep = d.endpoint
    now = now_utc()
    if ep.status != "active" or d.next_attempt_at > now + timedelta(seconds=1):
        return "skipped"
    if _earlier_pending(d):
        return "waiting"
    result = http.post(ep.url, signing_secrets(ep, now), d.msg_id, d.body, now)
    d.attempts += 1
    d.last_status_code = result.status_code
    d.updated_at = now_utc()
    db.session.add(WebhookAttempt(delivery_id=d.id, at=now, status_code=result.status_code,
                                  duration_ms=result.duration_ms,
                                  response_excerpt=result.excerpt, error=result.error))
    outcome = _settle(d, ep, result, now)
    job_logger(__name__).info("webhook %s (%s) to endpoint %s: attempt %s, %s -> %s", key,
                              d.event_type, ep.id, d.attempts,
                              result.status_code or result.error, outcome)
    return outcome


@job(queue=QUEUE_DEFAULT, every=TICK_SECONDS // 5)
def send_due_deliveries(limit: int = 500) -> int:
    """Queue the pending deliveries of active endpoints whose attempt is overdue by
    :data:`OVERDUE` (their job was lost with Redis, or their endpoint was resumed).
    Returns how many were queued."""
    cutoff = now_utc() - OVERDUE
    rows = db.session.execute(
        select(WebhookDelivery.key, WebhookDelivery.attempts)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= cutoff,
               WebhookEndpoint.status == "active")
        .order_by(WebhookDelivery.id).limit(limit)).all()
    for key, attempts in rows:
        _enqueue(key, attempts, tag="-sweep")
    return len(rows)


def queue_pending(ep: WebhookEndpoint) -> int:
    """Queue the due pending deliveries of ``ep`` (it was resumed). Returns how many."""
    rows = db.session.execute(select(WebhookDelivery.key, WebhookDelivery.attempts).where(
        WebhookDelivery.endpoint_id == ep.id, WebhookDelivery.status == "pending")
        .order_by(WebhookDelivery.id)).all()
    for key, attempts in rows:
        _enqueue(key, attempts, tag="-resume")
    return len(rows)


@job(queue=QUEUE_EMAIL, retries=3)
def email_endpoint_disabled(endpoint_id: int) -> int:
    """E-mail every admin that endpoint ``endpoint_id`` was disabled. Returns how many
    were e-mailed."""
    from core.accounts.models import User
    from core.base.mail import public_url, send_email

    ep = db.session.get(WebhookEndpoint, endpoint_id)
    if ep is None or ep.status != "disabled":
        return 0
    admins = [u for u in db.session.scalars(select(User).where(User.is_staff.is_(True)))
              if "admin" in u.role_set]
    for user in admins:
        send_email(user.email, "webhook_disabled", name=user.name, url=ep.url,
                   reason=ep.disabled_reason, link=public_url("/admin/webhook-endpoints/"))
    return len(admins)


def replay(delivery_id, actor_id: int) -> WebhookDelivery:
    """Send delivery ``delivery_id``'s event again to its endpoint, with the same
    ``webhook-id`` and body (one attempt). Raises ``NotFound``, ``Conflict`` (the
    endpoint is not active)."""
    d = get_row(WebhookDelivery, delivery_id)
    if d is None:
        raise NotFound("No such delivery.")
    if d.endpoint.status != "active":
        raise Conflict(f"This endpoint is {d.endpoint.status}; enable it to replay.")
    now = now_utc()
    [row] = add_deliveries([d.endpoint_id], d.msg_id, d.event_type, None, d.body, "replay", now)
    db.session.flush()
    audit(actor_id, "webhook.replay", "webhook_endpoint", d.endpoint_id, None,
          {"delivery_id": d.id, "replay_id": row.id, "msg_id": d.msg_id})
    return row


def send_test(endpoint_id, actor_id: int) -> WebhookDelivery:
    """Send a ``webhook.test`` event to endpoint ``endpoint_id`` (one attempt). Raises
    ``NotFound``, ``Conflict`` (the endpoint is not active)."""
    ep = get_row(WebhookEndpoint, endpoint_id)
    if ep is None:
        raise NotFound("No such webhook endpoint.")
    if ep.status != "active":
        raise Conflict(f"This endpoint is {ep.status}; enable it to send a test event.")
    now = now_utc()
    body = body_of(TEST_EVENT, {"endpoint_id": ep.id, "message": "A test event from SISO "
                                "Partners: your endpoint receives and verifies webhooks."}, now)
    [row] = add_deliveries([ep.id], new_msg_id(), TEST_EVENT, None, body, "test", now)
    db.session.flush()
    audit(actor_id, "webhook.test", "webhook_endpoint", ep.id, None, {"delivery_id": row.id})
    return row


def delivery_log(endpoint_id: int, before_id: int | None = None, limit: int = 50) -> list:
    """The endpoint's deliveries, newest first, with their attempts loaded."""
    from sqlalchemy.orm import selectinload

    q = (select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
         .options(selectinload(WebhookDelivery.attempt_rows))
         .order_by(WebhookDelivery.id.desc()).limit(limit))
    if before_id is not None:
        q = q.where(WebhookDelivery.id < before_id)
    return list(db.session.scalars(q))


def event_of(d: WebhookDelivery) -> dict:
    """The delivery's body as JSON."""
    return json.loads(d.body)
