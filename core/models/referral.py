"""Referral link visits (PRD "Referral Link Generation", "Attribution tracking")."""

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.timeutil import UTCDateTime, now_utc


class ReferralClick(db.Model):
    """One click on ``/r/<code>`` (bots and a visitor's repeats within 30 minutes are not
    clicks, ``core.referrals.record_click``): no personal data but a keyed hash."""

    __tablename__ = "referral_clicks"
    __table_args__ = (Index("ix_referral_clicks_partner_id", "partner_id"),
                      Index("ix_referral_clicks_partner_visitor", "partner_id", "ip_hash"))

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    #: The visitor's pseudonym: HMAC of IP and user agent under a key that rotates daily
    #: (``core.referrals.visitor_hash``; counts unique visitors, reveals nobody).
    ip_hash: Mapped[str] = mapped_column(String(64))
    #: Where the visitor came from (host only), if the browser said.
    referrer_host: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    #: The lead this visit turned into, if any.
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
