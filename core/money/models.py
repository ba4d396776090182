"""Money: deals, the commission ledger, payouts and their transfers, statements and
statement batches, Stripe events (rules: "Commissions", "Payouts", "Statements")."""

from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.base.extensions import db
from core.base.ledger_guard import guard
from core.base.timeutil import UTCDateTime, now_utc


class StatementBatch(db.Model):
    """Finance's "statements for everyone with activity in a month" run."""

    __tablename__ = "statement_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    month: Mapped[int]
    #: Number of statements issued in the batch.
    total: Mapped[int] = mapped_column(default=0)
    #: none | pending | ready | failed (the ZIP of all PDFs)
    zip_status: Mapped[str] = mapped_column(String(20), default="none")
    zip_path: Mapped[str] = mapped_column(String(300), default="")
    zip_error: Mapped[str] = mapped_column(Text, default="")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    completed_at: Mapped[object | None] = mapped_column(UTCDateTime)

    items = relationship("StatementBatchItem", back_populates="batch")

    @property
    def period(self) -> str:
        """``YYYY-MM``."""
        return f"{self.year:04d}-{self.month:02d}"

    def __str__(self) -> str:
        return f"Batch #{self.id} {self.period}"



class StatementBatchItem(db.Model):
    """One statement of a batch."""

    __tablename__ = "statement_batch_items"
    __table_args__ = (UniqueConstraint("batch_id", "partner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("statement_batches.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), unique=True)

    batch = relationship("StatementBatch", back_populates="items")
    statement = relationship("Statement")



