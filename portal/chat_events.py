"""Socket.IO chat events: thin handlers that check the payload with the event's model
(``core.community.events``, the catalogue ``/api/asyncapi.json`` is made from), call one
rule in ``core.community.chat``, commit and answer with an acknowledgement. Broadcasts
happen after the commit (core). Rules: "Chat events".

Auth on connect: a logged-in session cookie or ``auth={"token": ...}``; the Origin header,
when sent, must be this site (or ``SOCKETIO_CORS_ORIGINS``). Every event reloads the user
and re-checks status, session version and the channel rule (``read`` in a joined channel
relies on the socket's room membership instead, which every loss of access ends at once:
``event``); a user who lost access gets an error and is disconnected. Bad payloads get
``{"ok": false, "error": {...}}`` (and an ``error`` event), never a dropped connection.
"""

import functools
import logging
import threading

from flask import current_app, request
from flask_login import current_user, user_logged_out
from flask_socketio import ConnectionRefusedError, disconnect, emit, join_room, leave_room
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from core.accounts.models import User
from core.accounts.users import user_for_token
from core.base.errors import DomainError, ValidationError
from core.base.extensions import db, is_row_id, socketio
from core.base.schemas import SchemaError, dump, explain
from core.community import chat, presence
from core.community.events import CLIENT_EVENTS
from core.community.notifications import user_room
from core.community.schemas import JoinedChannel
from core.ops import logs
from core.ops.metrics import SOCKET_CONNECTIONS
from core.program.models import Partner
from web.sessions import session_expired

log = logging.getLogger(__name__)

#: Every connected socket is in this room and hears presence changes.
PRESENCE_ROOM = "presence"
#: Presence changes are announced in batches, at most one ``presence`` event per process
#: this often (seconds). One event per change costs one packet per connected socket:
#: with 1,000 sockets, a wave of 100 connects a second (a deploy, the morning) would be
#: 100,000 packets a second, the whole process's capacity; batched it is 1,000.
PRESENCE_BATCH_SECONDS = 1.0

_presence_lock = threading.Lock()
_presence_pending: dict[int, str] = {}
_presence_flusher = None


def announce_presence(user_id: int, state: str) -> None:
    """Queue ``{user_id, state}`` for the next ``presence`` batch of this process
    (``{"changes": [{"user_id", "state"}, ...]}`` to every socket, within
    ``PRESENCE_BATCH_SECONDS``). A later change of the same user replaces an earlier one."""
    global _presence_flusher
    with _presence_lock:
        _presence_pending[user_id] = state
        if _presence_flusher is None:
            _presence_flusher = socketio.start_background_task(_flush_presence_forever)


def flush_presence() -> int:
    """Emit the queued presence changes now, as one event; returns how many."""
    with _presence_lock:
        changes = [{"user_id": u, "state": st} for u, st in _presence_pending.items()]
        _presence_pending.clear()
    if changes:
        try:
            socketio.emit("presence", {"changes": changes}, to=PRESENCE_ROOM)
        except Exception:  # presence is a nicety; the next change is announced again
            log.exception("presence batch not sent")
    return len(changes)


def _flush_presence_forever() -> None:
    while True:
        socketio.sleep(PRESENCE_BATCH_SECONDS)
        flush_presence()


def _session() -> dict:
    return socketio.server.get_session(request.sid, namespace="/")


def _user() -> User | None:
    """The connected user, reloaded so a suspension or logout takes effect at once."""
    sess = _session()
    uid, version = sess.get("user_id"), sess.get("version")
    if uid is None:
        return None
    # One query for the user, their partner row (status) and its computed tier; the
    # override in force is still read by every access check (core.community.chat._Viewer).
    user = db.session.scalar(select(User).options(
        joinedload(User.partner).joinedload(Partner.tier)).where(User.id == uid))
    if user is None or user.session_version != version or not user.is_active:
        return None
    if not user.is_staff and (user.partner is None or user.partner.status != "active"):
        return None
    return user


