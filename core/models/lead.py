"""Leads, their activities, and deals (a confirmed won lead)."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.timeutil import UTCDateTime, now_utc

#: Pipeline stages in order (DESIGN.md "Leads").
LEAD_STAGES = ("new", "contacted", "qualified", "proposal", "won", "lost")
#: Lead activity kinds (PRD ``lead_activities.activity_type``).
ACTIVITY_TYPES = ("call", "email", "meeting", "note", "status_change")


class Lead(db.Model):
    """A prospective client logged by a partner."""

    __tablename__ = "leads"
    __table_args__ = (
        CheckConstraint("estimated_value_cents >= 0", name="estimated_value"),
        CheckConstraint("won_value_cents IS NULL OR won_value_cents > 0", name="won_value"),
        Index("ix_leads_partner_id_status", "partner_id", "status"),
        # A lead sent twice (an offline queue retrying after a lost answer) is one lead.
        UniqueConstraint("partner_id", "client_ref", name="uq_leads_partner_id_client_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    company_name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str] = mapped_column(String(120), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    project_type: Mapped[str] = mapped_column(String(80), default="")
    estimated_value_cents: Mapped[int] = mapped_column(default=0)
    #: new | contacted | qualified | proposal | won | lost
    status: Mapped[str] = mapped_column(String(20), default="new")
    #: Deal value the partner reported when marking the lead won (cents).
    won_value_cents: Mapped[int | None]
    #: Where the lead came from: ``portal``, ``api``, ``referral_link``.
    source: Mapped[str] = mapped_column(String(40), default="portal")
    #: Attribution as JSON text (referral code, click time), empty when none.
    attribution: Mapped[str] = mapped_column(Text, default="")
    next_action: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    #: The id the partner's device gave the lead when it was written (offline queue,
    #: double submits); ``None`` for leads from elsewhere. Unique per partner.
    client_ref: Mapped[str | None] = mapped_column(String(64))
    stage_changed_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)

    partner = relationship("Partner")
    deal = relationship("Deal", back_populates="lead", uselist=False)

    def __str__(self) -> str:
        return self.company_name


class LeadActivity(db.Model):
    """A call, e-mail, meeting, note or stage change logged on a lead."""

    __tablename__ = "lead_activities"
    __table_args__ = (Index("ix_lead_activities_lead_id", "lead_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    activity_type: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)


class Deal(db.Model):
    """A won lead confirmed by staff; its commissions hang off it (DESIGN.md)."""

    __tablename__ = "deals"
    __table_args__ = (
        CheckConstraint("value_cents > 0 AND value_cents <= 100000000", name="value"),
        Index("ix_deals_partner_id", "partner_id"),
        Index("ix_deals_confirmed_at", "confirmed_at"),
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

    lead = relationship("Lead", back_populates="deal")
    partner = relationship("Partner")
