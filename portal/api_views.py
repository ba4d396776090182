"""JSON API under /api (PRD "API Endpoints"). Bearer tokens only; errors as
``{"error": {"code", "message"}}``; lists as ``{"items": [...], "next_cursor": ...}``."""

import functools
import json

from flask import g, jsonify, request
from sqlalchemy import select

from core.accounts import twofactor
from core.accounts import users as accounts
from core.base.audit import audit_key_use
from core.base.errors import DomainError, Forbidden, ValidationError
from core.base.extensions import db, limiter
from core.community import chat
from core.money import commissions, payouts, statements
from core.money.commissions import commission_json
from core.money.earnings import earnings_summary
from core.money.models import Statement
from core.program import leads, partners
from core.program.models import LEAD_STAGES, Lead
from core.program.tiers import standing, tier_status
from portal import api
from web.throttle import login_throttle, record_failure


# App-wide handlers limited to /api paths: a blueprint's own 404/405 handlers never see
# routing errors (no rule matched, so Flask does not know the blueprint).
@api.app_errorhandler(404)
def api_not_found(exc):
    if not request.path.startswith("/api/"):
        return exc
    return jsonify(error={"code": "not_found", "message": "No such endpoint."}), 404


@api.app_errorhandler(405)
def api_bad_method(exc):
    if not request.path.startswith("/api/"):
        return exc
    return jsonify(error={"code": "method_not_allowed",
                          "message": "This endpoint does not accept that method."}), 405


@api.after_request
def tell_of_unqueued_jobs(resp):
    """A successful answer whose job could not be queued (Redis not answering) says so:
    ``"jobs_queued": false`` and a ``"warning"`` sentence in the JSON body, and a
    ``Warning`` header (``199 - "..."``), as the back office tells staff (rules: "Jobs
    and retries")."""
    from core.base.outbox import NOT_QUEUED_WARNING, jobs_not_queued

    if resp.status_code < 300 and resp.is_json and jobs_not_queued():
        body = resp.get_json()
        if isinstance(body, dict):
            body.update(jobs_queued=False, warning=NOT_QUEUED_WARNING)
            resp.set_data(json.dumps(body))
            resp.headers["Warning"] = f'199 - "{NOT_QUEUED_WARNING}"'
    return resp


