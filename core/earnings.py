"""Earnings figures shown to partners; the same sums as the statements (money issue)."""

from sqlalchemy import func, select

from core.extensions import db
from core.models import Commission, Payout
from core.payouts import available_cents, payout_minimum_cents
from core.statements import statement_figures
from core.timeutil import now_utc


def earnings_summary(partner_id: int) -> dict:
    """Return the partner's earnings overview (cents):

    ``{"this_month": {earned, reversed, paid, ...statement figures},
    "last_month": {...}, "by_type": {type: cents earned this month},
    "pending_cents", "approved_cents" (available to pay out), "on_hold_cents",
    "in_payout_cents", "paid_total_cents", "balance_cents", "payout_minimum_cents"}``.
    ``this_month`` and ``last_month`` are exactly the statement figures of those months.
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
    return {
        "this_month": this_month,
        "last_month": statement_figures(partner_id, *last),
        "by_type": {k: int(v) for k, v in by_type.items()},
        "pending_cents": status_sum("pending"),
        "approved_cents": available_cents(partner_id),
        "on_hold_cents": status_sum("on_hold"),
        "in_payout_cents": status_sum("approved", in_payout=True),
        "paid_total_cents": paid_total,
        "balance_cents": this_month["closing_cents"],
        "payout_minimum_cents": payout_minimum_cents(),
    }
