"""Engagement: the append-only XP ledger."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.base.extensions import db
from core.base.timeutil import UTCDateTime, now_utc


class XpEntry(db.Model):
    """XP earned by one partner for one action, at most once per ``source_key``.

    Rows are only ever added (rules: "XP, levels and streaks"); XP never changes money."""

    __tablename__ = "xp_entries"
    __table_args__ = (
        UniqueConstraint("partner_id", "source_key"),
        Index("ix_xp_entries_partner_at", "partner_id", "earned_at"),
        CheckConstraint("points >= 0", name="points"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    #: One of ``core.engagement.xp.XP_ACTIONS``.
    action: Mapped[str] = mapped_column(String(40))
    #: What earned it, e.g. ``lead:42`` or ``event:7``; unique per partner so a retry or a
    #: second worker never pays XP twice.
    source_key: Mapped[str] = mapped_column(String(80))
    points: Mapped[int] = mapped_column(default=0)
    #: When the action happened (UTC).
    earned_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