def _origin_ok() -> bool:
    origin = request.headers.get("Origin")
    if not origin:
        return True  # not a browser (python clients, mobile apps): auth still required
    allowed = current_app.config.get("SOCKETIO_CORS_ORIGINS") or []
    if isinstance(allowed, str):
        allowed = [allowed]
    return origin.rstrip("/") in {request.host_url.rstrip("/"), *allowed}


@socketio.on("connect")
def on_connect(auth=None):
    """Accept a logged-in session cookie or a bearer token in the ``auth`` payload."""
    if not _origin_ok():
        raise ConnectionRefusedError("This origin may not use chat.")
    user = None
    if isinstance(auth, dict) and isinstance(auth.get("token"), str):
        user = user_for_token(auth["token"])
    elif session_expired() is None and current_user.is_authenticated:
        # Socket.IO runs no before_request: check the session's timeouts here too.
        user = current_user._get_current_object()
    if user is None:
        raise ConnectionRefusedError("Log in to use chat.")
    if user.api_key is not None:  # rules: "API keys and scopes": keys are for /api only
        raise ConnectionRefusedError("API keys cannot open chat; log in to use chat.")
    if not user.is_staff and (user.partner is None or user.partner.status != "active"):
        raise ConnectionRefusedError("Chat opens once your application is approved.")
    uid = user.id
    # The handshake's request id (X-Request-ID, or made) names every log line of the
    # socket's events (rules: "Logs, metrics and errors").
    rid = logs.accept_request_id(request.headers.get("X-Request-ID"))
    logs.bind(request_id=rid, user_id=uid, route="socket:connect")
    socketio.server.save_session(request.sid, {"user_id": uid, "name": user.name,
                                               "version": user.session_version,
                                               "rooms": [], "request_id": rid},
                                 namespace="/")
    SOCKET_CONNECTIONS.inc()
    log.info("socket connected")
    # The rest is Redis: hand the database connection back first. Under eventlet a
    # wave of connects would otherwise hold the pool's connections through Redis round
    # trips and the next connects wait for one (30 s, then refused).
    db.session.remove()
    join_room(user_room(uid))
    join_room(PRESENCE_ROOM)
    try:
        if presence.connect_socket(uid, request.sid) != "online":
            announce_presence(uid, "online")
    except Exception:  # Redis down: chat still works, presence does not
        log.exception("presence unavailable")


@socketio.on("disconnect")
def on_disconnect(reason=None):
    """Forget the socket; the user goes offline when their last socket closes."""
    sess = _session()
    uid = sess.get("user_id")
    if uid is None:
        return
    SOCKET_CONNECTIONS.dec()
    logs.bind(request_id=sess.get("request_id"), user_id=uid, route="socket:disconnect")
    log.info("socket disconnected")
    try:
        if presence.remove_socket(uid, request.sid) == 0:
            presence.go_offline(uid)
            announce_presence(uid, "offline")
    except Exception:
        log.exception("presence unavailable")


@user_logged_out.connect
def _logged_out(sender, user=None, **extra):
    """Logging out of the portal closes that user's sockets at once."""
    if user is not None and getattr(user, "id", None):
        chat.kick_user(user.id, "You logged out.")


def _error(code: str, message: str, retry_after: int | None = None) -> dict:
    db.session.rollback()
    error = {"code": code, "message": message}
    if retry_after:
        error["retry_after"] = retry_after
    emit("error", error)
    return {"ok": False, "error": error}


