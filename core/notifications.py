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
