"""The chat's Socket.IO events as pydantic models: what a client sends (each answered by
an acknowledgement) and what the server emits. The chat server checks every client
payload with these models before it acts (``portal/chat_events.py``), and the AsyncAPI
document at ``/api/asyncapi.json`` and ``docs/chat-events.md`` are made from them, so the
catalogue and the server cannot disagree (rules: "Chat events").

Every client event is acknowledged: ``{"ok": true, ...}`` with the event's answer, or
``{"ok": false, "error": {"code", "message"}}`` (and an ``error`` event), never a dropped
connection. Times are ISO 8601 UTC.
"""

from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from core.base.schemas import MISSING, Request, Says, Shape
from core.community.chat import CATCH_UP_LIMIT, EDIT_WINDOW, MAX_REACTIONS, PAGE_SIZE
from core.community.presence import (
    HEARTBEAT_SECONDS,
    PRESENCE_TTL,
    SLOW_MODE_MESSAGES,
    SLOW_MODE_SECONDS,
    TYPING_TTL,
)
from core.community.schemas import JoinedChannel, Message

#: A channel named by id or by slug.
ChannelRef = Annotated[int | Annotated[str, Field(min_length=1, max_length=80)],
                       Says("channel must be a channel id or slug, e.g. \"general\".")]


def _id(name: str, optional: bool = False):
    """A message id field named ``name`` (``None`` allowed when ``optional``)."""
    kind = Annotated[int, Field(ge=1)]
    return Annotated[kind | None if optional else kind, Says(f"{name} must be a message id.")]


# --- client → server ------------------------------------------------------------------

class JoinEvent(Request):
    """Open a channel: its newest page, or with ``after`` only what the client missed."""

    channel: ChannelRef
    after: Annotated[Annotated[int, Field(ge=0)] | None, Says("after must be a message id.")] = \
        Field(None, description="The last message id the client has: catch up from there")


class ChannelEvent(Request):
    """Name one channel."""

    channel: ChannelRef


class HistoryEvent(Request):
    """An older page (``before``), a thread (``thread``), or a catch-up (``after``)."""

    channel: ChannelRef
    before: _id("before", True) = None
    after: _id("after", True) = None
    thread: _id("thread", True) = None


class SendEvent(Request):
    """Post a message (Markdown), optionally in a thread."""

    channel: ChannelRef
    body: Annotated[str, Says(type="Type a message first.",
                              size="Messages are 1 to 2,000 characters.")] = Field(
        min_length=1, max_length=2000)
    parent_id: _id("parent_id", True) = Field(None, description="The thread's first message")


class EditEvent(Request):
    """Change one's own message (within 10 minutes of sending it)."""

    id: _id("id")
    body: Annotated[str, Says(type="Type a message first.",
                              size="Messages are 1 to 2,000 characters.")] = Field(
        min_length=1, max_length=2000)


class MessageRef(Request):
    """Name one message."""

    id: _id("id")


class ReactEvent(Request):
    """Add a reaction, or take one's own back (a toggle)."""

    id: _id("id")
    emoji: Annotated[str, Says("React with one emoji.")] = Field(min_length=1, max_length=16)


class ReadEvent(Request):
    """Move one's read marker in a channel up to ``last_id``."""

    channel: ChannelRef
    last_id: Annotated[int, Field(ge=0), Says("last_id must be a message id.")]


class HeartbeatEvent(Request):
    """Keep presence alive; ``away`` when the page is hidden."""

    state: Annotated[Literal["online", "away"], Says("state is online or away.")] = "online"


class SearchEvent(Request):
    """Find messages in one channel by their text."""

    channel: ChannelRef
    q: Annotated[str, Says("Search for 2 to 100 characters.")] = Field(min_length=2,
                                                                       max_length=100)


class NoPayload(Request):
    """Nothing (an empty object, or no payload at all)."""


# --- acknowledgements --------------------------------------------------------------------

class Refusal(BaseModel):
    """The event was refused: nothing changed."""

    ok: Literal[False]
    error: "EventError"


class EventError(BaseModel):
    """Why: a machine ``code`` and a ``message`` for people; ``retry_after`` seconds with
    ``slow_mode``."""

    code: str = Field(description="validation_error, not_found, forbidden, muted, "
                                  "slow_mode, unauthorized, server_error...")
    message: str
    retry_after: int = Field(MISSING, ge=1)


Refusal.model_rebuild()


class Done(BaseModel):
    """The event was done."""

    ok: Literal[True]


class UnreadState(Shape):
    """A channel's unread messages by others, mentions of you, and your read marker."""

    unread: int = Field(ge=0)
    mentions: int = Field(ge=0)
    last_read_id: int = Field(ge=0)


class MemberPresence(Shape):
    """A channel member and whether they are here."""

    user_id: int
    name: str
    state: Literal["online", "away", "offline"]


class Joined(Done):
    """The channel, its newest page (or the catch-up), unread state, who is typing and
    who is here."""

    channel: JoinedChannel
    messages: list[Message]
    more: bool = Field(description="A catch-up page came back full: ask history with after")
    unread: UnreadState
    first_unread_id: int | None
    typing: list[int] = Field(description="Ids of users typing now")
    presence: list[MemberPresence]


class Page(Done):
    """Messages, oldest first; ``more`` when a catch-up page came back full."""

    messages: list[Message]
    more: bool


class Sent(Done):
    """The stored message, as the channel hears it."""

    id: int
    message: Message


class Changed(Done):
    """The message as it is now."""

    message: Message


class Reacted(Done):
    """Whether the reaction was added (false: taken back), and the message now."""

    added: bool
    message: Message


class ReadMarked(Done):
    """The read marker now (never moves back)."""

    last_read_id: int = Field(ge=0)


