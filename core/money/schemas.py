"""Money's API shapes: deals, commissions, payouts, statements, earnings, and the staff
requests that confirm, cancel, approve, hold, pay and state.

Amounts are integer cents (a deal at most $1,000,000), rates basis points, times ISO
8601 UTC; commission and payout states are the ledger's (``core.money.models``).
"""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, WithJsonSchema

from core.base.schemas import (
    MAX_ID,
    MISSING,
    Answer,
    ClosedRequest,
    Field,
    Id,
    Page,
    Query,
    QueryInt,
    Request,
    Says,
    Shape,
    Time,
    Unknown,
)
from core.money.cents import MAX_DEAL_CENTS
from core.money.commissions import MAX_CONFIRM_BATCH, MAX_REASON
from core.money.models import COMMISSION_STATUSES, COMMISSION_TYPES, PAYOUT_STATUSES

#: Deal value in cents: more than zero, at most $1,000,000.
DealCents = Annotated[int, Field(gt=0, le=MAX_DEAL_CENTS)]
#: A partner named in a body: anything but an existing partner's id is a 404.
_NO_PARTNER = Unknown("No such partner.")
#: A staff reason: text, 1 to 500 characters.
Reason = Annotated[str, Field(min_length=1, max_length=MAX_REASON)]


class Commission(Answer):
    """A commission: what a partner earns on a deal (base, team override, referral), a
    staff bonus, or a negative adjustment that claws back a paid one."""

    id: int
    partner_id: int
    deal_id: int | None
    type: Literal[COMMISSION_TYPES]
    amount_cents: int
    rate_bps: int | None
    status: Literal[COMMISSION_STATUSES]
    created_at: Time
    payout_id: int | None
    note: str
    updated_at: Time


class CommissionPage(Page):
    """Commissions, newest first."""

    items: list[Commission]


class CommissionQuery(Query):
    """Filter and page the partner's commissions."""

    status: Literal[COMMISSION_STATUSES] | None = None
    type: Literal[COMMISSION_TYPES] | None = None
    cursor: QueryInt = Field(MISSING, ge=1, le=MAX_ID,
                                    description="The next_cursor of the previous page")
    limit: QueryInt = Field(50, ge=1, le=100)


class Deal(Shape):
    """A confirmed deal (``status`` won, cancelled or refunded)."""

    id: int
    lead_id: int
    partner_id: int
    value_cents: int
    status: str
    external_id: str | None = Field(description="The CRM's id of the deal")
    updated_at: Time
    billing: Literal["one_time", "monthly"]
    months_allowed: int | None = Field(description=(
        "Monthly deals: paid invoices that pay commission (0: for life)"))


class Confirmation(Answer):
    """A confirmed deal and the commissions it created."""

    deal: Deal
    commissions: list[Commission]


class ConfirmDeal(Request):
    """Confirm a won lead; ``deal_value_cents`` overrides the partner's reported value.
    The body may be empty."""

    body_optional = True

    deal_value_cents: DealCents = MISSING
    billing: Literal["one_time", "monthly"] = Field(MISSING, description=(
        "monthly: commission on each paid invoice instead of now (default: the lead's)"))
    stripe_subscription_id: str = Field(MISSING, pattern=r"^sub_[A-Za-z0-9]{1,60}$",
                                        description="Stripe subscription whose paid "
                                        "invoices are this monthly deal's")


_BATCH_SAYS = Says(f'leads must be a list of 1 to {MAX_CONFIRM_BATCH} '
                   '{"lead_id": id, "deal_value_cents": cents (optional)}.')


class ConfirmItem(ClosedRequest):
    """One lead of a batch, and optionally its value in cents."""

    lead_id: Id
    deal_value_cents: DealCents = MISSING


class ConfirmDeals(Request):
    """Confirm up to 500 won leads in one transaction, in order, all or nothing."""

    leads: Annotated[list[ConfirmItem], _BATCH_SAYS] = Field(
        min_length=1, max_length=MAX_CONFIRM_BATCH)


class Confirmations(Answer):
    """Each deal confirmed, with its commissions, in the order sent."""

    deals: list[Confirmation]


class CancelDeal(Request):
    """Cancel a deal, or refund it (``refunded`` true): unpaid commissions are reversed,
    paid ones clawed back."""

    reason: Reason
    refunded: bool = False


class Adjustments(Answer):
    """The claw-back adjustments a cancellation made (paid commissions only)."""

    adjustments: list[Commission]


class CommissionIds(Request):
    """Commissions to approve: 1 to 1,000 ids."""

    ids: Annotated[list[Id], Says("ids must be a list of 1 to 1,000 commission ids.")] = \
        Field(min_length=1, max_length=1000)


class HoldCommission(Request):
    """Put a commission on hold (pending or approved, not in a payout), with a reason."""

    reason: Reason


class NewBonus(Request):
    """A staff bonus: a pending ``bonus`` commission."""

    amount_cents: DealCents
    note: str = Field(min_length=1, max_length=MAX_REASON)


class Payout(Answer):
    """A payout of a partner's approved commissions (manual or Stripe)."""

    id: int
    partner_id: int
    amount_cents: int
    status: Literal[PAYOUT_STATUSES]
    gateway: Literal["manual", "stripe"]
    reference: str
    failure_message: str
    created_at: Time
    updated_at: Time


class PayoutPage(Page):
    """Payouts made."""

    items: list[Payout]


