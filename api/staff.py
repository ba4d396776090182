"""The staff API for back-office tools and CRMs: approvals, confirmations, commissions,
payouts, statements, overrides, exports and API keys (by role)."""

from flask import Response, g
from sqlalchemy import select

from api import api
from api.common import bearer
from api.spec import operation
from core.accounts import users as accounts
from core.accounts.schemas import ApiKey, ApiKeyPage, NewApiKey
from core.base.extensions import db
from core.money import commissions, payouts, statements
from core.money.earnings import earnings_summary
from core.money.schemas import (
    LEDGER_CSV,
    Adjustments,
    Balance,
    CancelDeal,
    Commission,
    CommissionIds,
    CommissionPage,
    Confirmation,
    Confirmations,
    ConfirmDeal,
    ConfirmDeals,
    Deal,
    HoldCommission,
    LedgerQuery,
    NewBonus,
    NewPayout,
    NewStatement,
    Payout,
    PayoutPage,
    Statement,
)
from core.program import partners
from core.program.schemas import OverrideResult, Profile, TeamChange, TierOverrideChange
from core.program.tiers import tier_status


def _confirmation(deal, made) -> Confirmation:
    return Confirmation(deal=Deal.model_validate(deal),
                        commissions=[Commission.model_validate(c) for c in made])


@api.post("/staff/partners/<int:partner_id>/approve")
@bearer("staff", roles=("admin",))
@operation(200, Profile, errors=(409,))
def api_staff_approve(partner_id: int):
    """Approve an application

    Admin only (support reads partner profiles, no more); 409 unless it is an application."""
    p = partners.approve_partner(partner_id, g.user.id)
    db.session.commit()
    return Profile.of(p)


@api.post("/staff/leads/<int:lead_id>/confirm")
@bearer("staff", roles=("admin", "finance"))
@operation(201, Confirmation, errors=(409,))
def api_staff_confirm(lead_id: int, json: ConfirmDeal):
    """Confirm a won lead: the deal and its commissions

    deal_value_cents (optional) overrides the partner's value. billing monthly makes a
    recurring deal: no commission now, one on each paid invoice, at the terms locked
    now (stripe_subscription_id links the subscription whose invoice.paid events count). 409 unless the lead is
    marked won and not yet confirmed."""
    from core.money import recurring

    sent = json.sent()
    if "billing" in sent:
        recurring.set_lead_billing(lead_id, sent["billing"])
    deal, made = commissions.confirm_deal(lead_id, g.user.id, sent.get("deal_value_cents"))
    if "stripe_subscription_id" in sent:
        recurring.link_subscription(deal, sent["stripe_subscription_id"], g.user.id)
    db.session.commit()
    return _confirmation(deal, made), 201


@api.post("/staff/deals/confirm")
@bearer("staff", roles=("admin", "finance"))
@operation(201, Confirmations, errors=(404, 409))
def api_staff_confirm_batch(json: ConfirmDeals):
    """Confirm up to 500 won leads in one transaction

    In the order given, all or nothing (core.money.commissions.confirm_deals), each paid
    exactly as if confirmed alone; a refusal names the lead."""
    done = commissions.confirm_deals(
        [(x.lead_id, x.sent().get("deal_value_cents")) for x in json.leads], g.user.id)
    db.session.commit()
    return Confirmations(deals=[_confirmation(deal, made) for deal, made in done]), 201


@api.post("/staff/deals/<int:deal_id>/cancel")
@bearer("staff", roles=("admin", "finance"))
@operation(200, Adjustments, errors=(409,))
def api_staff_cancel(deal_id: int, json: CancelDeal):
    """Cancel or refund a deal

    refunded must be a JSON boolean (the text "false" is a 422, never a refund)."""
    adj = commissions.cancel_deal(deal_id, g.user.id, json.reason, json.refunded)
    db.session.commit()
    return Adjustments(adjustments=[Commission.model_validate(c) for c in adj])


@api.post("/staff/commissions/approve")
@bearer("staff", roles=("finance",))
@operation(200, CommissionPage, errors=(404, 409))
def api_staff_approve_commissions(json: CommissionIds):
    """Approve commissions now

    Pending or on-hold ones only (409 otherwise, nothing changes); 404 for unknown ids."""
    rows = commissions.approve_commissions(json.ids, g.user.id)
    db.session.commit()
    return CommissionPage(items=[Commission.model_validate(c) for c in rows])


@api.post("/staff/commissions/<int:commission_id>/hold")
@bearer("staff", roles=("finance",))
@operation(200, Commission, errors=(409,))
def api_staff_hold(commission_id: int, json: HoldCommission):
    """Put a commission on hold, with a reason

    Pending or approved and not in a payout (409 otherwise)."""
    c = commissions.hold_commission(commission_id, g.user.id, json.reason)
    db.session.commit()
    return Commission.model_validate(c)


@api.post("/staff/payouts")
@bearer("staff", roles=("finance",))
@operation(201, Payout, errors=(404, 409))
def api_staff_payout_create(json: NewPayout):
    """Make a payout of a partner's approved balance

    At least the payout minimum (422 below_minimum); 409 while one is open."""
    p = payouts.create_payout(json.partner_id, g.user.id)
    db.session.commit()
    return Payout.model_validate(p), 201


