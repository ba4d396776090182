"""XP for the actions the program wants (rules: "XP, levels and streaks")."""

from datetime import datetime

from sqlalchemy import func, select

from core.base.errors import ValidationError
from core.base.extensions import db
from core.base.timeutil import now_utc
from core.engagement.models import XpEntry

#: The actions that earn XP and their default points (staff may change the amounts).
XP_ACTIONS = {
    "lead_logged": 10,
    "stage_moved": 5,
    "deal_won": 100,
    "module_passed": 30,
    "playbook_published": 40,
    "event_attended": 25,
}


def xp_amount(action: str) -> int:
    """Points one ``action`` earns now (``XP_ACTIONS``). Raises ``ValidationError`` for an
    unknown action."""
    if action not in XP_ACTIONS:
        raise ValidationError(f"Unknown XP action: {action}.")
    return XP_ACTIONS[action]


def record_action(partner_id: int, action: str, source_key: str,
                  at: datetime | None = None) -> XpEntry | None:
    """Give ``partner_id`` the XP of ``action`` for ``source_key`` (e.g. ``"event:7"``), once.

    Returns the new entry, or ``None`` when that source already earned XP. Joins the
    caller's transaction (a savepoint guards the unique key). Raises ``ValidationError``
    for an unknown action."""
    points = xp_amount(action)
    key = f"{source_key}"[:80]
    exists = db.session.execute(select(XpEntry.id).where(
        XpEntry.partner_id == partner_id, XpEntry.source_key == key)).first()
    if exists:
        return None
    entry = XpEntry(partner_id=partner_id, action=action, source_key=key, points=points,
                    earned_at=at or now_utc())
    db.session.add(entry)
    db.session.flush()
    return entry


def total_xp(partner_id: int) -> int:
    """All XP ``partner_id`` has earned (points)."""
    return int(db.session.execute(select(func.coalesce(func.sum(XpEntry.points), 0))
                                  .where(XpEntry.partner_id == partner_id)).scalar_one())
