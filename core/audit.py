"""Audit trail: every change on money, access or tiers writes one row (DESIGN.md)."""

import json

from core.extensions import db
from core.models import AuditLog


#: Every ``object_type`` the code writes (the audit screen's "Target type" choices;
#: a test checks each ``audit(...)`` call in the code uses one of these).
OBJECT_TYPES = ("api_token", "challenge", "commission", "deal", "message", "partner",
                "payout", "setting", "statement", "statement_batch", "tier", "user")


def staff_choices() -> list[tuple[str, str]]:
    """``(user id, "Name <email>")`` of every staff member, by name: who can appear as an
    audit row's actor (with the system, which has no user)."""
    from sqlalchemy import select

    from core.models import User

    return [(str(uid), f"{name} <{email}>") for uid, name, email in db.session.execute(
        select(User.id, User.name, User.email).where(User.is_staff).order_by(User.name))]


def audit(actor_id: int | None, action: str, object_type: str, object_id: int | None,
          before: dict | None = None, after: dict | None = None) -> AuditLog:
    """Add an audit row to the session (committed with the change it records).

    Args: ``actor_id`` user id or ``None`` for the system; ``action`` such as
    ``"payout.approve"``; ``before``/``after`` small JSON-able dicts of the fields changed.
    Returns the ``AuditLog`` row (not yet committed).
    """
    row = AuditLog(
        actor_id=actor_id, action=action, object_type=object_type, object_id=object_id,
        before=json.dumps(before, default=str, sort_keys=True) if before else "",
        after=json.dumps(after, default=str, sort_keys=True) if after else "",
    )
    db.session.add(row)
    return row
