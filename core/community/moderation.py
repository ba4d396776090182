"""Chat administration from the back office (rules: "Chat"): channels,
moderation (delete a message, mute a partner for a time) and announcements.

Roles (rules: "Staff roles"): ``content`` creates and edits channels and posts
announcements; ``support`` moderates (deletes, mutes, unmutes); ``admin`` does all. Each
function checks the role itself (``Forbidden``), whatever screen called it. Every change
is an audit row in the same transaction; live effects (the ``message`` and
``message_updated`` broadcasts) follow the commit through ``core.community.chat``.

The mute itself is enforced by ``core.community.chat`` (``check_not_muted`` on every send, edit,
reaction and typing event, socket or form), reading the database each time.
"""

import re
from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from core.accounts.models import User
from core.base.audit import audit
from core.base.errors import Forbidden, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.timeutil import now_utc
from core.community import chat
from core.community.models import Channel, ChatMute, Message
from core.program.models import Tier

#: Slugs: lower-case letters, digits and single hyphens, 2–60 characters.
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){1,59}$")
#: Slugs the system makes (direct, support and team channels) or the chat URLs use.
RESERVED_SLUGS = ("dm", "support", "attachments", "messages", "search")
RESERVED_PREFIXES = ("dm-", "support-", "team-")
#: The channel announcements go to.
ANNOUNCEMENTS_SLUG = "announcements"
#: Shortest and longest mute.
MIN_MUTE = timedelta(minutes=15)
MAX_MUTE = timedelta(days=30)
#: The durations the back office offers, in minutes, with their labels.
MUTE_CHOICES = ((15, "15 minutes"), (60, "1 hour"), (360, "6 hours"), (1440, "1 day"),
                (4320, "3 days"), (10080, "7 days"), (43200, "30 days"))

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _require(actor: User, role: str, what: str) -> None:
    if actor is None or not actor.is_staff or not actor.has_role(role):
        raise Forbidden(f"Only {role} staff can {what}.")


def _text(value, label: str, lo: int, hi: int) -> str:
    if not isinstance(value, str):
        value = "" if value is None else str(value)
    value = value.strip()
    if not lo <= len(value) <= hi:
        raise ValidationError(f"{label} must be {lo} to {hi} characters." if lo
                              else f"{label} must be at most {hi} characters.")
    if _CONTROL.search(value):
        raise ValidationError(f"{label} cannot contain control characters.")
    return value


def _tier_key(value) -> str:
    value = (value or "").strip()
    if value and db.session.scalar(select(Tier.id).where(Tier.key == value)) is None:
        raise ValidationError("Choose a tier that exists, or everyone.")
    return value


def tier_choices() -> list[tuple[str, str]]:
    """``(key, name)`` of every tier by threshold, after ``("", "Everyone")``."""
    return [("", "Everyone")] + [(t.key, t.name) for t in db.session.scalars(
        select(Tier).order_by(Tier.min_deals))]


def _channel_facts(c: Channel) -> dict:
    return {"slug": c.slug, "name": c.name, "topic": c.topic, "min_tier_key": c.min_tier_key,
            "read_only": c.read_only, "position": c.position}


# --- channels ----------------------------------------------------------------------------

def create_channel(actor: User, slug, name, topic="", min_tier_key="", read_only=False,
                   position=None) -> Channel:
    """Create a public channel (content staff). ``slug`` is lower-case letters, digits and
    hyphens (2–60, not one of the system's ``dm-``/``support-``/``team-`` names), unique;
    ``name`` 1–80 characters of any text (shown escaped); ``topic`` up to 200;
    ``min_tier_key`` a tier key or empty (everyone); ``read_only``: only staff post.
    Audited ``chat.channel.create``; connected readers' sidebars hear ``channel_added``. Raises ``Forbidden``, ``ValidationError``."""
    _require(actor, "content", "create channels")
    slug = (slug or "").strip().lower() if isinstance(slug, str) else ""
    if not SLUG_RE.match(slug):
        raise ValidationError("The slug is 2 to 60 lower-case letters, digits and single "
                              "hyphens, e.g. \"dental-sales\".")
    if slug in RESERVED_SLUGS or slug.startswith(RESERVED_PREFIXES):
        raise ValidationError("That slug is reserved for direct, support and team channels.")
    if db.session.scalar(select(Channel.id).where(Channel.slug == slug)) is not None:
        raise ValidationError("A channel with that slug exists already.")
    if position is None:
        position = (db.session.scalar(select(func.max(Channel.position)).where(
            Channel.kind == "public")) or 0) + 1
    elif not isinstance(position, int) or isinstance(position, bool) or \
            not 0 <= position <= 10_000:
        raise ValidationError("Position is a number from 0 to 10,000.")
    channel = Channel(slug=slug, name=_text(name, "The name", 1, 80),
                      topic=_text(topic, "The topic", 0, 200),
                      min_tier_key=_tier_key(min_tier_key), read_only=bool(read_only),
                      position=position, kind="public")
    db.session.add(channel)
    db.session.flush()
    audit(actor.id, "chat.channel.create", "channel", channel.id, None, _channel_facts(channel))
    chat.announce_channel(channel)
    return channel


