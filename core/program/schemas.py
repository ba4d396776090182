"""The partner program's API shapes: profile, tiers and tier status, team, leads and
their activities, and the staff requests that change a partner (team, tier override).

Limits are the rules' own (``core.program.profile``, ``core.program.leads``); money is
integer cents (at most $1,000,000 a deal), rates basis points, times ISO 8601 UTC.
"""

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict

from core.base.schemas import (
    MAX_ID,
    MISSING,
    Answer,
    ClosedRequest,
    Field,
    Page,
    Query,
    QueryInt,
    Request,
    Says,
    Shape,
    Time,
)
from core.money.cents import MAX_DEAL_CENTS
from core.program.leads import LEAD_TEXT_FIELDS
from core.program.models import LEAD_STAGES
from core.program.models import Lead as LeadRow
from core.program.profile import TEXT_LIMITS

#: The stages of the pipeline, in order.
Stage = Literal[LEAD_STAGES]
#: Deal value in cents: more than zero, at most $1,000,000.
DealCents = Annotated[int, Field(gt=0, le=MAX_DEAL_CENTS)]
_STAGE_SAYS = Says(f"status must be one of: {', '.join(LEAD_STAGES)}.")


# --- profile ---------------------------------------------------------------------------

class Profile(Answer):
    """A partner's profile: who they are, their standing (effective tier and base rate,
    with any staff override) and contact preferences."""

    id: int
    name: str
    email: str
    status: Literal["applied", "active", "suspended", "rejected"]
    company_name: str
    industry: str
    phone: str
    referral_code: str
    recruiter_id: int | None
    team_leader_id: int | None
    current_tier: str = Field(description="Key of the effective tier")
    commission_rate_bps: int = Field(description="Effective base rate, basis points")
    won_deals_count: int
    agreement_version: str
    timezone: str = Field(description="IANA name, e.g. Europe/London")
    notify_email: bool
    notify_portal: bool
    email_verified: bool
    created_at: Time
    external_id: str | None = Field(None, description="The CRM's id of the partner")
    updated_at: Time | None = None

    @classmethod
    def of(cls, p) -> "Profile":
        """The profile of partner ``p`` (a ``Partner`` row)."""
        from core.program.tiers import standing

        st = standing(p)
        return cls(id=p.id, name=p.user.name, email=p.user.email, status=p.status,
                   company_name=p.company_name, industry=p.industry, phone=p.phone,
                   referral_code=p.referral_code, recruiter_id=p.recruiter_id,
                   team_leader_id=p.team_leader_id, current_tier=st.tier.key,
                   commission_rate_bps=st.base_rate_bps, won_deals_count=p.won_deals_count,
                   agreement_version=p.agreement_version, timezone=p.timezone or "UTC",
                   notify_email=bool(p.notify_email), notify_portal=bool(p.notify_portal),
                   email_verified=p.user.email_verified_at is not None,
                   created_at=p.created_at, external_id=p.external_id,
                   updated_at=p.updated_at)


def _text(name: str, **kw):
    return Field(MISSING, max_length=TEXT_LIMITS[name], **kw)


class ProfileChange(ClosedRequest):
    """The partner's own editable fields; fields left out stay as they are. Tier, rates,
    status, ids, referral code and e-mail cannot be changed here (422)."""

    extra_refusal = "These fields cannot be changed here: {fields}."

    name: Annotated[str, Says(size="name must be 1 to 120 characters.")] = _text(
        "name", min_length=1)
    company_name: str = _text("company_name")
    phone: Annotated[str, Says(pattern="phone may hold digits, spaces and + ( ) . - only.")] \
        = _text("phone", pattern=r"^[0-9+()./\- ]*$")
    industry: str = _text("industry")
    timezone: str = _text("timezone", description="IANA name, e.g. Europe/London")
    notify_email: bool = MISSING
    notify_portal: bool = MISSING


# --- tiers ------------------------------------------------------------------------------

