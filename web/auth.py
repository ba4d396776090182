"""Flask-Login loaders: the session cookie for pages, ``Authorization: Bearer`` for /api."""

import time

from flask import g, jsonify, redirect, request, session, url_for
from flask_login import user_logged_in

from core.accounts.models import User
from core.accounts.users import user_for_token
from core.base.extensions import db
from web.extensions import login_manager
from web.sessions import has_login_stamp


def load_user(user_id: str):
    """Load ``"<id>:<session_version>"``; an outdated version ends the session, and so
    does a session (or an old remember-me cookie) not made by ``web.sessions``."""
    if not has_login_stamp():
        return None
    try:
        uid, version = (int(x) for x in user_id.split(":"))
    except ValueError:
        return None
    user = db.session.get(User, uid)
    if user is None or user.session_version != version or not user.is_active:
        return None
    return user


def load_user_from_request(req):
    """Bearer tokens authenticate API calls under ``/api/`` only: on pages (portal, back
    office) an ``Authorization`` header is ignored, so a token or key never opens a page
    or passes a page's CSRF-protected form, and session limits cannot be stepped around
    (rules: "Bearer credentials only on /api")."""
    if not req.path.startswith("/api/"):
        return None
    return bearer_user(req)


def bearer_user(req):
    """The user of ``req``'s ``Authorization: Bearer`` token or staff API key, or ``None``
    (:func:`core.accounts.users.user_for_token`). Looked up once per request: the log
    line's user id and the API's own check ask for the same header."""
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    cached = g.get("bearer_user")
    if cached is not None and cached[0] == header:
        return cached[1]
    user = user_for_token(header[7:].strip())
    g.bearer_user = (header, user)
    return user


def unauthorized():
    if request.path.startswith("/api/"):
        return jsonify(error={"code": "unauthorized",
                              "message": "Log in first: send Authorization: Bearer <token>."}), 401
    return redirect(url_for("portal.login", next=request.full_path.rstrip("?")))


def _remember_login_time(sender, user, **extra):
    """Record when the password was last entered: sensitive staff actions ask again after
    ``REAUTH_SECONDS`` (rules: "Staff roles")."""
    session["auth_at"] = int(time.time())


def init_app(app) -> None:
    """Install the loaders, the answer to an anonymous request, and the log-in time."""
    login_manager.user_loader(load_user)
    login_manager.request_loader(load_user_from_request)
    login_manager.unauthorized_handler(unauthorized)
    user_logged_in.connect(_remember_login_time, app)
