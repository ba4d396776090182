"""API shapes of payout methods and tax forms. Numbers are checked by core
(``core.payments.validate``) so the portal and the API refuse the same things; answers
carry masked numbers only (``bank_last4``, ``tin_last4``)."""

from datetime import date
from typing import Literal

from core.base.schemas import Answer, Field, Request

MethodName = Literal["stripe_connect", "paypal", "bank_transfer"]


class PayoutMethodChange(Request):
    """Choose a payout method. ``paypal``: your PayPal e-mail address or payer id;
    ``bank_transfer``: ``account_holder`` and an ``iban``, or a US ``routing_number``
    and ``account_number`` (left out: the details already on file are kept);
    ``stripe_connect``: then finish Stripe's onboarding from the earnings page."""

    method: MethodName
    paypal: str | None = Field(None, max_length=254)
    account_holder: str | None = Field(None, max_length=200)
    iban: str | None = Field(None, max_length=42)
    routing_number: str | None = Field(None, max_length=20)
    account_number: str | None = Field(None, max_length=30)


class PayoutMethodInfo(Answer):
    """Your payout method: ``ready`` when money can be sent with it; bank numbers as
    their last 4 digits only."""

    method: MethodName | None
    label: str
    ready: bool
    paypal: str
    bank_holder: str
    bank_last4: str
    stripe_connected: bool
    offered: list[MethodName]


class TaxFormSubmit(Request):
    """A tax form: ``w9`` (US persons), ``w8ben`` (non-US individuals) or ``w8bene``
    (non-US entities). Dates ``YYYY-MM-DD``; ``certification`` must be true."""

    form: Literal["w9", "w8ben", "w8bene"]
    legal_name: str | None = Field(None, max_length=200)
    business_name: str | None = Field(None, max_length=200)
    tax_classification: str | None = Field(None, max_length=30)
    address: str | None = Field(None, max_length=500)
    tin_type: Literal["ssn", "ein", "itin"] | None = None
    tin: str | None = Field(None, max_length=20)
    country: str | None = Field(None, max_length=2)
    foreign_tin: str | None = Field(None, max_length=40)
    date_of_birth: str | None = Field(None, max_length=10)
    entity_type: str | None = Field(None, max_length=100)
    treaty_country: str | None = Field(None, max_length=2)
    treaty_article: str | None = Field(None, max_length=200)
    certification: bool | None = None
    signature_name: str | None = Field(None, max_length=200)
    signed_on: str | None = Field(None, max_length=10)


class TaxFormStatus(Answer):
    """Your tax form: ``status`` missing | submitted | verified | rejected | expired;
    the TIN as its last 4 digits only; ``payouts_allowed`` false while the tax gate
    holds your payouts."""

    status: Literal["missing", "submitted", "verified", "rejected", "expired"]
    form: Literal["w9", "w8ben", "w8bene"] | None
    tin_last4: str
    signed_on: date | None
    expires_on: date | None
    reject_reason: str
    verified: bool
    payouts_allowed: bool
    pdf_ready: bool
