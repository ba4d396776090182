"""Chat channels and messages."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.timeutil import UTCDateTime, now_utc

#: Longest message accepted, in characters (ANCHORS.md: Discord's 2,000).
MAX_MESSAGE_CHARS = 2000


class Channel(db.Model):
    """A chat channel such as ``#general``; ``min_tier_key`` locks it to a tier and up."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    topic: Mapped[str] = mapped_column(String(200), default="")
    #: Only staff post (announcements).
    read_only: Mapped[bool] = mapped_column(default=False)
    #: Tier key needed to read and post, or empty for everyone.
    min_tier_key: Mapped[str] = mapped_column(String(30), default="")
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)


class Message(db.Model):
    """A chat message, stored before it is broadcast."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint("length(body) > 0", name="body_not_empty"),
        Index("ix_messages_channel_id_id", "channel_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    deleted_at: Mapped[object | None] = mapped_column(UTCDateTime)

    user = relationship("User")
    channel = relationship("Channel")
