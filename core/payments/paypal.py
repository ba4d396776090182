"""PayPal Payouts (rules: "PayPal payouts").

A thin client of ours over ``requests``: PayPal's Python server SDK has no Payouts API
and its old Payouts SDK is archived. OAuth2 client credentials (``PAYPAL_CLIENT_ID``,
``PAYPAL_CLIENT_SECRET``) against ``PAYPAL_API_BASE`` (sandbox, live or a test server);
the token is kept until shortly before it expires, and fetched again when PayPal says
it is no longer valid.

- One batch per approval run (per payout when approved one by one): ``sender_batch_id``
  and ``PayPal-Request-Id`` = ``payout-<id of its first payout>``, written on every
  member's ``PayoutTransfer`` row (``batch_key``) before anything is sent, so a retried
  job gets PayPal's stored answer, and a batch id used before is refused by PayPal:
  never paid twice. Each item's ``sender_item_id`` is ``payout-<id>``.
- The payout stays ``processing`` until its item's status is known, from the webhook
  (``PAYMENT.PAYOUTS-ITEM.*``, verified by PayPal's verify-webhook-signature call) or by
  polling the batch (:func:`poll_paypal_payouts`). SUCCEEDED marks it paid; FAILED,
  BLOCKED, RETURNED, REFUNDED, DENIED or CANCELED put its commissions back in the
  partner's approved balance (``failed``, or ``reversed`` once paid) and tell the
  partner why; UNCLAIMED tells the partner to claim the money (it is returned after
  30 days unclaimed).
"""

import logging
import threading
import time

import requests
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.base.audit import audit, audit_refusal
from core.base.errors import Conflict, DomainError, ValidationError
from core.base.extensions import db
from core.base.jobs import QUEUE_DEFAULT, QUEUE_PAYOUTS, TICK_SECONDS, job
from core.base.models import AuditLog
from core.community.notifications import notify
from core.money.gateways import GatewayError, TransientGatewayError
from core.money.models import Payout, PayoutTransfer
from core.payments.models import PaypalEvent

log = logging.getLogger(__name__)

#: Item statuses that return the money to the partner's approved balance, with the
#: sentence the partner reads.
RETURNED = {
    "FAILED": "PayPal could not pay the receiver (the account cannot receive this "
              "payment).",
    "BLOCKED": "PayPal blocked the payment.",
    "RETURNED": "The payment was not claimed within 30 days and PayPal returned it.",
    "REFUNDED": "The receiver refunded the payment.",
    "DENIED": "PayPal denied the payment.",
    "CANCELED": "The payment was cancelled before it was claimed.",
}
#: Webhook event names (``PAYMENT.PAYOUTS-ITEM.<name>``) → item status.
EVENT_STATUS = {"SUCCEEDED": "SUCCESS", "FAILED": "FAILED", "BLOCKED": "BLOCKED",
                "RETURNED": "RETURNED", "UNCLAIMED": "UNCLAIMED", "REFUNDED": "REFUNDED",
                "DENIED": "DENIED", "CANCELED": "CANCELED", "HELD": "ONHOLD"}

#: Most items PayPal takes in one batch.
MAX_BATCH = 15_000

_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def _config():
    cfg = current_app.config
    if not (cfg.get("PAYPAL_CLIENT_ID") and cfg.get("PAYPAL_CLIENT_SECRET")):
        raise DomainError("PayPal is not configured (PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET).",
                          code="not_configured", status=503)
    return (cfg["PAYPAL_API_BASE"].rstrip("/"), cfg["PAYPAL_CLIENT_ID"],
            cfg["PAYPAL_CLIENT_SECRET"], cfg.get("PAYPAL_TIMEOUT_SECONDS") or 30)


