"""Chat over HTTP: channels, history and posting (live chat is Socket.IO)."""

from flask import g

from api import api
from api.common import bearer, path_rows
from api.spec import operation
from core.base.extensions import db
from core.community import chat
from core.community.schemas import (
    Channel,
    ChannelPage,
    Message,
    MessagePage,
    MessageQuery,
    NewMessage,
)


@api.get("/chat/channels")
@bearer()
@operation(200, ChannelPage)
def api_channels():
    """Channels you can read"""
    return ChannelPage(items=[Channel.of(c) for c in chat.channels_for(g.user)])


def _readable(channel_id: int):
    return chat.get_channel_for(g.user, channel_id)


@api.get("/chat/<int:channel_id>/messages")
@bearer()
@path_rows(channel=_readable)
@operation(200, MessagePage)
def api_messages(channel, query: MessageQuery):
    """A channel's newest 50 messages

    Oldest first; older pages with ?before=<next_cursor>."""
    rows = chat.history(channel, query.sent().get("before"), 50)
    return MessagePage(items=chat.messages_of(rows),
                       next_cursor=rows[0].id if len(rows) == 50 else None)


@api.post("/chat/<int:channel_id>/messages")
@bearer()
@path_rows(channel=_readable)
@operation(201, Message, errors=(429,))
def api_send_message(channel, json: NewMessage):
    """Send a message (1 to 2,000 characters)

    403 in read-only channels or while muted; 429 when sending too fast (slow mode)."""
    msg = chat.post_message(g.user, channel, json.body)
    db.session.commit()
    return chat.message_of(msg), 201
