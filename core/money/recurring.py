"""Recurring deals (rules: "Recurring deals"): a monthly deal pays its commissions on
each paid invoice, for the months its tier allowed at confirmation, at the rates locked
then; a refunded invoice takes its commissions back.

Invoices come from ``POST /api/staff/deals/<id>/invoices`` and from Stripe's
``invoice.paid`` (deals linked to a subscription); refunds from ``.../refund`` and
Stripe's ``charge.refunded``. Each is recorded once per ``external_invoice_id``: the same
invoice again is answered with the first record and never pays twice. Money is integer
cents; commissions are ledger rows (append-only), written and audited as every other.
"""

import re
from datetime import date, datetime

from sqlalchemy import func, select

from core.base.audit import audit
from core.base.errors import Conflict, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.timeutil import now_utc
from core.money.cents import MAX_DEAL_CENTS, format_cents
from core.money.commissions import (
    _announce_commission,
    _claw_back,
    _clawed_back,
    _money_left,
    _new_commission,
    _reverse,
)
from core.money.models import Commission, Deal, DealInvoice
from core.money.rules import RecurringTerms, plan_invoice, within_months
from core.program.models import Partner

#: What an invoice id may look like: 1 to 100 letters, digits and ``_ . : -``.
INVOICE_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def terms_of(deal: Deal) -> RecurringTerms:
    """The locked terms of a monthly deal as the rules take them."""
    return RecurringTerms(closer_id=deal.partner_id, base_rate_bps=deal.base_rate_bps or 0,
                          months_allowed=deal.months_allowed or 0, leader_id=deal.leader_id,
                          override_rate_bps=deal.override_rate_bps or 0,
                          recruiter_id=deal.recruiter_id,
                          referral_rate_bps=deal.referral_rate_bps or 0,
                          referral_due=deal.referral_due)


def _check(external_invoice_id, amount_cents, period_start, period_end, paid_at) -> None:
    if not isinstance(external_invoice_id, str) or not INVOICE_ID_RE.match(external_invoice_id):
        raise ValidationError("external_invoice_id must be 1 to 100 letters, digits, or "
                              "_ . : - characters.")
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or \
            not 0 < amount_cents <= MAX_DEAL_CENTS:
        raise ValidationError("amount_cents must be a whole number of cents above zero, at "
                              "most $1,000,000.")
    if not isinstance(period_start, date) or not isinstance(period_end, date) or \
            period_end < period_start:
        raise ValidationError("period_end must be on or after period_start.")
    if not isinstance(paid_at, datetime) or paid_at.tzinfo is None:
        raise ValidationError("paid_at must be a time with a time zone.")


def _referral_paid(closer_id: int) -> bool:
    """Whether a referral bonus for this closer stands (not reversed)."""
    return db.session.scalar(select(Commission.id).where(
        Commission.type == "referral", Commission.source_partner_id == closer_id,
        Commission.status != "reversed").limit(1)) is not None


def record_invoice(deal_id, external_invoice_id, amount_cents, period_start, period_end,
                   paid_at, actor_id: int | None, source: str = "api") -> tuple[DealInvoice, bool]:
    """Record a paid invoice of monthly deal ``deal_id`` and write its commissions.

    Args: ``external_invoice_id`` (the billing system's id, unique), ``amount_cents``
    (int, 1..100,000,000), ``period_start``/``period_end`` (dates), ``paid_at`` (aware
    time), ``source`` (``api`` or ``stripe``). Returns ``(invoice, created)``: the same
    invoice again returns the first record (``created`` False) and writes nothing.
    Raises ``NotFound``, ``Conflict`` (a one-time or cancelled deal; the id already used
    for another deal or another amount), ``ValidationError`` (bad values)."""
    deal = get_row(Deal, deal_id)
    if deal is None:
        raise NotFound("No such deal.")
    _check(external_invoice_id, amount_cents, period_start, period_end, paid_at)
    found = db.session.scalar(select(DealInvoice).where(
        DealInvoice.external_invoice_id == external_invoice_id))
    if found is not None:
        if found.deal_id != deal.id or found.amount_cents != amount_cents:
            raise Conflict("This external_invoice_id is already recorded with another deal "
                           "or amount.", code="invoice_exists")
        return found, False
    if deal.billing != "monthly":
        raise Conflict("This deal is one-time: its commission was paid at confirmation; "
                       "invoices are for monthly deals.", code="not_recurring")
    if deal.status != "won":
        raise Conflict(f"This deal is {deal.status}; it takes no invoices.",
                       code="deal_closed")
    month = 1 + (db.session.scalar(select(func.count()).select_from(DealInvoice).where(
        DealInvoice.deal_id == deal.id, DealInvoice.status == "paid")) or 0)
    inv = DealInvoice(deal_id=deal.id, external_invoice_id=external_invoice_id,
                      amount_cents=amount_cents, period_start=period_start,
                      period_end=period_end, paid_at=paid_at, month_number=month,
                      status="paid", source=source, created_at=now_utc())
    db.session.add(inv)
    db.session.flush()
    terms = terms_of(deal)
    lines = plan_invoice(amount_cents, terms, month,
                         referral_paid=_referral_paid(deal.partner_id))
    audit(actor_id, "deal.invoice", "deal", deal.id, None,
          {"invoice_id": inv.id, "external_invoice_id": external_invoice_id,
           "amount_cents": amount_cents, "month": month, "commissions": len(lines)})
    name = deal.lead.company_name
    months = "for life" if not terms.months_allowed else f"of {terms.months_allowed}"
    for line in lines:
        earner = db.session.get(Partner, line.earner_id)
        note = (f"Invoice {external_invoice_id} ({period_start:%Y-%m-%d} to "
                f"{period_end:%Y-%m-%d}) of {name}, month {month} {months}")
        row = _new_commission(earner, deal, line.type, line.amount_cents, line.rate_bps,
                              deal.partner_id, note[:500])
        row.invoice_id = inv.id
        db.session.flush()
        _announce_commission(row, earner, actor_id)
    return inv, True


