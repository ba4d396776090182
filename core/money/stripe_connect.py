"""Stripe Connect: partner onboarding and webhooks (rules: "Payouts").

Partners get an Express account and an account link; ``account.updated`` tells us when
the account can receive transfers. ``transfer.reversed`` returns a paid payout's
commissions to the partner's balance. Webhooks are verified on the raw body and handled
once per event id.
"""

import logging

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.base.audit import audit, audit_refusal
from core.base.errors import Conflict, DomainError, ValidationError
from core.base.extensions import db
from core.base.timeutil import now_utc
from core.community.notifications import notify
from core.money.gateways import stripe_client
from core.money.models import Commission, Payout, PayoutTransfer, StripeEvent
from core.program.models import Partner

log = logging.getLogger(__name__)

#: Seconds a webhook signature stays valid (Stripe's default tolerance).
WEBHOOK_TOLERANCE = 300


def stripe_enabled() -> bool:
    """True when payouts go through Stripe (``STRIPE_API_KEY`` set)."""
    return bool(current_app.config.get("STRIPE_API_KEY"))


def onboarding_link(partner: Partner, return_url: str, refresh_url: str) -> str:
    """Create the partner's Express account if needed and return a fresh onboarding URL.

    Raises ``Conflict`` when Stripe is not configured, ``EmailNotVerified`` (403) while
    the partner's e-mail address is unverified (rules: "E-mail"), ``DomainError``
    (502) when Stripe answers with an error.
    """
    import stripe

    from core.accounts.email_links import require_verified_email

    if not stripe_enabled():
        raise Conflict("Payouts are made manually by finance; there is nothing to set up.")
    require_verified_email(partner.user, "connect a payout account")
    client = stripe_client()
    try:
        if not partner.stripe_account_id:
            account = client.v1.accounts.create(params={
                "type": "express", "email": partner.user.email,
                "capabilities": {"transfers": {"requested": True}},
                "metadata": {"partner_id": str(partner.id)}},
                options={"idempotency_key": f"account-partner-{partner.id}"})
            partner.stripe_account_id = account.id
            audit(partner.user_id, "stripe.account", "partner", partner.id, None,
                  {"stripe_account_id": account.id})
            db.session.commit()  # keep the account even if the link call fails
        link = client.v1.account_links.create(params={
            "account": partner.stripe_account_id, "type": "account_onboarding",
            "return_url": return_url, "refresh_url": refresh_url})
    except stripe.StripeError as exc:
        raise DomainError(f"Stripe could not start onboarding: {exc.user_message or exc}",
                          code="stripe_error", status=502) from exc
    return link.url


def refresh_account(partner: Partner) -> bool:
    """Ask Stripe whether the partner's account can receive transfers; store and return it."""
    if not stripe_enabled() or not partner.stripe_account_id:
        return False
    account = stripe_client().v1.accounts.retrieve(partner.stripe_account_id)
    _set_payouts_enabled(partner, bool(account.payouts_enabled))
    return partner.stripe_payouts_enabled


def _set_payouts_enabled(partner: Partner, enabled: bool) -> None:
    if partner.stripe_payouts_enabled != enabled:
        audit(None, "stripe.account_updated", "partner", partner.id,
              {"payouts_enabled": partner.stripe_payouts_enabled}, {"payouts_enabled": enabled})
        partner.stripe_payouts_enabled = enabled


def verify_event(payload: bytes, signature: str | None, remote_addr: str | None = None):
    """Verify a webhook's ``Stripe-Signature`` on the raw body; return the event.

    Args: ``payload`` the raw request body (bytes, never re-serialised JSON),
    ``signature`` the header's value, ``remote_addr`` the sender's address (recorded on
    refusals). The timestamp must be within ``WEBHOOK_TOLERANCE`` seconds (300).
    Raises ``ValidationError`` (400) for a missing header, a bad signature, an old
    timestamp or a body that is not an event; ``DomainError`` (503) when no secret is
    configured. A missing, bad or expired signature is an attempt on money: it leaves a
    ``stripe.webhook.refused`` audit row (``audit_refusal``) with Stripe's reason.
    Rule: rules: "Payouts" (webhooks verified on the raw body) and
    "Bad input".
    """
    import stripe

    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise DomainError("Webhooks are not configured (STRIPE_WEBHOOK_SECRET).",
                          code="not_configured", status=503)

    def refuse(why: str, detail: str = "") -> None:
        audit_refusal(None, "stripe.webhook.refused", "stripe_event", None, why,
                      {"detail": detail[:300], "remote_addr": remote_addr,
                       "body_bytes": len(payload or b"")})

    if not signature:
        refuse("missing signature")
        raise ValidationError("Missing Stripe-Signature header.", status=400)
    try:
        return stripe.Webhook.construct_event(payload, signature, secret,
                                              tolerance=WEBHOOK_TOLERANCE)
    except stripe.SignatureVerificationError as exc:
        text = str(exc)
        refuse("old timestamp" if "tolerance" in text.lower() else "bad signature", text)
        raise ValidationError("Bad or expired Stripe signature.", code="bad_signature",
                              status=400) from None
    except ValueError:
        raise ValidationError("The body is not a Stripe event.", status=400) from None


