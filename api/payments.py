"""The partner's payout method and tax form (``/api/partner/payout-method``,
``/api/partner/tax-form``)."""

from flask import g

from api import api
from api.common import bearer
from api.spec import operation
from core.base.extensions import db
from core.payments.methods import describe, set_payout_method
from core.payments.schemas import (
    PayoutMethodChange,
    PayoutMethodInfo,
    TaxFormStatus,
    TaxFormSubmit,
)
from core.payments.tax import submit_tax_form, tax_status


@api.get("/partner/payout-method")
@bearer(active=False)
@operation(200, PayoutMethodInfo)
def api_payout_method():
    """Your payout method (bank numbers masked)"""
    return PayoutMethodInfo.model_validate(describe(g.partner))


@api.put("/partner/payout-method")
@bearer()
@operation(200, PayoutMethodInfo, errors=(409, 422))
def api_payout_method_change(json: PayoutMethodChange):
    """Choose your payout method

    422 naming the field for a PayPal receiver that is no address or an IBAN or routing
    number with a wrong check digit; 409 method_unavailable when the method is not
    offered. A payout already on its way keeps the method it started with."""
    set_payout_method(g.partner, json.model_dump(), g.user.id)
    db.session.commit()
    return PayoutMethodInfo.model_validate(describe(g.partner))


@api.get("/partner/tax-form")
@bearer(active=False)
@operation(200, TaxFormStatus)
def api_tax_form():
    """Your tax form's status (TIN masked)"""
    return TaxFormStatus.model_validate(tax_status(g.partner.id))


@api.put("/partner/tax-form")
@bearer(active=False)
@operation(200, TaxFormStatus, errors=(422,))
def api_tax_form_submit(json: TaxFormSubmit):
    """Submit a W-9, W-8BEN or W-8BEN-E

    422 naming the field for a TIN with a wrong check digit, a missing certification, a
    future or malformed date. Finance verifies the form before payouts are sent."""
    submit_tax_form(g.partner, json.model_dump(), g.user.id)
    db.session.commit()
    return TaxFormStatus.model_validate(tax_status(g.partner.id))