def _checked(name: str, data) -> dict:
    """``data`` when the event's payload model (``core.community.events``) accepts it;
    raises ``ValidationError`` naming the field otherwise. ``None`` counts as ``{}``."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationError("Send an object, e.g. {\"channel\": \"general\"}.")
    model = CLIENT_EVENTS[name].payload
    try:
        model.model_validate(data)
    except SchemaError as exc:
        raise ValidationError(explain(model, exc)) from None
    return data


def event(name: str, *, in_joined_channel_needs_no_reload: bool = False):
    """Register a handler that gets ``(user, data)``; it checks ``data`` with the event's
    payload model (``core.community.events.CLIENT_EVENTS``) and the user on every event,
    turns refusals into error answers and never lets an exception drop the socket.

    ``in_joined_channel_needs_no_reload``: for an event whose only effect is on the user's
    own state in a channel (``read``): when ``data["channel"]`` is a channel this socket
    is still in the room of, the handler gets ``user=None`` and no query is made. That
    is safe because whatever ends a user's access ends the socket's place in the room at
    once: a suspension or logout disconnects every socket of the user, a lower tier or a
    raised channel rule takes them out of the room (``chat._recheck_after_commit``,
    ``chat.recheck_room``), and the heartbeat re-checks every room."""

    def deco(fn):
        @socketio.on(name)
        @functools.wraps(fn)
        def handler(data=None, *rest):
            sess = _session()
            token = logs.bind(request_id=sess.get("request_id"), user_id=sess.get("user_id"),
                              route=f"socket:{name}")
            log.debug("socket event %s", name)
            try:
                data = _checked(name, data)
                if in_joined_channel_needs_no_reload and _joined_channel_id(data) is not None:
                    return fn(None, data)
                user = _user()
                if user is None:
                    result = _error("unauthorized", "Log in again.")
                    disconnect()
                    return result
                return fn(user, data)
            except DomainError as exc:
                return _error(exc.code, exc.message, getattr(exc, "retry_after", None))
            except Exception:
                log.exception("chat event %s failed", name)
                return _error("server_error", "Something went wrong; try again.")
            finally:
                db.session.remove()
                logs.unbind(token)

        return handler

    return deco


def _joined_channel_id(data: dict) -> int | None:
    """Id of the channel named by ``data["channel"]`` (id or slug) when this socket joined
    it and is still in its room; ``None`` otherwise (then check it the full way)."""
    ref = data.get("channel")
    if is_row_id(ref):
        channel_id = ref
    elif isinstance(ref, str):
        channel_id = _session().get("slugs", {}).get(ref)
    else:
        return None
    if channel_id is None:
        return None
    # The manager's own map (``rooms[namespace][room][sid]``): ``server.rooms(sid)`` walks
    # every room of the process (a thousand, one per connected user) to list a socket's.
    members = socketio.server.manager.rooms.get("/", {}).get(chat.channel_room(channel_id))
    return channel_id if members is not None and request.sid in members else None


def _channel(user: User, data: dict):
    return chat.get_channel_for(user, data.get("channel"))


def _id(data: dict, key: str = "id") -> int:
    value = data.get(key)
    if not is_row_id(value):
        raise ValidationError(f"{key} must be a message id.")
    return value


def _joined(channel, user: User, can_post: bool) -> dict:
    """The channel a client joins, in the ``JoinedChannel`` shape."""
    return JoinedChannel(id=channel.id, slug=channel.slug, kind=channel.kind,
                         title=chat.channel_title(channel, user), topic=channel.topic,
                         read_only=channel.read_only, can_post=can_post).model_dump(mode="json")


@event("join")
def on_join(user, data):
    """Join a channel's room; ack ``{ok, channel, messages, more, unread,
    first_unread_id, typing, presence}``. With ``after`` (last id the client has): only
    what it missed, ``CATCH_UP_LIMIT`` at a time (``more`` says whether to ask again)."""
    chat.flush_read_marks(user.id)  # the user's queued markers first: exact unread counts
    channel, can_post = chat.open_channel(user, data.get("channel"))
    after = data.get("after")
    if after is not None and not (isinstance(after, int) and not isinstance(after, bool)
                                  and after >= 0):
        raise ValidationError("after must be a message id.")
    join_room(chat.channel_room(channel.id))
    sess = _session()
    if channel.id not in sess.setdefault("rooms", []):
        sess["rooms"].append(channel.id)
        sess.setdefault("slugs", {})[channel.slug] = channel.id
        socketio.server.save_session(request.sid, sess, namespace="/")
    rows = chat.history(channel, after_id=after, limit=chat.CATCH_UP_LIMIT) if after is not None \
        else chat.history(channel)
    members = chat.members_for_presence(channel)
    unread = chat.read_state(user, channel)
    first_unread = unread.pop("first_unread_id")
    ack = {"ok": True, "channel": _joined(channel, user, can_post),
           "messages": dump(chat.messages_of(rows)),
           # A catch-up page that came back full: ask ``history`` with ``after`` for more.
           "more": after is not None and len(rows) >= chat.CATCH_UP_LIMIT,
           "unread": unread,
           "first_unread_id": first_unread}
    uid, channel_id = user.id, channel.id
    db.session.remove()  # the database part is done: free the connection before Redis
    try:
        typing, states = presence.join_room_state(uid, channel_id, [u.id for u in members])
        typing = [u for u in typing if u != uid]
    except Exception:
        typing, states = [], {}
    ack["typing"] = typing
    ack["presence"] = [{"user_id": u.id, "name": u.name, "state": states.get(u.id, "offline")}
                       for u in members]
    return ack


@event("leave")
def on_leave(user, data):
    """Leave a channel's room (stop receiving it live)."""
    channel = _channel(user, data)
    leave_room(chat.channel_room(channel.id))
    return {"ok": True}


