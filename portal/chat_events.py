"""Socket.IO chat events. Auth on connect (session cookie or ``auth={"token": ...}``);
every event re-checks the user's current status and the channel's access rule."""

from flask import request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, emit, join_room

from core import chat
from core.accounts import user_for_token
from core.errors import DomainError
from core.extensions import db, socketio
from core.models import User
from core.notifications import user_room


def _user() -> User | None:
    """The connected user, reloaded so a suspension or logout takes effect at once."""
    sess = socketio.server.get_session(request.sid, namespace="/")
    uid, version = sess.get("user_id"), sess.get("version")
    if uid is None:
        return None
    user = db.session.get(User, uid)
    if user is None or user.session_version != version or not user.is_active:
        return None
    return user


@socketio.on("connect")
def on_connect(auth=None):
    """Accept a logged-in session cookie or a bearer token in the ``auth`` payload."""
    user = None
    if isinstance(auth, dict) and isinstance(auth.get("token"), str):
        user = user_for_token(auth["token"])
    elif current_user.is_authenticated:
        user = current_user._get_current_object()
    if user is None:
        raise ConnectionRefusedError("Log in to use chat.")
    if not user.is_staff and (user.partner is None or user.partner.status != "active"):
        raise ConnectionRefusedError("Chat opens once your application is approved.")
    socketio.server.save_session(request.sid, {"user_id": user.id,
                                               "version": user.session_version}, namespace="/")
    join_room(user_room(user.id))


def _fail(exc: DomainError) -> dict:
    db.session.rollback()
    payload = {"ok": False, "error": {"code": exc.code, "message": exc.message}}
    emit("error", payload["error"])
    return payload


@socketio.on("join")
def on_join(data):
    """``{"channel": id|slug}`` → joins the room; ack ``{"ok", "channel", "messages"}``."""
    user = _user()
    if user is None:
        return {"ok": False, "error": {"code": "unauthorized", "message": "Log in again."}}
    try:
        ref = data.get("channel") if isinstance(data, dict) else None
        channel = chat.get_channel_for(user, ref)
    except DomainError as exc:
        return _fail(exc)
    join_room(chat.channel_room(channel.id))
    return {"ok": True, "channel": {"id": channel.id, "slug": channel.slug},
            "messages": [chat.message_json(m) for m in chat.history(channel)]}


@socketio.on("send")
def on_send(data):
    """``{"channel": id|slug, "body": str}`` → stored, then broadcast; ack ``{"ok", "id"}``."""
    user = _user()
    if user is None:
        return {"ok": False, "error": {"code": "unauthorized", "message": "Log in again."}}
    try:
        if not isinstance(data, dict):
            raise chat.ValidationError("Send {channel, body}.")
        channel = chat.get_channel_for(user, data.get("channel"))
        msg = chat.post_message(user, channel, data.get("body"))
        db.session.commit()
    except DomainError as exc:
        return _fail(exc)
    return {"ok": True, "id": msg.id}
