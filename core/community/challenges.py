"""Challenges ("Close 5 deals this week - win $500"; rules: "Leaderboard and challenges"). Prizes are
``bonus`` commissions (rules: "Commissions")."""

from datetime import datetime

from sqlalchemy import func, select, update

from core.accounts.models import User
from core.base.audit import audit
from core.base.errors import Conflict, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.timeutil import now_utc
from core.community.models import Challenge
from core.money.commissions import add_bonus
from core.money.models import Deal
from core.program.models import Partner

METRICS = ("deals", "revenue")


def create_challenge(actor_id: int, name, metric, target, prize_cents, starts_at, ends_at,
                     description: str = "") -> Challenge:
    """Create a challenge. ``target`` is deals or revenue in cents; ``prize_cents`` per
    winner; the window is ``[starts_at, ends_at)`` in UTC. Raises ``ValidationError``."""
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        raise ValidationError("Name the challenge (up to 120 characters).")
    if metric not in METRICS:
        raise ValidationError("metric must be deals or revenue.")
    for value, label in ((target, "target"), (prize_cents, "prize_cents")):
        if isinstance(value, bool) or not isinstance(value, int) or value < (1 if label == "target" else 0) \
                or value > 100_000_000:
            raise ValidationError(f"{label} must be a whole number ({'1' if label == 'target' else '0'}"
                                  " to 100,000,000).")
    if not all(isinstance(t, datetime) and t.tzinfo for t in (starts_at, ends_at)) or \
            ends_at <= starts_at:
        raise ValidationError("The challenge must end after it starts (UTC dates).")
    ch = Challenge(name=name.strip(), description=(description or "")[:500], metric=metric,
                   target=target, prize_cents=prize_cents, starts_at=starts_at, ends_at=ends_at,
                   created_by_id=actor_id)
    db.session.add(ch)
    db.session.flush()
    audit(actor_id, "challenge.create", "challenge", ch.id, None,
          {"name": ch.name, "metric": metric, "target": target, "prize_cents": prize_cents})
    return ch


def standings(ch: Challenge, limit: int = 100) -> list[dict]:
    """Partners' progress in the window, best first: ``[{"partner_id", "name", "value",
    "reached"}]`` where ``value`` is deals or revenue cents (confirmed, not cancelled)."""
    value = func.count(Deal.id) if ch.metric == "deals" else func.sum(Deal.value_cents)
    rows = db.session.execute(
        select(Partner.id, User.name, value.label("v"))
        .join(Deal, Deal.partner_id == Partner.id).join(User, User.id == Partner.user_id)
        .where(Deal.status == "won", Deal.confirmed_at >= ch.starts_at,
               Deal.confirmed_at < ch.ends_at, Partner.status == "active")
        .group_by(Partner.id, User.name).order_by(value.desc(), Partner.id).limit(limit)).all()
    return [{"partner_id": pid, "name": name, "value": int(v or 0), "reached": int(v or 0) >= ch.target}
            for pid, name, v in rows]


def progress_for(ch: Challenge, partner_id: int) -> int:
    """One partner's value in the challenge (deals or revenue cents)."""
    value = func.count(Deal.id) if ch.metric == "deals" else func.coalesce(func.sum(Deal.value_cents), 0)
    return int(db.session.scalar(select(value).where(
        Deal.partner_id == partner_id, Deal.status == "won", Deal.confirmed_at >= ch.starts_at,
        Deal.confirmed_at < ch.ends_at)) or 0)


def active_challenges(at: datetime | None = None) -> list[Challenge]:
    """Challenges running now."""
    at = at or now_utc()
    return list(db.session.scalars(select(Challenge).where(
        Challenge.starts_at <= at, Challenge.ends_at > at).order_by(Challenge.ends_at)))


def award(challenge_id, actor_id: int) -> list:
    """After the window ends, give every partner who reached the target a pending
    ``bonus`` commission of the prize, once (compare-and-set on ``awarded_at``).
    Returns the bonus commissions. Raises ``NotFound``, ``Conflict``."""
    ch = get_row(Challenge, challenge_id)
    if ch is None:
        raise NotFound("No such challenge.")
    if now_utc() < ch.ends_at:
        raise Conflict("The challenge is still running; award it after it ends.")
    res = db.session.execute(update(Challenge).where(Challenge.id == ch.id,
                                                     Challenge.awarded_at.is_(None))
                             .values(awarded_at=now_utc()))
    if res.rowcount != 1:
        raise Conflict("This challenge was already awarded.")
    made = []
    if ch.prize_cents:
        for row in standings(ch, limit=10_000):
            if row["reached"]:
                made.append(add_bonus(row["partner_id"], ch.prize_cents, actor_id,
                                      f"Challenge prize: {ch.name}"))
    audit(actor_id, "challenge.award", "challenge", ch.id, None, {"winners": len(made)})
    return made
