"""Figures for the back-office dashboard (rules: "Staff roles")."""

from datetime import timedelta

from sqlalchemy import case, func, select

from core.base.extensions import db
from core.base.jobs import QUEUE_DEFAULT, job
from core.base.timeutil import month_bounds, now_utc
from core.money.models import Commission, Deal, Payout
from core.program.models import Lead, Partner, Tier
from core.support.models import TICKET_PRIORITIES, SupportTicket

#: Seconds the dashboard's figures count as fresh (they sum the whole ledger).
CACHE_SECONDS = 30
#: Seconds stale figures may still be shown while a worker recomputes them; past that
#: (no worker running, say) a request computes them itself.
STALE_SECONDS = 600
CACHE_KEY = "siso:dashboard:figures"
REFRESH_LOCK = "siso:dashboard:refreshing"


def dashboard_figures() -> dict:
    """Program figures for ``/admin/``, same shape as ``compute_figures``.

    The sums read every commission and deal row (about 500 ms at a million commissions,
    BENCHMARKS.md "Admin lists"), so no page load should wait for them but the very
    first: figures younger than ``CACHE_SECONDS`` are shown as they are; older ones (up
    to ``STALE_SECONDS``) are shown while one RQ job (``core.program.backoffice.refresh_dashboard``,
    one at a time) computes new ones. With nothing cached, or Redis down, they are
    computed in the request."""
    import json
    import time

    from redis.exceptions import RedisError

    from core.base.jobs import redis_connection

    try:
        cached = redis_connection().get(CACHE_KEY)
    except RedisError:
        return compute_figures()
    if cached:
        entry = json.loads(cached)
        if time.time() - entry.get("at", 0) > CACHE_SECONDS:
            _request_refresh()
        return entry["figures"]
    return store_figures()


def store_figures() -> dict:
    """Compute the figures and cache them for ``STALE_SECONDS`` (best effort: Redis
    errors are ignored). Returns the figures."""
    import json
    import time

    from redis.exceptions import RedisError

    from core.base.jobs import redis_connection

    figures = compute_figures()
    try:
        r = redis_connection()
        r.set(CACHE_KEY, json.dumps({"at": time.time(), "figures": figures}),
              ex=STALE_SECONDS)
        r.delete(REFRESH_LOCK)
    except RedisError:
        pass
    return figures


def _request_refresh() -> None:
    """Enqueue one refresh job unless one was asked for in the last minute."""
    from redis.exceptions import RedisError

    from core.base.jobs import redis_connection

    try:
        if redis_connection().set(REFRESH_LOCK, "1", nx=True, ex=60):
            refresh_dashboard.enqueue()  # a cache: now or never, no outbox needed
    except RedisError:
        pass


def compute_figures() -> dict:
    """Program figures, a constant number of queries whatever the data size.

    Returns ``{"by_status": {status: n}, "by_tier": [(name, n)], "applications": n,
    "deals": {"this": (count, cents), "last": (count, cents)},
    "commissions": {status: cents}, "payouts_waiting": (count, cents),
    "payouts_failed": n, "to_confirm": won leads waiting for confirmation,
    "tickets": see ``ticket_figures``,
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
    to_confirm = db.session.scalar(select(func.count()).select_from(Lead)
                                   .where(*_waiting_for_confirmation())) or 0
    return {
        "by_status": by_status, "by_tier": by_tier,
        "applications": by_status.get("applied", 0),
        "deals": {"this": deals_between(this_start, this_end),
                  "last": deals_between(last_start, this_start)},
        "commissions": commissions,
        "payouts_waiting": (int(waiting[0]), int(waiting[1])),
        "payouts_failed": int(failed),
        "to_confirm": int(to_confirm),
        "tickets": ticket_figures(now),
        "jobs": job_figures(),
    }


def _waiting_for_confirmation() -> tuple:
    """Conditions of a lead its partner marked won that staff have not confirmed yet (no
    deal made from it; rules: "Commissions")."""
    return (Lead.status == "won", ~select(Deal.id).where(Deal.lead_id == Lead.id).exists())


#: Leads shown per page of the "To confirm" queue.
TO_CONFIRM_PAGE = 50


def deals_to_confirm(page: int = 0, per_page: int = TO_CONFIRM_PAGE) -> tuple[list[Lead], int]:
    """The "To confirm" queue (rules: "Commissions"): leads marked won and not yet
    confirmed, oldest first (by when they were marked won), with their partner loaded.

    Args: ``page`` from 0 (out-of-range pages come back empty); ``per_page`` rows.
    Returns ``(leads, total)``.
    """
    from sqlalchemy.orm import joinedload

    where = _waiting_for_confirmation()
    total = db.session.scalar(select(func.count()).select_from(Lead).where(*where)) or 0
    leads = db.session.scalars(
        select(Lead).where(*where).options(joinedload(Lead.partner).joinedload(Partner.user))
        .order_by(Lead.stage_changed_at, Lead.id)
        .offset(max(page, 0) * per_page).limit(per_page)).all()
    return list(leads), int(total)


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

    from core.base.jobs import QUEUES, get_queue

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


@job(queue=QUEUE_DEFAULT, timeout=120, result_ttl=60)
def refresh_dashboard() -> None:
    """Recompute the back-office dashboard's cached figures (asked for by a page that
    found them older than :data:`CACHE_SECONDS`)."""
    store_figures()
