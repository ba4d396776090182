"""Partner profiles, tiers, tier overrides, training, settings."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.timeutil import UTCDateTime, now_utc

#: Partner statuses (foundation issue): applied until staff approve.
PARTNER_STATUSES = ("applied", "active", "suspended")


class Tier(db.Model):
    """A tier row staff can edit; seed values are DESIGN.md's tier table."""

    __tablename__ = "tiers"
    __table_args__ = (
        CheckConstraint("base_rate_bps >= 0 AND base_rate_bps <= 10000", name="base_rate"),
        CheckConstraint("referral_rate_bps >= 0 AND referral_rate_bps <= 10000",
                        name="referral_rate"),
        CheckConstraint("team_override_bps >= 0 AND team_override_bps <= 10000",
                        name="team_override"),
        CheckConstraint("min_deals >= 0", name="min_deals"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable key: starter, active, performer, elite.
    key: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    #: Confirmed won deals needed to reach the tier.
    min_deals: Mapped[int]
    base_rate_bps: Mapped[int]
    referral_rate_bps: Mapped[int] = mapped_column(default=0)
    team_override_bps: Mapped[int] = mapped_column(default=0)
    #: Days a commission stays pending before it is approved automatically.
    holding_days: Mapped[int] = mapped_column(default=14)
    #: Newline-separated list of features unlocked at this tier (shown to partners).
    features: Mapped[str] = mapped_column(Text, default="")

    def __str__(self) -> str:
        return self.name


class Partner(db.Model):
    """A sales affiliate's profile (one per partner user)."""

    __tablename__ = "partners"
    __table_args__ = (
        CheckConstraint("won_deals_count >= 0", name="won_deals_count"),
        CheckConstraint("recruiter_id IS NULL OR recruiter_id <> id", name="not_own_recruiter"),
        CheckConstraint("team_leader_id IS NULL OR team_leader_id <> id", name="not_own_leader"),
        Index("ix_partners_status", "status"),
        Index("ix_partners_team_leader_id", "team_leader_id"),
        # Back-office search (ILIKE '%word%'): trigram GIN on PostgreSQL, plain on SQLite
        # (migration e5f6a7b8c9d0).
        Index("ix_partners_company_name_trgm", "company_name", postgresql_using="gin",
              postgresql_ops={"company_name": "gin_trgm_ops"}),
        Index("ix_partners_referral_code_trgm", "referral_code", postgresql_using="gin",
              postgresql_ops={"referral_code": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    #: applied | active | suspended
    status: Mapped[str] = mapped_column(String(20), default="applied")
    referral_code: Mapped[str] = mapped_column(String(20), unique=True)
    recruiter_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    team_leader_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    company_name: Mapped[str] = mapped_column(String(200), default="")
    industry: Mapped[str] = mapped_column(String(80), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    agreement_version: Mapped[str] = mapped_column(String(20))
    agreement_accepted_at: Mapped[object] = mapped_column(UTCDateTime)
    #: Confirmed won deals not cancelled; drives the computed tier.
    won_deals_count: Mapped[int] = mapped_column(default=0)
    #: Tier last computed, for promotion/demotion notices.
    tier_id: Mapped[int] = mapped_column(ForeignKey("tiers.id"))
    tier_since: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    #: Stripe Connect account id (``acct_...``) once onboarding started.
    stripe_account_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: Stripe says the account can receive transfers (``account.updated``).
    stripe_payouts_enabled: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    approved_at: Mapped[object | None] = mapped_column(UTCDateTime)
    #: IANA time zone the partner reads times in (``Europe/London``); set on the profile.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    #: Contact preferences: e-mails about what matters, and portal (in-app) notices.
    notify_email: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    notify_portal: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    #: When the partner hid the dashboard's onboarding checklist (``None``: shown until
    #: every item is done; ``core.onboarding``).
    onboarding_dismissed_at: Mapped[object | None] = mapped_column(UTCDateTime)

    user = relationship("User", back_populates="partner", foreign_keys=[user_id])
    tier = relationship("Tier")
    recruiter = relationship("Partner", remote_side=[id], foreign_keys=[recruiter_id])
    team_leader = relationship("Partner", remote_side=[id], foreign_keys=[team_leader_id])

    @property
    def name(self) -> str:
        """The partner's display name (their user's name)."""
        return self.user.name

    def __str__(self) -> str:
        return f"{self.user.name} <{self.user.email}>"


class TierOverride(db.Model):
    """A staff override of a partner's tier and/or base rate (DESIGN.md "Effective tier")."""

    __tablename__ = "tier_overrides"
    __table_args__ = (
        CheckConstraint("base_rate_bps IS NULL OR (base_rate_bps >= 0 AND base_rate_bps <= 10000)",
                        name="base_rate"),
        Index("ix_tier_overrides_partner_id", "partner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id"))
    base_rate_bps: Mapped[int | None]
    reason: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[object | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    revoked_at: Mapped[object | None] = mapped_column(UTCDateTime)

    tier = relationship("Tier")


class TrainingModule(db.Model):
    """A training module; ``required`` ones gate leaving starter (DESIGN.md tiers)."""

    def __str__(self) -> str:
        return self.title

    __tablename__ = "training_modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    #: Training channel, e.g. ``getting-started`` (PRD "Training Channels").
    channel: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    #: A video to watch (our own or a trusted host's URL), empty when none.
    video_url: Mapped[str] = mapped_column(String(300), default="", server_default="")
    #: Tier key needed to open the module, empty for everyone (PRD: tier-locked content).
    min_tier_key: Mapped[str] = mapped_column(String(30), default="", server_default="")
    #: Percentage of right answers needed to pass the quiz.
    pass_mark_percent: Mapped[int] = mapped_column(default=80, server_default="80")
    #: When the module was added (the dashboard announces new modules); modules older
    #: than the column carry the time of its migration.
    created_at: Mapped[object | None] = mapped_column(UTCDateTime, default=now_utc)


class TrainingCompletion(db.Model):
    """A partner's completion of a training module."""

    __tablename__ = "training_completions"
    __table_args__ = (UniqueConstraint("partner_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    module_id: Mapped[int] = mapped_column(ForeignKey("training_modules.id"))
    completed_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    #: Quiz score in percent when the module has a quiz, else None.
    score_percent: Mapped[int | None]


class Setting(db.Model):
    """A staff-editable program setting (e.g. ``payout_minimum_cents``)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
