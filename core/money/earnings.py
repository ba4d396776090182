"""Earnings figures shown to partners; the same sums as the statements (rules: "Statements")."""

from datetime import datetime

from sqlalchemy import case, func, select

from core.base.errors import ValidationError
from core.base.extensions import db
from core.base.timeutil import month_bounds, now_utc
from core.money.models import COMMISSION_STATUSES, COMMISSION_TYPES, Commission, Payout, Statement
from core.money.payouts import available_cents, payout_minimum_cents
from core.money.recurring import recurring_deals
from core.money.statements import statement_figures

#: How commission types read on the earnings page, in the order shown.
TYPE_LABELS = {"base": "Base commission", "team_override": "Team override",
               "referral": "Referral bonus", "bonus": "Bonuses", "adjustment": "Adjustments"}
#: Month names for the chart.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def change_percent(this_cents: int, last_cents: int) -> int | None:
    """Whole-percent change from last month to this one, rounded half away from zero;
    ``None`` when last month had nothing to compare with."""
    if last_cents <= 0:
        return None
    diff = (this_cents - last_cents) * 100
    q, r = divmod(abs(diff), last_cents)
    if r * 2 >= last_cents:
        q += 1
    return q if diff >= 0 else -q


def earnings_summary(partner_id: int) -> dict:
    """Return the partner's earnings overview (cents):

    ``{"this_month": {earned, reversed, paid, ...statement figures},
    "last_month": {...}, "by_type": {type: cents earned this month},
    "pending_cents", "approved_cents" (available to pay out), "on_hold_cents",
    "in_payout_cents", "paid_total_cents", "balance_cents", "payout_minimum_cents"}``.
    ``this_month`` and ``last_month`` are exactly the statement figures of those months;
    ``change_percent`` compares their ``earned_cents`` (``change_percent()``).
    """
    now = now_utc()
    last = (now.year - (now.month == 1), (now.month - 2) % 12 + 1)

    def status_sum(*statuses, in_payout=None):
        q = select(func.coalesce(func.sum(Commission.amount_cents), 0)).where(
            Commission.partner_id == partner_id, Commission.status.in_(statuses))
        if in_payout is True:
            q = q.where(Commission.payout_id.is_not(None))
        return int(db.session.scalar(q) or 0)

    by_type = dict(db.session.execute(
        select(Commission.type, func.sum(Commission.amount_cents))
        .where(Commission.partner_id == partner_id,
               Commission.created_at >= now.replace(day=1, hour=0, minute=0, second=0,
                                                    microsecond=0))
        .group_by(Commission.type)).all())
    this_month = statement_figures(partner_id, now.year, now.month)
    paid_total = int(db.session.scalar(select(func.coalesce(func.sum(Payout.amount_cents), 0))
                     .where(Payout.partner_id == partner_id, Payout.status == "paid")) or 0)
    last_month = statement_figures(partner_id, *last)
    return {
        "this_month": this_month,
        "last_month": last_month,
        "change_percent": change_percent(this_month["earned_cents"], last_month["earned_cents"]),
        "by_type": {k: int(v) for k, v in by_type.items()},
        "pending_cents": status_sum("pending"),
        "approved_cents": available_cents(partner_id),
        "on_hold_cents": status_sum("on_hold"),
        "in_payout_cents": status_sum("approved", in_payout=True),
        "paid_total_cents": paid_total,
        "balance_cents": this_month["closing_cents"],
        "payout_minimum_cents": payout_minimum_cents(),
    }


def month_glance(partner_id: int, now: datetime | None = None) -> dict:
    """The dashboard's money figures in two queries: ``{"this_month_cents",
    "last_month_cents", "change_percent", "approved_cents"}``. The month figures are the
    statements' ``earned_cents`` (positive commissions created in the month); approved is
    what a payout would take now (``core.money.payouts.available_cents``)."""
    now = now or now_utc()
    start, end = month_bounds(now.year, now.month)
    last_start = month_bounds(now.year - (now.month == 1), (now.month - 2) % 12 + 1)[0]
    this_, last_ = db.session.execute(select(
        func.coalesce(func.sum(case((Commission.created_at >= start, Commission.amount_cents),
                                    else_=0)), 0),
        func.coalesce(func.sum(case((Commission.created_at < start, Commission.amount_cents),
                                    else_=0)), 0))
        .where(Commission.partner_id == partner_id, Commission.amount_cents > 0,
               Commission.created_at >= last_start, Commission.created_at < end)).one()
    this_, last_ = int(this_ or 0), int(last_ or 0)
    return {"this_month_cents": this_, "last_month_cents": last_,
            "change_percent": change_percent(this_, last_),
            "approved_cents": int(available_cents(partner_id))}


def monthly_earned(partner_id: int, months: int = 12, now: datetime | None = None) -> list[dict]:
    """Earnings of the last ``months`` calendar months (this one included), oldest first,
    in one query: ``[{"year", "month", "label", "earned_cents"}]``. A month's
    ``earned_cents`` is its statement's: positive commissions created in it."""
    now = now or now_utc()
    spans = []
    y, m = now.year, now.month
    for _ in range(months):
        spans.append((y, m) + month_bounds(y, m))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    spans.reverse()
    cols = [func.coalesce(func.sum(case((Commission.created_at >= a, Commission.amount_cents),
                                        else_=0)), 0) for _, _, a, _ in spans]
    # Sums from each month's start; a month is the difference with the next one's.
    row = db.session.execute(select(*cols).where(
        Commission.partner_id == partner_id, Commission.amount_cents > 0,
        Commission.created_at >= spans[0][2], Commission.created_at < spans[-1][3])).one()
    from_start = [int(v or 0) for v in row] + [0]
    return [{"year": y, "month": m, "label": _MONTHS[m - 1],
             "earned_cents": from_start[i] - from_start[i + 1]}
            for i, (y, m, _, _) in enumerate(spans)]


