"""Leaderboard (rules: "Leaderboard and challenges": time windows, other
partners' revenue hidden). Ranks confirmed, not cancelled deals."""

from datetime import datetime

from sqlalchemy import func, or_, select

from core.accounts.models import User
from core.base.errors import ValidationError
from core.base.extensions import db
from core.base.timeutil import month_bounds, now_utc
from core.money.models import Deal
from core.program.models import Partner, Tier

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
    ``badges`` lists the non-tier badge keys held (``core.community.achievements.BADGES`` order;
    empty when ``badges`` is false). Raises ``ValidationError`` for unknown options.
    """
    if period not in PERIODS or metric not in METRICS:
        raise ValidationError("period must be month or all; metric deals or revenue.")
    # Deals are counted per partner first (the only large input), then ranked among
    # active partners, and names are joined for the rows shown only: one statement for
    # the top rows and the caller's own (bench/portal_pages.py, BENCHMARKS.md "Portal pages").
    won = select(Deal.partner_id.label("partner_id"), func.count(Deal.id).label("deals"),
                 func.coalesce(func.sum(Deal.value_cents), 0).label("revenue")) \
        .where(Deal.status == "won")
    if period == "month":
        now = now_utc()
        start, end = month_bounds(now.year, now.month)
        won = won.where(Deal.confirmed_at >= start, Deal.confirmed_at < end)
    won = won.group_by(Deal.partner_id).subquery()
    score = won.c.deals if metric == "deals" else won.c.revenue
    ranked = (select(won.c.partner_id, won.c.deals, won.c.revenue,
                     func.rank().over(order_by=score.desc()).label("rank"),
                     func.row_number().over(order_by=(score.desc(), won.c.partner_id))
                     .label("pos"))
              .join(Partner, Partner.id == won.c.partner_id)
              .where(Partner.status == "active"))
    if tier_key:
        ranked = ranked.join(Tier, Tier.id == Partner.tier_id).where(Tier.key == tier_key)
    ranked = ranked.subquery()
    shown = ranked.c.pos <= top if me is None else or_(ranked.c.pos <= top,
                                                        ranked.c.partner_id == me)
    result = db.session.execute(
        select(ranked.c.partner_id.label("id"), User.name, Tier.name.label("tier"),
               ranked.c.deals, ranked.c.revenue, ranked.c.rank, ranked.c.pos)
        .join(Partner, Partner.id == ranked.c.partner_id)
        .join(User, User.id == Partner.user_id).join(Tier, Tier.id == Partner.tier_id)
        .where(shown).order_by(ranked.c.pos)).all()
    rows = [r for r in result if r.pos <= top]
    mine = next((r for r in result if r.id == me), None) if me is not None else None

    held = {}
    if badges:
        from core.community.achievements import badges_by_partner

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
