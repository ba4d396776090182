"""Community: chat (channels, members, messages, reactions, mentions, attachments,
mutes), the playbook library, achievements, challenges and notifications."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.base.extensions import db
from core.base.timeutil import UTCDateTime, now_utc


class Achievement(db.Model):
    """One badge held by one partner, at most once (``partner_id`` + ``key`` unique).

    Rows are only ever added: a cancelled deal or a demotion never removes one."""

    __tablename__ = "achievements"
    __table_args__ = (
        UniqueConstraint("partner_id", "key"),
        Index("ix_achievements_key", "key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    #: ``first_sale``, ``quick_starter``, ``team_builder``, ``top_performer``,
    #: ``first_month`` or ``tier_<tier key>`` (``core.community.achievements``).
    key: Mapped[str] = mapped_column(String(40))
    #: When it was awarded (UTC).
    awarded_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)



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
    HTML is rendered from it through the sanitiser when shown (``core.community.chat.render``)."""

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
    read it on every send, edit and reaction (``core.community.chat.check_not_muted``)."""

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



class Notification(db.Model):
    """A notice for one user, read or unread."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: commission | tier_up | tier_down | achievement | payout | statement | approval |
    #: message
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(300), default="")
    read_at: Mapped[object | None] = mapped_column(UTCDateTime)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    #: When the e-mail copy went out (jobs/email.py), so a redelivered job sends it once;
    #: ``None`` when none was sent (kind not e-mailed, partner opted out, not yet sent).
    emailed_at: Mapped[object | None] = mapped_column(UTCDateTime)



class PushSubscription(db.Model):
    """A browser's or app's web push subscription (the Push API's endpoint and keys) for
    one user. One endpoint belongs to one user: subscribing it again moves it to whoever
    subscribed last (rules: "Web push subscriptions")."""

    __tablename__ = "push_subscriptions"
    __table_args__ = (Index("ix_push_subscriptions_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: The push service URL the browser gave (https, a known push service).
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    #: The browser's P-256 public key (65 bytes) and auth secret (16 bytes), base64url.
    p256dh: Mapped[str] = mapped_column(String(100))
    auth: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)



#: What a playbook is: a ``script`` (words to say or send) or a ``playbook`` (a method).
PLAYBOOK_KINDS = ("script", "playbook")



#: ``draft`` (staff, not shown), ``submitted`` (a partner's, waiting for review),
#: ``published`` (every partner reads it), ``rejected`` (a partner's, with the note why).
PLAYBOOK_STATUSES = ("draft", "submitted", "published", "rejected")



class Playbook(db.Model):
    """A sales script or playbook, written by staff or submitted by a partner."""

    __tablename__ = "playbooks"
    __table_args__ = (
        CheckConstraint("kind IN ('script', 'playbook')", name="kind"),
        CheckConstraint("status IN ('draft', 'submitted', 'published', 'rejected')",
                        name="status"),
        CheckConstraint("upvote_count >= 0", name="upvote_count"),
        # The library lists published ones by industry; authors list their own.
        Index("ix_playbooks_status_industry", "status", "industry"),
        Index("ix_playbooks_author_id", "author_id"),
        # Search (ILIKE '%word%'): trigram GIN on PostgreSQL, plain on SQLite (as
        # ix_partners_company_name_trgm).
        Index("ix_playbooks_title_trgm", "title", postgresql_using="gin",
              postgresql_ops={"title": "gin_trgm_ops"}),
        Index("ix_playbooks_body_trgm", "body", postgresql_using="gin",
              postgresql_ops={"body": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 5–120 characters, one line.
    title: Mapped[str] = mapped_column(String(120))
    #: One of ``core.community.playbooks.INDUSTRIES`` (the profile's industry list, plus "Any
    #: industry").
    industry: Mapped[str] = mapped_column(String(80))
    #: script | playbook
    kind: Mapped[str] = mapped_column(String(10))
    #: Markdown, 50–20,000 characters; shown through ``core.content.training.render_module_body``.
    body: Mapped[str] = mapped_column(Text)
    #: Who wrote it: a staff member or a partner's user.
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: draft | submitted | published | rejected
    status: Mapped[str] = mapped_column(String(12), default="draft")
    #: The reviewer's note to the author (why it was rejected, or a thank-you).
    review_note: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[object | None] = mapped_column(UTCDateTime)
    #: When it was last published ("newest" sorts by it); ``None`` until then.
    published_at: Mapped[object | None] = mapped_column(UTCDateTime)
    #: Upvotes, kept equal to its ``playbook_upvotes`` rows by atomic updates.
    upvote_count: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)

    author = relationship("User", foreign_keys=[author_id])
    reviewed_by = relationship("User", foreign_keys=[reviewed_by_id])

    def __str__(self) -> str:
        return self.title



class PlaybookUpvote(db.Model):
    """One user's upvote of one playbook, at most once (``playbook_id`` + ``user_id``)."""

    __tablename__ = "playbook_upvotes"
    __table_args__ = (UniqueConstraint("playbook_id", "user_id"),
                      Index("ix_playbook_upvotes_user_id", "user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbooks.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)



class Challenge(db.Model):
    """A competition: reach ``target`` deals (or revenue in cents) in a window, win a prize."""

    __tablename__ = "challenges"
    __table_args__ = (CheckConstraint("target > 0", name="target"),
                      CheckConstraint("prize_cents >= 0", name="prize"),
                      CheckConstraint("ends_at > starts_at", name="window"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(500), default="")
    #: deals | revenue
    metric: Mapped[str] = mapped_column(String(10))
    #: Deals, or revenue in cents.
    target: Mapped[int]
    prize_cents: Mapped[int]
    starts_at: Mapped[object] = mapped_column(UTCDateTime)
    ends_at: Mapped[object] = mapped_column(UTCDateTime)
    awarded_at: Mapped[object | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)

    created_by = relationship("User")