def check_event_shape(event) -> None:
    """Refuse a verified event that lacks what every Stripe event has: a text ``id`` and
    ``type`` and an object under ``data.object``. Raises ``ValidationError`` (400) naming
    what is missing; the refusal is logged (a signed but malformed event is a bug on the
    sender's side, or a key that leaked)."""
    raw = event.to_dict() if hasattr(event, "to_dict") else event
    raw = raw if isinstance(raw, dict) else {}
    data = raw.get("data")
    problems = [name for name, ok in (
        ("id", isinstance(raw.get("id"), str)), ("type", isinstance(raw.get("type"), str)),
        ("data.object", isinstance(data, dict) and isinstance(data.get("object"), dict)),
    ) if not ok]
    if problems:
        log.warning("signed Stripe webhook without %s refused", ", ".join(problems))
        raise ValidationError(f"The event has no {' or '.join(problems)}.", code="bad_event",
                              status=400)


def handle_event(event) -> str:
    """Apply a verified event once (de-duplicated by its id); returns what was done:
    ``duplicate``, ``ignored``, ``account_updated``, ``transfer_reversed``, or for
    recurring deals (``core.money.recurring``) ``invoice_recorded``, ``invoice_known``,
    ``invoice_refunded``, ``partial_refund``. Raises
    ``ValidationError`` (400) for an event without ``id``, ``type`` or ``data.object``."""
    check_event_shape(event)
    try:
        with db.session.begin_nested():
            db.session.add(StripeEvent(id=event["id"], type=event["type"]))
    except IntegrityError:
        return "duplicate"
    obj = event["data"]["object"]
    if event["type"] == "account.updated":
        partner = db.session.scalar(select(Partner).where(
            Partner.stripe_account_id == obj["id"]))
        if partner is None:
            return "ignored"
        _set_payouts_enabled(partner, "payouts_enabled" in obj and bool(obj["payouts_enabled"]))
        return "account_updated"
    if event["type"] == "transfer.reversed":
        row = db.session.scalar(select(PayoutTransfer).where(
            PayoutTransfer.transfer_id == obj["id"]))
        if row is None:
            return "ignored"
        reverse_payout(db.session.get(Payout, row.payout_id),
                       "Stripe reversed the transfer; the amount is back in your balance.")
        return "transfer_reversed"
    if event["type"] == "invoice.paid":
        from core.money.recurring import stripe_invoice_paid

        return stripe_invoice_paid(obj)
    if event["type"] == "charge.refunded":
        from core.money.recurring import stripe_charge_refunded

        return stripe_charge_refunded(obj)
    return "ignored"


def reverse_payout(payout: Payout, message: str) -> Payout:
    """A paid payout whose transfer came back: status ``reversed``, its commissions return
    to the available balance (approved, outside any payout). Compare-and-set."""
    res = db.session.execute(update(Payout).where(Payout.id == payout.id,
                                                  Payout.status == "paid")
                             .values(status="reversed", reversed_at=now_utc(),
                                     failure_message=message))
    if res.rowcount != 1:
        return payout
    db.session.execute(update(Commission).where(Commission.payout_id == payout.id,
                                                Commission.status == "paid")
                       .values(status="approved", payout_id=None, paid_at=None))
    db.session.refresh(payout)
    audit(None, "payout.reversed", "payout", payout.id, {"status": "paid"},
          {"status": "reversed"})
    notify(payout.partner.user_id, "payout", "A payout was returned", message,
           "/partner/earnings")
    return payout
