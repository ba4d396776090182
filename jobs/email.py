"""E-mail jobs (queue ``email``): verification and password reset.

Ids in, everything reloaded and re-checked inside the job; the signed links are made
here, so no token waits in Redis. RQ delivers at least once: a verification or reset
e-mail sent twice is harmless (each link works). An SMTP error fails the job and RQ retries it
(``retries=3`` at enqueue).
"""

from core import account_email
from core.extensions import db
from core.mail import public_url, send_email
from core.models import User
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
    (``core.account_email.request_password_reset``), so the web answer tells nothing.
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
