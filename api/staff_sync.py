"""The CRM sync API (staff): change feeds of partners, leads, deals, commissions and
payouts by ``updated_since`` and a stable cursor; leads written by the CRM's own id; the
CRM ids of partners and deals."""

from flask import g
from sqlalchemy.orm import joinedload, selectinload

from api import api
from api.common import bearer
from api.spec import operation
from core.base.extensions import db
from core.base.schemas import SyncQuery
from core.base.sync import changed_rows
from core.money.models import Commission, Deal, Payout
from core.money.schemas import Commission as CommissionShape
from core.money.schemas import Deal as DealShape
from core.money.schemas import Payout as PayoutShape
from core.program import crm
from core.program.crm_schemas import (
    CommissionChanges,
    CrmLead,
    DealChanges,
    ExternalId,
    LeadChanges,
    PartnerChanges,
    PayoutChanges,
)
from core.program.models import Lead, Partner
from core.program.schemas import Lead as LeadShape
from core.program.schemas import Profile

PEOPLE = ("finance", "support")
MONEY = ("finance",)


def _page(model, query: SyncQuery, options=()):
    sent = query.sent()
    return changed_rows(model, sent.get("updated_since"), sent.get("cursor"), query.limit,
                        options)


@api.get("/staff/partners")
@bearer("staff", roles=PEOPLE)
@operation(200, PartnerChanges)
def api_staff_partners(query: SyncQuery):
    """Partners changed since a time (CRM sync)

    Oldest change first; next_cursor goes on after the page and stays valid while rows
    change (a row changed meanwhile comes again, with its new state)."""
    rows, nxt, more = _page(Partner, query, (joinedload(Partner.user), joinedload(Partner.tier)))
    return PartnerChanges(items=[Profile.of(p) for p in rows], next_cursor=nxt, has_more=more)


@api.get("/staff/leads")
@bearer("staff", roles=PEOPLE)
@operation(200, LeadChanges)
def api_staff_leads(query: SyncQuery):
    """Leads changed since a time (CRM sync), removed ones included"""
    rows, nxt, more = _page(Lead, query, (selectinload(Lead.deal),))
    return LeadChanges(items=[LeadShape.of(x) for x in rows], next_cursor=nxt, has_more=more)


@api.get("/staff/deals")
@bearer("staff", roles=PEOPLE)
@operation(200, DealChanges)
def api_staff_deals(query: SyncQuery):
    """Deals changed since a time (CRM sync)"""
    rows, nxt, more = _page(Deal, query)
    return DealChanges(items=[DealShape.model_validate(d) for d in rows], next_cursor=nxt,
                       has_more=more)


@api.get("/staff/commissions")
@bearer("staff", roles=MONEY)
@operation(200, CommissionChanges)
def api_staff_commissions(query: SyncQuery):
    """Commissions changed since a time (CRM sync; finance)"""
    rows, nxt, more = _page(Commission, query)
    return CommissionChanges(items=[CommissionShape.model_validate(c) for c in rows],
                             next_cursor=nxt, has_more=more)


@api.get("/staff/payouts")
@bearer("staff", roles=MONEY)
@operation(200, PayoutChanges)
def api_staff_payouts(query: SyncQuery):
    """Payouts changed since a time (CRM sync; finance)"""
    rows, nxt, more = _page(Payout, query)
    return PayoutChanges(items=[PayoutShape.model_validate(p) for p in rows], next_cursor=nxt,
                         has_more=more)


@api.put("/staff/leads/by-external-id/<external_id>")
@bearer("staff", roles=PEOPLE)
@operation(200, LeadShape, errors=(404, 409))
def api_staff_lead_upsert(external_id: str, json: CrmLead):
    """Create or update a lead by the CRM's id (idempotent)

    status won with deal_value_cents marks it won: it waits in the confirmation queue
    (POST /api/staff/leads/{id}/confirm or /api/staff/deals/confirm). 409 when the id is
    another partner's lead, the partner is not active, or the deal is already confirmed."""
    data = json.sent()
    lead, _created = crm.upsert_lead(external_id, data.pop("partner_id"), data, g.user.id)
    db.session.commit()
    return LeadShape.of(lead)


@api.put("/staff/partners/<int:partner_id>/external-id")
@bearer("staff", roles=("admin",))
@operation(200, Profile, errors=(409,))
def api_staff_partner_external_id(partner_id: int, json: ExternalId):
    """Set a partner's CRM id (null clears it); 409 when another partner has it"""
    p = crm.set_external_id(Partner, partner_id, json.external_id, g.user.id)
    db.session.commit()
    return Profile.of(p)


@api.put("/staff/deals/<int:deal_id>/external-id")
@bearer("staff", roles=MONEY)
@operation(200, DealShape, errors=(409,))
def api_staff_deal_external_id(deal_id: int, json: ExternalId):
    """Set a deal's CRM id (null clears it); 409 when another deal has it"""
    d = crm.set_external_id(Deal, deal_id, json.external_id, g.user.id)
    db.session.commit()
    return DealShape.model_validate(d)
