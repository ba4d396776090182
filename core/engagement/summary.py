"""One partner's engagement at a glance: XP, level, streak, goal progress and badges, for
the dashboard and ``GET /api/partner/engagement`` (rules: "Goals", "XP, levels and
streaks", "Badges")."""

from datetime import datetime

from sqlalchemy import select

from core.base.extensions import db
from core.base.timeutil import now_utc
from core.engagement.goals import goal_progress
from core.engagement.models import Badge, BadgeAward, XpEntry
from core.engagement.streaks import streak_for
from core.engagement.xp import level_for
from core.program.models import Partner


def engagement_for(partner: Partner, now: datetime | None = None, badges: bool = True
                   ) -> dict:
    """Returns ``{"xp": int, "level": level_for(), "streak": streak_for(), "goal":
    goal_progress(), "badges": {"earned": int, "total": int, "recent": [{"key", "name",
    "icon", "awarded_at"}] (the last three earned)}}``; ``badges=False`` leaves the
    badge counts out (``None``). A handful of queries."""
    now = now or now_utc()
    # The XP total and the streak's weeks from one read of the partner's entries.
    entries = db.session.execute(select(XpEntry.points, XpEntry.earned_at)
                                 .where(XpEntry.partner_id == partner.id)).all()
    xp = sum(points for points, _ in entries)
    out = {"xp": xp, "level": level_for(xp),
           "streak": streak_for(partner, now, earned_at=[at for _, at in entries]),
           "goal": goal_progress(partner, now), "badges": None}
    if badges:
        earned = db.session.execute(
            select(Badge.key, Badge.name, Badge.icon, BadgeAward.awarded_at)
            .join(BadgeAward, BadgeAward.badge_id == Badge.id)
            .where(BadgeAward.partner_id == partner.id)
            .order_by(BadgeAward.awarded_at.desc(), BadgeAward.id.desc())).all()
        total = db.session.scalar(select(db.func.count()).select_from(Badge).where(
            Badge.active.is_(True))) or 0
        out["badges"] = {"earned": len(earned), "total": int(total),
                         "recent": [{"key": k, "name": n, "icon": i, "awarded_at": at}
                                    for k, n, i, at in earned[:3]]}
    return out
