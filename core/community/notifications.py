"""Notifications: stored for the notifications drawer, pushed live after commit, and for
what matters also e-mailed (rules: "E-mail"). Every notice goes through
:func:`notify`, so the e-mail rule lives here once."""

from sqlalchemy import exists, func, select, update

from core.accounts.models import User
from core.base.bulkwrite import block_memo, buffer_row
from core.base.errors import NotFound
from core.base.extensions import db, get_row
from core.base.jobs import QUEUE_EMAIL, job, job_logger
from core.base.mail import public_url, send_email
from core.base.outbox import emit_after_commit
from core.base.timeutil import now_utc
from core.community.models import Notification
from core.program.models import Partner

#: Kinds that also go out by e-mail: application approved, commission approved, payout
#: sent / failed / returned, tier up, support replied. Everything else (new pending
#: commission, mentions, materials, statements, tier down) stays in the portal.
EMAIL_KINDS = frozenset({"approval", "rejection", "commission_approved", "payout", "tier_up", "ticket"})


def user_room(user_id: int) -> str:
    """Name of the per-user Socket.IO room that carries live notifications."""
    return f"user:{user_id}"


def wants_email(user: User | None) -> bool:
    """Whether notification e-mails may go to ``user``: a partner (staff get none) who is
    not suspended, kept "E-mail me about ..." on in their profile (``notify_email``) and
    whose address is verified (mail never goes to an address nobody proved is theirs).
    Rule: the profile's contact preferences (core/profile.py). One query."""
    return user is not None and user_wants_email(user.id)


def _email_ok():
    """SQL condition on ``Partner`` joined to ``User``: the rule of :func:`wants_email`."""
    return (Partner.notify_email.is_(True), Partner.status != "suspended",
            User.email_verified_at.is_not(None))


def user_wants_email(user_id: int) -> bool:
    """:func:`wants_email` for a user id, in one query, or none inside a
    ``core.base.bulkwrite.bulk_rows`` block that :func:`prefetch_email_wishes` filled."""
    memo = block_memo()
    if memo is not None and user_id in memo.get("email_wishes", {}):
        return memo["email_wishes"][user_id]
    return db.session.scalar(select(exists().where(
        User.id == user_id, Partner.user_id == User.id, *_email_ok()))) or False


def prefetch_email_wishes(user_ids) -> None:
    """Inside a ``bulk_rows`` block, answer :func:`user_wants_email` for all of
    ``user_ids`` with one query (a batch's notices then ask nothing more)."""
    memo = block_memo()
    ids = set(user_ids)
    if memo is None or not ids:
        return
    yes = set(db.session.scalars(select(User.id).join(Partner, Partner.user_id == User.id)
                                 .where(User.id.in_(ids), *_email_ok())))
    memo.setdefault("email_wishes", {}).update({uid: uid in yes for uid in ids})


def notify(user_id: int, kind: str, title: str, body: str = "", url: str = "") -> Notification:
    """Store a notification for ``user_id`` and push it on their socket room after commit.

    ``kind`` is a short tag (``commission``, ``tier_up``, ``payout``...). A kind in
    :data:`EMAIL_KINDS` for a user who :func:`wants_email` is also e-mailed, by the job
    ``core.community.notifications.send_notification_email`` after the commit (which checks the preference
    again when it runs). The in-app notice is stored whatever the e-mail preference.
    Returns the row (flushed when an e-mail is queued, so it has its id); ``None`` inside
    ``core.base.bulkwrite.bulk_rows``, which writes it with the batch's other rows (and queues
    the e-mail once it has its id).
    """
    title = title[:200]
    emit_after_commit("notification", {"kind": kind, "title": title, "body": body,
                                       "url": url}, user_room(user_id))
    values = dict(user_id=user_id, kind=kind, title=title, body=body, url=url)
    email = kind in EMAIL_KINDS and user_wants_email(user_id)
    if buffer_row(Notification, values, on_id=_queue_email if email else None):
        return None
    row = Notification(**values)
    db.session.add(row)
    if email:
        db.session.flush()
        _queue_email(row.id)
    return row


def _queue_email(notification_id: int) -> None:
    send_notification_email.after_commit(notification_id,
                                         job_id=f"email-notification-{notification_id}")


#: Notifications the top bar's drawer lists.
DRAWER_LIMIT = 10


def unread_count(user_id: int) -> int:
    """How many of the user's notifications are unread. One query."""
    return int(db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0)


def latest(user_id: int, limit: int = DRAWER_LIMIT, before_id: int | None = None
           ) -> tuple[list[Notification], int]:
    """The user's newest ``limit`` notifications (read or not; with ``before_id``, those
    with smaller ids) and how many of all their notifications are unread:
    ``(rows newest first, unread count)``. Two queries."""
    q = select(Notification).where(Notification.user_id == user_id)
    if before_id is not None:
        q = q.where(Notification.id < before_id)
    rows = list(db.session.scalars(q.order_by(Notification.id.desc()).limit(limit)))
    return rows, unread_count(user_id)


def mark_all_read(user_id: int) -> int:
    """Mark every unread notification of ``user_id`` read now; returns how many (int).
    Only that user's rows are touched. One UPDATE."""
    return db.session.execute(update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now_utc())).rowcount or 0


def mark_read(user_id: int, notification_id) -> Notification:
    """Mark one of the user's own notifications read (once: a read one keeps its time)
    and return it. Raises ``NotFound`` for an id that is not an int, does not exist or
    belongs to someone else (the same answer, so ids reveal nothing)."""
    row = get_row(Notification, notification_id)
    if row is None or row.user_id != user_id:
        raise NotFound("No such notification.")
    if row.read_at is None:
        row.read_at = now_utc()
    return row


# --- the e-mail copy (worker) ------------------------------------------------------------------

@job(queue=QUEUE_EMAIL, retries=3)
def send_notification_email(notification_id: int) -> str:
    """E-mail the copy of a notification of a kind in ``EMAIL_KINDS`` (approval,
    commission approved, payout, tier up, ticket reply) to its partner.

    The contact preference is checked again here (``wants_email``: the partner may have
    opted out since). Returns ``"sent"``, ``"already_sent"``, or ``"skipped"`` (gone,
    not an e-mailed kind, opted out, unverified or suspended). Idempotent: a copy that
    went out (``emailed_at``) is not sent again.
    """
    log = job_logger(__name__)
    row = db.session.get(Notification, notification_id)
    if row is None or row.kind not in EMAIL_KINDS:
        return "skipped"
    if row.emailed_at is not None:
        return "already_sent"
    user = db.session.get(User, row.user_id)
    if not wants_email(user):
        log.info("notification %s not e-mailed: partner opted out or cannot receive",
                 notification_id)
        return "skipped"
    send_email(user.email, "notification", name=user.name, title=row.title, body=row.body,
               link=public_url(row.url) if row.url.startswith("/") else "",
               profile_link=public_url("/partner/profile"))
    row.emailed_at = now_utc()
    log.info("notification %s e-mailed to user %s", notification_id, user.id)
    return "sent"
