"""Recurring deals on the API: staff record a monthly deal's paid invoices and refunds;
partners see their monthly deals with months paid and left."""

from flask import g

from api import api
from api.common import bearer
from api.spec import operation
from core.base.extensions import db
from core.money import recurring
from core.money.schemas import (
    Commission,
    Deal,
    Invoice,
    InvoicePage,
    InvoiceRefund,
    InvoiceResult,
    NewInvoice,
    RecurringDeal,
    RecurringDealPage,
    SubscriptionLink,
)

MONEY = ("finance",)


@api.post("/staff/deals/<int:deal_id>/invoices")
@bearer("staff", roles=MONEY)
@operation(201, InvoiceResult, errors=(404, 409), also_ok=(200,))
def api_staff_invoice(deal_id: int, json: NewInvoice):
    """Record a paid invoice of a monthly deal (idempotent)

    Its commissions are made on the terms locked at confirmation, while the deal's
    months last. The same external_invoice_id again answers 200 with the first record and
    pays nothing; 409 for a one-time or cancelled deal, or the id used elsewhere."""
    inv, created = recurring.record_invoice(
        deal_id, json.external_invoice_id, json.amount_cents, json.period_start,
        json.period_end, json.paid_at, g.user.id)
    made = recurring.invoice_commissions(inv)
    db.session.commit()
    answer = InvoiceResult(invoice=Invoice.model_validate(inv),
                           commissions=[Commission.model_validate(c) for c in made])
    return answer, 201 if created else 200


@api.get("/staff/deals/<int:deal_id>/invoices")
@bearer("staff", roles=("finance", "support"))
@operation(200, InvoicePage)
def api_staff_invoices(deal_id: int):
    """A deal's invoices, oldest first"""
    return InvoicePage(items=[Invoice.model_validate(i)
                              for i in recurring.deal_invoices(deal_id)])


@api.post("/staff/deals/<int:deal_id>/invoices/<external_invoice_id>/refund")
@bearer("staff", roles=MONEY)
@operation(200, InvoiceResult, errors=(404, 409))
def api_staff_invoice_refund(deal_id: int, external_invoice_id: str, json: InvoiceRefund):
    """Refund (or credit) an invoice: its commissions are taken back

    Unpaid ones are reversed, paid ones get a negative adjustment; 409 when already
    refunded."""
    inv, adjustments = recurring.refund_invoice(deal_id, external_invoice_id, g.user.id,
                                                json.reason)
    db.session.commit()
    return InvoiceResult(invoice=Invoice.model_validate(inv),
                         commissions=[Commission.model_validate(c) for c in adjustments])


@api.put("/staff/deals/<int:deal_id>/stripe-subscription")
@bearer("staff", roles=MONEY)
@operation(200, Deal, errors=(409,))
def api_staff_deal_subscription(deal_id: int, json: SubscriptionLink):
    """Link a monthly deal to its Stripe subscription

    Stripe's invoice.paid events of that subscription become the deal's invoices; 409
    for a one-time deal or a subscription another deal has."""
    deal = recurring.link_subscription(recurring.get_deal(deal_id),
                                       json.stripe_subscription_id, g.user.id)
    db.session.commit()
    return Deal.model_validate(deal)


@api.get("/partner/recurring-deals")
@bearer("partner")
@operation(200, RecurringDealPage)
def api_partner_recurring_deals():
    """Your monthly deals: months paid and months left"""
    return RecurringDealPage(items=[RecurringDeal(**d)
                                    for d in recurring.recurring_deals(g.partner.id)])
