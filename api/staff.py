"""The staff API for back-office tools and CRMs: approvals, confirmations, commissions,
payouts, statements, overrides, exports and API keys (by role)."""

from flask import g, jsonify, request
from sqlalchemy import select

from api import api
from api.common import bearer, json_body, profile_json
from api.partner import statement_json
from core.accounts import users as accounts
from core.base.errors import Forbidden, ValidationError
from core.base.extensions import db
from core.money import commissions, payouts, statements
from core.money.commissions import commission_json
from core.money.earnings import earnings_summary
from core.program import partners
from core.program.tiers import tier_status


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