class Deal(db.Model):
    """A won lead confirmed by staff; its commissions hang off it (rules: "Commissions")."""

    __tablename__ = "deals"
    __table_args__ = (
        CheckConstraint("value_cents > 0 AND value_cents <= 100000000", name="value"),
        Index("ix_deals_partner_id", "partner_id"),
        Index("ix_deals_confirmed_at", "confirmed_at"),
        Index("ix_deals_updated_at_id", "updated_at", "id"),
        Index("uq_deals_external_id", "external_id", unique=True),
        Index("uq_deals_stripe_subscription_id", "stripe_subscription_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: One deal per lead: a second confirmation fails on this constraint.
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), unique=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    value_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    #: won | cancelled | refunded
    status: Mapped[str] = mapped_column(String(20), default="won")
    confirmed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    cancelled_at: Mapped[object | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(String(500), default="")
    #: Last change of the row (set on every UPDATE, bulk ones too): the CRM sync lists
    #: page by ``(updated_at, id)``.
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    #: The CRM's id of this row (unique; ``None`` until a CRM sets it).
    external_id: Mapped[str | None] = mapped_column(String(100))
    #: ``one_time`` or ``monthly`` (copied from the lead at confirmation). A monthly
    #: deal's ``value_cents`` is its expected monthly amount; its commissions come with
    #: each paid invoice (``DealInvoice``), on the terms below, locked at confirmation.
    billing: Mapped[str] = mapped_column(String(10), default="one_time",
                                         server_default="one_time")
    #: The Stripe subscription whose ``invoice.paid`` events are this deal's invoices.
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(64))
    #: Monthly deals: invoices that pay commission (0: all), the closer's base rate, the
    #: team leader and their override rate, the recruiter and their referral rate, and
    #: whether the referral bonus is due (the closer's first deal). Partner ids are kept
    #: as they were at confirmation (plain ids: the rows stay, partners are never deleted).
    months_allowed: Mapped[int | None]
    base_rate_bps: Mapped[int | None]
    leader_id: Mapped[int | None]
    override_rate_bps: Mapped[int | None]
    recruiter_id: Mapped[int | None]
    referral_rate_bps: Mapped[int | None]
    referral_due: Mapped[bool] = mapped_column(default=False, server_default=sa_false())

    lead = relationship("Lead", back_populates="deal")
    partner = relationship("Partner")



COMMISSION_TYPES = ("base", "team_override", "referral", "bonus", "adjustment")



COMMISSION_STATUSES = ("pending", "approved", "on_hold", "paid", "reversed")



PAYOUT_STATUSES = ("requested", "approved", "processing", "paid", "failed", "reversed")



class Commission(db.Model):
    """One amount owed to a partner: positive earnings, or a negative ``adjustment``."""

    __tablename__ = "commissions"
    __table_args__ = (
        CheckConstraint(
            "(type = 'adjustment' AND amount_cents < 0) OR (type <> 'adjustment' AND amount_cents > 0)",
            name="amount_sign",
        ),
        Index("ix_commissions_partner_id_status", "partner_id", "status"),
        Index("ix_commissions_deal_id", "deal_id"),
        Index("ix_commissions_payout_id", "payout_id"),
        Index("ix_commissions_created_at", "created_at"),
        # the one-time referral check on a recruit's first deal (core.money.commissions.confirm_deal)
        Index("ix_commissions_source_partner_id_type", "source_partner_id", "type"),
        Index("ix_commissions_updated_at_id", "updated_at", "id"),
        Index("ix_commissions_invoice_id", "invoice_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Who earns it.
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id"))
    #: Whose deal produced it (the closing partner), for overrides and referrals.
    source_partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    #: base | team_override | referral | bonus | adjustment
    type: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    rate_bps: Mapped[int | None]
    #: pending | approved | on_hold | paid | reversed
    status: Mapped[str] = mapped_column(String(20), default="pending")
    #: When the holding period ends and it may be approved automatically.
    hold_until: Mapped[object | None] = mapped_column(UTCDateTime)
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payouts.id"))
    #: For an adjustment: the paid commission it claws back.
    adjusts_id: Mapped[int | None] = mapped_column(ForeignKey("commissions.id"))
    #: The paid invoice of a monthly deal that made it (``DealInvoice.id``), else ``None``.
    invoice_id: Mapped[int | None]
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    approved_at: Mapped[object | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[object | None] = mapped_column(UTCDateTime)
    #: Last change of the row (set on every UPDATE, bulk ones too): the CRM sync lists
    #: page by ``(updated_at, id)``.
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    reversed_at: Mapped[object | None] = mapped_column(UTCDateTime)

    partner = relationship("Partner", foreign_keys=[partner_id])
    deal = relationship("Deal")
    payout = relationship("Payout", back_populates="commissions")



class Payout(db.Model):
    """A payment of a partner's approved commissions (rules: "Payouts")."""

    __tablename__ = "payouts"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount"),
        Index("ix_payouts_partner_id", "partner_id"),
        Index("ix_payouts_status", "status"),
        Index("ix_payouts_updated_at_id", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    #: requested | approved | processing | paid | failed | reversed
    status: Mapped[str] = mapped_column(String(20), default="requested")
    #: manual | stripe
    gateway: Mapped[str] = mapped_column(String(20), default="manual")
    #: Stripe transfer id or the manual payment reference finance recorded.
    reference: Mapped[str] = mapped_column(String(120), default="")
    failure_message: Mapped[str] = mapped_column(Text, default="")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    approved_at: Mapped[object | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[object | None] = mapped_column(UTCDateTime)
    #: Last change of the row (set on every UPDATE, bulk ones too): the CRM sync lists
    #: page by ``(updated_at, id)``.
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    failed_at: Mapped[object | None] = mapped_column(UTCDateTime)
    #: Stripe reversed the transfer after it was paid (``transfer.reversed``).
    reversed_at: Mapped[object | None] = mapped_column(UTCDateTime)

    partner = relationship("Partner")
    commissions = relationship("Commission", back_populates="payout")



class PayoutTransfer(db.Model):
    """The one transfer made for a payout; unique per payout so it can never pay twice."""

    __tablename__ = "payout_transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    payout_id: Mapped[int] = mapped_column(ForeignKey("payouts.id"), unique=True)
    #: ``payout-<id>``, sent as Stripe's Idempotency-Key.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    transfer_id: Mapped[str] = mapped_column(String(120), default="")
    amount_cents: Mapped[int]
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)



class Statement(db.Model):
    """One partner, one calendar month; figures fixed at issue (rules: "Statements")."""

    __tablename__ = "statements"
    __table_args__ = (
        UniqueConstraint("partner_id", "year", "month", "version"),
        CheckConstraint(
            "opening_cents + earned_cents - reversed_cents - paid_cents = closing_cents",
            name="reconciles",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    year: Mapped[int]
    month: Mapped[int]
    version: Mapped[int] = mapped_column(default=1)
    opening_cents: Mapped[int]
    earned_cents: Mapped[int]
    reversed_cents: Mapped[int]
    paid_cents: Mapped[int]
    closing_cents: Mapped[int]
    #: The lines behind the figures, frozen at issue: a JSON list of ``{"date": ISO 8601
    #: UTC, "kind", "type", "description", "amount_cents", "ref"}``
    #: (``core.money.statements.statement_lines``). Empty for statements issued before it was kept.
    lines_json: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: pending | ready | failed (the PDF render)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    #: Path of the PDF relative to ``STORAGE_DIR``.
    file_path: Mapped[str] = mapped_column(String(300), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    rendered_at: Mapped[object | None] = mapped_column(UTCDateTime)

    partner = relationship("Partner")

    @property
    def period(self) -> str:
        """``YYYY-MM``."""
        return f"{self.year:04d}-{self.month:02d}"



class StripeEvent(db.Model):
    """A Stripe webhook event already handled; the id makes redelivery a no-op."""

    __tablename__ = "stripe_events"

    #: Stripe's ``evt_...`` id.
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)


for _model in (Deal, Commission, Payout, PayoutTransfer, Statement):
    guard(_model)


#: Invoice states: ``paid`` (its commissions stand) or ``refunded`` (reversed).
INVOICE_STATUSES = ("paid", "refunded")


class DealInvoice(db.Model):
    """A paid invoice of a monthly deal (from the API or Stripe's ``invoice.paid``), once
    per ``external_invoice_id`` (rules: "Recurring deals")."""

    __tablename__ = "deal_invoices"
    __table_args__ = (
        CheckConstraint("amount_cents > 0 AND amount_cents <= 100000000", name="amount"),
        CheckConstraint("period_end >= period_start", name="period"),
        CheckConstraint("status IN ('paid', 'refunded')", name="status"),
        Index("ix_deal_invoices_deal_id", "deal_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id"))
    #: The billing system's id (Stripe ``in_...``, or the CRM's): unique.
    external_invoice_id: Mapped[str] = mapped_column(String(100), unique=True)
    amount_cents: Mapped[int]
    period_start: Mapped[date]
    period_end: Mapped[date]
    paid_at: Mapped[object] = mapped_column(UTCDateTime)
    #: Its place among the deal's paid invoices that were not refunded when it came (1 =
    #: the first); it pays commission while within the deal's ``months_allowed``.
    month_number: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default="paid")
    #: ``api`` or ``stripe``.
    source: Mapped[str] = mapped_column(String(10), default="api")
    refunded_at: Mapped[object | None] = mapped_column(UTCDateTime)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)

    deal = relationship("Deal")