def _lines(value):
    return [f for f in value.splitlines() if f.strip()] if isinstance(value, str) else value


class Tier(Shape):
    """A tier: deals needed, its rates (basis points), holding period (days), features."""

    key: str
    name: str
    min_deals: int
    base_rate_bps: int
    referral_rate_bps: int
    team_override_bps: int
    holding_days: int
    features: Annotated[list[str], BeforeValidator(_lines)]


class Requirement(Shape):
    """One line of the checklist to the next tier (``target`` null: nothing to reach)."""

    name: str
    done: int
    target: int | None
    met: bool


class TierStatus(Answer):
    """Tier progression: current and next tier, deals done and needed, the checklist,
    the effective base rate and why it applies."""

    current_tier: Tier
    next_tier: Tier | None
    deals_done: int
    deals_needed: int
    progress_percent: int = Field(ge=0, le=100)
    requirements: list[Requirement]
    base_rate_bps: int
    effective_reason: str
    days_in_tier: int


class TierOverrideChange(Request):
    """A staff override of a partner's tier and/or base rate; both null clears it. The
    previous override is revoked, never edited."""

    tier: str | None = Field(None, description="A tier key, or null")
    base_rate_bps: int | None = Field(None, ge=0, le=10_000)
    reason: str = Field(min_length=1, max_length=500)
    expires_at: Annotated[str | None, AfterValidator(lambda v: _aware_time(v))] = Field(
        None, json_schema_extra={"format": "date-time"},
        description="ISO 8601 time with a zone, in the future; null: no end")


def _aware_time(value):
    """An ISO 8601 time with its zone (``ValueError`` otherwise), or ``None``."""
    from datetime import datetime

    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError("expires_at must be an ISO 8601 time with a zone.")
    return moment


class OverrideResult(Answer):
    """The partner after an override, their tier status, and the override's id (null
    when cleared)."""

    partner: Profile
    tier_status: TierStatus
    override_id: int | None


# --- team -------------------------------------------------------------------------------

class ChatEntry(Shape):
    """Where the partner's team talks."""

    slug: str
    name: str
    kind: Literal["public", "team"]


class TeamUnlock(Shape):
    """What leading a team needs: the tier and the deals still missing."""

    tier: str
    min_deals: int
    deals_needed: int


class TeamLeader(Shape):
    """The partner's own team leader."""

    name: str


class TeamMember(Shape):
    """A member of the partner's team, their deals and the override earned on them."""

    partner_id: int
    name: str
    tier: str
    status: str
    deals: int
    override_cents: int


class Team(Answer):
    """The team page: chat entry point; for Performer+ leaders their members, deals and
    the override earned (cents)."""

    chat: ChatEntry
    leads_team: bool
    unlock: TeamUnlock | None
    leader: TeamLeader | None
    override_rate_bps: int
    members: list[TeamMember]
    override_total_cents: int
    referral_code: str


class TeamInvitation(ClosedRequest):
    """Addresses to invite to your team (1 to 20; at most 20 a day)."""

    emails: list[Annotated[str, Field(max_length=254)]] = Field(min_length=1, max_length=20)


class InviteResult(Shape):
    """What happened to one address: ``invited`` (the e-mail is on its way) or
    ``invited_recently`` (someone invited it in the last 30 days: not sent again)."""

    email: str
    status: Literal["invited", "invited_recently"]


class Invited(Answer):
    """Each address, in the order sent (duplicates once), and the recruiting link the
    e-mails carry."""

    items: list[InviteResult]
    recruiting_url: str


class PerformanceQuery(Query):
    """By calendar month, quarter or year (UTC), the last ``count`` of them."""

    period: Literal["month", "quarter", "year"] = "month"
    count: QueryInt = Field(6, ge=1, le=24)


class MemberPerformance(Shape):
    """One member in one period: deals confirmed (not cancelled), their value, the
    member's own commission and your override from them (cents)."""

    partner_id: int
    name: str
    deals: int
    revenue_cents: int
    commission_cents: int
    override_cents: int


