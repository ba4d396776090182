"""The weekly streak (rules: "XP, levels and streaks").

A week counts when the partner earned XP at least once in it (any action of
``core.engagement.xp.XP_ACTIONS``): ISO weeks, Monday to Sunday, in the partner's time
zone. The grace rule, exactly as docs/rules.md writes it:

- After every ``GRACE_EVERY`` (4) kept weeks, the streak holds one grace week: a missed
  week then uses it instead of breaking the streak. A used grace adds nothing to the
  length, and the next one is earned by ``GRACE_EVERY`` further kept weeks. Grace is
  never saved up beyond one.
- A missed week with no grace in hand breaks the streak (length back to 0).
- The current week never breaks the streak while it runs; it adds one once kept.
"""

from datetime import date, datetime, timedelta

from sqlalchemy import select

from core.base.extensions import db
from core.base.timeutil import in_zone, now_utc
from core.engagement.models import XpEntry

#: Kept weeks that earn one grace week.
GRACE_EVERY = 4


def week_start(moment: datetime, tz_name: str | None) -> date:
    """The Monday of the ISO week holding ``moment`` in the zone ``tz_name``."""
    local = in_zone(moment, tz_name).date()
    return local - timedelta(days=local.weekday())


def streak_from_weeks(active: set[date], current: date) -> dict:
    """The streak from the Mondays of the weeks with a qualifying action (``active``) up
    to the week starting ``current`` (the running week).

    Returns ``{"weeks": int (the streak's length now), "best": int (longest ever),
    "grace_available": bool, "grace_used": int (grace weeks inside the current
    streak), "this_week_done": bool, "at_risk": bool (a streak that breaks if this
    week ends without an action and no grace is in hand)}``."""
    weeks = best = kept = grace_used = 0
    grace = False

    def keep():
        nonlocal weeks, kept, grace, best
        weeks += 1
        if not grace:
            kept += 1
            if kept >= GRACE_EVERY:
                grace, kept = True, 0
        best = max(best, weeks)

    if active:
        week = min(active)
        while week < current:
            if week in active:
                keep()
            elif weeks and grace:
                grace, kept, grace_used = False, 0, grace_used + 1
            else:
                weeks = kept = grace_used = 0
                grace = False
            week += timedelta(days=7)
    done = current in active
    if done:
        keep()
    return {"weeks": weeks, "best": best, "grace_available": grace,
            "grace_used": grace_used, "this_week_done": done,
            "at_risk": bool(weeks) and not done and not grace}


def active_weeks(partner_id: int, tz_name: str | None) -> set[date]:
    """The Mondays (in ``tz_name``) of the weeks ``partner_id`` earned XP in (one query)."""
    return {week_start(at, tz_name) for at in db.session.scalars(
        select(XpEntry.earned_at).where(XpEntry.partner_id == partner_id))}


def streak_for(partner, now: datetime | None = None, earned_at=None) -> dict:
    """The partner's weekly streak now (see :func:`streak_from_weeks` for the answer's
    shape), in their time zone. One query, none when ``earned_at`` (the times of all
    their XP entries, UTC) is given."""
    tz = partner.timezone or "UTC"
    weeks = active_weeks(partner.id, tz) if earned_at is None else \
        {week_start(at, tz) for at in earned_at}
    return streak_from_weeks(weeks, week_start(now or now_utc(), tz))
