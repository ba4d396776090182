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


#: Notifications the top bar's drawer lists.
DRAWER_LIMIT = 10


def latest(user_id: int, limit: int = DRAWER_LIMIT) -> tuple[list[Notification], int]:
    """The user's newest ``limit`` notifications (read or not) and how many of all their
    notifications are unread: ``(rows newest first, unread count)``. Two queries."""
    from sqlalchemy import func, select

    rows = list(db.session.scalars(select(Notification).where(Notification.user_id == user_id)
                                   .order_by(Notification.id.desc()).limit(limit)))
    unread = db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0
    return rows, int(unread)


def mark_all_read(user_id: int) -> int:
    """Mark every unread notification of ``user_id`` read now; returns how many (int).
    Only that user's rows are touched. One UPDATE."""
    from sqlalchemy import update

    from core.timeutil import now_utc

    return db.session.execute(update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now_utc())).rowcount or 0


def open_notification(user_id: int, notification_id) -> Notification:
    """Mark one of the user's own notifications read and return it (the drawer's links
    go through this). Raises ``NotFound`` for an id that is not an int, does not exist or
    belongs to someone else (the same answer, so ids reveal nothing)."""
    from core.errors import NotFound
    from core.extensions import get_row
    from core.timeutil import now_utc

    row = get_row(Notification, notification_id)
    if row is None or row.user_id != user_id:
        raise NotFound("No such notification.")
    if row.read_at is None:
        row.read_at = now_utc()
    return row