@event("history")
def on_history(user, data):
    """Older page (``before``), a thread (``thread``) or a catch-up (``after``: up to
    ``CATCH_UP_LIMIT`` messages, ``more`` true when the page came back full)."""
    channel = _channel(user, data)
    args = {}
    for key in ("before", "after", "thread"):
        if data.get(key) is not None:
            args[key] = _id(data, key)
    catch_up = "after" in args
    rows = chat.history(channel, args.get("before"), after_id=args.get("after"),
                        thread_id=args.get("thread"),
                        limit=chat.CATCH_UP_LIMIT if catch_up else chat.PAGE_SIZE)
    return {"ok": True, "messages": dump(chat.messages_of(rows)),
            "more": catch_up and len(rows) >= chat.CATCH_UP_LIMIT}


@event("send")
def on_send(user, data):
    """``{channel, body, parent_id?}`` → stored, then broadcast; ack ``{ok, id, message}``."""
    channel = _channel(user, data)
    parent = data.get("parent_id")
    if parent is not None and not is_row_id(parent):
        raise ValidationError("parent_id must be a message id.")
    msg = chat.post_message(user, channel, data.get("body"), parent)
    payload = msg.fresh_payload  # what the room hears, built without a query
    db.session.commit()
    return {"ok": True, "id": payload["id"], "message": payload}


@event("edit")
def on_edit(user, data):
    """Edit one's own message (10 minutes); ack ``{ok, message}``."""
    msg = chat.edit_message(user, _id(data), data.get("body"))
    payload = chat.message_payload(msg)
    db.session.commit()
    return {"ok": True, "message": payload}


@event("delete")
def on_delete(user, data):
    """Delete one's own message (staff: any); ack ``{ok, message}``."""
    msg = chat.delete_message(user, _id(data))
    payload = chat.message_payload(msg)
    db.session.commit()
    return {"ok": True, "message": payload}


@event("react")
def on_react(user, data):
    """Toggle a reaction; ack ``{ok, added, message}``."""
    msg, added = chat.toggle_reaction(user, _id(data), data.get("emoji"))
    payload = chat.message_payload(msg)
    db.session.commit()
    return {"ok": True, "added": added, "message": payload}


