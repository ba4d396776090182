"""XP for the actions the program wants (rules: "XP, levels and streaks")."""

from datetime import datetime

from sqlalchemy import func, literal, select

from core.base.errors import ValidationError
from core.base.extensions import db
from core.base.timeutil import UTCDateTime, now_utc
from core.engagement.models import Level, XpEntry, XpRule

#: The actions that earn XP and their default points (staff may change the amounts).
XP_ACTIONS = {
    "lead_logged": 10,
    "stage_moved": 5,
    "deal_won": 100,
    "module_passed": 30,
    "playbook_published": 40,
    "event_attended": 25,
}


#: What each action is, for the back office and the rules page.
XP_LABELS = {
    "lead_logged": "A lead logged",
    "stage_moved": "A lead moved to a new pipeline stage (once per stage)",
    "deal_won": "A deal won (when staff confirm it)",
    "module_passed": "A training module passed",
    "playbook_published": "A playbook published",
    "event_attended": "An event attended",
}
#: Most points one action may earn (staff cannot set more).
MAX_POINTS = 10000


def xp_amount(action: str) -> int:
    """Points one ``action`` earns now: the staff's ``XpRule`` row, else the default of
    ``XP_ACTIONS``. Raises ``ValidationError`` for an unknown action."""
    if action not in XP_ACTIONS:
        raise ValidationError(f"Unknown XP action: {action}.")
    points = db.session.scalar(select(XpRule.points).where(XpRule.action == action))
    return XP_ACTIONS[action] if points is None else int(points)


def xp_rules() -> list[dict]:
    """Every XP action with its points now: ``[{"action", "label", "points"}]`` in
    ``XP_ACTIONS`` order (one query)."""
    set_ = dict(db.session.execute(select(XpRule.action, XpRule.points)).all())
    return [{"action": a, "label": XP_LABELS[a], "points": int(set_.get(a, d))}
            for a, d in XP_ACTIONS.items()]


def check_xp_rule(action, points) -> None:
    """Refuse an XP rule staff cannot save: ``action`` one of ``XP_ACTIONS``, ``points``
    a whole number 0..``MAX_POINTS``. Raises ``ValidationError`` with a sentence."""
    if action not in XP_ACTIONS:
        raise ValidationError(f"Choose one of the XP actions: {', '.join(XP_ACTIONS)}.")
    if isinstance(points, bool) or not isinstance(points, int) or \
            not 0 <= points <= MAX_POINTS:
        raise ValidationError(f"Points are a whole number from 0 to {MAX_POINTS}.")


def check_level(name, min_xp) -> None:
    """Refuse a level staff cannot save: a name of 1..60 characters and ``min_xp`` a whole
    number 0..10,000,000. Raises ``ValidationError`` with a sentence."""
    if not isinstance(name, str) or not name.strip() or len(name) > 60:
        raise ValidationError("A level needs a name of at most 60 characters.")
    if isinstance(min_xp, bool) or not isinstance(min_xp, int) or \
            not 0 <= min_xp <= 10_000_000:
        raise ValidationError("A level starts at a whole number of XP from 0 to 10,000,000.")


def level_for(xp: int, levels: list[Level] | None = None) -> dict:
    """The level ``xp`` points reach (rules: "XP, levels and streaks").

    Returns ``{"name", "number" (1 = lowest), "min_xp", "next_name" | None,
    "next_min_xp" | None, "to_next" (points still needed, 0 at the top),
    "progress_percent"}``. Levels are the staff's ``Level`` rows by ``min_xp``; with no
    rows every partner is at one level named "Level 1". One query unless ``levels`` is
    given."""
    rows = sorted(levels if levels is not None else db.session.scalars(select(Level)),
                  key=lambda lv: lv.min_xp)
    steps = [(lv.name, lv.min_xp) for lv in rows] or [("Level 1", 0)]
    if steps[0][1] > 0:
        steps.insert(0, ("Level 0", 0))
    index = max(i for i, (_, at) in enumerate(steps) if at <= xp) if xp >= 0 else 0
    name, at = steps[index]
    nxt = steps[index + 1] if index + 1 < len(steps) else None
    if nxt is None:
        percent = 100
    else:
        percent = int(100 * (xp - at) / max(1, nxt[1] - at))
    return {"name": name, "number": index + 1, "min_xp": at,
            "next_name": nxt[0] if nxt else None, "next_min_xp": nxt[1] if nxt else None,
            "to_next": max(0, nxt[1] - xp) if nxt else 0, "progress_percent": percent}


def record_action(partner_id: int, action: str, source_key: str,
                  at: datetime | None = None) -> int | None:
    """Give ``partner_id`` the XP of ``action`` for ``source_key`` (e.g. ``"event:7"``), once.

    Returns the points given (the staff's ``XpRule`` for the action, else its default), or
    ``None`` when that source already earned XP. One statement in the caller's
    transaction: the amount is read and the row inserted together, a second insert for
    the same source does nothing (the unique key), so retries and racing workers never
    give XP twice. Raises ``ValidationError`` for an unknown action."""
    if action not in XP_ACTIONS:
        raise ValidationError(f"Unknown XP action: {action}.")
    points = func.coalesce(select(XpRule.points).where(XpRule.action == action)
                           .scalar_subquery(), XP_ACTIONS[action])
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    row = select(literal(partner_id), literal(action), literal(f"{source_key}"[:80]), points,
                 literal(at or now_utc(), UTCDateTime()))
    stmt = (insert(XpEntry).from_select(
        ["partner_id", "action", "source_key", "points", "earned_at"], row)
        .on_conflict_do_nothing(index_elements=["partner_id", "source_key"])
        .returning(XpEntry.points))
    return db.session.execute(stmt).scalar()


def total_xp(partner_id: int) -> int:
    """All XP ``partner_id`` has earned (points)."""
    return int(db.session.execute(select(func.coalesce(func.sum(XpEntry.points), 0))
                                  .where(XpEntry.partner_id == partner_id)).scalar_one())