class PerformanceTotals(Shape):
    """The team's sums in one period."""

    deals: int
    revenue_cents: int
    commission_cents: int
    override_cents: int


class PeriodPerformance(Shape):
    """One period: ``label`` (2026-11, 2026-Q4, 2026), its start and end (the current
    one ends now)."""

    label: str
    starts_at: Time
    ends_at: Time
    members: list[MemberPerformance]
    totals: PerformanceTotals


class TeamPerformance(Answer):
    """Your team's results by period, newest first."""

    period: Literal["month", "quarter", "year"]
    periods: list[PeriodPerformance]


class TeamChange(Request):
    """A partner's team leader and recruiter (null clears); both are sent; loops are
    refused."""

    team_leader_id: Annotated[int | None, Says(
        missing="Send both team_leader_id and recruiter_id (null to clear).")]
    recruiter_id: Annotated[int | None, Says(
        missing="Send both team_leader_id and recruiter_id (null to clear).")]


# --- leads ------------------------------------------------------------------------------

class Lead(Answer):
    """A lead in the partner's pipeline; ``deal_value_cents`` is the value the partner
    reported when marking it won, ``deal_id`` the confirmed deal."""

    id: int
    partner_id: int
    company_name: str
    contact_name: str
    contact_email: str
    contact_phone: str
    project_type: str
    estimated_value_cents: int
    status: Stage
    deal_value_cents: int | None
    source: str
    next_action: str
    next_action_on: str | None = Field(None, description="Follow-up day, YYYY-MM-DD in the "
                                       "partner's time zone (a reminder comes at 9:00)")
    deal_id: int | None
    created_at: Time
    updated_at: Time
    external_id: str | None = Field(None, description="The CRM's id of the lead")

    @classmethod
    def of(cls, lead: LeadRow) -> "Lead":
        """The shape of a ``Lead`` row."""
        return cls(id=lead.id, partner_id=lead.partner_id, company_name=lead.company_name,
                   contact_name=lead.contact_name, contact_email=lead.contact_email,
                   contact_phone=lead.contact_phone, project_type=lead.project_type,
                   estimated_value_cents=lead.estimated_value_cents, status=lead.status,
                   deal_value_cents=lead.won_value_cents, source=lead.source,
                   next_action=lead.next_action,
                   next_action_on=(lead.next_action_on.isoformat()
                                   if lead.next_action_on else None),
                   deal_id=lead.deal.id if lead.deal else None,
                   created_at=lead.created_at, updated_at=lead.updated_at,
                   external_id=lead.external_id)


class RemovedLead(Answer):
    """A lead taken out of the pipeline: kept on record, gone from lists and counts."""

    id: int
    archived_at: Time


class LeadPage(Page):
    """The partner's leads, newest first; ``next_cursor`` is the ``cursor`` of the next page."""

    items: list[Lead]


class LeadQuery(Query):
    """Filter and page the partner's leads."""

    status: Stage | None = None
    cursor: QueryInt = Field(MISSING, ge=1, le=MAX_ID,
                                    description="The next_cursor of the previous page")
    limit: QueryInt = Field(50, ge=1, le=100)


def _lead_text(name: str, **kw):
    return Field(MISSING, max_length=LEAD_TEXT_FIELDS[name], **kw)


class LeadFields(Request):
    """The fields a partner writes on a lead (text trimmed; e-mail checked)."""

    contact_name: str = _lead_text("contact_name")
    contact_email: str = _lead_text("contact_email")
    contact_phone: str = _lead_text("contact_phone")
    project_type: str = _lead_text("project_type")
    next_action: str = _lead_text("next_action")
    notes: str = _lead_text("notes")
    estimated_value_cents: int = Field(MISSING, ge=0, le=MAX_DEAL_CENTS)


class NewLead(LeadFields):
    """A new lead; its owner, stage and source are set by the server (other keys are
    ignored)."""

    company_name: str = Field(max_length=LEAD_TEXT_FIELDS["company_name"])


