"""The CRM sync API's shapes: change-feed pages of partners, leads, deals, commissions
and payouts (each item the staff API's own shape), the lead a CRM writes by its id, and
the CRM id of a partner or deal."""

from typing import Annotated, Literal

from core.base.schemas import (
    MISSING,
    ClosedRequest,
    Field,
    Id,
    Says,
    SyncPage,
    Unknown,
)
from core.money.schemas import Commission, DealCents, Payout
from core.money.schemas import Deal as DealShape
from core.program.crm import EXTERNAL_ID_RE
from core.program.schemas import Lead, Profile, Stage

_EXTERNAL = Annotated[str | None, Says(
    default="external_id must be 1 to 100 letters, digits, or _ . : - characters.")]


class PartnerChanges(SyncPage):
    """Partners changed, oldest change first."""

    items: list[Profile]


class LeadChanges(SyncPage):
    """Leads changed, oldest change first."""

    items: list[Lead]


class DealChanges(SyncPage):
    """Deals changed, oldest change first."""

    items: list[DealShape]


class CommissionChanges(SyncPage):
    """Commissions changed, oldest change first."""

    items: list[Commission]


class PayoutChanges(SyncPage):
    """Payouts changed, oldest change first."""

    items: list[Payout]


class CrmLead(ClosedRequest):
    """A lead as the CRM has it. Fields left out stay as they are; ``company_name`` is
    needed to create. ``status`` ``won`` with ``deal_value_cents`` puts the lead in the
    confirmation queue."""

    partner_id: Annotated[Id, Unknown("No such partner.")]
    company_name: str = Field(MISSING, min_length=1, max_length=200)
    contact_name: str = Field(MISSING, max_length=120)
    contact_email: str = Field(MISSING, max_length=254)
    contact_phone: str = Field(MISSING, max_length=40)
    project_type: str = Field(MISSING, max_length=80)
    next_action: str = Field(MISSING, max_length=200)
    notes: str = Field(MISSING, max_length=5000)
    estimated_value_cents: int = Field(MISSING, ge=0, le=100_000_000)
    status: Stage = MISSING
    deal_value_cents: DealCents = MISSING
    billing: Literal["one_time", "monthly"] = Field(MISSING, description=(
        "monthly: commission on each paid invoice (rules: Recurring deals)"))


class ExternalId(ClosedRequest):
    """The CRM's id of a row (``null`` clears it)."""

    external_id: _EXTERNAL = Field(pattern=EXTERNAL_ID_RE.pattern)
