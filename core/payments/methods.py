"""Payout methods: the partner chooses Stripe Connect, PayPal or bank transfer
(rules: "Payout methods").

- One method at a time per partner (``payout_methods`` row); details of the others are
  kept, so switching back needs no re-entry.
- Bank numbers (IBAN, or US routing + account number) are encrypted at rest
  (``core.payments.crypto``) and shown as their last 4 digits; the PayPal receiver is an
  e-mail address or payer id.
- A change is audited (method and masked payee only) and ends an unfinished Stripe
  onboarding (the half-made connected account is let go).
- A payout keeps the method it started with: :func:`payout_route` is read once, when
  the payout is made, and stored on it (``Payout.gateway``, ``Payout.payee``).
"""

from flask import current_app
from sqlalchemy import select

from core.base.audit import audit
from core.base.errors import Conflict, ValidationError
from core.base.extensions import db
from core.base.timeutil import now_utc
from core.payments import crypto, validate
from core.payments.models import METHODS, PayoutMethod
from core.program.models import Partner

LABELS = {"stripe_connect": "Stripe", "paypal": "PayPal", "bank_transfer": "Bank transfer"}


def stripe_offered() -> bool:
    """True when Stripe Connect payouts are configured (``STRIPE_API_KEY``)."""
    return bool(current_app.config.get("STRIPE_API_KEY"))


def paypal_offered() -> bool:
    """True when PayPal Payouts are configured (``PAYPAL_CLIENT_ID`` and secret)."""
    return bool(current_app.config.get("PAYPAL_CLIENT_ID")
                and current_app.config.get("PAYPAL_CLIENT_SECRET"))


def offered() -> list[str]:
    """The methods a partner can choose now, in display order."""
    out = ["stripe_connect"] if stripe_offered() else []
    if paypal_offered():
        out.append("paypal")
    return out + ["bank_transfer"]


def method_row(partner_id: int) -> PayoutMethod | None:
    """The partner's payout method row, or ``None`` before they chose one."""
    return db.session.scalar(select(PayoutMethod).where(PayoutMethod.partner_id == partner_id))


def _masked_bank(row: PayoutMethod) -> str:
    return f"bank account ending {row.bank_last4}" if row.bank_last4 else ""


def describe(partner: Partner) -> dict:
    """What the partner and staff may see of the method: ``{"method": str | None,
    "label", "ready": bool, "paypal": str, "bank_holder": str, "bank_last4": str,
    "offered": [str]}``. Never a whole bank number."""
    row = method_row(partner.id)
    method = row.method if row else None
    return {"method": method, "label": LABELS.get(method, "Not chosen"),
            "ready": method_ready(partner, row),
            "paypal": row.paypal_receiver if row else "",
            "bank_holder": row.bank_holder if row else "",
            "bank_last4": row.bank_last4 if row else "",
            "stripe_connected": bool(partner.stripe_payouts_enabled),
            "offered": offered()}


def method_ready(partner: Partner, row: PayoutMethod | None = None) -> bool:
    """True when money can be sent with the chosen method: Stripe says the account can
    receive transfers, or the PayPal receiver or bank account is on file. Without a
    chosen method, a finished Stripe onboarding counts (partners from before methods)."""
    row = row if row is not None else method_row(partner.id)
    if row is None or row.method == "stripe_connect":
        return bool(partner.stripe_payouts_enabled)
    if row.method == "paypal":
        return bool(row.paypal_receiver)
    return bool(row.bank_last4)