@api.post("/staff/payouts/<int:payout_id>/approve")
@bearer("staff")
@operation(200, Payout, errors=(409, 422))
def api_staff_payout_approve(payout_id: int):
    """Approve a requested payout (finance)

    Refusals are audited and kept: not finance or your own (403), below the minimum or
    no payout method (422), not requested (409)."""
    p = payouts.approve_payout(payout_id, g.user)
    db.session.commit()
    return Payout.model_validate(p)


@api.get("/staff/partners/<int:partner_id>/balance")
@bearer("staff", roles=("finance", "support"))
@operation(200, Balance)
def api_staff_balance(partner_id: int):
    """A partner's balance (finance, support)"""
    p = partners.get_partner(partner_id)
    return Balance(partner_id=p.id, **earnings_summary(p.id))


@api.post("/staff/statements")
@bearer("staff", roles=("finance",))
@operation(202, Statement, errors=(404,))
def api_staff_statement(json: NewStatement):
    """Issue a statement

    Of a past month or this one; a worker renders its PDF (202 with the pending
    statement)."""
    year, month = statements.parse_period(json.period)
    st = statements.issue_statement(json.partner_id, year, month, g.user.id)
    db.session.commit()
    return Statement.of(st), 202


@api.put("/staff/partners/<int:partner_id>/team")
@bearer("staff", roles=("admin",))
@operation(200, Profile)
def api_staff_team(partner_id: int, json: TeamChange):
    """Set a partner's team leader and recruiter

    null clears; a partner cannot lead or recruit themselves, directly or through a loop
    (422)."""
    p = commissions.set_team(partner_id, g.user.id, json.team_leader_id, json.recruiter_id)
    db.session.commit()
    return Profile.of(p)


@api.post("/staff/partners/<int:partner_id>/tier-override")
@bearer("staff", roles=("admin",))
@operation(200, OverrideResult)
def api_staff_tier_override(partner_id: int, json: TierOverrideChange):
    """Override a partner's tier and/or base rate

    Both null clears the override; expires_at (optional) is a future time with a zone."""
    from core.program.tiers import set_override

    row = set_override(partner_id, g.user.id, json.tier, json.base_rate_bps, json.reason,
                       json.expires_at)
    db.session.commit()
    p = partners.get_partner(partner_id)
    return OverrideResult(partner=Profile.of(p), tier_status=tier_status(p),
                          override_id=row.id if row else None)


@api.post("/staff/partners/<int:partner_id>/bonus")
@bearer("staff", roles=("finance",))
@operation(201, Commission)
def api_staff_bonus(partner_id: int, json: NewBonus):
    """Add a bonus commission (pending until approved)"""
    c = commissions.add_bonus(partner_id, json.amount_cents, g.user.id, json.note)
    db.session.commit()
    return Commission.model_validate(c), 201


@api.post("/staff/payouts/batch")
@bearer("staff", roles=("finance",))
@operation(201, PayoutPage)
def api_staff_payout_batch():
    """Payouts for every active partner over the minimum"""
    made = payouts.create_payouts_for_all(g.user.id)
    db.session.commit()
    return PayoutPage(items=[Payout.model_validate(p) for p in made]), 201


@api.get("/staff/exports/ledger.csv")
@bearer("staff", roles=("finance",))
@operation(200, None, content=LEDGER_CSV)
def api_staff_export(query: LedgerQuery):
    """Commissions and payouts of a date range as CSV

    At most a year; text that a spreadsheet would run as a formula is neutralised."""
    from core.money.exports import ledger_csv, parse_range

    start, end = parse_range(query.from_, query.to)
    return Response(ledger_csv(start, end), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="siso-ledger-{start:%Y%m%d}-{end:%Y%m%d}.csv"'})


@api.get("/staff/api-keys")
@bearer("staff")
@operation(200, ApiKeyPage)
def api_staff_keys():
    """Your API keys, newest first"""
    from core.accounts.models import ApiToken

    rows = db.session.scalars(select(ApiToken).where(ApiToken.user_id == g.user.id,
                                                     ApiToken.kind == "key")
                              .order_by(ApiToken.id.desc()))
    return ApiKeyPage(items=[ApiKey.of(k) for k in rows])


@api.post("/staff/api-keys")
@bearer("staff")
@operation(201, ApiKey)
def api_staff_key_create(json: NewApiKey):
    """Create an API key (shown once)

    Its roles are a subset of yours (or of the calling key's scope, which must hold admin)."""
    key, row = accounts.create_api_key(g.user, json.name, json.roles)
    db.session.commit()
    return ApiKey.of(row, key), 201


@api.delete("/staff/api-keys/<int:key_id>")
@bearer("staff")
@operation(200, ApiKey)
def api_staff_key_revoke(key_id: int):
    """Revoke one of your API keys"""
    row = accounts.revoke_api_key(g.user, key_id)
    db.session.commit()
    return ApiKey.of(row)


@api.get("/staff/statements/<int:statement_id>")
@bearer("staff")
@operation(200, Statement)
def api_staff_statement_get(statement_id: int):
    """One statement"""
    st = statements.get_statement_for(g.user, statement_id)
    return Statement.of(st)