def _token(refresh: bool = False) -> str:
    """An OAuth2 access token (client credentials), cached until 60 s before expiry."""
    base, client_id, secret, timeout = _config()
    key = (base, client_id)
    with _tokens_lock:
        cached = _tokens.get(key)
        if cached and not refresh and cached[1] > time.monotonic():
            return cached[0]
    try:
        resp = requests.post(f"{base}/v1/oauth2/token", auth=(client_id, secret),
                             data={"grant_type": "client_credentials"}, timeout=timeout)
    except requests.RequestException as exc:
        raise TransientGatewayError(f"PayPal did not answer the token request: {exc}") from exc
    if resp.status_code == 429 or resp.status_code >= 500:
        raise TransientGatewayError(f"PayPal answered {resp.status_code} to the token request.")
    if resp.status_code != 200:
        raise GatewayError("PayPal refused our client credentials (PAYPAL_CLIENT_ID / "
                           "PAYPAL_CLIENT_SECRET).")
    body = resp.json()
    with _tokens_lock:
        _tokens[key] = (body["access_token"],
                        time.monotonic() + max(int(body.get("expires_in", 0)) - 60, 0))
    return body["access_token"]


def _call(method: str, path: str, **kwargs) -> requests.Response:
    """One API call with the bearer token; a 401 fetches a new token and tries once more.
    Raises ``TransientGatewayError`` on 429, 5xx, timeouts and connection errors."""
    base, _id, _secret, timeout = _config()
    for attempt in (0, 1):
        headers = {"Authorization": f"Bearer {_token(refresh=attempt == 1)}",
                   **kwargs.pop("headers", {})}
        try:
            resp = requests.request(method, f"{base}{path}", headers=headers,
                                    timeout=timeout, **kwargs)
        except requests.RequestException as exc:
            raise TransientGatewayError(f"PayPal did not answer: {exc}") from exc
        if resp.status_code == 401 and attempt == 0:
            kwargs["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
            continue
        break
    if resp.status_code == 429 or resp.status_code >= 500:
        raise TransientGatewayError(f"PayPal answered {resp.status_code}.")
    return resp


def _error_text(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}"
    issues = "; ".join(d.get("issue", "") for d in body.get("details") or [] if d.get("issue"))
    return " ".join(x for x in (body.get("message", ""), issues) if x) or \
        f"HTTP {resp.status_code}"


class DuplicateBatch(GatewayError):
    """PayPal already has a batch with this ``sender_batch_id``: it was sent before and
    its answer was lost; never sent again."""


def create_batch(payouts: list[Payout], key: str | None = None) -> str:
    """Send one PayPal batch for ``payouts`` (each an item, ``sender_item_id`` =
    ``payout-<id>``); the batch's ``sender_batch_id`` and ``PayPal-Request-Id`` are
    ``key`` (default ``payout-<id of the first>``). Returns PayPal's ``payout_batch_id``.

    Raises ``TransientGatewayError`` (retry with the same ids), ``DuplicateBatch``
    (already sent), ``GatewayError`` (refused, with PayPal's message).
    """
    if not 1 <= len(payouts) <= MAX_BATCH:
        raise ValueError("A PayPal batch holds 1 to 15,000 items.")
    key = key or f"payout-{payouts[0].id}"
    body = {
        "sender_batch_header": {"sender_batch_id": key,
                                "email_subject": "You have a payout from SISO Partners",
                                "email_message": "Your partner commissions are on their way."},
        "items": [{"recipient_type": "PAYPAL_ID" if _is_payer_id(p.payee) else "EMAIL",
                   "amount": {"value": f"{p.amount_cents // 100}.{p.amount_cents % 100:02d}",
                              "currency": p.currency},
                   "receiver": p.payee, "sender_item_id": f"payout-{p.id}",
                   "note": f"SISO Partners payout #{p.id}"} for p in payouts],
    }
    resp = _call("POST", "/v1/payments/payouts", json=body,
                 headers={"PayPal-Request-Id": key})
    if resp.status_code == 201:
        return resp.json()["batch_header"]["payout_batch_id"]
    text = _error_text(resp)
    if "sender_batch_id already exists" in text.lower():
        raise DuplicateBatch(text)
    raise GatewayError(text)


def _is_payer_id(receiver: str) -> bool:
    return "@" not in receiver


def get_batch(batch_id: str) -> dict:
    """The batch with its items (PayPal's JSON). Raises ``TransientGatewayError`` or
    ``GatewayError``."""
    resp = _call("GET", f"/v1/payments/payouts/{batch_id}")
    if resp.status_code != 200:
        raise GatewayError(_error_text(resp))
    return resp.json()


def plan_batches(payouts: list[Payout]) -> list[str]:
    """Write the batch membership of approved PayPal payouts before anything is sent: one
    ``PayoutTransfer`` row per payout with ``batch_key`` ``payout-<id of the batch's first
    payout>`` (at most :data:`MAX_BATCH` a batch), not committed. Payouts that already
    have a row keep it. Returns the batch keys."""
    todo = [p for p in payouts if db.session.scalar(select(PayoutTransfer.id).where(
        PayoutTransfer.payout_id == p.id)) is None]
    keys = []
    for start in range(0, len(todo), MAX_BATCH):
        chunk = todo[start:start + MAX_BATCH]
        key = f"payout-{chunk[0].id}"
        for p in chunk:
            db.session.add(PayoutTransfer(payout_id=p.id, idempotency_key=f"payout-{p.id}",
                                          transfer_id="", amount_cents=p.amount_cents,
                                          batch_key=key))
        keys.append(key)
    db.session.flush()
    return keys


def send_batch(key: str) -> str:
    """Send the PayPal batch ``key`` (its members moved from ``approved`` to
    ``processing`` and committed first), once: its ``payout_batch_id`` is stored on every
    member's row. Returns ``"processing"`` (sent, or already sent) or ``"failed"``.

    Raises ``TransientGatewayError`` for the job to retry with the same ids. A refusal
    fails every member with PayPal's message (commissions back in the balance); a
    duplicate batch keeps them processing and tells finance (``payout.paypal_duplicate``
    audit rows).
    """
    from core.money.payouts import fail_payout

    rows = db.session.scalars(select(PayoutTransfer).where(PayoutTransfer.batch_key == key)
                              .order_by(PayoutTransfer.payout_id)).all()
    if any(r.transfer_id for r in rows):
        return "processing"
    members = _ready_members(rows)
    if not members:
        return "failed"
    try:
        batch_id = create_batch(members, key)
    except DuplicateBatch as exc:
        log.error("PayPal already has batch %s", key)
        for p in members:
            audit(None, "payout.paypal_duplicate", "payout", p.id, None,
                  {"batch": key, "message": str(exc)[:300]})
        return "processing"
    except GatewayError as exc:
        for p in members:
            fail_payout(p, f"PayPal refused the payout: {exc}", None)
        return "failed"
    for r in rows:
        r.transfer_id = batch_id
    for p in members:
        audit(None, "payout.paypal_batch", "payout", p.id, None,
              {"payout_batch_id": batch_id, "sender_batch_id": key})
    return "processing"


def _ready_members(rows: list[PayoutTransfer]) -> list[Payout]:
    """Move a batch's approved payouts to ``processing`` and commit (before any money
    moves); returns the members to send. A member without a receiver fails."""
    from core.money.payouts import fail_payout, start_transfer

    for r in rows:
        start_transfer(r.payout_id)
    db.session.commit()
    members = [p for p in (db.session.get(Payout, r.payout_id) for r in rows)
               if p.status == "processing" and p.gateway == "paypal"]
    for p in members:
        if not p.payee:
            fail_payout(p, "No PayPal receiver was on file when the payout was made.", None)
    return [p for p in members if p.payee]


def send_paypal_payout(payout: Payout) -> str:
    """The transfer job's PayPal step for a ``processing`` payout: send the batch it
    belongs to (a batch of its own, ``payout-<id>``, unless an approval run put it in a
    larger one). Returns the payout's status after. Raises ``TransientGatewayError``."""
    row = db.session.scalar(select(PayoutTransfer).where(
        PayoutTransfer.payout_id == payout.id))
    if row is not None and row.transfer_id:
        return "processing"
    key = row.batch_key if row is not None and row.batch_key else plan_batches([payout])[0]
    send_batch(key)
    db.session.refresh(payout)
    return payout.status


@job(queue=QUEUE_PAYOUTS, timeout=180, retries=3)
def send_paypal_batch(key: str) -> str:
    """The job of an approval run's PayPal batch ``key`` (:func:`send_batch`); on the
    last try a transient error fails every member visibly (commissions back in the
    balance) with a message telling finance to look for the batch in PayPal."""
    from core.base.jobs import last_try

    try:
        return send_batch(key)
    except TransientGatewayError as exc:
        if not last_try():
            raise
        log.error("PayPal batch %s: still failing after the last retry: %s", key, exc)
        fail_unconfirmed_batch(key, str(exc))
        return "failed"


def fail_unconfirmed_batch(key: str, detail: str) -> None:
    """Give up on batch ``key`` after PayPal kept failing: every member still waiting
    fails (commissions back in the balance, partner told), with a message telling finance
    to look for the batch in PayPal before paying again."""
    from core.money.payouts import fail_payout

    db.session.rollback()
    for r in db.session.scalars(select(PayoutTransfer).where(
            PayoutTransfer.batch_key == key)).all():
        payout = db.session.get(Payout, r.payout_id)
        if payout.status in ("approved", "processing") and not r.transfer_id:
            fail_payout(payout, "PayPal did not confirm the payout (rate limit, server "
                                f"error or timeout) through every retry; the last error was: "
                                f"{detail[:400]} Finance: look for batch {key} in PayPal "
                                "before paying this amount again.", None)


def apply_item_status(payout: Payout, status: str, item_id: str = "",
                      transaction_id: str = "") -> str:
    """Apply a PayPal item status to its payout; returns what was done: ``paid``,
    ``failed``, ``reversed``, ``unclaimed`` or ``unchanged``. Safe to call twice."""
    from core.money.payouts import _settle, fail_payout
    from core.money.stripe_connect import reverse_payout

    if status == "SUCCESS":
        if payout.status != "processing":
            return "unchanged"
        _settle(payout, transaction_id or item_id or f"payout-{payout.id}", None)
        return "paid"
    if status in RETURNED:
        reason = RETURNED[status]
        if payout.status in ("approved", "processing"):
            fail_payout(payout, f"{reason} The amount is back in your approved balance.", None)
            return "failed"
        if payout.status == "paid":
            reverse_payout(payout, f"{reason} The amount is back in your balance.")
            return "reversed"
        return "unchanged"
    if status == "UNCLAIMED" and payout.status == "processing":
        seen = db.session.scalar(select(AuditLog.id).where(
            AuditLog.action == "payout.unclaimed", AuditLog.object_type == "payout",
            AuditLog.object_id == payout.id).limit(1))
        if seen:
            return "unchanged"
        audit(None, "payout.unclaimed", "payout", payout.id, None, {"item": item_id})
        notify(payout.partner.user_id, "payout", "Claim your PayPal payout",
               f"PayPal is holding your payout for {payout.payee}: log in to PayPal (or "
               "open an account with that address) within 30 days to claim it; otherwise "
               "it comes back to your balance.", "/partner/earnings")
        return "unclaimed"
    return "unchanged"


def sync_payout(payout: Payout) -> str:
    """Read the payout's batch from PayPal and apply its item's status (polling)."""
    row = db.session.scalar(select(PayoutTransfer).where(PayoutTransfer.payout_id == payout.id))
    if row is None or not row.transfer_id:
        return "unchanged"
    batch = get_batch(row.transfer_id)
    for item in batch.get("items") or []:
        if (item.get("payout_item") or {}).get("sender_item_id") == f"payout-{payout.id}":
            return apply_item_status(payout, item.get("transaction_status", ""),
                                     item.get("payout_item_id", ""),
                                     item.get("transaction_id", ""))
    return "unchanged"


@job(queue=QUEUE_DEFAULT, every=TICK_SECONDS)
def poll_paypal_payouts(limit: int = 200) -> dict:
    """Ask PayPal how the items of ``processing`` PayPal payouts ended (in case a
    webhook was lost); each payout in its own transaction. Returns ``{"checked",
    "changed"}``."""
    pids = db.session.scalars(select(Payout.id).where(
        Payout.gateway == "paypal", Payout.status == "processing").order_by(Payout.id)
        .limit(limit)).all()
    checked = changed = 0
    for pid in pids:
        payout = db.session.get(Payout, pid)
        try:
            result = sync_payout(payout)
        except (GatewayError, TransientGatewayError, DomainError) as exc:
            db.session.rollback()
            log.warning("payout %s: PayPal poll failed: %s", pid, exc)
            continue
        db.session.commit()
        checked += 1
        changed += result != "unchanged"
    return {"checked": checked, "changed": changed}


# --- webhooks ---------------------------------------------------------------------------

HEADERS = {"auth_algo": "PAYPAL-AUTH-ALGO", "cert_url": "PAYPAL-CERT-URL",
           "transmission_id": "PAYPAL-TRANSMISSION-ID",
           "transmission_sig": "PAYPAL-TRANSMISSION-SIG",
           "transmission_time": "PAYPAL-TRANSMISSION-TIME"}


def verify_webhook(payload: bytes, headers, remote_addr: str | None = None) -> dict:
    """Verify a webhook with PayPal's verify-webhook-signature call; return the event.

    Raises ``DomainError`` 503 (``PAYPAL_WEBHOOK_ID`` unset, or PayPal not answering:
    PayPal delivers again), ``ValidationError`` 400 (missing headers, a body that is no
    JSON object, or PayPal says FAILURE; each leaves a ``paypal.webhook.refused`` audit
    row).
    """
    import json

    webhook_id = current_app.config.get("PAYPAL_WEBHOOK_ID")
    if not webhook_id:
        raise DomainError("PayPal webhooks are not configured (PAYPAL_WEBHOOK_ID).",
                          code="not_configured", status=503)

    def refuse(why: str) -> None:
        audit_refusal(None, "paypal.webhook.refused", "paypal_event", None, why,
                      {"remote_addr": remote_addr, "body_bytes": len(payload or b"")})

    values = {k: headers.get(h) for k, h in HEADERS.items()}
    if not all(values.values()):
        refuse("missing headers")
        raise ValidationError("Missing PayPal transmission headers.", code="bad_signature",
                              status=400)
    try:
        event = json.loads(payload)
    except ValueError:
        event = None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) \
            or not isinstance(event.get("event_type"), str):
        refuse("bad body")
        raise ValidationError("The body is not a PayPal event.", code="bad_event", status=400)
    try:
        resp = _call("POST", "/v1/notifications/verify-webhook-signature",
                     json={**values, "webhook_id": webhook_id, "webhook_event": event})
    except (TransientGatewayError, GatewayError) as exc:
        raise DomainError(f"PayPal could not verify the webhook now: {exc}",
                          code="gateway_unavailable", status=503) from exc
    if resp.status_code != 200 or resp.json().get("verification_status") != "SUCCESS":
        refuse("bad signature")
        raise ValidationError("Bad PayPal webhook signature.", code="bad_signature",
                              status=400)
    return event


