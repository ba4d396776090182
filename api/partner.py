"""The partner's own API: profile, tier status, achievements, team, leads, commissions,
earnings, payout requests and statements."""

from flask import g, jsonify, request
from sqlalchemy import select

from api import api
from api.common import _int_arg, bearer, json_body, lead_json, profile_json
from core.base.errors import ValidationError
from core.base.extensions import db
from core.money import payouts
from core.money.commissions import commission_json
from core.money.earnings import earnings_summary
from core.money.models import Statement
from core.program import leads
from core.program.models import LEAD_STAGES
from core.program.tiers import tier_status


@api.get("/partner/profile")
@bearer(active=False)
def api_profile():
    return jsonify(profile_json(g.partner))


@api.put("/partner/profile")
@bearer(active=False)
def api_profile_update():
    """Update the partner's own profile (``core.program.profile.PROFILE_FIELDS``); any other key,
    such as tier, rate, status or partner_id, is refused with 422 and nothing changes."""
    from core.program.profile import update_profile

    update_profile(g.partner, json_body(), g.user.id)
    db.session.commit()
    return jsonify(profile_json(g.partner))


@api.get("/partner/tier-status")
@bearer(active=False)
def api_tier_status():
    return jsonify(tier_status(g.partner))


@api.get("/partner/achievements")
@bearer(active=False)
def api_achievements():
    """Every badge, earned or not, with its condition and the partner's progress
    (``core.community.achievements.achievements_for``)."""
    from core.community.achievements import achievement_json, achievements_for

    items = [achievement_json(a) for a in achievements_for(g.partner)]
    return jsonify(items=items, earned=sum(a["earned"] for a in items), next_cursor=None)


@api.get("/partner/team")
@bearer()
def api_team():
    """Chat entry point, and for Performer+ leaders their members and override earned."""
    from core.program.team import team_overview

    team = team_overview(g.partner)
    db.session.commit()  # the leader's team channel, created on first visit
    return jsonify(team)


@api.get("/partner/leads")
@bearer()
def api_leads():
    """``?status=<stage>&cursor=<id>&limit=1..100``."""
    status = request.args.get("status")
    if status and status not in LEAD_STAGES:
        raise ValidationError(f"status must be one of: {', '.join(LEAD_STAGES)}.")
    limit = _int_arg("limit", 50, 1, 100)
    rows = leads.partner_leads(g.partner, status, _int_arg("cursor"), limit + 1)
    nxt = rows[limit - 1].id if len(rows) > limit else None
    return jsonify(items=[lead_json(x) for x in rows[:limit]], next_cursor=nxt)


@api.post("/partner/leads")
@bearer()
def api_lead_create():
    lead = leads.create_lead(g.partner, json_body(), g.user.id, source="api")
    db.session.commit()
    return jsonify(lead_json(lead)), 201


@api.get("/partner/leads/<int:lead_id>")
@bearer()
def api_lead(lead_id: int):
    return jsonify(lead_json(leads.get_partner_lead(g.partner, lead_id)))


@api.put("/partner/leads/<int:lead_id>")
@bearer()
def api_lead_update(lead_id: int):
    lead = leads.get_partner_lead(g.partner, lead_id)
    data = json_body()
    refused = set(data) - set(leads.LEAD_TEXT_FIELDS) - {"estimated_value_cents"}
    if refused:
        raise ValidationError(f"Not editable here: {', '.join(sorted(refused))} "
                              "(use /move to change the stage).")
    leads.update_lead(lead, data)
    db.session.commit()
    return jsonify(lead_json(lead))


@api.post("/partner/leads/<int:lead_id>/move")
@bearer()
def api_lead_move(lead_id: int):
    """``{status, deal_value_cents}`` (value required for ``won``)."""
    lead = leads.get_partner_lead(g.partner, lead_id)
    data = json_body()
    leads.move_lead(lead, data.get("status"), g.user.id, data.get("deal_value_cents"))
    db.session.commit()
    return jsonify(lead_json(lead))


@api.post("/partner/leads/<int:lead_id>/activity")
@bearer()
def api_lead_activity(lead_id: int):
    lead = leads.get_partner_lead(g.partner, lead_id)
    data = json_body()
    row = leads.add_activity(lead, data.get("activity_type"), data.get("notes", ""), g.user.id)
    db.session.commit()
    return jsonify(id=row.id, lead_id=lead.id, activity_type=row.activity_type,
                   notes=row.notes, created_at=row.created_at.isoformat()), 201


@api.get("/partner/commissions")
@bearer(active=False)
def api_commissions():
    """``?status=&type=&cursor=&limit=``, newest first."""
    from core.money.earnings import partner_commissions

    limit = _int_arg("limit", 50, 1, 200)
    rows = partner_commissions(g.partner.id, request.args.get("status"),
                               request.args.get("type"), _int_arg("cursor"), limit + 1)
    nxt = rows[limit - 1].id if len(rows) > limit else None
    return jsonify(items=[commission_json(c) for c in rows[:limit]], next_cursor=nxt)


@api.get("/partner/earnings/summary")
@bearer(active=False)
def api_earnings_summary():
    return jsonify(earnings_summary(g.partner.id))


@api.get("/partner/earnings/chart")
@bearer(active=False)
def api_earnings_chart():
    """Earnings of the last 12 months, oldest first (the earnings page's chart)."""
    from core.money.earnings import monthly_earned

    return jsonify(items=monthly_earned(g.partner.id), next_cursor=None)


@api.post("/partner/payout/request")
@bearer()
def api_payout_request():
    """Request a payout of the approved balance; 403 ``email_unverified`` until the
    partner's e-mail address is verified."""
    payout = payouts.request_payout(g.partner, g.user)
    db.session.commit()
    return jsonify(payouts.payout_json(payout)), 201


@api.get("/partner/statements")
@bearer(active=False)
def api_statements():
    rows = db.session.scalars(select(Statement).where(Statement.partner_id == g.partner.id)
                              .order_by(Statement.id.desc()).limit(100))
    return jsonify(items=[statement_json(s) for s in rows], next_cursor=None)


def statement_json(s: Statement) -> dict:
    return {"id": s.id, "partner_id": s.partner_id, "period": s.period, "version": s.version,
            "status": s.status, "opening_cents": s.opening_cents,
            "earned_cents": s.earned_cents, "reversed_cents": s.reversed_cents,
            "paid_cents": s.paid_cents, "closing_cents": s.closing_cents,
            "download_url": f"/partner/statements/{s.id}/download" if s.status == "ready" else None}