class LeadChange(LeadFields):
    """Edit a lead's details; the stage changes through ``/move``, and owner, value and
    ids never (422)."""

    model_config = ClosedRequest.model_config
    extra_refusal = "Not editable here: {fields} (use /move to change the stage)."

    next_action_on: str = Field(MISSING, max_length=10,
                                description="Follow-up day YYYY-MM-DD (today or later in "
                                            "your time zone, at most a year ahead; empty "
                                            "clears it); a reminder comes at 9:00 that day")

    company_name: str = _lead_text("company_name")


class LeadMove(Request):
    """Move a lead to a stage; ``won`` needs ``deal_value_cents``, which no other stage
    takes."""

    status: Annotated[Stage, _STAGE_SAYS]
    deal_value_cents: Annotated[DealCents, Says(
        null="deal_value_cents is required to mark a lead won: send whole cents.")] = MISSING


class NewActivity(Request):
    """Log a call, e-mail, meeting or note on a lead."""

    activity_type: Annotated[Literal["call", "email", "meeting", "note"], Says(
        "activity_type must be call, email, meeting or note.")]
    notes: str = Field("", max_length=5000)


class Activity(Answer):
    """An activity logged on a lead."""

    id: int
    lead_id: int
    activity_type: str
    notes: str
    created_at: Time


class NewLink(Request):
    """A campaign link (rules: "Links and attribution"): a landing page or an allow-listed
    SISO address (not both; neither is the default landing page), optional UTM values and
    sub-id. Text with control characters or ``< > " ' ` `` is refused (422)."""

    name: str = Field(min_length=1, max_length=80)
    slug: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$",
                      description="Short path after /r/<code>/: a-z, 0-9 and inner hyphens")
    landing_page_id: int | None = None
    target_url: str = Field("", max_length=500)
    utm_source: str = Field("", max_length=100)
    utm_medium: str = Field("", max_length=100)
    utm_campaign: str = Field("", max_length=100)
    sub_id: str = Field("", max_length=100)


class Link(Answer):
    """A campaign link; ``url`` is its public address."""

    id: int
    name: str
    slug: str
    url: str
    landing_page_id: int | None
    target_url: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    sub_id: str
    created_at: Time
    archived_at: Time | None


class LinkList(Answer):
    """The partner's live campaign links, newest first."""

    items: list[Link]


_DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


#: The analytics' CSV answers (OpenAPI content).
ANALYTICS_CSV = {"text/csv": {"type": "string"}}


class AnalyticsQuery(Query):
    """The range (UTC days, both included; at most 2 years), the period and one link."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    from_: str = Field(MISSING, alias="from", pattern=_DAY,
                       description="First day, YYYY-MM-DD (default: 29 days before to)")
    to: str = Field(MISSING, pattern=_DAY, description="Last day, YYYY-MM-DD (default: today)")
    group: Literal["day", "week", "month"] = "day"
    link: QueryInt = Field(MISSING, ge=1, le=MAX_ID, description="One of your links' ids")


class FunnelCounts(Shape):
    """The funnel's counts: money in cents."""

    clicks: int
    unique_clicks: int
    leads: int
    won: int
    revenue_cents: int
    commission_cents: int


class FunnelRates(Shape):
    """Conversion at each step in basis points (2500 = 25%); null when the step before
    is zero."""

    lead_per_click_bps: int | None
    won_per_lead_bps: int | None
    won_per_click_bps: int | None


class AnalyticsPeriod(FunnelCounts, FunnelRates):
    """One period: ``period`` is its first day (a Monday for weeks, the 1st for months)."""

    period: date


class AnalyticsLink(FunnelCounts, FunnelRates):
    """One link's funnel over the range; ``link_id`` null is the default link."""

    link_id: int | None
    name: str
    slug: str


