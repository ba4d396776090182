"""E-mail verification and password reset by signed links (rules: "E-mail").

Links carry an itsdangerous token signed with Flask's ``SECRET_KEY`` and a salt per
purpose, so a verification token is never a reset token. Neither token is stored: a
verification token names the user and a digest of the address it was sent to (it stops
working if the address changes); a reset token names the user and a digest of the
password hash *at the time it was made*, so it dies as soon as the password changes: it
works once, and every other reset link of that user dies with it.

The e-mails are made and sent by RQ jobs (jobs/email.py); the tokens are made there too,
so no token ever sits in Redis. The rules for what an unverified partner may not do are
here (:func:`require_verified_email`), used by core's own operations.
"""

import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from core.accounts.models import User
from core.base.audit import audit
from core.base.errors import DomainError, Forbidden
from core.base.extensions import db, get_row
from core.base.jobs import QUEUE_EMAIL, job, job_logger
from core.base.mail import public_url, send_email
from core.base.timeutil import now_utc

#: Salts: one per purpose, so a token made for one is refused by the other.
VERIFY_SALT = "siso.email-verify.v1"
RESET_SALT = "siso.password-reset.v1"
#: Paths of the links in the e-mails (portal/account_views.py serves them).
VERIFY_PATH = "/verify-email/"
RESET_PATH = "/password/reset/"


#: What asking for a reset answers, whether or not the address has an account.
RESET_SENT = ("If an account uses {email}, we have sent it a link to choose a new password. "
              "The link works once, for 1 hour. Nothing arrived? Check your spam folder, "
              "or ask again in a few minutes.")
#: What setting a new password from a reset link answers.
RESET_DONE = ("Your password is changed and you are logged out everywhere. Log in with "
                    "the new password.")


class BadLink(DomainError):
    """A verification or reset link that cannot be used: tampered with, expired, used
    already or for an account that changed (400). ``expired`` says which, so the page can
    offer the right way forward."""

    status = 400
    code = "bad_link"

    def __init__(self, message: str, expired: bool = False):
        super().__init__(message)
        self.expired = expired


class EmailNotVerified(Forbidden):
    """An unverified partner asked for something that needs a verified address (403)."""

    code = "email_unverified"


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:20]


def _load_token(token, salt: str, max_age: int, expired: str, invalid: str):
    """``(user or None, digest)`` from a signed ``[user_id, digest]`` token of ``salt``
    younger than ``max_age`` seconds. Raises :class:`BadLink` with ``expired`` (and
    ``expired=True``) or ``invalid`` as the sentence for people."""
    try:
        user_id, digest = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise BadLink(expired, expired=True) from None
    except (BadSignature, TypeError, ValueError):
        raise BadLink(invalid) from None
    return (get_row(User, user_id) if isinstance(user_id, int) else None), digest


def is_verified(user: User) -> bool:
    """True when the user's address is verified; staff always count as verified."""
    return user.is_staff or user.email_verified_at is not None


def require_verified_email(user: User, what: str) -> None:
    """Refuse ``what`` (e.g. "request a payout") to a partner whose address is unverified.

    Raises :class:`EmailNotVerified` (403, code ``email_unverified``) with a sentence that
    says how to verify. Rule: rules: "E-mail" -- unverified partners may log in and
    look around, but nothing that moves money to them (requesting a payout, connecting a
    payout account) until the address is theirs.
    """
    if not is_verified(user):
        raise EmailNotVerified(
            f"Verify your e-mail address before you {what}: open the link we sent to "
            f"{user.email}, or ask for a new one from the banner at the top of the page.")


# --- verification ------------------------------------------------------------------------

def verification_token(user: User) -> str:
    """A signed token that verifies ``user``'s current address (life:
    ``EMAIL_VERIFY_MAX_AGE``, 48 hours)."""
    return _serializer(VERIFY_SALT).dumps([user.id, _digest(user.email)])