def update_channel(actor: User, channel_id, *, name=None, topic=None, min_tier_key=None,
                   read_only=None, position=None) -> Channel:
    """Change a public channel's name, topic, tier requirement, read-only flag or position
    (content staff); arguments left ``None`` stay. The slug never changes (links and
    notifications point at it). Audited ``chat.channel.update`` with before/after.

    A new tier requirement takes effect at once: every event checks the reader's tier,
    and the sockets of readers below it leave the room after the commit and hear
    ``channel_lost`` (``core.community.chat.recheck_room``); readers it now lets in hear
    ``channel_added`` (``core.community.chat.announce_channel``).
    Raises ``Forbidden``, ``NotFound`` (unknown, team or direct channel), ``ValidationError``.
    """
    _require(actor, "content", "edit channels")
    channel = get_row(Channel, channel_id)
    if channel is None or channel.kind != "public":
        raise NotFound("No such channel.")
    before = _channel_facts(channel)
    if name is not None:
        channel.name = _text(name, "The name", 1, 80)
    if topic is not None:
        channel.topic = _text(topic, "The topic", 0, 200)
    if min_tier_key is not None:
        channel.min_tier_key = _tier_key(min_tier_key)
    if read_only is not None:
        channel.read_only = bool(read_only)
    if position is not None:
        if not isinstance(position, int) or isinstance(position, bool) or \
                not 0 <= position <= 10_000:
            raise ValidationError("Position is a number from 0 to 10,000.")
        channel.position = position
    after = _channel_facts(channel)
    changed = {k for k in after if after[k] != before[k]}
    if changed:
        db.session.flush()
        if "min_tier_key" in changed:
            chat.recheck_room(channel)
            chat.announce_channel(channel)  # a lowered requirement lets new readers in
        audit(actor.id, "chat.channel.update", "channel", channel.id,
              {k: before[k] for k in sorted(changed)}, {k: after[k] for k in sorted(changed)})
    return channel


# --- moderation ----------------------------------------------------------------------------

def _moderated_channels():
    """Channels moderators see: public and team channels and support conversations, never
    the direct messages between two partners."""
    return select(Channel.id).where(or_(Channel.kind != "dm", Channel.is_support))


def recent_messages(actor: User, query: str = "", channel_id=None, page: int = 0,
                    per_page: int = 50) -> tuple[list[Message], bool]:
    """Newest messages first for the moderation screen (support staff), optionally those
    containing ``query`` (2–100 characters, case-insensitive) and/or in one channel.
    Returns ``(rows, has_more)``; authors and channels load with the rows (3 queries)."""
    _require(actor, "support", "moderate chat")
    q = select(Message).where(Message.channel_id.in_(_moderated_channels()))
    query = (query or "").strip()
    if query:
        if not 2 <= len(query) <= 100:
            raise ValidationError("Search for 2 to 100 characters.")
        needle = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        q = q.where(func.lower(Message.body).like(f"%{needle}%", escape="\\"))
    if channel_id:
        q = q.where(Message.channel_id == channel_id)
    page = max(0, int(page))
    rows = list(db.session.scalars(
        q.options(joinedload(Message.user), joinedload(Message.channel))
        .order_by(Message.id.desc()).offset(page * per_page).limit(per_page + 1)))
    return rows[:per_page], len(rows) > per_page


def moderated_channel_choices() -> list[tuple[int, str]]:
    """``(id, name)`` of the public and team channels, for the moderation filter."""
    return [(i, n) for i, n in db.session.execute(
        select(Channel.id, Channel.name).where(Channel.kind != "dm")
        .order_by(Channel.kind, Channel.position, Channel.id))]


def delete_message(actor: User, message_id) -> Message:
    """Delete any message from the back office (support staff): shown as deleted to
    everyone live, audited ``chat.message.delete`` (``core.community.chat.delete_message``).
    Raises ``Forbidden``, ``NotFound``."""
    _require(actor, "support", "delete messages")
    return chat.delete_message(actor, message_id)


