"""Log-in throttling with Flask-Limiter on Redis (rules: "Sessions and log-in").

Two shared limits guard every place that checks a password (portal log-in form, both API
log-ins, the password-change page): one per account (the e-mail, hashed) and one per
client IP. Only failures count: a view calls ``record_failure()`` when the password was
wrong, and Flask-Limiter deducts a hit after the response. Once a limit is used up the
next attempt gets a 429 with ``Retry-After`` whatever the password, before it is checked,
and the answer is the same whether or not the e-mail exists.
"""

import hashlib
import math
import time

from flask import current_app, g, request, session
from flask_limiter.util import get_remote_address
from flask_login import current_user

from web.extensions import limiter


def record_failure() -> None:
    """Mark this request as a failed password check (counted against account and IP)."""
    g.auth_failed = True


def _failed(response) -> bool:
    return bool(g.get("auth_failed"))


def account_key() -> str:
    """The account a log-in attempt is for: the e-mail of the form or JSON body (during
    the two-factor step the pending user's, for a password change the logged-in user's),
    lower-cased and hashed."""
    email = request.form.get("email")
    if email is None and request.is_json:
        body = request.get_json(silent=True)
        email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str) and isinstance(session.get("pending_2fa"), dict):
        email = session["pending_2fa"].get("email")  # the two-factor step
    if not isinstance(email, str) and current_user.is_authenticated:
        email = current_user.email
    email = email.strip().lower() if isinstance(email, str) else ""
    return "account:" + hashlib.sha256(email.encode()).hexdigest()


def user_key() -> str:
    """The logged-in user a throttled request is for (``user:<id>``; ``anon`` before
    log-in), e.g. the "resend verification e-mail" limit."""
    return f"user:{current_user.id}" if current_user.is_authenticated else "anon"


def _account_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def _ip_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_IP"]


def login_throttle(fn):
    """Decorate a view that checks a password: per-account and per-IP failure limits,
    shared by every decorated view, on POST only."""
    fn = limiter.shared_limit(_account_limit, scope="login-account", key_func=account_key,
                              deduct_when=_failed, methods=["POST"])(fn)
    return limiter.shared_limit(_ip_limit, scope="login-ip", key_func=get_remote_address,
                                deduct_when=_failed, methods=["POST"])(fn)


def _reset_account_limit() -> str:
    return current_app.config["RESET_LIMIT_PER_ACCOUNT"]


def _reset_ip_limit() -> str:
    return current_app.config["RESET_LIMIT_PER_IP"]


def reset_throttle(fn):
    """Decorate a view that sends password-reset e-mails: every POST counts against the
    address asked about and the client address (``RESET_LIMIT_PER_ACCOUNT``/``_PER_IP``),
    shared by the page and the API so using both gains nothing."""
    fn = limiter.shared_limit(_reset_account_limit, scope="reset-account",
                              key_func=account_key, methods=["POST"],
                              exempt_when=_names_no_address)(fn)
    return reset_ip_throttle(fn)


_NO_ADDRESS = "account:" + hashlib.sha256(b"").hexdigest()


def _names_no_address() -> bool:
    """A request that names no address sends no e-mail: only the per-client limit counts
    it (it must not use up the budget of every other request without one)."""
    return account_key() == _NO_ADDRESS


def reset_ip_throttle(fn):
    """The per-client-address half of :func:`reset_throttle` (setting a new password)."""
    return limiter.shared_limit(_reset_ip_limit, scope="reset-ip", key_func=get_remote_address,
                                methods=["POST"])(fn)


def retry_after_seconds() -> int:
    """Seconds until the breached limit of this request lets an attempt through (≥ 1)."""
    lim = limiter.current_limit
    if lim is None:
        return 60
    return max(1, math.ceil(lim.reset_at - time.time()))


#: What a 429 says, by the endpoint that was throttled; anything else is a log-in.
THROTTLED = {
    "portal.forgot_password": "Too many password-reset requests. For your security, ask "
                              "again in {wait}.",
    "portal.register": "Too many applications were sent from your network just now. "
                       "Try again in {wait}.",
    "api.api_register": "Too many applications were sent from your network just now. "
                        "Try again in {wait}.",
    "portal.referral_landing": "Too many requests were sent from this page just now. "
                               "Please try again in {wait}.",
    "portal.resend_verification": "You asked for several verification e-mails just now. "
                                  "Check your inbox and spam folder for the latest one, "
                                  "or ask again in {wait}.",
}


def too_many_message(seconds: int, endpoint: str | None = None) -> str:
    """The sentence shown with a 429 (the same for every account, existing or not): the
    wait in minutes, worded for the throttled ``endpoint`` (``THROTTLED``; log-in by
    default)."""
    minutes = max(1, round(seconds / 60))
    wait = f"{minutes} {'minute' if minutes == 1 else 'minutes'}"
    if endpoint in THROTTLED:
        return THROTTLED[endpoint].format(wait=wait)
    return f"Too many failed log-in attempts. For your security, try again in {wait}."
