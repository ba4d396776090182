"""Page sessions: a fresh session at log-in, idle and absolute timeouts, log-out that
ends the user's other sessions (rules: "Sessions and log-in").

The session is Flask's signed cookie. At log-in it is emptied first, so nothing an
attacker planted or a previous user left (CSRF token, ``next``, flashes) survives, and it
gets ``login_at`` and ``seen_at`` (Unix seconds) and the session kind. ``check_session``
runs before every request and ends a session that was idle or alive too long. Flask-Login's
own remember-me cookie is not used: "keep me logged in" makes the signed session cookie
outlive the browser (``session.permanent``), so every login carries its login time.
"""

import time

from flask import current_app, flash, session
from flask_login import login_user, logout_user

from core.accounts.models import User

#: How often ``seen_at`` is rewritten (seconds), so the cookie is not re-set on every hit.
SEEN_RESOLUTION = 60


def start_session(user: User, remember: bool = False) -> None:
    """Log ``user`` in on a brand-new session.

    ``remember`` (partners only; staff sessions always end with the browser) keeps the
    session for ``PARTNER_REMEMBER_IDLE_SECONDS`` of inactivity across browser restarts.
    """
    session.clear()
    login_user(user, remember=False)
    now = int(time.time())
    remember = bool(remember) and not user.is_staff
    session["login_at"] = now
    session["seen_at"] = now
    session["kind"] = "staff" if user.is_staff else "partner"
    session["remember"] = remember
    session.permanent = remember


#: Seconds between the password and the two-factor code before the log-in starts over.
SECOND_STEP_SECONDS = 5 * 60


def begin_second_step(user: User, target: str) -> None:
    """Password accepted, two-factor code still to come: remember only that, on an
    emptied session (nobody is logged in until the code is right)."""
    session.clear()
    session["pending_2fa"] = {"user_id": user.id, "version": user.session_version,
                              "email": user.email, "next": target, "at": int(time.time())}


def pending_user() -> User | None:
    """The user between password and code, if that began less than 5 minutes ago and the
    account did not change meanwhile (``session_version``), else ``None``."""
    from core.base.extensions import db

    pending = session.get("pending_2fa")
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > SECOND_STEP_SECONDS:
        return None
    user = db.session.get(User, pending.get("user_id"))
    if user is None or user.session_version != pending.get("version") or not user.is_active:
        return None
    return user


def pending_secret() -> str:
    """The TOTP secret offered during two-factor setup (made once per pending log-in)."""
    from core.accounts.twofactor import new_secret

    pending = session["pending_2fa"]
    if not pending.get("secret"):
        pending["secret"] = new_secret()
        session.modified = True
    return pending["secret"]


def finish_second_step() -> str:
    """Drop the pending state; returns where the user was going."""
    pending = session.pop("pending_2fa", {})
    return pending.get("next") or "/admin/"


def _limits() -> tuple[int, int]:
    cfg = current_app.config
    if session.get("kind") == "staff":
        return cfg["STAFF_IDLE_SECONDS"], cfg["STAFF_MAX_SECONDS"]
    idle = cfg["PARTNER_REMEMBER_IDLE_SECONDS"] if session.get("remember") \
        else cfg["PARTNER_IDLE_SECONDS"]
    return idle, cfg["PARTNER_MAX_SECONDS"]


def session_expired(now: float | None = None) -> str | None:
    """Why the current logged-in session is over (a sentence), or ``None`` when it is
    still good or nobody is logged in. Does not change the session."""
    if "_user_id" not in session:
        return None
    now = time.time() if now is None else now
    login_at, seen_at = session.get("login_at"), session.get("seen_at")
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        return "Please log in again."
    idle, longest = _limits()
    if now - login_at > longest:
        return "Your session has ended (it was open too long). Log in again."
    if now - seen_at > idle:
        return "Your session timed out after a period of inactivity. Log in again."
    return None


def check_session() -> None:
    """``before_request``: end an expired session (with a flash saying why), otherwise
    note the user as seen now."""
    if "_user_id" not in session:
        return
    now = time.time()
    reason = session_expired(now)
    if reason:
        # Only this session ends: emptying it is enough (nobody is loaded yet in this
        # request). logout_user() would signal a log-out, which closes the user's sockets
        # on every device, also those whose sessions are still good.
        session.clear()
        flash(reason, "info")
        return
    if now - session["seen_at"] >= SEEN_RESOLUTION:
        session["seen_at"] = int(now)


def has_login_stamp() -> bool:
    """True when the session was made by ``start_session`` (Flask-Login's loader refuses
    sessions, and remember-me cookies, that were not)."""
    return isinstance(session.get("login_at"), int)


def end_session() -> None:
    """Log the current session out and empty it (the caller has already ended the user's
    other sessions with ``accounts.end_sessions``)."""
    logout_user()
    session.clear()