class Typing(Done):
    """Seconds the indicator lasts unless you type on."""

    expires_in: int


class Alive(Done):
    """Send the next heartbeat within this many seconds."""

    next_in: int


class Found(Done):
    """Matching messages, newest first."""

    messages: list[Message]


class Unread(Done):
    """Unread state of every channel you can read, by channel id."""

    channels: dict[str, UnreadState]


# --- server → client ------------------------------------------------------------------------

class TypingNotice(BaseModel):
    """Someone is typing in a channel you joined."""

    channel_id: int
    user_id: int
    name: str
    expires_in: int = Field(description="Seconds")


class PresenceChange(BaseModel):
    """One user's new state."""

    user_id: int
    state: Literal["online", "away", "offline"]


class PresenceBatch(BaseModel):
    """Presence changes of the last second, one event per server process."""

    changes: list[PresenceChange]


class ReadNotice(BaseModel):
    """Your read marker moved on another of your devices."""

    channel_id: int
    last_read_id: int


class NotificationNotice(BaseModel):
    """A new notification for you (also in ``GET /api/notifications``)."""

    kind: str
    title: str
    body: str
    url: str = Field(description="A path on this site, or empty")


class ChannelAdded(BaseModel):
    """A channel you may now read (created, or its tier rule lowered)."""

    channel_id: int
    slug: str
    title: str
    locked: bool = Field(description="It needs a tier")


class ChannelLost(BaseModel):
    """You may no longer read a channel you joined; you left its room."""

    channel_id: int


class Kicked(BaseModel):
    """Your access ended (logged out, suspended, password changed); the socket closes."""

    reason: str


# --- the catalogue ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ClientEvent:
    """An event a client sends: its payload model, its answer, and the limits."""

    payload: type[BaseModel]
    answer: type[BaseModel]
    summary: str
    limits: str = ""
    refusals: tuple[str, ...] = field(default=("validation_error", "not_found"))


@dataclass(frozen=True)
class ServerEvent:
    """An event the server emits, and to whom."""

    payload: type[BaseModel]
    summary: str
    to: str


_CHANNEL = ("validation_error", "not_found")
_POSTING = ("validation_error", "not_found", "forbidden", "muted")

#: Client → server events, each acknowledged (``Refusal`` when refused).
CLIENT_EVENTS: dict[str, ClientEvent] = {
    "join": ClientEvent(JoinEvent, Joined, "Join a channel's room and read it",
                        f"{PAGE_SIZE} messages a page; a catch-up returns at most "
                        f"{CATCH_UP_LIMIT}."),
    "leave": ClientEvent(ChannelEvent, Done, "Leave a channel's room (stop hearing it)"),
    "history": ClientEvent(HistoryEvent, Page, "An older page, a thread, or a catch-up",
                           f"{PAGE_SIZE} messages a page; {CATCH_UP_LIMIT} a catch-up."),
    "send": ClientEvent(SendEvent, Sent, "Post a message",
                        f"Slow mode: {SLOW_MODE_MESSAGES} messages every {SLOW_MODE_SECONDS} "
                        "seconds per channel (staff exempt), refused with slow_mode and "
                        "retry_after.", (*_POSTING, "slow_mode")),
    "edit": ClientEvent(EditEvent, Changed, "Edit your own message",
                        f"Within {int(EDIT_WINDOW.total_seconds() // 60)} minutes of sending it.",
                        _POSTING),
    "delete": ClientEvent(MessageRef, Changed, "Delete your own message (staff: any)",
                          refusals=_POSTING),
    "react": ClientEvent(ReactEvent, Reacted, "Toggle a reaction",
                         f"At most {MAX_REACTIONS} different emoji on a message.", _POSTING),
    "read": ClientEvent(ReadEvent, ReadMarked, "Move your read marker",
                        "Written within a second; send it at most every few seconds."),
    "typing": ClientEvent(ChannelEvent, Typing, "Say you are typing",
                          f"The indicator lasts {TYPING_TTL} s; send again while typing.",
                          _POSTING),
    "heartbeat": ClientEvent(HeartbeatEvent, Alive, "Keep presence alive",
                             f"Every {HEARTBEAT_SECONDS} s; {PRESENCE_TTL} s without one "
                             "means offline. Re-checks your access to joined channels.",
                             ("validation_error",)),
    "search": ClientEvent(SearchEvent, Found, "Search a channel's messages",
                          f"2 to 100 characters; at most {PAGE_SIZE} results."),
    "unread": ClientEvent(NoPayload, Unread, "Unread counts of every channel you can read",
                          refusals=()),
}

#: Server → client events.
SERVER_EVENTS: dict[str, ServerEvent] = {
    "message": ServerEvent(Message, "A new message", "the channel's room"),
    "message_updated": ServerEvent(Message, "A message edited, deleted or reacted to",
                                   "the channel's room"),
    "typing": ServerEvent(TypingNotice, "Someone is typing", "the channel's room, not the "
                                                             "typist"),
    "presence": ServerEvent(PresenceBatch, "Who came online, went away or offline",
                            "every connected socket"),
    "read": ServerEvent(ReadNotice, "Your read marker moved on another device",
                        "your other sockets"),
    "notification": ServerEvent(NotificationNotice, "A new notification", "your sockets"),
    "channel_added": ServerEvent(ChannelAdded, "A channel you may now read", "your sockets"),
    "channel_lost": ServerEvent(ChannelLost, "A channel you may no longer read",
                                "your sockets in its room"),
    "kicked": ServerEvent(Kicked, "Your session ended; the socket is closed",
                          "your sockets"),
    "error": ServerEvent(EventError, "A refused event (also its acknowledgement)",
                         "the socket that sent it"),
}
