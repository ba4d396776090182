"""Chat over HTTP: channels, history and posting (live chat is Socket.IO)."""

from flask import g, jsonify

from api import api
from api.common import _int_arg, bearer, json_body
from core.base.extensions import db
from core.community import chat


@api.get("/chat/channels")
@bearer()
def api_channels():
    return jsonify(items=[{"id": c.id, "slug": c.slug, "name": c.name, "topic": c.topic,
                           "read_only": c.read_only, "min_tier": c.min_tier_key or None}
                          for c in chat.channels_for(g.user)], next_cursor=None)


@api.get("/chat/<int:channel_id>/messages")
@bearer()
def api_messages(channel_id: int):
    """Newest 50, older pages with ``?before=<message id>``."""
    channel = chat.get_channel_for(g.user, channel_id)
    rows = chat.history(channel, _int_arg("before"), 50)
    return jsonify(items=[chat.message_json(m) for m in rows],
                   next_cursor=rows[0].id if len(rows) == 50 else None)


@api.post("/chat/<int:channel_id>/messages")
@bearer()
def api_send_message(channel_id: int):
    channel = chat.get_channel_for(g.user, channel_id)
    msg = chat.post_message(g.user, channel, json_body().get("body"))
    db.session.commit()
    return jsonify(chat.message_json(msg)), 201