def refund_invoice(deal_id, external_invoice_id, actor_id: int | None,
                   reason: str = "Invoice refunded") -> tuple[DealInvoice, list[Commission]]:
    """Take back a refunded (or credited) invoice's commissions: unpaid ones are
    reversed, paid ones get a negative adjustment (as for a cancelled deal). The invoice
    no longer counts among the deal's paid months. Returns ``(invoice, adjustments)``.
    Raises ``NotFound`` (no such deal or invoice of it), ``Conflict`` (already
    refunded)."""
    deal = get_row(Deal, deal_id)
    if deal is None:
        raise NotFound("No such deal.")
    inv = db.session.scalar(select(DealInvoice).where(
        DealInvoice.deal_id == deal.id, DealInvoice.external_invoice_id == external_invoice_id))
    if inv is None:
        raise NotFound("This deal has no invoice with that external_invoice_id.")
    if inv.status == "refunded":
        raise Conflict("This invoice is already refunded.", code="already_refunded")
    now = now_utc()
    inv.status, inv.refunded_at = "refunded", now
    audit(actor_id, "deal.invoice_refund", "deal", deal.id, {"status": "paid"},
          {"invoice_id": inv.id, "external_invoice_id": external_invoice_id,
           "reason": reason})
    rows = list(db.session.scalars(select(Commission).where(
        Commission.invoice_id == inv.id, Commission.type != "adjustment")
        .order_by(Commission.id)))
    clawed = _clawed_back([c.id for c in rows])
    adjustments = []
    for c in rows:
        if c.id in clawed:
            continue
        if _money_left(c):
            adj = _claw_back(c, actor_id, f"Clawback: invoice {external_invoice_id} refunded",
                             now)
            adj.invoice_id = inv.id
            adjustments.append(adj)
        elif c.status != "reversed":
            _reverse(c, actor_id, f"Invoice {external_invoice_id} refunded", now)
    return inv, adjustments


def recurring_deals(partner_id: int) -> list[dict]:
    """The partner's monthly deals, newest first: ``{"deal_id", "company_name", "status",
    "months_allowed" (0: for life), "months_paid", "months_left" (``None`` for life),
    "earned_cents" (their commissions on it, adjustments included)}``."""
    deals = list(db.session.scalars(select(Deal).where(
        Deal.partner_id == partner_id, Deal.billing == "monthly").order_by(Deal.id.desc())))
    if not deals:
        return []
    ids = [d.id for d in deals]
    paid = dict(db.session.execute(select(DealInvoice.deal_id, func.count()).where(
        DealInvoice.deal_id.in_(ids), DealInvoice.status == "paid")
        .group_by(DealInvoice.deal_id)).all())
    earned = dict(db.session.execute(select(Commission.deal_id, func.sum(Commission.amount_cents))
                                     .where(Commission.deal_id.in_(ids),
                                            Commission.partner_id == partner_id,
                                            Commission.status != "reversed")
                                     .group_by(Commission.deal_id)).all())
    out = []
    for d in deals:
        n, allowed = paid.get(d.id, 0), d.months_allowed or 0
        out.append({"deal_id": d.id, "company_name": d.lead.company_name, "status": d.status,
                    "monthly_value_cents": d.value_cents, "months_allowed": allowed,
                    "months_paid": min(n, allowed) if allowed else n,
                    "months_left": max(allowed - n, 0) if allowed else None,
                    "earned_cents": int(earned.get(d.id) or 0)})
    return out


def describe(inv: DealInvoice) -> str:
    """One line for people: ``"in_1: $500.00, month 2 (paid)"``."""
    return (f"{inv.external_invoice_id}: {format_cents(inv.amount_cents)}, month "
            f"{inv.month_number} ({inv.status})"
            + ("" if within_months(terms_of(inv.deal), inv.month_number) else ", past the "
               "recurring months"))


def _plain(obj) -> dict:
    raw = obj.to_dict() if hasattr(obj, "to_dict") else obj
    return raw if isinstance(raw, dict) else {}


