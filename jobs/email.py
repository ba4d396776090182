"""E-mail jobs (queue ``email``): verification, password reset, notification copies.

Ids in, everything reloaded and re-checked inside the job; the signed links are made
here, so no token waits in Redis. RQ delivers at least once: a verification or reset
e-mail sent twice is harmless (each link works), and a notification copy is sent once
(``Notification.emailed_at``). An SMTP error fails the job and RQ retries it
(``retries=3`` at enqueue).
"""

from core.accounts import email_links as account_email
from core.accounts.models import User
from core.base.extensions import db
from core.base.mail import public_url, send_email
from core.base.timeutil import now_utc
from core.community.models import Notification
from core.community.notifications import EMAIL_KINDS, wants_email
from jobs.runtime import app_job, job_logger


def _hours(seconds: int) -> int:
    return max(1, round(seconds / 3600))


@app_job
def send_verification_email(user_id: int) -> str:
    """E-mail ``user_id`` a link that verifies their address (valid 48 hours).

    Returns ``"sent"``, or ``"skipped"`` when the user is gone, suspended or already
    verified (nothing to prove). Raises the mail backend's error so RQ retries.
    """
    from flask import current_app

    log = job_logger(__name__)
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or user.email_verified_at is not None:
        log.info("verification e-mail for user %s skipped", user_id)
        return "skipped"
    send_email(user.email, "verify", name=user.name,
               link=public_url(account_email.verification_link(user)),
               hours=_hours(current_app.config["EMAIL_VERIFY_MAX_AGE"]))
    log.info("verification e-mail sent to user %s", user_id)
    return "sent"


@app_job
def send_password_reset(email: str) -> str:
    """E-mail a password-reset link (valid 1 hour, works once) to the account with this
    address, if there is one and it is not suspended.

    Enqueued for every "forgot password" request, known address or not
    (``core.accounts.email_links.request_password_reset``), so the web answer tells nothing.
    Returns ``"sent"`` or ``"no_account"``.
    """
    from flask import current_app

    log = job_logger(__name__)
    user = account_email.user_by_email(email) if isinstance(email, str) else None
    if user is None or not user.is_active:
        log.info("password reset asked for an address with no usable account")
        return "no_account"
    send_email(user.email, "reset", name=user.name,
               link=public_url(account_email.reset_link(user)),
               forgot_link=public_url("/password/forgot"),
               minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60)
    log.info("password-reset e-mail sent to user %s", user.id)
    return "sent"


@app_job
def send_account_exists(email: str) -> str:
    """E-mail the owner of ``email`` that someone tried to apply with their address
    (``core.accounts.email_links.send_account_exists``), with links to log in and to reset the
    password. Returns ``"sent"`` or ``"no_account"`` (the account went away meanwhile)."""
    log = job_logger(__name__)
    user = account_email.user_by_email(email) if isinstance(email, str) else None
    if user is None:
        log.info("account-exists e-mail skipped: no account has that address now")
        return "no_account"
    send_email(user.email, "account_exists", name=user.name,
               login_link=public_url("/login"), forgot_link=public_url("/password/forgot"))
    log.info("account-exists e-mail sent to user %s", user.id)
    return "sent"


@app_job
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