@event("read", in_joined_channel_needs_no_reload=True)
def on_read(user, data):
    """Move the read marker (written within ``chat.READ_FLUSH_SECONDS`` with the others
    of this process: ``chat.queue_read``); the user's other devices, if any, hear
    ``read``.

    In a channel this socket joined and is still in the room of, neither the user nor
    the channel's rule is read again (``event``: whatever ends the access takes the
    socket out of the room at once); elsewhere both are checked as for every event. The
    page sends this every 5 s while messages arrive, the most frequent event of all:
    without a query it costs the servers a fifth of a core less at 1,000 readers."""
    channel_id = _joined_channel_id(data)
    if channel_id is None:
        channel_id = _channel(user, data).id
    uid = user.id if user is not None else _session()["user_id"]
    mark = chat.queue_read(uid, channel_id, data.get("last_id"))
    _start_read_flusher()
    db.session.remove()  # database part done: no Redis round trip inside a transaction
    try:  # most partners have one device: then nobody else needs to hear it
        others = any(sid != request.sid for sid in presence.sockets_of(uid))
    except Exception:
        others = True
    if others:
        emit("read", {"channel_id": channel_id, "last_read_id": mark}, to=user_room(uid),
             include_self=False)
    return {"ok": True, "last_read_id": mark}


_read_flusher = None


def _start_read_flusher() -> None:
    """Start this process's read-marker writer once (a background task, like presence)."""
    global _read_flusher
    with _presence_lock:
        if _read_flusher is None:
            _read_flusher = socketio.start_background_task(
                _flush_reads_forever, current_app._get_current_object())


def _flush_reads_forever(app) -> None:
    while True:
        socketio.sleep(chat.READ_FLUSH_SECONDS)
        with app.app_context():
            try:
                chat.flush_read_marks()
            except Exception:  # kept for the next pass if the database was away (core)
                log.exception("read markers not written")
            finally:
                db.session.remove()


@event("typing")
def on_typing(user, data):
    """Tell the channel the user is typing; the indicator expires by itself."""
    channel = _channel(user, data)
    if not chat.can_post(user, channel):
        raise chat.Forbidden("You cannot post in this channel.")
    chat.check_not_muted(user)
    ttl = presence.set_typing(user.id, channel.id)
    emit("typing", {"channel_id": channel.id, "user_id": user.id, "name": user.name,
                    "expires_in": ttl}, to=chat.channel_room(channel.id), include_self=False)
    return {"ok": True, "expires_in": ttl}


@event("heartbeat")
def on_heartbeat(user, data):
    """Keep presence alive (``online``/``away``) and re-check the joined channels: rooms
    the user may no longer read are left at once (``channel_lost``)."""
    state = data.get("state", "online")
    if state not in presence.PRESENCE_STATES:
        raise ValidationError("state is online or away.")
    sess = _session()
    rooms = sess.get("rooms", [])
    keep = chat.still_allowed(user, rooms)
    uid = user.id
    db.session.remove()  # database part done: no Redis round trip inside a transaction
    if presence.heartbeat(uid, state) != state:
        announce_presence(uid, state)
    presence.add_socket(uid, request.sid)
    for lost in set(rooms) - set(keep):
        leave_room(chat.channel_room(lost))
        emit("channel_lost", {"channel_id": lost})
    if keep != rooms:
        sess["rooms"] = keep
        socketio.server.save_session(request.sid, sess, namespace="/")
    return {"ok": True, "next_in": presence.HEARTBEAT_SECONDS}


@event("search")
def on_search(user, data):
    """Search one channel's messages by text; ack ``{ok, messages}`` newest first."""
    channel = _channel(user, data)
    return {"ok": True, "messages": dump(chat.messages_of(chat.search(channel, data.get("q"))))}


@event("unread")
def on_unread(user, data):
    """Unread and mention counts for every channel the user can read."""
    chat.flush_read_marks(user.id)  # the user's queued markers first: exact unread counts
    counts = chat.unread_counts(user, chat.channels_for(user))
    return {"ok": True, "channels": {str(k): v for k, v in counts.items()}}