def chart_bars(series: list[dict], height: int = 100) -> list[dict]:
    """Bar heights for a chart of ``monthly_earned``: each item gains ``"height"``, an int
    from 0 to ``height`` proportional to the best month (a month with earnings gets at
    least 2 so it shows). Returns new dicts; the input is left alone."""
    top = max((s["earned_cents"] for s in series), default=0)
    out = []
    for s in series:
        h = 0
        if top > 0 and s["earned_cents"] > 0:
            h = max(2, s["earned_cents"] * height // top)
        out.append({**s, "height": h})
    return out


def partner_commissions(partner_id: int, status: str | None = None, ctype: str | None = None,
                        before_id: int | None = None, limit: int = 50) -> list[Commission]:
    """The partner's commissions, newest first, filtered by ``status`` and ``ctype``
    (allow-listed: ``COMMISSION_STATUSES``, ``COMMISSION_TYPES``), paged by id.

    Raises ``ValidationError`` for a value outside the lists.
    """
    q = select(Commission).where(Commission.partner_id == partner_id)
    if status:
        if status not in COMMISSION_STATUSES:
            raise ValidationError(f"status must be one of: {', '.join(COMMISSION_STATUSES)}.")
        q = q.where(Commission.status == status)
    if ctype:
        if ctype not in COMMISSION_TYPES:
            raise ValidationError(f"type must be one of: {', '.join(COMMISSION_TYPES)}.")
        q = q.where(Commission.type == ctype)
    if before_id:
        q = q.where(Commission.id < before_id)
    return list(db.session.scalars(q.order_by(Commission.id.desc()).limit(limit)))


#: Commissions on one page of ``/partner/earnings`` (older ones are a link away).
EARNINGS_PAGE_SIZE = 20


def next_release(partner_id: int) -> dict | None:
    """When the partner's pending money next leaves its holding period (rules: "Commission
    states"): ``{"at": the earliest ``hold_until`` still ahead or due, "cents": what
    becomes approved then}``, or ``None`` when nothing pending has a holding date (a
    pending bonus waits for staff instead)."""
    row = db.session.execute(
        select(Commission.hold_until, func.sum(Commission.amount_cents))
        .where(Commission.partner_id == partner_id, Commission.status == "pending",
               Commission.hold_until.is_not(None))
        .group_by(Commission.hold_until).order_by(Commission.hold_until).limit(1)).first()
    return None if row is None else {"at": row[0], "cents": int(row[1] or 0)}


def earnings_page(partner_id: int, status: str | None = None, ctype: str | None = None,
                  before_id: int | None = None) -> dict:
    """Everything ``/partner/earnings`` shows, for one partner only.

    Returns ``{"summary": earnings_summary(), "breakdown": [(type, label, cents)] (this
    month, in ``TYPE_LABELS`` order, types with nothing left out), "chart":
    chart_bars(monthly_earned()), "commissions": [...] (``EARNINGS_PAGE_SIZE`` matching
    the filters, newest first, older than ``before_id`` when given), "older_than": the id
    to ask for the next page with, or ``None`` at the end, "filters": {"status", "type",
    "error"}, "payouts", "statements", "next_release": ``next_release()``, "recurring": the
    monthly deals with months paid and left (``core.money.recurring.recurring_deals``)}``.
    A filter value outside the allow-lists is dropped and named in ``filters["error"]``.
    """
    error = None
    if status and status not in COMMISSION_STATUSES:
        status, error = None, "That status filter is not known; showing every status."
    if ctype and ctype not in COMMISSION_TYPES:
        ctype, error = None, "That type filter is not known; showing every type."
    summary = earnings_summary(partner_id)
    rows = partner_commissions(partner_id, status or None, ctype or None,
                               before_id=before_id, limit=EARNINGS_PAGE_SIZE + 1)
    breakdown = [(k, label, summary["by_type"][k]) for k, label in TYPE_LABELS.items()
                 if summary["by_type"].get(k)]
    return {
        "summary": summary,
        "breakdown": breakdown,
        "chart": chart_bars(monthly_earned(partner_id)),
        "commissions": rows[:EARNINGS_PAGE_SIZE],
        "older_than": rows[EARNINGS_PAGE_SIZE - 1].id if len(rows) > EARNINGS_PAGE_SIZE else None,
        "next_release": next_release(partner_id),
        "filters": {"status": status or None, "type": ctype or None, "error": error},
        "payouts": list(db.session.scalars(select(Payout).where(Payout.partner_id == partner_id)
                                           .order_by(Payout.id.desc()).limit(50))),
        "recurring": recurring_deals(partner_id),
        "statements": list(db.session.scalars(
            select(Statement).where(Statement.partner_id == partner_id)
            .order_by(Statement.year.desc(), Statement.month.desc(), Statement.version.desc()))),
    }
