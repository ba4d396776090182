"""Engagement: the append-only XP ledger."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

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


class XpRule(db.Model):
    """The points one XP action earns, as staff set them in the back office (rules: "XP,
    levels and streaks"). An action without a row earns its default
    (``core.engagement.xp.XP_ACTIONS``)."""

    __tablename__ = "xp_rules"
    __table_args__ = (
        CheckConstraint("points >= 0 AND points <= 10000", name="points"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: One of ``core.engagement.xp.XP_ACTIONS``.
    action: Mapped[str] = mapped_column(String(40), unique=True)
    points: Mapped[int] = mapped_column(default=0)

    def __str__(self) -> str:
        return self.action


class Level(db.Model):
    """A level partners reach at ``min_xp`` points, named by staff (rules: "XP, levels and
    streaks")."""

    __tablename__ = "levels"
    __table_args__ = (CheckConstraint("min_xp >= 0", name="min_xp"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    #: XP needed to reach the level (the lowest level has 0).
    min_xp: Mapped[int] = mapped_column(unique=True)


#: Badge categories (rules: "Badges").
BADGE_CATEGORIES = ("selling", "learning", "community", "teams")
#: Badge rule types (rules: "Badges").
BADGE_RULES = ("count", "within_days", "streak", "rank")


class Badge(db.Model):
    """One badge of the catalogue staff extend without code (rules: "Badges").

    ``rule`` says how it is earned: ``count`` (``metric`` at least ``threshold``),
    ``within_days`` (``metric`` at least ``threshold`` within ``days`` of approval),
    ``streak`` (a weekly streak of ``threshold`` weeks) or ``rank`` (top ``threshold``
    by ``metric`` in a finished calendar month)."""

    __tablename__ = "badges"
    __table_args__ = (
        CheckConstraint("threshold >= 1", name="threshold"),
        CheckConstraint("days IS NULL OR days >= 1", name="days"),
        CheckConstraint("category IN ('selling', 'learning', 'community', 'teams')",
                        name="category"),
        CheckConstraint("rule IN ('count', 'within_days', 'streak', 'rank')", name="rule"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable id (letters, digits, underscores).
    key: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    #: What earns it, one sentence partners read.
    description: Mapped[str] = mapped_column(String(300), default="")
    #: selling | learning | community | teams
    category: Mapped[str] = mapped_column(String(20))
    #: One character (or emoji) shown with the name.
    icon: Mapped[str] = mapped_column(String(8), default="★")
    #: count | within_days | streak | rank
    rule: Mapped[str] = mapped_column(String(20))
    #: What is counted (``core.engagement.badges.METRICS``); unused by ``streak``.
    metric: Mapped[str] = mapped_column(String(40), default="")
    #: N of the rule: the count, the streak's weeks, or the best rank.
    threshold: Mapped[int] = mapped_column(default=1)
    #: D of ``within_days``: days from approval.
    days: Mapped[int | None]
    #: Inactive badges are neither shown nor awarded (awards already made stay).
    active: Mapped[bool] = mapped_column(default=True)
    #: Display order within its category.
    position: Mapped[int] = mapped_column(default=0)

    def __str__(self) -> str:
        return self.name


class BadgeAward(db.Model):
    """A catalogue badge held by one partner, once, never taken back (rules: "Badges")."""

    __tablename__ = "badge_awards"
    __table_args__ = (UniqueConstraint("partner_id", "badge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    badge_id: Mapped[int] = mapped_column(ForeignKey("badges.id"))
    awarded_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)


# --- partner of the month (rules: "Partner of the month") ---------------------------------

class SpotlightMonth(db.Model):
    """Partner of the month for one calendar month (UTC): the worker proposes the
    candidates once the month is over, an admin confirms one, once (rules: "Partner of
    the month")."""

    __tablename__ = "spotlight_months"
    __table_args__ = (UniqueConstraint("period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The month judged, ``YYYY-MM``.
    period: Mapped[str] = mapped_column(String(7))
    proposed_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    #: The confirmed partner; ``None`` until an admin confirms one of the candidates.
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    #: What the admin wrote about them (shown on the dashboards and in the announcement).
    citation: Mapped[str] = mapped_column(String(300), default="", server_default="")
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[object | None] = mapped_column(UTCDateTime)

    partner = relationship("Partner")
    candidates = relationship("SpotlightCandidate", order_by="SpotlightCandidate.rank",
                              back_populates="month")

    def __str__(self) -> str:
        return self.period


class SpotlightCandidate(db.Model):
    """One proposed partner of the month, with the figures that ranked them."""

    __tablename__ = "spotlight_candidates"
    __table_args__ = (UniqueConstraint("month_id", "partner_id"),
                      UniqueConstraint("month_id", "rank", name="uq_spotlight_candidates_rank"),
                      CheckConstraint("rank >= 1", name="rank"))

    id: Mapped[int] = mapped_column(primary_key=True)
    month_id: Mapped[int] = mapped_column(ForeignKey("spotlight_months.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    #: 1 = the best score.
    rank: Mapped[int]
    score: Mapped[int]
    won_deals: Mapped[int]
    revenue_cents: Mapped[int]
    modules_passed: Mapped[int]

    month = relationship("SpotlightMonth", back_populates="candidates")
    partner = relationship("Partner")


# --- bonus pools (rules: "Bonus pools") ----------------------------------------------------

#: What a bonus pool's contributions count: confirmed won deals, or their revenue in cents.
POOL_METRICS = ("deals", "revenue")


class BonusPool(db.Model):
    """A team challenge: a leader's team reaching ``target`` (deals or revenue cents,
    together) in a window shares ``pool_cents`` by contribution, paid as ``bonus``
    commissions (rules: "Bonus pools")."""

    __tablename__ = "bonus_pools"
    __table_args__ = (CheckConstraint("pool_cents > 0", name="pool"),
                      CheckConstraint("target > 0", name="target"),
                      CheckConstraint("ends_at > starts_at", name="window"),
                      CheckConstraint("metric IN ('deals', 'revenue')", name="metric"),
                      Index("ix_bonus_pools_leader_id", "leader_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    #: The team leader; the team is the leader and the partners whose leader they are.
    leader_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    metric: Mapped[str] = mapped_column(String(10))
    #: The team's total needed (deals, or revenue in cents).
    target: Mapped[int]
    #: What is shared, in cents.
    pool_cents: Mapped[int]
    starts_at: Mapped[object] = mapped_column(UTCDateTime)
    ends_at: Mapped[object] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    settled_at: Mapped[object | None] = mapped_column(UTCDateTime)
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Cents actually paid when settled (the pool, or 0 when the target was missed).
    paid_cents: Mapped[int] = mapped_column(default=0, server_default="0")

    leader = relationship("Partner")
    shares = relationship("BonusPoolShare", order_by="BonusPoolShare.id")

    def __str__(self) -> str:
        return self.name


class BonusPoolShare(db.Model):
    """One member's part of a settled pool and the bonus commission that pays it."""

    __tablename__ = "bonus_pool_shares"
    __table_args__ = (UniqueConstraint("pool_id", "partner_id"),
                      CheckConstraint("amount_cents >= 0", name="amount"))

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("bonus_pools.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    #: Deals, or revenue cents, the member brought in the window.
    contribution: Mapped[int]
    amount_cents: Mapped[int]
    commission_id: Mapped[int | None] = mapped_column(ForeignKey("commissions.id"))

    partner = relationship("Partner")
