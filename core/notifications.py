"""Notifications: stored for the notifications drawer, pushed live after commit."""

from core.extensions import db
from core.models import Notification
from core.tasks import emit_after_commit


def user_room(user_id: int) -> str:
    """Name of the per-user Socket.IO room that carries live notifications."""
    return f"user:{user_id}"


def notify(user_id: int, kind: str, title: str, body: str = "", url: str = "") -> Notification:
    """Store a notification for ``user_id`` and push it on their socket room after commit.

    ``kind`` is a short tag (``commission``, ``tier_up``, ``payout``...). Returns the row.
    """
    row = Notification(user_id=user_id, kind=kind, title=title[:200], body=body, url=url)
    db.session.add(row)
    emit_after_commit("notification", {"kind": kind, "title": row.title, "body": body,
                                       "url": url}, user_room(user_id))
    return row