def json_body() -> dict:
    """The request's JSON object; anything else is a 400 with a readable message."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise DomainError("Send a JSON object with Content-Type: application/json.",
                          code="bad_json", status=400)
    return data


def bearer(kind: str = "partner", active: bool = True):
    """Authenticate ``Authorization: Bearer``; ``kind`` is ``partner`` or ``staff``.

    Session cookies are ignored here, so the API needs no CSRF token.
    """

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            user = accounts.user_for_token(header[7:].strip()) if header.startswith("Bearer ") \
                else None
            if user is None:
                return jsonify(error={"code": "unauthorized", "message":
                                      "Log in first: send Authorization: Bearer <token>."}), 401
            if user.api_key is not None:  # a staff API key: every use is audited
                g.api_key_id = user.api_key.id
                audit_key_use(user.api_key.id, user.id, user.api_key.name, request.method,
                              request.path)
            if kind == "partner":
                if user.partner is None:
                    raise Forbidden("This endpoint is for partners.")
                g.partner = user.partner
                if active and g.partner.status != "active":
                    raise Forbidden("Your application is under review; this opens once staff "
                                    "approve it.", code="not_approved")
            elif not user.is_staff:
                raise Forbidden("This endpoint is for staff.")
            g.user = user
            return fn(*args, **kwargs)

        return wrapper

    return deco


def _int_arg(name: str, default: int | None = None, low: int = 1, high: int = 10**12):
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f"{name} must be a whole number.") from None
    if not low <= value <= high:
        raise ValidationError(f"{name} must be between {low} and {high}.")
    return value


def profile_json(p) -> dict:
    st = standing(p)
    return {"id": p.id, "name": p.user.name, "email": p.user.email, "status": p.status,
            "company_name": p.company_name, "industry": p.industry, "phone": p.phone,
            "referral_code": p.referral_code, "recruiter_id": p.recruiter_id,
            "team_leader_id": p.team_leader_id, "current_tier": st.tier.key,
            "commission_rate_bps": st.base_rate_bps, "won_deals_count": p.won_deals_count,
            "agreement_version": p.agreement_version, "timezone": p.timezone or "UTC",
            "notify_email": bool(p.notify_email), "notify_portal": bool(p.notify_portal),
            "email_verified": p.user.email_verified_at is not None,
            "created_at": p.created_at.isoformat()}


def lead_json(lead: Lead) -> dict:
    return {"id": lead.id, "partner_id": lead.partner_id, "company_name": lead.company_name,
            "contact_name": lead.contact_name, "contact_email": lead.contact_email,
            "contact_phone": lead.contact_phone, "project_type": lead.project_type,
            "estimated_value_cents": lead.estimated_value_cents, "status": lead.status,
            "deal_value_cents": lead.won_value_cents, "source": lead.source,
            "next_action": lead.next_action, "deal_id": lead.deal.id if lead.deal else None,
            "created_at": lead.created_at.isoformat(),
            "updated_at": lead.updated_at.isoformat()}


# --- auth ---------------------------------------------------------------------------

def _register_limit() -> str:
    from flask import current_app

    return current_app.config["REGISTER_LIMIT_PER_IP"]


@api.post("/auth/partner/register")
@limiter.shared_limit(_register_limit, scope="register-ip", methods=["POST"])
def api_register():
    """Apply as a partner: ``{email, password, name, accept_terms: true, referral_code?,
    company_name?}`` → 202 ``{"status": "check_email", "message"}``, the same for a new
    address and one that has an account (its owner is e-mailed); then log in with
    ``/auth/partner/login``. Throttled per client address (``REGISTER_LIMIT_PER_IP``)."""
    from portal.views import APPLIED

    data = json_body()
    partners.apply_as_partner(
        data.get("email"), data.get("password"), data.get("name"), data.get("accept_terms"),
        data.get("referral_code"), data.get("company_name") or "")
    db.session.commit()
    email = accounts.normalise_email(data.get("email"))
    return jsonify(status="check_email", message=APPLIED.format(email=email)), 202


def _login(kind: str):
    data = json_body()
    user = accounts.authenticate(data.get("email"), data.get("password"))
    if user is None or (kind == "staff") != user.is_staff:
        record_failure()
        return jsonify(error={"code": "invalid_credentials", "message":
                              "That e-mail and password do not match an active account."}), 401
    if twofactor.required_for(user):
        if user.totp_secret is None:
            raise Forbidden("Your role needs two-factor: log in once at /login to set it up, "
                            "then send the code as \"otp\".", code="otp_setup_required")
        if data.get("otp") in (None, ""):
            return jsonify(error={"code": "otp_required", "message":
                                  "Send the 6-digit code of your authenticator app as \"otp\"."}), 401
        try:
            twofactor.verify(user, data.get("otp"))
        except twofactor.WrongCode as exc:
            record_failure()
            return jsonify(error={"code": exc.code, "message": exc.message}), 401
    token, row = accounts.issue_token(user)
    db.session.commit()
    return jsonify(token=token, expires_at=row.expires_at.isoformat(),
                   roles=sorted(user.role_set)), 200


@api.post("/auth/partner/login")
@login_throttle
def api_partner_login():
    """Log in: returns ``{token, expires_at}``."""
    return _login("partner")


@api.post("/auth/staff/login")
@login_throttle
def api_staff_login():
    """Staff log in: returns ``{token, expires_at, roles}``; staff with two-factor also
    send ``otp`` (the current 6-digit code)."""
    return _login("staff")


# --- partner ------------------------------------------------------------------------

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


# --- chat ---------------------------------------------------------------------------

@api.get("/chat/channels")
@bearer()
def api_channels():
    return jsonify(items=[{"id": c.id, "slug": c.slug, "name": c.name, "topic": c.topic,
                           "read_only": c.read_only, "min_tier": c.min_tier_key or None}
                          for c in chat.channels_for(g.user)], next_cursor=None)


@api.get("/chat/<int:channel_id>/messages")
@bearer()
def api_messages(channel_id: int):
    """Newest 50, older pages with ``?before=<message id>``."""
    channel = chat.get_channel_for(g.user, channel_id)
    rows = chat.history(channel, _int_arg("before"), 50)
    return jsonify(items=[chat.message_json(m) for m in rows],
                   next_cursor=rows[0].id if len(rows) == 50 else None)


@api.post("/chat/<int:channel_id>/messages")
@bearer()
def api_send_message(channel_id: int):
    channel = chat.get_channel_for(g.user, channel_id)
    msg = chat.post_message(g.user, channel, json_body().get("body"))
    db.session.commit()
    return jsonify(chat.message_json(msg)), 201


# --- staff --------------------------------------------------------------------------

def _require_role(*roles):
    if not g.user.has_role(*roles):
        raise Forbidden(f"This needs the {' or '.join(roles)} role.")


@api.post("/staff/partners/<int:partner_id>/approve")
@bearer("staff")
def api_staff_approve(partner_id: int):
    """Approve an application: admin only (support reads partner profiles, no more)."""
    _require_role("admin")
    p = partners.approve_partner(partner_id, g.user.id)
    db.session.commit()
    return jsonify(profile_json(p))


@api.post("/staff/leads/<int:lead_id>/confirm")
@bearer("staff")
def api_staff_confirm(lead_id: int):
    """``{"deal_value_cents": int}`` (optional: defaults to the partner's value)."""
    _require_role("admin", "finance")
    data = json_body() if request.content_length or request.get_data() else {}
    deal, made = commissions.confirm_deal(lead_id, g.user.id, data.get("deal_value_cents"))
    db.session.commit()
    return jsonify(deal=_deal_json(deal),
                   commissions=[commission_json(c) for c in made]), 201


def _deal_json(deal) -> dict:
    """A confirmed deal and the commissions it created (the confirm endpoints' shape)."""
    return {"id": deal.id, "lead_id": deal.lead_id, "partner_id": deal.partner_id,
            "value_cents": deal.value_cents, "status": deal.status}


@api.post("/staff/deals/confirm")
@bearer("staff")
def api_staff_confirm_batch():
    """``{"leads": [{"lead_id": int, "deal_value_cents": int?}, ...]}`` (1 to 500): confirm
    every lead in one transaction, in the given order, all or nothing
    (``core.money.commissions.confirm_deals``). 201 with ``{"deals": [{"deal", "commissions"}]}``."""
    _require_role("admin", "finance")
    data = json_body()
    leads = data.get("leads")
    if not isinstance(leads, list) or not all(
            isinstance(x, dict) and set(x) <= {"lead_id", "deal_value_cents"} and "lead_id" in x
            for x in leads):
        raise ValidationError('leads must be a list of {"lead_id": id, '
                              '"deal_value_cents": cents (optional)}.')
    done = commissions.confirm_deals(
        [(x["lead_id"], x.get("deal_value_cents")) for x in leads], g.user.id)
    db.session.commit()
    return jsonify(deals=[{"deal": _deal_json(deal),
                           "commissions": [commission_json(c) for c in made]}
                          for deal, made in done]), 201


@api.post("/staff/deals/<int:deal_id>/cancel")
@bearer("staff")
def api_staff_cancel(deal_id: int):
    """``{"reason": str, "refunded": bool?}``; ``refunded`` must be a JSON boolean (the
    text ``"false"`` is a 422, never a refund)."""
    _require_role("admin", "finance")
    data = json_body()
    adj = commissions.cancel_deal(deal_id, g.user.id, data.get("reason"),
                                  data.get("refunded", False))
    db.session.commit()
    return jsonify(adjustments=[commission_json(c) for c in adj])


@api.post("/staff/commissions/approve")
@bearer("staff")
def api_staff_approve_commissions():
    _require_role("finance")
    rows = commissions.approve_commissions(json_body().get("ids"), g.user.id)
    db.session.commit()
    return jsonify(items=[commission_json(c) for c in rows], next_cursor=None)


@api.post("/staff/commissions/<int:commission_id>/hold")
@bearer("staff")
def api_staff_hold(commission_id: int):
    """``{"reason": str}`` → the commission on hold (pending/approved, not in a payout)."""
    _require_role("finance")
    c = commissions.hold_commission(commission_id, g.user.id, json_body().get("reason"))
    db.session.commit()
    return jsonify(commission_json(c))


@api.post("/staff/payouts")
@bearer("staff")
def api_staff_payout_create():
    _require_role("finance")
    p = payouts.create_payout(json_body().get("partner_id"), g.user.id)
    db.session.commit()
    return jsonify(payouts.payout_json(p)), 201


@api.post("/staff/payouts/<int:payout_id>/approve")
@bearer("staff")
def api_staff_payout_approve(payout_id: int):
    """Finance approves a requested payout; refusals are audited by core (and kept)."""
    p = payouts.approve_payout(payout_id, g.user)
    db.session.commit()
    return jsonify(payouts.payout_json(p))


@api.get("/staff/partners/<int:partner_id>/balance")
@bearer("staff")
def api_staff_balance(partner_id: int):
    _require_role("finance", "support")
    p = partners.get_partner(partner_id)
    return jsonify(partner_id=p.id, **earnings_summary(p.id))


@api.post("/staff/statements")
@bearer("staff")
def api_staff_statement():
    """``{"partner_id": int, "period": "YYYY-MM"}`` → 202 with the pending statement."""
    _require_role("finance")
    data = json_body()
    year, month = statements.parse_period(data.get("period"))
    st = statements.issue_statement(data.get("partner_id"), year, month, g.user.id)
    db.session.commit()
    return jsonify(statement_json(st)), 202


@api.put("/staff/partners/<int:partner_id>/team")
@bearer("staff")
def api_staff_team(partner_id: int):
    """``{"team_leader_id": id|null, "recruiter_id": id|null}``; loops are refused."""
    _require_role("admin")
    data = json_body()
    missing = {"team_leader_id", "recruiter_id"} - set(data)
    if missing:
        raise ValidationError(f"Send both fields (null to clear): {', '.join(sorted(missing))}.")
    p = commissions.set_team(partner_id, g.user.id, data["team_leader_id"], data["recruiter_id"])
    db.session.commit()
    return jsonify(profile_json(p))


@api.post("/staff/partners/<int:partner_id>/tier-override")
@bearer("staff")
def api_staff_tier_override(partner_id: int):
    """``{"tier": str|null, "base_rate_bps": int|null, "reason": str,
    "expires_at": iso8601|null}``; both null clears the override."""
    from datetime import datetime

    from core.program.tiers import set_override

    _require_role("admin")
    data = json_body()
    expires = data.get("expires_at")
    if expires is not None:
        try:
            expires = datetime.fromisoformat(str(expires))
        except ValueError:
            raise ValidationError("expires_at must be an ISO 8601 time with a zone.") from None
    row = set_override(partner_id, g.user.id, data.get("tier"), data.get("base_rate_bps"),
                       data.get("reason"), expires)
    db.session.commit()
    p = partners.get_partner(partner_id)
    return jsonify(partner=profile_json(p), tier_status=tier_status(p),
                   override_id=row.id if row else None)


@api.post("/staff/partners/<int:partner_id>/bonus")
@bearer("staff")
def api_staff_bonus(partner_id: int):
    """``{"amount_cents": int, "note": str}`` → a pending ``bonus`` commission."""
    _require_role("finance")
    data = json_body()
    c = commissions.add_bonus(partner_id, data.get("amount_cents"), g.user.id, data.get("note"))
    db.session.commit()
    return jsonify(commission_json(c)), 201


@api.post("/staff/payouts/batch")
@bearer("staff")
def api_staff_payout_batch():
    """One payout for every active partner over the minimum."""
    _require_role("finance")
    made = payouts.create_payouts_for_all(g.user.id)
    db.session.commit()
    return jsonify(items=[payouts.payout_json(p) for p in made], next_cursor=None), 201


@api.get("/staff/exports/ledger.csv")
@bearer("staff")
def api_staff_export():
    """``?from=2026-11-01&to=2026-12-01`` → CSV of commissions and payouts."""
    from flask import Response

    from core.money.exports import ledger_csv, parse_range

    _require_role("finance")
    start, end = parse_range(request.args.get("from"), request.args.get("to"))
    return Response(ledger_csv(start, end), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="siso-ledger-{start:%Y%m%d}-{end:%Y%m%d}.csv"'})


@api.get("/staff/api-keys")
@bearer("staff")
def api_staff_keys():
    from core.accounts.models import ApiToken

    rows = db.session.scalars(select(ApiToken).where(ApiToken.user_id == g.user.id,
                                                     ApiToken.kind == "key")
                              .order_by(ApiToken.id.desc()))
    return jsonify(items=[_key_json(k) for k in rows], next_cursor=None)


@api.post("/staff/api-keys")
@bearer("staff")
def api_staff_key_create():
    """``{"name": str, "roles": [...]}`` → 201 with the key, shown this once."""
    data = json_body()
    key, row = accounts.create_api_key(g.user, data.get("name"), data.get("roles"))
    db.session.commit()
    return jsonify(key=key, **_key_json(row)), 201


@api.delete("/staff/api-keys/<int:key_id>")
@bearer("staff")
def api_staff_key_revoke(key_id: int):
    row = accounts.revoke_api_key(g.user, key_id)
    db.session.commit()
    return jsonify(_key_json(row))


def _key_json(k) -> dict:
    return {"id": k.id, "name": k.name, "roles": [r for r in k.roles.split(",") if r],
            "created_at": k.created_at.isoformat(), "expires_at": k.expires_at.isoformat(),
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
            "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None}


@api.get("/staff/statements/<int:statement_id>")
@bearer("staff")
def api_staff_statement_get(statement_id: int):
    st = statements.get_statement_for(g.user, statement_id)
    return jsonify(statement_json(st))