def set_payout_method(partner: Partner, data: dict, actor_id: int) -> PayoutMethod:
    """Choose the partner's payout method (portal and API), not committed.

    Args: ``data`` ``{"method": "stripe_connect"|"paypal"|"bank_transfer", "paypal":
    e-mail or payer id, "account_holder", "iban" | "routing_number" + "account_number"}``
    (only the chosen method's fields are read; left empty, the details already on file
    for that method are kept). Returns the row. Raises
    ``ValidationError`` (422, the field named, nothing stored: unknown method, a PayPal
    receiver that is no address, an IBAN or routing number with a wrong check digit),
    ``Conflict`` (409 ``method_unavailable``: Stripe or PayPal not configured here).
    Audited as ``payout_method.change`` with the method and masked payee only; leaving
    Stripe with onboarding unfinished ends it (``stripe.onboarding_ended``).
    """
    method = data.get("method")
    if method not in METHODS:
        raise ValidationError("method: choose stripe_connect, paypal or bank_transfer.")
    if method not in offered():
        raise Conflict(f"{LABELS[method]} payouts are not offered here; choose "
                       f"{' or '.join(LABELS[m] for m in offered())}.",
                       code="method_unavailable")
    row = method_row(partner.id)
    values: dict = {}
    keep_paypal = method == "paypal" and not data.get("paypal") and row is not None \
        and row.paypal_receiver
    keep_bank = method == "bank_transfer" and not any(
        data.get(k) for k in ("iban", "routing_number", "account_number")) \
        and row is not None and row.bank_last4
    if keep_paypal or keep_bank:  # switching back to details already on file
        if keep_bank and data.get("account_holder"):
            values = {"bank_holder": validate.text(data, "account_holder", 200)}
    elif method == "paypal":
        receiver, kind = validate.paypal_receiver(data.get("paypal"))
        values = {"paypal_receiver": receiver, "paypal_recipient_type": kind}
    elif method == "bank_transfer":
        holder = validate.text(data, "account_holder", 200)
        if data.get("iban"):
            number = validate.iban(data.get("iban"))
            values = {"bank_scheme": "iban", "bank_iban_enc": crypto.encrypt(number),
                      "bank_routing_enc": "", "bank_account_enc": ""}
        elif data.get("routing_number") or data.get("account_number"):
            routing = validate.routing_number(data.get("routing_number"))
            account = validate.account_number(data.get("account_number"))
            number = account
            values = {"bank_scheme": "us", "bank_iban_enc": "",
                      "bank_routing_enc": crypto.encrypt(routing),
                      "bank_account_enc": crypto.encrypt(account)}
        else:
            raise ValidationError("iban: enter an IBAN, or a US routing number and "
                                  "account number.")
        values.update(bank_holder=holder, bank_last4=crypto.last4(number))
    before = {"method": row.method if row else None}
    if row is None:
        row = PayoutMethod(partner_id=partner.id, method=method)
        db.session.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    row.method = method
    row.updated_at = now_utc()
    if method != "stripe_connect" and partner.stripe_account_id \
            and not partner.stripe_payouts_enabled:
        audit(actor_id, "stripe.onboarding_ended", "partner", partner.id,
              {"stripe_account_id": partner.stripe_account_id}, {"stripe_account_id": None})
        partner.stripe_account_id = None
    db.session.flush()
    audit(actor_id, "payout_method.change", "partner", partner.id, before,
          {"method": method, "payee": payee_label(row)})
    return row


def payee_label(row: PayoutMethod) -> str:
    """Where the method pays, masked: the PayPal receiver, ``bank account ending 1234``,
    or ``Stripe``."""
    if row.method == "paypal":
        return row.paypal_receiver
    if row.method == "bank_transfer":
        return _masked_bank(row)
    return "Stripe"


def payout_route(partner: Partner) -> tuple[str, str]:
    """The gateway and payee a payout made now takes: ``("stripe", acct)``,
    ``("paypal", receiver)``, ``("bank_transfer", "bank account ending 1234")`` or
    ``("manual", "")`` (Stripe chosen or implied but not configured here)."""
    row = method_row(partner.id)
    if row is None or row.method == "stripe_connect":
        if stripe_offered():
            return "stripe", partner.stripe_account_id or ""
        return "manual", ""
    if row.method == "paypal":
        return "paypal", row.paypal_receiver
    return "bank_transfer", _masked_bank(row)


def bank_details(partner_id: int) -> dict:
    """Finance's view of a partner's bank account for paying by hand: ``{"holder",
    "scheme", "iban" | "routing_number" + "account_number"}`` decrypted. For the bank
    file only; callers never log or audit it."""
    row = method_row(partner_id)
    if row is None or not row.bank_last4:
        return {}
    out = {"holder": row.bank_holder, "scheme": row.bank_scheme}
    if row.bank_scheme == "iban":
        out["iban"] = crypto.decrypt(row.bank_iban_enc)
    else:
        out["routing_number"] = crypto.decrypt(row.bank_routing_enc)
        out["account_number"] = crypto.decrypt(row.bank_account_enc)
    return out