def handle_webhook(event: dict) -> str:
    """Apply a verified event once (by its id); returns ``duplicate``, ``ignored`` or
    what :func:`apply_item_status` did."""
    try:
        with db.session.begin_nested():
            db.session.add(PaypalEvent(id=event["id"][:255], type=event["event_type"][:100]))
    except IntegrityError:
        return "duplicate"
    kind = event["event_type"]
    if not kind.startswith("PAYMENT.PAYOUTS-ITEM."):
        return "ignored"
    status = EVENT_STATUS.get(kind.rsplit(".", 1)[1])
    resource = event.get("resource") or {}
    sender_item = str((resource.get("payout_item") or {}).get("sender_item_id") or "")
    if status is None or not sender_item.startswith("payout-") \
            or not sender_item[7:].isdigit():
        return "ignored"
    payout = db.session.get(Payout, int(sender_item[7:]))
    transfer = payout and db.session.scalar(select(PayoutTransfer).where(
        PayoutTransfer.payout_id == payout.id))
    if payout is None or payout.gateway != "paypal" or (
            transfer is not None and transfer.transfer_id
            and transfer.transfer_id != resource.get("payout_batch_id")):
        return "ignored"
    try:
        return apply_item_status(payout, status, str(resource.get("payout_item_id") or ""),
                                 str(resource.get("transaction_id") or ""))
    except Conflict:
        return "unchanged"
