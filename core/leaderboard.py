"""Leaderboard (PRD "Leaderboard & Competitions"; ANCHORS: time windows, other partners'
revenue hidden). Ranks confirmed, not cancelled deals."""

from datetime import datetime

from sqlalchemy import func, select

from core.errors import ValidationError
from core.extensions import db
from core.models import Deal, Partner, Tier, User
from core.timeutil import month_bounds, now_utc

PERIODS = ("month", "all")
METRICS = ("deals", "revenue")


def leaderboard(period: str = "month", metric: str = "deals", tier_key: str | None = None,
                me: int | None = None, top: int = 10, badges: bool = True) -> dict:
    """Ranking of active partners.

    Args: ``period`` month | all; ``metric`` deals | revenue; ``tier_key`` filters by
    computed tier; ``me`` a partner id whose own row is returned too; ``badges`` whether
    to read each row's achievement badges (one more query, whatever ``top`` is).
    Returns ``{"rows": [{"rank", "partner_id", "name", "tier", "deals", "revenue_cents",
    "badges"}], "me": row | None, "period", "metric"}``; ``revenue_cents`` is ``None`` on
    every row but the caller's own (partners do not see each other's revenue);
    ``badges`` lists the non-tier badge keys held (``core.achievements.BADGES`` order;
    empty when ``badges`` is false). Raises ``ValidationError`` for unknown options.
    """
    if period not in PERIODS or metric not in METRICS:
        raise ValidationError("period must be month or all; metric deals or revenue.")
    deals = func.count(Deal.id)
    revenue = func.coalesce(func.sum(Deal.value_cents), 0)
    score = deals if metric == "deals" else revenue
    q = (select(Partner.id, User.name, Tier.name, deals.label("deals"), revenue.label("revenue"),
                func.rank().over(order_by=score.desc()).label("rank"))
         .join(User, User.id == Partner.user_id).join(Tier, Tier.id == Partner.tier_id)
         .join(Deal, Deal.partner_id == Partner.id)
         .where(Partner.status == "active", Deal.status == "won"))
    if period == "month":
        now = now_utc()
        start, end = month_bounds(now.year, now.month)
        q = q.where(Deal.confirmed_at >= start, Deal.confirmed_at < end)
    if tier_key:
        q = q.where(Tier.key == tier_key)
    q = q.group_by(Partner.id, User.name, Tier.name)
    ranked = q.subquery()
    rows = db.session.execute(select(ranked).order_by(ranked.c.rank, ranked.c.id).limit(top)).all()
    mine = None
    if me is not None:
        mine = db.session.execute(select(ranked).where(ranked.c.id == me)).first()

    held = {}
    if badges:
        from core.achievements import badges_by_partner

        held = badges_by_partner([r.id for r in rows] + ([mine.id] if mine else []))

    def as_dict(r) -> dict:
        return {"rank": int(r.rank), "partner_id": r.id, "name": r.name, "tier": r[2],
                "deals": int(r.deals),
                "revenue_cents": int(r.revenue) if me is not None and r.id == me else None,
                "badges": held.get(r.id, [])}

    return {"rows": [as_dict(r) for r in rows], "me": as_dict(mine) if mine else None,
            "period": period, "metric": metric}


def month_start() -> datetime:
    """Start of the current UTC month."""
    now = now_utc()
    return month_bounds(now.year, now.month)[0]