def verification_link(user: User) -> str:
    """The path (from "/") of the verification link for ``user``."""
    return VERIFY_PATH + verification_token(user)


def send_verification(user: User) -> None:
    """Send ``user`` a verification e-mail after the commit (RQ job, ``email`` queue)."""
    send_verification_email.after_commit(user.id)


def send_account_exists(email: str) -> None:
    """Tell the owner of ``email`` (already normalised) that someone tried to apply with
    their address, after the commit (RQ job, ``email`` queue): registration answers the
    same for known and new addresses, so this e-mail is how the owner learns of it."""
    send_account_exists_email.after_commit(email)


def verify_email(token) -> tuple[User, bool]:
    """Mark the address verified from a verification link's token.

    Returns ``(user, newly)``: ``newly`` is False when it was verified already (opening
    the link twice is harmless). Raises :class:`BadLink` when the token is tampered with
    or malformed, expired (48 hours; ``expired=True``), or was sent to an address the
    account no longer has. Audited; not committed.
    """
    user, digest = _load_token(
        token, VERIFY_SALT, current_app.config["EMAIL_VERIFY_MAX_AGE"],
        expired="This verification link has expired (links work for 48 hours). Log in "
                "and ask for a new one from the banner.",
        invalid="This verification link is not valid: it may be cut short or altered. "
                "Copy the whole link from the e-mail, or log in and ask for a new one.")
    if user is None or not isinstance(digest, str) or digest != _digest(user.email):
        raise BadLink("This verification link is for an address this account no longer "
                      "has. Log in and ask for a new one.")
    if user.email_verified_at is not None:
        return user, False
    user.email_verified_at = now_utc()
    audit(user.id, "user.email_verified", "user", user.id, None, {"email": user.email})
    return user, True


# --- password reset ------------------------------------------------------------------------

def reset_token(user: User) -> str:
    """A signed token to reset ``user``'s password, bound to the current password hash
    (life: ``PASSWORD_RESET_MAX_AGE``, 1 hour)."""
    return _serializer(RESET_SALT).dumps([user.id, _digest(user.password_hash)])


def reset_link(user: User) -> str:
    """The path (from "/") of the password-reset link for ``user``."""
    return RESET_PATH + reset_token(user)


def request_password_reset(email: str) -> None:
    """Someone asked to reset the password of ``email`` (already normalised).

    Always enqueues the same job, whether or not an account has that address, so the
    answer and its timing tell nothing; the job looks the address up and sends only to
    an account that exists and is not suspended (jobs/email.py
    ``send_password_reset``).
    """
    send_password_reset.after_commit(email)


def staff_send_password_reset(actor: User, partner_id) -> User:
    """Staff send a partner the password-reset e-mail (rules: "Staff roles":
    "reset password link"). The link goes to the partner's own address only, so staff
    never see or hold it; the same job and token as "Forgot password?".

    ``actor``: an admin or support staff member. Returns the partner's user. Audited
    ``user.password_reset_sent`` on the partner. Raises ``Forbidden`` for other roles,
    ``NotFound`` for an unknown partner, ``DomainError`` (409) for a suspended one (a
    reset would not let them in).
    """
    from core.base.errors import NotFound
    from core.program.models import Partner

    if not actor.has_role("support"):
        raise Forbidden("Only admin and support staff send password resets.")
    partner = get_row(Partner, partner_id)
    if partner is None:
        raise NotFound("No such partner.")
    if partner.status == "suspended":
        raise DomainError("This partner is suspended; reactivate them first.",
                          code="suspended", status=409)
    send_password_reset.after_commit(partner.user.email)
    audit(actor.id, "user.password_reset_sent", "partner", partner.id, None,
          {"email": partner.user.email})
    return partner.user


