"""Figures for the back-office dashboard (back-office issue "Dashboard")."""

from datetime import timedelta

from sqlalchemy import case, func, select

from core.extensions import db
from core.models import Commission, Deal, Partner, Payout, SupportTicket, Tier
from core.models.support import TICKET_PRIORITIES
from core.timeutil import month_bounds, now_utc

#: Seconds the dashboard's figures are reused (they sum the whole ledger).
CACHE_SECONDS = 30


def dashboard_figures() -> dict:
    """Program figures, cached in Redis for ``CACHE_SECONDS`` (the sums read every
    commission row: about 150 ms at a million rows); computed afresh when Redis is down.
    Same shape as ``compute_figures``."""
    import json

    from redis.exceptions import RedisError

    from core.tasks import redis_connection

    key = "siso:dashboard:figures"
    try:
        cached = redis_connection().get(key)
        if cached:
            return json.loads(cached)
    except RedisError:
        return compute_figures()
    figures = compute_figures()
    try:
        redis_connection().set(key, json.dumps(figures), ex=CACHE_SECONDS)
    except RedisError:
        pass
    return figures


def compute_figures() -> dict:
    """Program figures, a constant number of queries whatever the data size.

    Returns ``{"by_status": {status: n}, "by_tier": [(name, n)], "applications": n,
    "deals": {"this": (count, cents), "last": (count, cents)},
    "commissions": {status: cents}, "payouts_waiting": (count, cents),
    "payouts_failed": n, "tickets": see ``ticket_figures``,
    "jobs": {queue: length, "failed": n} | None}``.
    """
    now = now_utc()
    this_start, this_end = month_bounds(now.year, now.month)
    last_start, _ = month_bounds(now.year - (now.month == 1), (now.month - 2) % 12 + 1)
    by_status = dict(db.session.execute(
        select(Partner.status, func.count()).group_by(Partner.status)).all())
    by_tier = [tuple(r) for r in db.session.execute(
        select(Tier.name, func.count(Partner.id)).outerjoin(Partner, Partner.tier_id == Tier.id)
        .group_by(Tier.name, Tier.min_deals).order_by(Tier.min_deals)).all()]

    def deals_between(a, b):
        row = db.session.execute(select(func.count(), func.coalesce(func.sum(Deal.value_cents), 0))
                                 .where(Deal.confirmed_at >= a, Deal.confirmed_at < b,
                                        Deal.status == "won")).one()
        return int(row[0]), int(row[1])

    commissions = {k: int(v) for k, v in db.session.execute(
        select(Commission.status, func.coalesce(func.sum(Commission.amount_cents), 0))
        .group_by(Commission.status)).all()}
    waiting = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Payout.amount_cents), 0))
        .where(Payout.status == "requested")).one()
    failed = db.session.scalar(select(func.count()).select_from(Payout)
                               .where(Payout.status == "failed")) or 0
    return {
        "by_status": by_status, "by_tier": by_tier,
        "applications": by_status.get("applied", 0),
        "deals": {"this": deals_between(this_start, this_end),
                  "last": deals_between(last_start, this_start)},
        "commissions": commissions,
        "payouts_waiting": (int(waiting[0]), int(waiting[1])),
        "payouts_failed": int(failed),
        "tickets": ticket_figures(now),
        "jobs": job_figures(),
    }


#: Age bands of open tickets: (key, label, upper bound in hours or ``None``).
TICKET_AGES = (("lt24h", "Under 24 hours", 24), ("1to3d", "1–3 days", 72),
               ("gt3d", "Over 3 days", None))
#: Ticket states that still need staff.
OPEN_TICKET_STATUSES = ("open", "in_progress")


def ticket_figures(now) -> dict:
    """Open tickets (open or in progress), in one query: ``{"open": n,
    "by_priority": {priority: n} (every priority, urgent first), "by_age": {age key: n}
    (keys of ``TICKET_AGES``, by time since the ticket was opened)}``."""
    age = case(*((SupportTicket.created_at > now - timedelta(hours=hours), key)
                 for key, _, hours in TICKET_AGES if hours is not None),
               else_=TICKET_AGES[-1][0])
    # Grouped over a subquery: PostgreSQL does not see two copies of a CASE with bound
    # parameters (select list, GROUP BY) as the same expression.
    open_ = (select(SupportTicket.priority.label("priority"), age.label("band"))
             .where(SupportTicket.status.in_(OPEN_TICKET_STATUSES)).subquery())
    rows = db.session.execute(
        select(open_.c.priority, open_.c.band, func.count())
        .group_by(open_.c.priority, open_.c.band)).all()
    by_priority = {p: 0 for p in reversed(TICKET_PRIORITIES)}  # urgent first
    by_age = {key: 0 for key, _, _ in TICKET_AGES}
    for priority, band, n in rows:
        by_priority[priority] = by_priority.get(priority, 0) + int(n)
        by_age[band] += int(n)
    return {"open": sum(by_age.values()), "by_priority": by_priority, "by_age": by_age}


def job_figures() -> dict | None:
    """Queue lengths and failed-job count from RQ, or ``None`` when Redis is down."""
    from redis.exceptions import RedisError
    from rq.registry import FailedJobRegistry, StartedJobRegistry

    from core.tasks import QUEUES, get_queue

    try:
        out = {}
        failed = running = 0
        for name in QUEUES:
            q = get_queue(name)
            out[name] = q.count
            failed += FailedJobRegistry(queue=q).count
            running += StartedJobRegistry(queue=q).count
        out["failed"], out["running"] = failed, running
        return out
    except RedisError:
        return None
