"""Notifications: stored for the notifications drawer, pushed live after commit, and for
what matters also e-mailed (portal issue "email"). Every notice goes through
:func:`notify`, so the e-mail rule lives here once."""

from core.extensions import db, get_row
from core.models import Notification, User
from core.tasks import QUEUE_EMAIL, emit_after_commit, enqueue_after_commit

#: Kinds that also go out by e-mail: application approved, commission approved, payout
#: sent / failed / returned, tier up, support replied. Everything else (new pending
#: commission, mentions, materials, statements, tier down) stays in the portal.
EMAIL_KINDS = frozenset({"approval", "commission_approved", "payout", "tier_up", "ticket"})


def user_room(user_id: int) -> str:
    """Name of the per-user Socket.IO room that carries live notifications."""
    return f"user:{user_id}"


def wants_email(user: User | None) -> bool:
    """Whether notification e-mails may go to ``user``: a partner (staff get none) who is
    not suspended, kept "E-mail me about ..." on in their profile (``notify_email``) and
    whose address is verified (mail never goes to an address nobody proved is theirs).
    Rule: the profile's contact preferences (core/profile.py)."""
    if user is None or user.partner is None:
        return False
    partner = user.partner
    return bool(partner.notify_email) and partner.status != "suspended" \
        and user.email_verified_at is not None


def notify(user_id: int, kind: str, title: str, body: str = "", url: str = "") -> Notification:
    """Store a notification for ``user_id`` and push it on their socket room after commit.

    ``kind`` is a short tag (``commission``, ``tier_up``, ``payout``...). A kind in
    :data:`EMAIL_KINDS` for a user who :func:`wants_email` is also e-mailed, by the job
    ``jobs.email.send_notification_email`` after the commit (which checks the preference
    again when it runs). The in-app notice is stored whatever the e-mail preference.
    Returns the row (flushed when an e-mail is queued, so it has its id).
    """
    row = Notification(user_id=user_id, kind=kind, title=title[:200], body=body, url=url)
    db.session.add(row)
    emit_after_commit("notification", {"kind": kind, "title": row.title, "body": body,
                                       "url": url}, user_room(user_id))
    if kind in EMAIL_KINDS and wants_email(get_row(User, user_id)):
        db.session.flush()
        enqueue_after_commit(QUEUE_EMAIL, "jobs.email.send_notification_email", row.id,
                             job_id=f"email-notification-{row.id}", retries=3)
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