class NewPayout(Request):
    """A payout of a partner's approved balance (at least the minimum)."""

    partner_id: Annotated[Id, _NO_PARTNER]


class Statement(Answer):
    """A monthly statement: opening balance, earned, reversed, paid and closing (cents);
    ``download_url`` once its PDF is ready."""

    id: int
    partner_id: int
    period: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$")
    version: int
    status: Literal["pending", "ready", "failed"]
    opening_cents: int
    earned_cents: int
    reversed_cents: int
    paid_cents: int
    closing_cents: int
    download_url: str | None

    @classmethod
    def of(cls, s) -> "Statement":
        """The shape of a ``Statement`` row."""
        return cls(id=s.id, partner_id=s.partner_id, period=s.period, version=s.version,
                   status=s.status, opening_cents=s.opening_cents,
                   earned_cents=s.earned_cents, reversed_cents=s.reversed_cents,
                   paid_cents=s.paid_cents, closing_cents=s.closing_cents,
                   download_url=f"/partner/statements/{s.id}/download"
                   if s.status == "ready" else None)


class StatementPage(Page):
    """Statements, newest first."""

    items: list[Statement]


class NewStatement(Request):
    """Issue a statement of a past (or this) month; a worker renders its PDF."""

    period: Annotated[str, Says("The period must look like 2026-11 (year-month).")] = Field(
        pattern=r"^[0-9]{4}-[0-9]{2}$", description="YYYY-MM")
    partner_id: Annotated[Id, _NO_PARTNER]


class Figures(Shape):
    """A month's statement figures (cents)."""

    opening_cents: int
    earned_cents: int
    reversed_cents: int
    paid_cents: int
    closing_cents: int


class EarningsSummary(Answer):
    """Earnings overview (cents): this and last month, this month by commission type,
    and the balances by state; ``approved_cents`` is what a payout can take."""

    this_month: Figures
    last_month: Figures
    change_percent: int | None
    by_type: dict[str, int]
    pending_cents: int
    approved_cents: int
    on_hold_cents: int
    in_payout_cents: int
    paid_total_cents: int
    balance_cents: int
    payout_minimum_cents: int


class Balance(EarningsSummary):
    """A partner's earnings overview, for staff."""

    partner_id: int


class MonthEarned(Shape):
    """Cents earned in one month."""

    year: int
    month: int = Field(ge=1, le=12)
    label: str
    earned_cents: int


class EarningsChart(Page):
    """Earned per month, the last 12 months, oldest first."""

    items: list[MonthEarned]
    next_cursor: None = None


class LedgerQuery(Query):
    """A date range: ISO dates or times (UTC when no zone), ``to`` exclusive."""

    from_: str = Field(alias="from", max_length=40, description="e.g. 2026-11-01")
    to: str = Field(max_length=40, description="e.g. 2026-12-01")


#: The CSV export's body, as documented.
LEDGER_CSV = {"text/csv": {"type": "string"}}


# --- recurring deals ---------------------------------------------------------------------

def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO date such as 2026-12-01.") from None


def _iso_aware(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError("must be an ISO 8601 time with a zone, e.g. 2026-12-01T09:00:00Z.")
    return moment


#: An ISO date in a body (text, checked and read as a date).
IsoDate = Annotated[str, AfterValidator(_iso_date), WithJsonSchema(
    {"type": "string", "format": "date"})]
#: An ISO 8601 time with its zone in a body.
IsoTime = Annotated[str, AfterValidator(_iso_aware), WithJsonSchema(
    {"type": "string", "format": "date-time"})]


class NewInvoice(Request):
    """A paid invoice of a monthly deal; the same external_invoice_id again is answered
    with the first record and pays nothing more."""

    external_invoice_id: str = Field(min_length=1, max_length=100,
                                     pattern=r"^[A-Za-z0-9_.:-]+$")
    amount_cents: DealCents
    period_start: IsoDate = Field(description="ISO date, e.g. 2026-12-01")
    period_end: IsoDate
    paid_at: IsoTime = Field(description="ISO 8601 time with its zone")


class Invoice(Shape):
    """A recorded invoice: ``month_number`` is its place among the deal's paid invoices
    when it came; ``status`` paid or refunded."""

    id: int
    deal_id: int
    external_invoice_id: str
    amount_cents: int
    period_start: date
    period_end: date
    paid_at: Time
    month_number: int
    status: Literal["paid", "refunded"]
    source: Literal["api", "stripe"]


class InvoiceResult(Answer):
    """An invoice and the commissions it made (or, for a refund, the adjustments)."""

    invoice: Invoice
    commissions: list[Commission]


class InvoicePage(Answer):
    """A deal's invoices, oldest first."""

    items: list[Invoice]


class InvoiceRefund(Request):
    """Why the invoice was refunded or credited (optional)."""

    body_optional = True

    reason: str = Field("Invoice refunded", min_length=1, max_length=MAX_REASON)


class SubscriptionLink(Request):
    """The Stripe subscription whose paid invoices are a monthly deal's."""

    stripe_subscription_id: str = Field(pattern=r"^sub_[A-Za-z0-9]{1,60}$")


class RecurringDeal(Shape):
    """One of the partner's monthly deals: months paid and left (``null``: for life)."""

    deal_id: int
    company_name: str
    status: str
    monthly_value_cents: int
    months_allowed: int
    months_paid: int
    months_left: int | None
    earned_cents: int


class RecurringDealPage(Answer):
    """The partner's monthly deals, newest first."""

    items: list[RecurringDeal]
