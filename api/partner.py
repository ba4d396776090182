"""The partner's own API: profile, tier status, achievements, leads, commissions,
earnings, payout requests and statements."""

from flask import g
from sqlalchemy import select

from api import api
from api.common import bearer, path_rows
from api.spec import operation
from core.base.extensions import db
from core.community.schemas import Achievement, AchievementList
from core.engagement.schemas import Engagement
from core.money import payouts
from core.money.earnings import earnings_summary
from core.money.models import Statement as StatementRow
from core.money.schemas import (
    Commission,
    CommissionPage,
    CommissionQuery,
    EarningsChart,
    EarningsSummary,
    Payout,
    Statement,
    StatementPage,
)
from core.program import leads
from core.program.schemas import (
    Activity,
    Lead,
    LeadChange,
    LeadMove,
    LeadPage,
    LeadQuery,
    NewActivity,
    NewLead,
    Profile,
    ProfileChange,
    RemovedLead,
    TierStatus,
)
from core.program.tiers import tier_status


def _own_lead(lead_id: int):
    return leads.get_partner_lead(g.partner, lead_id)


@api.get("/partner/profile")
@bearer(active=False)
@operation(200, Profile)
def api_profile():
    """The partner's profile"""
    return Profile.of(g.partner)


@api.put("/partner/profile")
@bearer(active=False)
@operation(200, Profile)
def api_profile_update(json: ProfileChange):
    """Update your own profile

    Name, company, phone, industry, time zone and contact preferences; fields left out
    stay as they are. Tier, rates, status and ids are refused (422) and nothing changes."""
    from core.program.profile import update_profile

    update_profile(g.partner, json.sent(), g.user.id)
    db.session.commit()
    return Profile.of(g.partner)


@api.get("/partner/tier-status")
@bearer(active=False)
@operation(200, TierStatus)
def api_tier_status():
    """Tier progression"""
    return TierStatus.model_validate(tier_status(g.partner))


@api.get("/partner/achievements")
@bearer(active=False)
@operation(200, AchievementList)
def api_achievements():
    """Achievement badges

    Every badge, earned or not, with its condition and your progress
    (core.community.achievements)."""
    from core.community.achievements import achievements_for

    items = [Achievement.model_validate(a) for a in achievements_for(g.partner)]
    return AchievementList(items=items, earned=sum(a.earned for a in items))


@api.get("/partner/engagement")
@bearer(active=False)
@operation(200, Engagement)
def api_engagement():
    """XP, level, streak, goal and badges

    Your XP and level, the weekly streak, this month's goal progress with the pace
    needed and last month's result, and your badges (core.engagement.summary)."""
    from core.engagement.summary import engagement_for

    return Engagement.model_validate(engagement_for(g.partner))


@api.get("/partner/leads")
@bearer()
@operation(200, LeadPage)
def api_leads(query: LeadQuery):
    """Your leads, newest first"""
    limit = query.limit
    rows = leads.partner_leads(g.partner, query.status, query.sent().get("cursor"),
                              limit + 1)
    nxt = rows[limit - 1].id if len(rows) > limit else None
    return LeadPage(items=[Lead.of(x) for x in rows[:limit]], next_cursor=nxt)


@api.post("/partner/leads")
@bearer()
@operation(201, Lead)
def api_lead_create(json: NewLead):
    """Log a lead

    Owner, stage and source are set by the server; other keys are ignored."""
    lead = leads.create_lead(g.partner, json.sent(), g.user.id, source="api")
    db.session.commit()
    return Lead.of(lead), 201


@api.get("/partner/leads/<int:lead_id>")
@bearer()
@path_rows(lead=_own_lead)
@operation(200, Lead)
def api_lead(lead):
    """One of your leads"""
    return Lead.of(lead)


