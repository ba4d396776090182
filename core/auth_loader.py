"""Flask-Login loaders: the session cookie for pages, ``Authorization: Bearer`` for /api."""

from flask import jsonify, redirect, request, url_for

from core.accounts import user_for_token
from core.extensions import db, login_manager
from core.models import User


@login_manager.user_loader
def load_user(user_id: str):
    """Load ``"<id>:<session_version>"``; an outdated version ends the session."""
    try:
        uid, version = (int(x) for x in user_id.split(":"))
    except ValueError:
        return None
    user = db.session.get(User, uid)
    if user is None or user.session_version != version or not user.is_active:
        return None
    return user


@login_manager.request_loader
def load_user_from_request(req):
    """Bearer tokens authenticate API calls (never pages)."""
    header = req.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return user_for_token(header[7:].strip())
    return None


@login_manager.unauthorized_handler
def unauthorized():
    if request.path.startswith("/api/"):
        return jsonify(error={"code": "unauthorized",
                              "message": "Log in first: send Authorization: Bearer <token>."}), 401
    return redirect(url_for("portal.login", next=request.full_path.rstrip("?")))