class PartnerAnalytics(Answer):
    """Your links' funnel: totals, rates, the series by period and the links."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: date = Field(alias="from")
    to: date
    group: Literal["day", "week", "month"]
    totals: FunnelCounts
    rates: FunnelRates
    series: list[AnalyticsPeriod]
    links: list[AnalyticsLink]


class FraudFlagOut(Answer):
    """A fraud rule's finding; ``evidence`` is what the rule saw."""

    id: int
    rule: str
    partner_id: int
    lead_id: int | None
    link_id: int | None
    evidence: dict
    status: Literal["open", "dismissed", "rejected"]
    reason: str
    created_at: Time
    decided_at: Time | None

    @classmethod
    def of(cls, flag) -> "FraudFlagOut":
        """The answer for a ``FraudFlag`` row."""
        import json

        return cls(id=flag.id, rule=flag.rule, partner_id=flag.partner_id,
                   lead_id=flag.lead_id, link_id=flag.link_id,
                   evidence=json.loads(flag.evidence or "{}"), status=flag.status,
                   reason=flag.reason, created_at=flag.created_at, decided_at=flag.decided_at)


class FraudFlagPage(Page):
    """Open flags, oldest first; ``next_cursor`` is the ``after`` of the next page."""

    items: list[FraudFlagOut]


class FraudFlagQuery(Query):
    """Page through the open flags."""

    after: QueryInt = Field(MISSING, ge=1, le=MAX_ID, description="The next_cursor of the previous page")
    limit: QueryInt = Field(100, ge=1, le=200)


class FraudDecision(Request):
    """Dismiss a flag, or reject its lead with a reason the partner sees."""

    decision: Literal["dismiss", "reject"]
    reason: str = Field("", max_length=500)


class ProgramQuery(Query):
    """The range (UTC days, both included; at most 2 years; default the last 12 months)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    from_: str = Field(MISSING, alias="from", pattern=_DAY, description="First day, YYYY-MM-DD")
    to: str = Field(MISSING, pattern=_DAY, description="Last day, YYYY-MM-DD")


class ProgramMonth(Shape):
    """Revenue (won deals confirmed) and commission (created) in one month."""

    month: date
    revenue_cents: int
    commission_cents: int


class ProgramPartners(Shape):
    """Approved partners, partners with a lead in the range, and those with a lead within
    30 days of approval (``activation_rate_bps`` of the approved)."""

    approved: int
    active: int
    activated: int
    activation_rate_bps: int | None


class ProgramTopPartner(Shape):
    """A partner by revenue; ROI = revenue ÷ commission paid (bps; null when none paid)."""

    partner_id: int
    name: str
    deals: int
    revenue_cents: int
    commission_paid_cents: int
    roi_bps: int | None


class ProgramGroup(Shape):
    """Active partners and revenue of one tier or industry."""

    name: str
    partners: int
    revenue_cents: int


class ProgramLink(Shape):
    """A campaign link by clicks in the range."""

    link_id: int
    partner_id: int
    name: str
    clicks: int
    leads: int


class ProgramLandingPage(Shape):
    """A landing page's clicks and leads through the links pointing at it."""

    landing_page_id: int
    title: str
    clicks: int
    leads: int


class ProgramCohort(Shape):
    """Partners approved in one month: how many, how many activated, their revenue."""

    month: date
    approved: int
    activated: int
    revenue_cents: int
    activation_rate_bps: int | None


class ProgramStage(Shape):
    """Open pipeline in one stage now (leads not removed nor confirmed)."""

    stage: str
    leads: int
    value_cents: int


class ProgramAnalytics(Answer):
    """The program's figures between from and to."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: date = Field(alias="from")
    to: date
    months: list[ProgramMonth]
    partners: ProgramPartners
    revenue_cents: int
    commission_cents: int
    commission_paid_cents: int
    revenue_per_partner_cents: int
    roi_bps: int | None
    top_partners: list[ProgramTopPartner]
    tiers: list[ProgramGroup]
    industries: list[ProgramGroup]
    links: list[ProgramLink]
    landing_pages: list[ProgramLandingPage]
    cohorts: list[ProgramCohort]
    pipeline: list[ProgramStage]
