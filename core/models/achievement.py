"""Achievement badges a partner earned (tier design seed 004 "Achievement Badges"; PRD
002 schema ``achievements``). The rules that award them live in ``core/achievements.py``."""

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.timeutil import UTCDateTime, now_utc


class Achievement(db.Model):
    """One badge held by one partner, at most once (``partner_id`` + ``key`` unique).

    Rows are only ever added: a cancelled deal or a demotion never removes one."""

    __tablename__ = "achievements"
    __table_args__ = (
        UniqueConstraint("partner_id", "key"),
        Index("ix_achievements_key", "key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    #: ``first_sale``, ``quick_starter``, ``team_builder``, ``top_performer``,
    #: ``first_month`` or ``tier_<tier key>`` (``core.achievements``).
    key: Mapped[str] = mapped_column(String(40))
    #: When it was awarded (UTC).
    awarded_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
