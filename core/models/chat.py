"""Chat: channels (public, tier-locked, team, direct), messages with threads, reactions,
mentions, attachments, and per-user read markers (issue 8)."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.timeutil import UTCDateTime, now_utc

#: Longest message accepted, in characters (ANCHORS.md: Discord's 2,000).
MAX_MESSAGE_CHARS = 2000
#: Channel kinds: ``public`` (everyone, or a tier and up), ``team`` (a Performer+ leader and
#: their team), ``dm`` (two partners, or a partner and support staff).
CHANNEL_KINDS = ("public", "team", "dm")


class Channel(db.Model):
    """A chat channel such as ``#general``; ``min_tier_key`` locks it to a tier and up."""

    __tablename__ = "channels"
    __table_args__ = (
        CheckConstraint("kind IN ('public', 'team', 'dm')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    topic: Mapped[str] = mapped_column(String(200), default="")
    #: Only staff post (announcements).
    read_only: Mapped[bool] = mapped_column(default=False)
    #: Tier key needed to read and post, or empty for everyone.
    min_tier_key: Mapped[str] = mapped_column(String(30), default="")
    position: Mapped[int] = mapped_column(default=0)
    #: public | team | dm (``CHANNEL_KINDS``).
    kind: Mapped[str] = mapped_column(String(10), default="public", server_default="public")
    #: For ``team`` channels: the leading partner (members are their team).
    team_leader_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), unique=True)
    #: For ``dm`` channels with support: any support staff member may answer.
    is_support: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)


class ChannelMember(db.Model):
    """A user's row in a channel: the members of a ``dm`` channel, and everyone's read
    marker (``last_read_id``) in any channel they opened."""

    __tablename__ = "channel_members"
    __table_args__ = (
        UniqueConstraint("channel_id", "user_id"),
        Index("ix_channel_members_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: Highest message id the user has seen in the channel (0: none).
    last_read_id: Mapped[int] = mapped_column(default=0, server_default="0")
    #: True for the people a direct-message channel is between.
    is_member: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)


class Message(db.Model):
    """A chat message, stored before it is broadcast. Body is the author's Markdown text;
    HTML is rendered from it through the sanitiser when shown (``core.chat.render``)."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint("length(body) > 0", name="body_not_empty"),
        Index("ix_messages_channel_id_id", "channel_id", "id"),
        Index("ix_messages_parent_id", "parent_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    #: The thread this message replies in (a top-level message of the same channel).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    edited_at: Mapped[object | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[object | None] = mapped_column(UTCDateTime)
    #: Who deleted it (the author, or staff moderating).
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user = relationship("User", foreign_keys=[user_id])
    channel = relationship("Channel")


class Reaction(db.Model):
    """One user's emoji on one message (toggle); at most 20 distinct emoji per message."""

    __tablename__ = "message_reactions"
    __table_args__ = (UniqueConstraint("message_id", "user_id", "emoji"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: The emoji itself (a short Unicode sequence).
    emoji: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)


class Mention(db.Model):
    """A user @mentioned in a message (drives mention counts and notifications)."""

    __tablename__ = "message_mentions"
    __table_args__ = (
        UniqueConstraint("message_id", "user_id"),
        Index("ix_message_mentions_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))


class Attachment(db.Model):
    """A file sent with a message (image re-encoded, or PDF), stored under ``STORAGE_DIR``
    and served only to the channel's readers."""

    __tablename__ = "message_attachments"
    __table_args__ = (
        CheckConstraint("size_bytes > 0", name="size_positive"),
        Index("ix_message_attachments_message_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    #: Path relative to ``STORAGE_DIR``.
    file_path: Mapped[str] = mapped_column(String(255))
    #: The name shown and offered for download (cleaned).
    filename: Mapped[str] = mapped_column(String(120))
    #: image/png | image/jpeg | application/pdf (checked from the content).
    content_type: Mapped[str] = mapped_column(String(60))
    size_bytes: Mapped[int]
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)


class ChatMute(db.Model):
    """A partner muted in chat by support staff until ``until`` (or until lifted early).

    In force while ``lifted_at`` is empty and ``until`` is in the future; the chat rules
    read it on every send, edit and reaction (``core.chat.check_not_muted``)."""

    __tablename__ = "chat_mutes"
    __table_args__ = (
        CheckConstraint("length(reason) > 0", name="reason_not_empty"),
        Index("ix_chat_mutes_user_id_until", "user_id", "until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The muted partner's user.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: The staff member who muted them.
    muted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: Why (shown to the partner with the refusal, and in the audit trail).
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    until: Mapped[object] = mapped_column(UTCDateTime)
    #: Set when staff unmute early (or replace the mute with a new one).
    lifted_at: Mapped[object | None] = mapped_column(UTCDateTime)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user = relationship("User", foreign_keys=[user_id])
    muted_by = relationship("User", foreign_keys=[muted_by_id])
