"""The partner program: tiers, partners, tier overrides, leads and referral clicks."""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    inspect,
)
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.base.extensions import db
from core.base.timeutil import UTCDateTime, now_utc

#: Pipeline stages in order (rules: "Leads").
LEAD_STAGES = ("new", "contacted", "qualified", "proposal", "won", "lost")



#: Lead activity kinds (``lead_activities.activity_type``).
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
        Index("ix_leads_updated_at_id", "updated_at", "id"),
        Index("ix_leads_counted_at", "counted_at"),
        Index("uq_leads_external_id", "external_id", unique=True),
        Index("ix_leads_next_action_on", "next_action_on"),
        # program analytics: leads of a period, a partner's first leads after approval
        Index("ix_leads_created_at", "created_at"),
        Index("ix_leads_partner_id_created_at", "partner_id", "created_at"),
        Index("ix_leads_link_id_created_at", "link_id", "created_at"),
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
    #: How the client pays: ``one_time`` (commission on the deal's value at confirmation)
    #: or ``monthly`` (commission on each paid invoice; rules: "Recurring deals").
    billing: Mapped[str] = mapped_column(String(10), default="one_time",
                                         server_default="one_time")
    #: Where the lead came from: ``portal``, ``api``, ``referral_link``.
    source: Mapped[str] = mapped_column(String(40), default="portal")
    #: Attribution as JSON text (referral code, click time), empty when none.
    attribution: Mapped[str] = mapped_column(Text, default="")
    next_action: Mapped[str] = mapped_column(String(200), default="")
    #: The day the partner means to follow the lead up (their own calendar day); a
    #: reminder goes out at 9:00 in their time zone (rules: "Follow-up reminders").
    next_action_on: Mapped[object | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    #: The id the partner's device gave the lead when it was written (offline queue,
    #: double submits); ``None`` for leads from elsewhere. Unique per partner.
    client_ref: Mapped[str | None] = mapped_column(String(64))
    stage_changed_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    #: The campaign link the lead came through (``/r/<code>/<slug>``); null for the
    #: default link and for leads from elsewhere (rules: "Analytics").
    link_id: Mapped[int | None] = mapped_column(ForeignKey("referral_links.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    #: Last change (the CRM sync lists page by ``(updated_at, id)``).
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    #: When the lead was made or its creation time, partner or link last written: what the
    #: program roll-ups count it by (a stage moved leaves their months alone; rules:
    #: "Program roll-ups"). Set by the ORM (see ``_lead_recounted``).
    counted_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc,
                                               server_default=func.now())
    #: The CRM's id of this row (unique; ``None`` until a CRM sets it).
    external_id: Mapped[str | None] = mapped_column(String(100))
    #: When the partner removed the lead (rules: "Removing a lead"); ``None`` while it is
    #: in their pipeline. Removed leads stay for the record and staff.
    archived_at: Mapped[object | None] = mapped_column(UTCDateTime)

    partner = relationship("Partner")
    deal = relationship("Deal", back_populates="lead", uselist=False)

    def __str__(self) -> str:
        return self.company_name



@event.listens_for(Lead, "before_update")
def _lead_recounted(_mapper, _connection, lead: Lead) -> None:
    """A lead whose creation time, partner or link is written gets ``counted_at`` now."""
    state = inspect(lead)
    if any(state.attrs[name].history.has_changes()
           for name in ("created_at", "partner_id", "link_id")):
        lead.counted_at = now_utc()


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



#: Partner statuses (rules: "Partners"): applied until staff approve (or reject).
PARTNER_STATUSES = ("applied", "active", "suspended", "rejected")



class Tier(db.Model):
    """A tier row staff can edit; seed values are the table in rules: "Tiers"."""

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
    #: Paid invoices of a monthly deal that pay commission, counted from the first
    #: (0: every invoice, for the life of the deal); locked on the deal at confirmation.
    recurring_months: Mapped[int] = mapped_column(default=12, server_default="12")
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
        Index("ix_partners_approved_at", "approved_at"),
        Index("ix_partners_team_leader_id", "team_leader_id"),
        Index("ix_partners_updated_at_id", "updated_at", "id"),
        Index("uq_partners_external_id", "external_id", unique=True),
        # Back-office search (ILIKE '%word%'): trigram GIN on PostgreSQL, plain on SQLite
        # (migration e5f6a7b8c9d0).
        Index("ix_partners_company_name_trgm", "company_name", postgresql_using="gin",
              postgresql_ops={"company_name": "gin_trgm_ops"}),
        Index("ix_partners_referral_code_trgm", "referral_code", postgresql_using="gin",
              postgresql_ops={"referral_code": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    #: applied | active | suspended | rejected
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
    #: Last change of the row (set on every UPDATE, bulk ones too): the CRM sync lists
    #: page by ``(updated_at, id)``.
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    #: The CRM's id of this row (unique; ``None`` until a CRM sets it).
    external_id: Mapped[str | None] = mapped_column(String(100))
    #: When the partner hid the dashboard's onboarding checklist (``None``: shown until
    #: every item is done; ``core.program.onboarding``).
    onboarding_dismissed_at: Mapped[object | None] = mapped_column(UTCDateTime)
    #: beginner | intermediate | advanced (``core.engagement.goals.EXPERIENCE_LEVELS``);
    #: ``None`` until asked (rules: "Goals").
    experience_level: Mapped[str | None] = mapped_column(String(20))
    #: Monthly goal: confirmed won deals a month (``None``: no deals goal).
    goal_deals: Mapped[int | None]
    #: Monthly goal: confirmed revenue a month in cents (``None``: no revenue goal).
    goal_revenue_cents: Mapped[int | None] = mapped_column(BigInteger)

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
    """A staff override of a partner's tier and/or base rate (rules: "Tiers")."""

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



class ReferralClick(db.Model):
    """One click on ``/r/<code>`` (bots and a visitor's repeats within 30 minutes are not
    clicks, ``core.program.referrals.record_click``): no personal data but a keyed hash."""

    __tablename__ = "referral_clicks"
    __table_args__ = (Index("ix_referral_clicks_partner_id", "partner_id"),
                      Index("ix_referral_clicks_partner_visitor", "partner_id", "ip_hash"),
                      Index("ix_referral_clicks_partner_created", "partner_id", "created_at"),
                      Index("ix_referral_clicks_created_at", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    #: The visitor's pseudonym: HMAC of IP and user agent under a key that rotates daily
    #: (``core.program.referrals.visitor_hash``; counts unique visitors, reveals nobody).
    ip_hash: Mapped[str] = mapped_column(String(64))
    #: Where the visitor came from (host only), if the browser said.
    referrer_host: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    #: The lead this visit turned into, if any.
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    #: The campaign link clicked (``/r/<code>/<slug>``); null for the default link.
    link_id: Mapped[int | None] = mapped_column(ForeignKey("referral_links.id"))


class ReferralLink(db.Model):
    """A partner's campaign link ``/r/<code>/<slug>`` (rules: "Links and attribution"):
    a landing page or an allow-listed SISO URL, optional UTM values and a sub-id. Archived,
    never deleted, so a slug is never used again."""

    __tablename__ = "referral_links"
    __table_args__ = (UniqueConstraint("partner_id", "slug", name="uq_referral_links_partner_slug"),
                      Index("ix_referral_links_partner_id", "partner_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    #: ``a-z0-9-``, 2–40 characters, unique per partner for ever.
    slug: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    landing_page_id: Mapped[int | None] = mapped_column(ForeignKey("landing_pages.id"))
    #: An allow-listed SISO URL (``LINK_TARGET_HOSTS``) when there is no landing page.
    target_url: Mapped[str] = mapped_column(String(500), default="")
    utm_source: Mapped[str] = mapped_column(String(100), default="")
    utm_medium: Mapped[str] = mapped_column(String(100), default="")
    utm_campaign: Mapped[str] = mapped_column(String(100), default="")
    sub_id: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    archived_at: Mapped[object | None] = mapped_column(UTCDateTime)

    partner = relationship("Partner")
    landing_page = relationship("LandingPage")


class ReferralClickDay(db.Model):
    """One day's clicks of one link (``link_key`` 0: the default link), rolled up from
    ``referral_clicks`` by the worker (``core.program.analytics.roll_up_clicks``) so the
    analytics read one row per link and day (rules: "Analytics")."""

    __tablename__ = "referral_click_days"
    __table_args__ = (UniqueConstraint("partner_id", "link_key", "day",
                                       name="uq_referral_click_days_partner_link_day"),
                      Index("ix_referral_click_days_day", "day"),
                      Index("ix_referral_click_days_link_key_day", "link_key", "day"))

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    #: The campaign link's id, or 0 for the partner's default link.
    link_key: Mapped[int] = mapped_column(default=0)
    day: Mapped[object] = mapped_column(Date)
    clicks: Mapped[int] = mapped_column(default=0)
    #: Distinct visitor hashes that day (the hash's key changes daily, so the days add up).
    unique_clicks: Mapped[int] = mapped_column(default=0)


class FraudFlag(db.Model):
    """A fraud rule's finding (rules: "Fraud rules"): on a lead (which cannot be confirmed
    while the flag is open, nor ever once it is rejected) or, for click spam, on a link.
    Staff decide: ``dismissed`` or ``rejected`` with a reason the partner sees."""

    __tablename__ = "fraud_flags"
    __table_args__ = (CheckConstraint("status IN ('open', 'dismissed', 'rejected')",
                                      name="status"),
                      Index("ix_fraud_flags_status", "status"),
                      Index("ix_fraud_flags_lead_id", "lead_id"),
                      UniqueConstraint("rule", "lead_id", "dedupe_key",
                                       name="uq_fraud_flags_rule_lead_key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    #: One of ``core.program.fraud.RULES``.
    rule: Mapped[str] = mapped_column(String(30))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("referral_links.id"))
    #: What the rule saw, JSON (no IP addresses: hashes only).
    evidence: Mapped[str] = mapped_column(Text, default="{}")
    #: Makes a flag without a lead unique (click spam: link, visitor hash and hour).
    dedupe_key: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(10), default="open")
    #: Why staff rejected the lead; shown to the partner.
    reason: Mapped[str] = mapped_column(String(500), default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[object | None] = mapped_column(UTCDateTime)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)

    partner = relationship("Partner")
    lead = relationship("Lead")


class TeamInvite(db.Model):
    """An e-mail a team leader asked to send to an address, inviting it to join with
    their recruiting link (rules: "Team invitations"). Kept to enforce the daily limit
    and the one-a-month rule per address."""

    __tablename__ = "team_invites"
    __table_args__ = (Index("ix_team_invites_email_created_at", "email", "created_at"),
                      Index("ix_team_invites_partner_id_created_at", "partner_id",
                            "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    #: The address invited, normalised (lower case).
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    #: When the e-mail went out; ``None`` until then, or for good when the address
    #: already has an account (it is not told, nor is the inviter).
    emailed_at: Mapped[object | None] = mapped_column(UTCDateTime)


class ProgramPartnerMonth(db.Model):
    """One partner's program figures for one finished UTC month, rolled up by the worker
    (``core.program.program_figures.roll_up_program``) so the staff program analytics read
    two rows per partner for a run of months instead of every deal, commission and lead
    (rules: "Program roll-ups"). Amounts in cents."""

    __tablename__ = "program_partner_months"

    month: Mapped[object] = mapped_column(Date, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    #: Won (not cancelled) deals confirmed in the month: their value and their number.
    revenue_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    deals: Mapped[int] = mapped_column(default=0)
    #: Commissions created in the month for the partner (all types), and those of them paid.
    commission_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Leads the partner created in the month (any source).
    leads: Mapped[int] = mapped_column(default=0)
    #: The same four figures summed over every earlier rolled-up month: a row every month
    #: from the partner's first figure on, so a run of months is two rows' difference.
    revenue_before_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    deals_before: Mapped[int] = mapped_column(default=0)
    paid_before_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    leads_before: Mapped[int] = mapped_column(default=0)


class ProgramMonth(db.Model):
    """The program's totals for one finished UTC month (the sum of its
    :class:`ProgramPartnerMonth` rows; rules: "Analytics"). Amounts in cents."""

    __tablename__ = "program_months"

    month: Mapped[object] = mapped_column(Date, primary_key=True)
    revenue_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    deals: Mapped[int] = mapped_column(default=0)
    commission_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class ProgramLinkMonth(db.Model):
    """One campaign link's clicks (from the daily click roll-ups) and leads (by creation) in
    one finished UTC month, and its clicks of all earlier months (a row every month from
    its first click on, so a run of months' clicks is two rows' difference; rolled-up clicks
    never change). Rules: "Program roll-ups"."""

    __tablename__ = "program_link_months"

    month: Mapped[object] = mapped_column(Date, primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("referral_links.id"), primary_key=True)
    clicks: Mapped[int] = mapped_column(default=0)
    leads: Mapped[int] = mapped_column(default=0)
    clicks_before: Mapped[int] = mapped_column(BigInteger, default=0)


class ProgramPageMonth(db.Model):
    """Clicks and leads through the campaign links to one landing page in one finished UTC
    month (a link's landing page never changes; rules: "Program roll-ups")."""

    __tablename__ = "program_page_months"

    month: Mapped[object] = mapped_column(Date, primary_key=True)
    landing_page_id: Mapped[int] = mapped_column(ForeignKey("landing_pages.id"),
                                                 primary_key=True)
    clicks: Mapped[int] = mapped_column(default=0)
    leads: Mapped[int] = mapped_column(default=0)


class ProgramPipelineLead(db.Model):
    """An open lead (not removed, no deal) as the last program roll-up saw it: its stage and
    pipeline value (cents: the won value of a won lead, else the estimate). The open
    pipeline is these rows with the leads changed since put right (rules: "Program
    roll-ups")."""

    __tablename__ = "program_pipeline_leads"

    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    value_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class ProgramPipelineStage(db.Model):
    """The open pipeline of one stage as the last program roll-up saw it: the
    :class:`ProgramPipelineLead` rows of that stage counted and summed (cents), so the
    analytics read a row a stage (rules: "Program roll-ups")."""

    __tablename__ = "program_pipeline_stages"

    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    leads: Mapped[int] = mapped_column(default=0)
    value_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class ProgramCohort(db.Model):
    """Partners approved in one UTC month whose 30-day activation windows have all ended:
    how many, and how many of them created a lead within 30 days of approval (rules:
    "Analytics")."""

    __tablename__ = "program_cohorts"

    month: Mapped[object] = mapped_column(Date, primary_key=True)
    approved: Mapped[int] = mapped_column(default=0)
    activated: Mapped[int] = mapped_column(default=0)


class ProgramCohortRevenue(db.Model):
    """Revenue (won, not cancelled deals, cents) confirmed in one finished UTC ``month`` by
    the partners approved in the ``cohort`` month (rules: "Analytics")."""

    __tablename__ = "program_cohort_revenue"

    cohort: Mapped[object] = mapped_column(Date, primary_key=True)
    month: Mapped[object] = mapped_column(Date, primary_key=True)
    revenue_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class PartnerSighting(db.Model):
    """A partner's sign-up or log-in as the fraud rules see it (rules: "Fraud rules"): the
    client address and the device cookie as keyed hashes (a key used for nothing else;
    never the address itself), kept 30 days."""

    __tablename__ = "partner_sightings"
    __table_args__ = (Index("ix_partner_sightings_partner_id_created_at", "partner_id",
                            "created_at"),
                      Index("ix_partner_sightings_created_at", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    #: ``signup`` or ``login``.
    kind: Mapped[str] = mapped_column(String(10))
    #: HMAC-SHA256 of the client address (64 hex), empty when none was known.
    ip_hash: Mapped[str] = mapped_column(String(64), default="")
    #: HMAC-SHA256 of the ``siso_device`` cookie (64 hex), empty without one (the API).
    device_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)


class MentorOptIn(db.Model):
    """A partner's offer to mentor new partners (rules: "Mentors"): only Performer and
    above who opted in are proposed or paired. ``capacity`` caps their active mentees."""

    __tablename__ = "mentor_opt_ins"
    __table_args__ = (CheckConstraint("capacity BETWEEN 1 AND 10", name="capacity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), unique=True)
    #: Whether they take mentees now (turning it off ends no pairing).
    active: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    capacity: Mapped[int] = mapped_column(default=3, server_default="3")
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)


#: Mentorship statuses: ``active`` until it ends (``ended``).
MENTORSHIP_STATUSES = ("active", "ended")
#: Why a mentorship ended.
MENTORSHIP_END_REASONS = ("expired", "mentor", "mentee", "staff")


class Mentorship(db.Model):
    """A mentor paired with a new partner for a set time (rules: "Mentors").

    ``active_mentee_id`` is the mentee's id while the pairing is active and ``NULL`` once
    it ended: its unique constraint lets a mentee have one active mentor at a time, in
    the database itself, whoever pairs them at once."""

    __tablename__ = "mentorships"
    __table_args__ = (
        CheckConstraint("mentor_id <> mentee_id", name="not_self"),
        CheckConstraint("status IN ('active', 'ended')", name="status"),
        CheckConstraint("ends_at > started_at", name="ends_after_start"),
        Index("ix_mentorships_mentor_id_status", "mentor_id", "status"),
        Index("ix_mentorships_mentee_id", "mentee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    mentee_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    active_mentee_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"),
                                                         unique=True)
    status: Mapped[str] = mapped_column(String(10), default="active")
    #: The DM channel opened between them.
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    #: Staff member who paired them; ``None`` when the pairing rule did.
    paired_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    #: When the worker ends it (UTC).
    ends_at: Mapped[object] = mapped_column(UTCDateTime)
    ended_at: Mapped[object | None] = mapped_column(UTCDateTime)
    #: expired | mentor | mentee | staff (``MENTORSHIP_END_REASONS``).
    end_reason: Mapped[str | None] = mapped_column(String(10))
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    mentor = relationship("Partner", foreign_keys=[mentor_id])
    mentee = relationship("Partner", foreign_keys=[mentee_id])