def _day(ts) -> date | None:
    from datetime import UTC

    return datetime.fromtimestamp(ts, UTC).date() if isinstance(ts, int) else None


def stripe_invoice_paid(obj) -> str:
    """Stripe's ``invoice.paid``: record the invoice of the deal linked to its
    subscription (amount ``amount_paid``, period of its first line, else of the
    invoice). Returns ``invoice_recorded``, ``invoice_known`` or ``ignored`` (no deal
    is linked, nothing was paid, or the deal takes no invoice now: logged in the audit
    trail as a refusal is not, since Stripe cannot act on it)."""
    from datetime import UTC

    inv = _plain(obj)
    sub = inv.get("subscription")
    deal = db.session.scalar(select(Deal).where(Deal.stripe_subscription_id == sub)) \
        if isinstance(sub, str) else None
    amount = inv.get("amount_paid")
    if deal is None or not isinstance(amount, int) or amount <= 0:
        return "ignored"
    lines = (inv.get("lines") or {}).get("data") or []
    period = (lines[0].get("period") if lines and isinstance(lines[0], dict) else None) or {}
    start = _day(period.get("start")) or _day(inv.get("period_start"))
    end = _day(period.get("end")) or _day(inv.get("period_end")) or start
    paid_ts = (inv.get("status_transitions") or {}).get("paid_at")
    paid_at = datetime.fromtimestamp(paid_ts, UTC) if isinstance(paid_ts, int) else now_utc()
    try:
        _, created = record_invoice(deal.id, inv.get("id"), amount, start, end, paid_at,
                                    None, source="stripe")
    except (Conflict, ValidationError) as exc:
        audit(None, "deal.invoice.ignored", "deal", deal.id, None,
              {"external_invoice_id": str(inv.get("id"))[:100], "why": exc.message})
        return "ignored"
    return "invoice_recorded" if created else "invoice_known"


def stripe_charge_refunded(obj) -> str:
    """Stripe's ``charge.refunded``: a fully refunded charge of a recorded invoice
    refunds it (:func:`refund_invoice`). A partial refund is left to staff (audited).
    Returns ``invoice_refunded``, ``partial_refund`` or ``ignored``."""
    charge = _plain(obj)
    invoice_id = charge.get("invoice")
    inv = db.session.scalar(select(DealInvoice).where(
        DealInvoice.external_invoice_id == invoice_id)) if isinstance(invoice_id, str) else None
    if inv is None or inv.status == "refunded":
        return "ignored"
    if not charge.get("refunded"):
        audit(None, "deal.invoice.partial_refund", "deal", inv.deal_id, None,
              {"external_invoice_id": invoice_id,
               "amount_refunded": charge.get("amount_refunded")})
        return "partial_refund"
    refund_invoice(inv.deal_id, invoice_id, None, "Stripe refunded the charge")
    return "invoice_refunded"


def set_lead_billing(lead_id, billing: str) -> None:
    """Before a confirmation: how the client of lead ``lead_id`` pays (``one_time`` or
    ``monthly``). A lead that does not exist or is confirmed already is left alone (the
    confirmation refuses it). Raises ``ValidationError`` for another value."""
    from core.program.models import Lead

    if billing not in ("one_time", "monthly"):
        raise ValidationError("billing must be one_time or monthly.")
    lead = get_row(Lead, lead_id)
    if lead is not None and lead.deal is None:
        lead.billing = billing


def get_deal(deal_id) -> Deal:
    """The deal, or ``NotFound``."""
    deal = get_row(Deal, deal_id)
    if deal is None:
        raise NotFound("No such deal.")
    return deal


def link_subscription(deal: Deal, subscription_id: str, actor_id: int) -> Deal:
    """Link a monthly deal to the Stripe subscription whose ``invoice.paid`` events are
    its invoices. Raises ``Conflict`` (a one-time deal; another deal has it)."""
    if deal.billing != "monthly":
        raise Conflict("Only monthly deals take a Stripe subscription.", code="not_recurring")
    other = db.session.scalar(select(Deal.id).where(
        Deal.stripe_subscription_id == subscription_id, Deal.id != deal.id))
    if other is not None:
        raise Conflict(f"Deal #{other} is already linked to this subscription.")
    audit(actor_id, "deal.subscription", "deal", deal.id,
          {"stripe_subscription_id": deal.stripe_subscription_id},
          {"stripe_subscription_id": subscription_id})
    deal.stripe_subscription_id = subscription_id
    return deal


def deal_invoices(deal_id) -> list[DealInvoice]:
    """A deal's invoices, oldest first. Raises ``NotFound``."""
    if get_row(Deal, deal_id) is None:
        raise NotFound("No such deal.")
    return list(db.session.scalars(select(DealInvoice).where(DealInvoice.deal_id == deal_id)
                                   .order_by(DealInvoice.id)))


def invoice_commissions(inv: DealInvoice) -> list[Commission]:
    """The commissions an invoice made (adjustments included), in order."""
    return list(db.session.scalars(select(Commission).where(Commission.invoice_id == inv.id)
                                   .order_by(Commission.id)))
