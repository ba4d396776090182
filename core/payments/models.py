"""Tables of payout methods, tax forms and PayPal webhook events."""

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.base.extensions import db
from core.base.timeutil import UTCDateTime, now_utc

#: The methods a partner can choose (rules: "Payout methods").
METHODS = ("stripe_connect", "paypal", "bank_transfer")
#: Tax forms a partner can submit (rules: "Tax forms").
FORMS = ("w9", "w8ben", "w8bene")
TAX_STATUSES = ("submitted", "verified", "rejected")


class PayoutMethod(db.Model):
    """A partner's chosen payout method and the details of each method they entered.

    Changing ``method`` keeps the other methods' details (switching back needs no
    re-entry); bank numbers are Fernet tokens (``core.payments.crypto``), shown as
    ``bank_last4`` only.
    """

    __tablename__ = "payout_methods"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), unique=True)
    #: stripe_connect | paypal | bank_transfer
    method: Mapped[str] = mapped_column(String(20))
    #: PayPal receiver: an e-mail address or a PayPal payer id.
    paypal_receiver: Mapped[str] = mapped_column(String(254), default="")
    #: EMAIL | PAYPAL_ID (PayPal's ``recipient_type``)
    paypal_recipient_type: Mapped[str] = mapped_column(String(10), default="")
    bank_holder: Mapped[str] = mapped_column(String(200), default="")
    #: iban | us (US routing + account number)
    bank_scheme: Mapped[str] = mapped_column(String(4), default="")
    bank_iban_enc: Mapped[str] = mapped_column(Text, default="")
    bank_routing_enc: Mapped[str] = mapped_column(Text, default="")
    bank_account_enc: Mapped[str] = mapped_column(Text, default="")
    bank_last4: Mapped[str] = mapped_column(String(4), default="")
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)

    partner = relationship("Partner")


class TaxForm(db.Model):
    """One tax form a partner submitted (every submission is kept; the newest counts).

    The TIN is a Fernet token (``tin_enc``) beside its last four digits; the other
    answers of the form are in ``details_json`` (no number in it).
    """

    __tablename__ = "tax_forms"
    __table_args__ = (Index("ix_tax_forms_partner_id", "partner_id"),
                      Index("ix_tax_forms_status", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    #: w9 | w8ben | w8bene
    form: Mapped[str] = mapped_column(String(8))
    #: submitted | verified | rejected
    status: Mapped[str] = mapped_column(String(10), default="submitted")
    legal_name: Mapped[str] = mapped_column(String(200))
    #: ISO country of citizenship (W-8BEN), incorporation (W-8BEN-E) or ``US`` (W-9).
    country: Mapped[str] = mapped_column(String(2))
    #: ssn | ein | itin | foreign
    tin_kind: Mapped[str] = mapped_column(String(10))
    tin_enc: Mapped[str] = mapped_column(Text)
    tin_last4: Mapped[str] = mapped_column(String(4))
    details_json: Mapped[str] = mapped_column(Text, default="{}")
    signature_name: Mapped[str] = mapped_column(String(200))
    signed_on: Mapped[object] = mapped_column(Date)
    #: W-8 forms: the end of the third calendar year after signing; W-9: none.
    expires_on: Mapped[object | None] = mapped_column(Date)
    reject_reason: Mapped[str] = mapped_column(String(500), default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[object | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[object | None] = mapped_column(UTCDateTime)
    #: The partner's PDF copy under ``STORAGE_DIR`` once the worker rendered it.
    file_path: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)

    partner = relationship("Partner")


class PaypalEvent(db.Model):
    """A PayPal webhook event already handled (its id), so a repeat changes nothing."""

    __tablename__ = "paypal_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)


#: Encrypted columns, re-encrypted by ``flask rotate-keys``.
ENCRYPTED_COLUMNS = ((PayoutMethod, ("bank_iban_enc", "bank_routing_enc", "bank_account_enc")),
                     (TaxForm, ("tin_enc",)))
