"""Bonus pools: a team challenge whose pool (cents) is shared among the team's members by
contribution, paid as ``bonus`` commissions through the normal approval (rules: "Bonus
pools").

The team is the leader and the active partners whose ``team_leader_id`` is the leader,
as they are when the pool is read or settled. A member's contribution is their confirmed
won deals (not cancelled) in ``[starts_at, ends_at)``, or the revenue of those deals in
cents. The split is :func:`split_pool`: largest-remainder rounding, so the parts always
add up to the pool exactly and each differs from its exact share by less than a cent.
"""

from datetime import datetime

from sqlalchemy import func, or_, select, update

from core.accounts.models import User
from core.base.audit import audit
from core.base.errors import Conflict, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.timeutil import now_utc
from core.engagement.models import POOL_METRICS, BonusPool, BonusPoolShare
from core.money.models import Deal
from core.program.models import Partner

#: Largest pool, in cents ($1,000,000), as for any bonus.
MAX_POOL_CENTS = 100_000_000


def split_pool(pool_cents: int, contributions: dict[int, int]) -> dict[int, int]:
    """Share ``pool_cents`` among members by contribution (rules: "Bonus pools").

    Args: ``pool_cents`` (int >= 0); ``contributions`` ``{partner_id: int >= 0}``.
    Returns ``{partner_id: cents}`` for every member given. Each member first gets the
    whole cents of their exact share ``pool * c / total`` (rounded down); the cents left
    over (fewer than the number of members) go one each to the largest remainders,
    ties to the larger contribution, then the lower partner id. The parts add up to
    ``pool_cents`` exactly; each differs from its exact share by less than one cent.
    When every contribution is 0 everyone gets 0 (nothing is paid).
    Raises ``ValueError`` for negative inputs.
    """
    if pool_cents < 0 or any(c < 0 for c in contributions.values()):
        raise ValueError("pool and contributions must not be negative")
    total = sum(contributions.values())
    if total == 0:
        return {pid: 0 for pid in contributions}
    parts, remainders = {}, []
    for pid, c in contributions.items():
        whole, rest = divmod(pool_cents * c, total)
        parts[pid] = whole
        remainders.append((-rest, -c, pid))
    left = pool_cents - sum(parts.values())
    for _, _, pid in sorted(remainders)[:left]:
        parts[pid] += 1
    return parts


