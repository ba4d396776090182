"""PayPal Payouts (rules: "PayPal payouts").

A thin client of ours over ``requests``: PayPal's Python server SDK has no Payouts API
and its old Payouts SDK is archived. OAuth2 client credentials (``PAYPAL_CLIENT_ID``,
``PAYPAL_CLIENT_SECRET``) against ``PAYPAL_API_BASE`` (sandbox, live or a test server);
the token is kept until shortly before it expires, and fetched again when PayPal says
it is no longer valid.

- One batch per payout: ``sender_batch_id`` = ``payout-<id>`` and ``PayPal-Request-Id``
  = ``payout-<id>``, so a retried job gets PayPal's stored answer, and a batch id used
  before is refused by PayPal: never paid twice.
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
from core.base.jobs import QUEUE_DEFAULT, TICK_SECONDS, job
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


def create_batch(payouts: list[Payout]) -> str:
    """Send one PayPal batch for ``payouts`` (each an item, ``sender_item_id`` =
    ``payout-<id>``); the batch's ``sender_batch_id`` and ``PayPal-Request-Id`` are
    ``payout-<id of the first>``. Returns PayPal's ``payout_batch_id``.

    Raises ``TransientGatewayError`` (retry with the same ids), ``DuplicateBatch``
    (already sent), ``GatewayError`` (refused, with PayPal's message).
    """
    if not 1 <= len(payouts) <= 15_000:
        raise ValueError("A PayPal batch holds 1 to 15,000 items.")
    first = payouts[0]
    body = {
        "sender_batch_header": {"sender_batch_id": f"payout-{first.id}",
                                "email_subject": "You have a payout from SISO Partners",
                                "email_message": "Your partner commissions are on their way."},
        "items": [{"recipient_type": "PAYPAL_ID" if _is_payer_id(p.payee) else "EMAIL",
                   "amount": {"value": f"{p.amount_cents // 100}.{p.amount_cents % 100:02d}",
                              "currency": p.currency},
                   "receiver": p.payee, "sender_item_id": f"payout-{p.id}",
                   "note": f"SISO Partners payout #{p.id}"} for p in payouts],
    }
    resp = _call("POST", "/v1/payments/payouts", json=body,
                 headers={"PayPal-Request-Id": f"payout-{first.id}"})
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


def send_paypal_payout(payout: Payout) -> str:
    """The transfer job's PayPal step for a ``processing`` payout: create its batch (or
    find it already made) and store the batch id; the payout stays ``processing`` until
    PayPal says how the item ended. Returns ``"processing"`` or ``"failed"``.

    Raises ``TransientGatewayError`` for the job to retry; a refusal fails the payout
    with PayPal's message (commissions back in the balance); a duplicate batch keeps it
    processing and tells finance (``payout.paypal_duplicate`` audit row).
    """
    from core.money.payouts import fail_payout

    existing = db.session.scalar(select(PayoutTransfer).where(
        PayoutTransfer.payout_id == payout.id))
    if existing is not None and existing.transfer_id:
        return "processing"
    if not payout.payee:
        fail_payout(payout, "No PayPal receiver was on file when the payout was made.", None)
        return "failed"
    try:
        batch_id = create_batch([payout])
    except DuplicateBatch as exc:
        log.error("payout %s: PayPal already has batch payout-%s", payout.id, payout.id)
        audit(None, "payout.paypal_duplicate", "payout", payout.id, None,
              {"message": str(exc)[:300]})
        return "processing"
    except GatewayError as exc:
        fail_payout(payout, f"PayPal refused the payout: {exc}", None)
        return "failed"
    db.session.add(PayoutTransfer(payout_id=payout.id, idempotency_key=f"payout-{payout.id}",
                                  transfer_id=batch_id, amount_cents=payout.amount_cents))
    audit(None, "payout.paypal_batch", "payout", payout.id, None,
          {"payout_batch_id": batch_id})
    return "processing"


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