def user_for_reset_token(token) -> User:
    """The user a reset link is for, while it can still be used.

    Raises :class:`BadLink` when the token is tampered with or malformed, expired (1
    hour; ``expired=True``), for an unknown or suspended account, or used already (the
    password changed since the link was made).
    """
    user, digest = _load_token(
        token, RESET_SALT, current_app.config["PASSWORD_RESET_MAX_AGE"],
        expired="This password-reset link has expired (links work for 1 hour). Ask for "
                "a new one below.",
        invalid="This password-reset link is not valid: it may be cut short or altered. "
                "Copy the whole link from the e-mail, or ask for a new one below.")
    if user is None or not user.is_active:
        raise BadLink("This password-reset link cannot be used. Ask for a new one below.")
    if not isinstance(digest, str) or digest != _digest(user.password_hash):
        raise BadLink("This password-reset link was used already, or the password changed "
                      "since it was sent. Ask for a new one below if you still need it.")
    return user


def reset_password(token, new_password) -> User:
    """Set a new password from a reset link and end every session of the user.

    The new password must pass ``core.accounts.users.check_password_rules`` (10-200 characters,
    not a common password). The link then dies (its token is bound to the old hash), every
    session, socket and API login token of the user ends (``end_sessions``), and the
    address counts as verified (the link proved it). Raises :class:`BadLink` (see
    :func:`user_for_reset_token`) or ``ValidationError`` (password rules); nothing changes
    then. Audited; not committed. Returns the user.
    """
    from core.accounts.users import check_password_rules, end_sessions, hash_password

    user = user_for_reset_token(token)
    check_password_rules(new_password)
    user.password_hash = hash_password(new_password)
    if user.email_verified_at is None:
        user.email_verified_at = now_utc()
    audit(user.id, "user.password_reset", "user", user.id, None, None)
    end_sessions(user, user.id, "password reset")
    return user


def user_by_email(email: str) -> User | None:
    """The user with this (normalised) address, or ``None``."""
    return db.session.scalar(select(User).where(User.email == email))


# --- the e-mails (worker) --------------------------------------------------------------------

def _hours(seconds: int) -> int:
    return max(1, round(seconds / 3600))


@job(queue=QUEUE_EMAIL, retries=3)
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
               link=public_url(verification_link(user)),
               hours=_hours(current_app.config["EMAIL_VERIFY_MAX_AGE"]))
    log.info("verification e-mail sent to user %s", user_id)
    return "sent"


@job(queue=QUEUE_EMAIL, retries=3)
def send_password_reset(email: str) -> str:
    """E-mail a password-reset link (valid 1 hour, works once) to the account with this
    address, if there is one and it is not suspended.

    Enqueued for every "forgot password" request, known address or not
    (``core.accounts.email_links.request_password_reset``), so the web answer tells nothing.
    Returns ``"sent"`` or ``"no_account"``.
    """
    from flask import current_app

    log = job_logger(__name__)
    user = user_by_email(email) if isinstance(email, str) else None
    if user is None or not user.is_active:
        log.info("password reset asked for an address with no usable account")
        return "no_account"
    send_email(user.email, "reset", name=user.name,
               link=public_url(reset_link(user)),
               forgot_link=public_url("/password/forgot"),
               minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60)
    log.info("password-reset e-mail sent to user %s", user.id)
    return "sent"


@job(queue=QUEUE_EMAIL, retries=3)
def send_account_exists_email(email: str) -> str:
    """E-mail the owner of ``email`` that someone tried to apply with their address
    (``core.accounts.email_links.send_account_exists``), with links to log in and to reset the
    password. Returns ``"sent"`` or ``"no_account"`` (the account went away meanwhile)."""
    log = job_logger(__name__)
    user = user_by_email(email) if isinstance(email, str) else None
    if user is None:
        log.info("account-exists e-mail skipped: no account has that address now")
        return "no_account"
    send_email(user.email, "account_exists", name=user.name,
               login_link=public_url("/login"), forgot_link=public_url("/password/forgot"))
    log.info("account-exists e-mail sent to user %s", user.id)
    return "sent"