@api.put("/partner/leads/<int:lead_id>")
@bearer()
@path_rows(lead=_own_lead)
@operation(200, Lead)
def api_lead_update(lead, json: LeadChange):
    """Edit a lead's details

    The stage changes through /move; owner, value and ids are refused (422).
    next_action_on sets the follow-up day (rules: "Follow-up reminders")."""
    from core.alerts.reminders import set_follow_up

    data = json.sent()
    day = data.pop("next_action_on", None)
    leads.update_lead(lead, data)
    if "next_action_on" in json.sent():
        set_follow_up(lead, None, day)
    db.session.commit()
    return Lead.of(lead)


@api.delete("/partner/leads/<int:lead_id>")
@bearer()
@path_rows(lead=_own_lead)
@operation(200, RemovedLead, errors=(409,))
def api_lead_delete(lead):
    """Remove a lead from your pipeline

    It is archived, not erased: gone from your lists and counts, kept on record for staff
    (audited). A won lead, or one whose deal is confirmed, answers 409: move a lost sale
    to lost first."""
    leads.archive_lead(lead, g.user.id)
    db.session.commit()
    return RemovedLead(id=lead.id, archived_at=lead.archived_at)


@api.post("/partner/leads/<int:lead_id>/move")
@bearer()
@path_rows(lead=_own_lead)
@operation(200, Lead, errors=(409,))
def api_lead_move(lead, json: LeadMove):
    """Move a lead to another stage

    won needs deal_value_cents (whole cents, more than zero, at most $1,000,000); no other
    stage takes it. A confirmed deal's lead no longer moves."""
    leads.move_lead(lead, json.status, g.user.id, json.sent().get("deal_value_cents"))
    db.session.commit()
    return Lead.of(lead)


@api.post("/partner/leads/<int:lead_id>/activity")
@bearer()
@path_rows(lead=_own_lead)
@operation(201, Activity)
def api_lead_activity(lead, json: NewActivity):
    """Log a call, e-mail, meeting or note on a lead"""
    row = leads.add_activity(lead, json.activity_type, json.notes, g.user.id)
    db.session.commit()
    return Activity.model_validate(row), 201


@api.get("/partner/commissions")
@bearer(active=False)
@operation(200, CommissionPage)
def api_commissions(query: CommissionQuery):
    """Your commissions, newest first"""
    from core.money.earnings import partner_commissions

    limit = query.limit
    rows = partner_commissions(g.partner.id, query.status, query.type,
                               query.sent().get("cursor"),
                               limit + 1)
    nxt = rows[limit - 1].id if len(rows) > limit else None
    return CommissionPage(items=[Commission.model_validate(c) for c in rows[:limit]],
                          next_cursor=nxt)


@api.get("/partner/earnings/summary")
@bearer(active=False)
@operation(200, EarningsSummary)
def api_earnings_summary():
    """Your earnings overview (cents)"""
    return EarningsSummary.model_validate(earnings_summary(g.partner.id))


@api.get("/partner/earnings/chart")
@bearer(active=False)
@operation(200, EarningsChart)
def api_earnings_chart():
    """Earned per month, the last 12 months, oldest first"""
    from core.money.earnings import monthly_earned

    return EarningsChart(items=monthly_earned(g.partner.id))


@api.post("/partner/payout/request")
@bearer()
@operation(201, Payout, errors=(409, 422))
def api_payout_request():
    """Request a payout of your approved balance

    At least the payout minimum (422 below_minimum); 403 email_unverified until your
    e-mail address is verified; 409 while a payout is already open."""
    payout = payouts.request_payout(g.partner, g.user)
    db.session.commit()
    return Payout.model_validate(payout), 201


@api.get("/partner/statements")
@bearer(active=False)
@operation(200, StatementPage)
def api_statements():
    """Your statements, newest first (at most 100)"""
    rows = db.session.scalars(select(StatementRow).where(StatementRow.partner_id == g.partner.id)
                              .order_by(StatementRow.id.desc()).limit(100))
    return StatementPage(items=[Statement.of(s) for s in rows])