def _partner_user(user_id) -> User:
    user = get_row(User, user_id)
    if user is None or user.is_staff or user.partner is None:
        raise NotFound("No such partner.")
    return user


def partner_user_by_email(email) -> User:
    """The partner's user with that e-mail address (case-insensitive), else ``NotFound``."""
    email = (email or "").strip().lower() if isinstance(email, str) else ""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email)) \
        if email else None
    if user is None or user.is_staff or user.partner is None:
        raise NotFound("No partner has that e-mail address.")
    return user


def mute(actor: User, user_id, minutes, reason) -> ChatMute:
    """Mute a partner in chat for ``minutes`` (15 minutes to 30 days) with a reason (3–500
    characters, shown to the partner). A mute already in force is replaced (lifted) by
    the new one, so the end is what staff set now. Takes effect on the partner's next
    event, sockets already open included. Audited ``chat.mute`` on the partner.
    Raises ``Forbidden``, ``NotFound`` (not a partner), ``ValidationError``."""
    _require(actor, "support", "mute partners")
    user = _partner_user(user_id)
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        raise ValidationError("Choose how long the mute lasts.")
    length = timedelta(minutes=minutes)
    if not MIN_MUTE <= length <= MAX_MUTE:
        raise ValidationError("A mute lasts from 15 minutes to 30 days.")
    reason = _text(reason, "The reason", 3, 500)
    now = now_utc()
    for old in db.session.scalars(select(ChatMute).where(
            ChatMute.user_id == user.id, ChatMute.lifted_at.is_(None), ChatMute.until > now)):
        old.lifted_at = now
        old.lifted_by_id = actor.id
    row = ChatMute(user_id=user.id, muted_by_id=actor.id, reason=reason, created_at=now,
                   until=now + length)
    db.session.add(row)
    db.session.flush()
    audit(actor.id, "chat.mute", "partner", user.partner.id, None,
          {"mute_id": row.id, "until": row.until.isoformat(), "minutes": minutes,
           "reason": reason})
    return row


def unmute(actor: User, mute_id) -> ChatMute:
    """Lift a mute early (support staff); the partner may post again on their next
    event. Audited ``chat.unmute``. Raises ``Forbidden``, ``NotFound`` (unknown, already
    lifted or already over)."""
    _require(actor, "support", "unmute partners")
    row = get_row(ChatMute, mute_id)
    if row is None or row.lifted_at is not None or row.until <= now_utc():
        raise NotFound("That mute is not in force.")
    row.lifted_at = now_utc()
    row.lifted_by_id = actor.id
    db.session.flush()
    audit(actor.id, "chat.unmute", "partner", row.user.partner.id,
          {"mute_id": row.id, "until": row.until.isoformat()}, None)
    return row


def active_mutes(actor: User, limit: int = 200) -> list[ChatMute]:
    """Mutes in force now, ending soonest first, with the partner and who muted them."""
    _require(actor, "support", "moderate chat")
    return list(db.session.scalars(
        select(ChatMute).where(ChatMute.lifted_at.is_(None), ChatMute.until > now_utc())
        .options(joinedload(ChatMute.user), joinedload(ChatMute.muted_by))
        .order_by(ChatMute.until, ChatMute.id).limit(limit)))


# --- announcements ---------------------------------------------------------------------------

def announcements_channel() -> Channel:
    channel = db.session.scalar(select(Channel).where(Channel.slug == ANNOUNCEMENTS_SLUG))
    if channel is None:
        raise NotFound("There is no #announcements channel.")
    return channel


def announce(actor: User, body) -> Message:
    """Post to #announcements as the staff member (content staff), through
    ``core.community.chat.post_message``: stored, then broadcast live after the commit, @mentions
    notified. Audited ``chat.announce``. Raises ``Forbidden``, ``NotFound``,
    ``ValidationError`` (empty, over 2,000 characters)."""
    _require(actor, "content", "post announcements")
    msg = chat.post_message(actor, announcements_channel(), body)
    audit(actor.id, "chat.announce", "message", msg.id, None,
          {"channel_id": msg.channel_id})
    return msg


def recent_announcements(limit: int = 20) -> list[Message]:
    """The newest announcements, newest first, with their authors."""
    channel = db.session.scalar(select(Channel.id).where(Channel.slug == ANNOUNCEMENTS_SLUG))
    if channel is None:
        return []
    return list(db.session.scalars(select(Message).where(Message.channel_id == channel)
                                   .options(joinedload(Message.user))
                                   .order_by(Message.id.desc()).limit(limit)))