def _whole(value, label: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValidationError(f"{label} must be a whole number from {lo:,} to {hi:,}.")
    return value


def create_pool(actor_id: int, name, leader_id, metric, target, pool_cents,
                starts_at, ends_at) -> BonusPool:
    """Create a bonus pool for the team led by ``leader_id`` (finance staff, audited
    ``bonus_pool.create``).

    Args: ``name`` (1-120 characters), ``metric`` ``deals`` | ``revenue``, ``target``
    (the team's total needed: deals, or revenue cents, 1..100,000,000), ``pool_cents``
    (1..100,000,000), ``starts_at``/``ends_at`` aware UTC, end after start.
    Raises ``ValidationError`` (nothing stored), ``NotFound`` (no such partner)."""
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 120:
        raise ValidationError("Name the pool (up to 120 characters).")
    if metric not in POOL_METRICS:
        raise ValidationError("The measure must be deals or revenue.")
    target = _whole(target, "The team's target", 1, 100_000_000)
    pool_cents = _whole(pool_cents, "The pool (cents)", 1, MAX_POOL_CENTS)
    if not all(isinstance(t, datetime) and t.tzinfo for t in (starts_at, ends_at)) or \
            ends_at <= starts_at:
        raise ValidationError("The pool's window must end after it starts (UTC dates).")
    leader = get_row(Partner, leader_id)
    if leader is None:
        raise NotFound("No such team leader.")
    if leader.status != "active":
        raise ValidationError("The team leader must be an active partner.")
    pool = BonusPool(name=name.strip(), leader_id=leader.id, metric=metric, target=target,
                     pool_cents=pool_cents, starts_at=starts_at, ends_at=ends_at,
                     created_by_id=actor_id)
    db.session.add(pool)
    db.session.flush()
    audit(actor_id, "bonus_pool.create", "bonus_pool", pool.id, None,
          {"name": pool.name, "leader_id": leader.id, "metric": metric, "target": target,
           "pool_cents": pool_cents})
    return pool


def team_of(leader_id: int) -> list[tuple[int, str]]:
    """``(partner_id, name)`` of the team: the leader first, then the active members
    whose leader they are, by id."""
    rows = db.session.execute(
        select(Partner.id, User.name).join(User, User.id == Partner.user_id)
        .where(Partner.status == "active",
               or_(Partner.id == leader_id, Partner.team_leader_id == leader_id))
        .order_by((Partner.id != leader_id), Partner.id)).all()
    return [(pid, name) for pid, name in rows]


def contributions(pool: BonusPool) -> dict[int, int]:
    """``{partner_id: contribution}`` of every team member (0 for those who brought
    nothing): confirmed won deals in the window, or their revenue cents. One query for
    the figures."""
    members = [pid for pid, _ in team_of(pool.leader_id)]
    value = func.count(Deal.id) if pool.metric == "deals" else \
        func.coalesce(func.sum(Deal.value_cents), 0)
    found = dict(db.session.execute(
        select(Deal.partner_id, value).where(
            Deal.partner_id.in_(members), Deal.status == "won",
            Deal.confirmed_at >= pool.starts_at, Deal.confirmed_at < pool.ends_at)
        .group_by(Deal.partner_id)).all()) if members else {}
    return {pid: int(found.get(pid) or 0) for pid in members}


def standing(pool: BonusPool) -> dict:
    """The pool as the team and staff see it (before or after settling).

    Returns ``{"pool": BonusPool, "total": int, "reached": bool, "members":
    [{"partner_id", "name", "contribution", "share_cents"}]}``: before settling,
    ``share_cents`` is each member's share-to-be if the window closed now (0 for all
    while the target is not reached); after, what was paid."""
    names = dict(team_of(pool.leader_id))
    if pool.settled_at is not None:
        rows = [{"partner_id": s.partner_id,
                 "name": names.get(s.partner_id) or s.partner.user.name,
                 "contribution": s.contribution, "share_cents": s.amount_cents}
                for s in pool.shares]
        total = sum(r["contribution"] for r in rows)
        return {"pool": pool, "total": total, "reached": pool.paid_cents > 0,
                "members": rows}
    contrib = contributions(pool)
    total = sum(contrib.values())
    reached = total >= pool.target
    shares = split_pool(pool.pool_cents, contrib) if reached else {p: 0 for p in contrib}
    return {"pool": pool, "total": total, "reached": reached,
            "members": [{"partner_id": pid, "name": names[pid], "contribution": contrib[pid],
                         "share_cents": shares[pid]} for pid in contrib]}


def settle(pool_id, actor_id: int) -> BonusPool:
    """After the window ends, split the pool and pay each member's part as a pending
    ``bonus`` commission (approved by finance like any bonus), once: a compare-and-set
    on ``settled_at``. A team that missed the target is settled with nothing paid.
    Audited ``bonus_pool.settle``. Returns the pool with its shares.
    Raises ``NotFound``, ``Conflict`` (still running, or already settled)."""
    from core.money.commissions import add_bonus

    pool = get_row(BonusPool, pool_id)
    if pool is None:
        raise NotFound("No such bonus pool.")
    if now_utc() < pool.ends_at:
        raise Conflict("The pool's window is still open; settle it after it ends.")
    res = db.session.execute(update(BonusPool).where(BonusPool.id == pool.id,
                                                     BonusPool.settled_at.is_(None))
                             .values(settled_at=now_utc(), settled_by_id=actor_id))
    if res.rowcount != 1:
        raise Conflict("This bonus pool was already settled.")
    db.session.refresh(pool)
    contrib = contributions(pool)
    reached = sum(contrib.values()) >= pool.target
    shares = split_pool(pool.pool_cents, contrib) if reached else {p: 0 for p in contrib}
    for pid, c in contrib.items():
        commission = add_bonus(pid, shares[pid], actor_id, f"Bonus pool: {pool.name}") \
            if shares[pid] else None
        db.session.add(BonusPoolShare(pool_id=pool.id, partner_id=pid, contribution=c,
                                      amount_cents=shares[pid],
                                      commission_id=commission.id if commission else None))
    pool.paid_cents = sum(shares.values())
    db.session.flush()
    db.session.expire(pool, ["shares"])
    audit(actor_id, "bonus_pool.settle", "bonus_pool", pool.id, None,
          {"reached": reached, "paid_cents": pool.paid_cents,
           "shares": {str(p): s for p, s in shares.items() if s}})
    return pool


def pools_for(partner: Partner) -> list[dict]:
    """The bonus pools of the partner's team (as leader or member), newest first, each
    as :func:`standing`."""
    leader_id = partner.id if partner.team_leader_id is None else partner.team_leader_id
    ids = {partner.id, leader_id}
    pools = db.session.scalars(select(BonusPool).where(BonusPool.leader_id.in_(ids))
                               .order_by(BonusPool.ends_at.desc(), BonusPool.id.desc())
                               .limit(20))
    out = []
    for pool in pools:
        row = standing(pool)
        if any(m["partner_id"] == partner.id for m in row["members"]):
            out.append(row)
    return out
