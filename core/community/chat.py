"""Chat rules (rules: "Chat"): who may read and post where, messages stored before broadcast,
threads, reactions, mentions, edits and deletes, read markers, unread counts, search.

Access rule source: docs/rules.md "Chat" (channels, rules enforced on the server).

- Public channels: active partners and staff; ``min_tier_key`` locks a channel to that
  *effective* tier and up (``core.program.tiers.standing``); ``read_only`` channels take posts from
  staff only.
- Team channels: one per Performer+ team leader; the leader and the partners whose
  ``team_leader_id`` is the leader, while the leader's effective tier is Performer or up.
- Direct messages: between two partners (the two members only), or a partner and support
  (the partner, plus any staff member with the ``support`` role).
- Applied and suspended partners read nothing. Every call re-reads the user's status and
  effective tier; nothing is cached between calls.

Live side effects (Socket.IO emits, notifications) happen after the commit
(``core.base.outbox.emit_after_commit``). A partner whose status, session or tier drops loses
their sockets right after the commit that changed it (``_recheck_after_commit``).
"""

import functools
import html as html_lib
import logging
import re
import threading
from datetime import timedelta

import nh3
from sqlalchemy import bindparam, case, func, or_, select, update
from sqlalchemy.exc import OperationalError

from core.accounts.models import User
from core.base.audit import audit
from core.base.errors import Forbidden, NotFound, ValidationError
from core.base.extensions import MAX_ROW_ID, db, get_row, is_row_id, socketio
from core.base.outbox import after_commit, after_commit_once, emit_after_commit
from core.base.timeutil import now_utc
from core.community import presence
from core.community.models import (
    MAX_MESSAGE_CHARS,
    Attachment,
    Channel,
    ChannelMember,
    ChatMute,
    Mention,
    Message,
    Reaction,
)
from core.community.notifications import notify, user_room  # noqa: F401 (user_room re-used by events)
from core.community.schemas import Message as MessageShape
from core.ops.metrics import CHAT_MESSAGES
from core.ops.storage import get_storage
from core.program.models import Partner, Tier
from core.program.tiers import standing

log = logging.getLogger(__name__)

__all__ = ["Forbidden", "NotFound", "ValidationError"]

#: Messages per history page (Discord pages by 50).
PAGE_SIZE = 50
#: Most messages one catch-up (``after=<id>``) returns; the client asks again for more.
CATCH_UP_LIMIT = 200
#: Distinct emoji per message (Discord: 20).
MAX_REACTIONS = 20
#: An author may edit their message this long after sending it.
EDIT_WINDOW = timedelta(minutes=10)
#: At most this many distinct @mentions are resolved per message.
MAX_MENTIONS = 10
#: Tier needed to lead a team channel.
TEAM_TIER_KEY = "performer"

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def channel_room(channel_id: int) -> str:
    """Socket.IO room of a channel."""
    return f"channel:{channel_id}"


# --- access ------------------------------------------------------------------------

class _Viewer:
    """A user's access facts, read once per call: staff/support, active, effective tier
    rank (the tier's ``min_deals``), partner id."""

    def __init__(self, user: User):
        self.user = user
        self.is_staff = bool(user.is_staff)
        self.is_support = self.is_staff and user.has_role("support")
        p = user.partner
        self.partner = p
        self.active = self.is_staff or (p is not None and p.status == "active")
        self.rank = standing(p).tier.min_deals if (p is not None and self.active) else -1
        self._tiers: dict[str, int] | None = None

    def tier_rank(self, key: str) -> int:
        if self._tiers is None:
            self._tiers = {t.key: t.min_deals for t in db.session.scalars(select(Tier))}
        return self._tiers.get(key, 0)


def _leader_ok(viewer: _Viewer, channel: Channel) -> bool:
    leader = db.session.get(Partner, channel.team_leader_id) if channel.team_leader_id else None
    if leader is None or leader.status != "active":
        return False
    return standing(leader).tier.min_deals >= viewer.tier_rank(TEAM_TIER_KEY)


def _readable(viewer: _Viewer, channel: Channel) -> bool:
    if not viewer.active:
        return False
    if channel.kind == "dm":
        if channel.is_support and viewer.is_support:
            return True
        return db.session.scalar(select(ChannelMember.id).where(
            ChannelMember.channel_id == channel.id, ChannelMember.user_id == viewer.user.id,
            ChannelMember.is_member)) is not None
    if viewer.is_staff:
        return True
    if channel.kind == "team":
        p = viewer.partner
        return (p.id == channel.team_leader_id or p.team_leader_id == channel.team_leader_id) \
            and _leader_ok(viewer, channel)
    if channel.min_tier_key:
        return viewer.rank >= viewer.tier_rank(channel.min_tier_key)
    return True


def can_read(user: User, channel: Channel) -> bool:
    """True when ``user`` may read ``channel`` now (rules in the module docstring)."""
    return _readable(_Viewer(user), channel)


def can_post(user: User, channel: Channel) -> bool:
    """Readers may post, except in read-only channels where only staff post."""
    return _postable(_Viewer(user), channel)


def _postable(viewer: _Viewer, channel: Channel) -> bool:
    if not _readable(viewer, channel):
        return False
    return viewer.is_staff or not channel.read_only


def channels_for(user: User) -> list[Channel]:
    """The channels a user can read, in display order: public and tier channels by
    position, then team channels, then direct messages (newest first)."""
    viewer = _Viewer(user)
    if not viewer.active:
        return []
    rows = list(db.session.scalars(select(Channel).where(Channel.kind != "dm")
                                   .order_by(Channel.kind, Channel.position, Channel.id)))
    dm_q = select(Channel).where(Channel.kind == "dm")
    member_ids = select(ChannelMember.channel_id).where(ChannelMember.user_id == user.id,
                                                        ChannelMember.is_member)
    if viewer.is_support:
        dm_q = dm_q.where(or_(Channel.is_support, Channel.id.in_(member_ids)))
    else:
        dm_q = dm_q.where(Channel.id.in_(member_ids))
    dms = list(db.session.scalars(dm_q.order_by(Channel.id.desc())))
    return [c for c in rows if _readable(viewer, c)] + dms


def get_channel_for(user: User, channel_ref) -> Channel:
    """Return a readable channel by id or slug; otherwise raise ``NotFound`` (also when it
    exists but the user may not read it: no leak of locked channels' existence)."""
    return open_channel(user, channel_ref)[0]


def open_channel(user: User, channel_ref) -> tuple[Channel, bool]:
    """``get_channel_for`` and ``can_post`` from one read of the user's access facts
    (status, effective tier): ``(channel, may_post)``. Raises ``NotFound`` like
    ``get_channel_for``. For one event that needs both (a join)."""
    channel = _channel_by_ref(channel_ref)
    if channel is None:
        raise NotFound("No such channel.")
    viewer = _Viewer(user)
    if not _readable(viewer, channel):
        raise NotFound("No such channel.")
    return channel, _postable(viewer, channel)


def tier_lock(user: User, channel_ref) -> tuple[Channel, Tier] | None:
    """For a public channel open from a tier up (``min_tier_key``) that an active partner
    below that tier asks for: ``(channel, the tier that unlocks it)``, so the page can say
    so (rules: "Chat", locked channels). ``None`` otherwise: unknown channels, DMs and
    team channels stay "No such channel"."""
    channel = _channel_by_ref(channel_ref)
    if channel is None or channel.kind != "public" or not channel.min_tier_key:
        return None
    viewer = _Viewer(user)
    if not viewer.active or viewer.is_staff or _readable(viewer, channel):
        return None
    tier = db.session.scalar(select(Tier).where(Tier.key == channel.min_tier_key))
    return (channel, tier) if tier is not None else None


def latest_message_id(channel: Channel) -> int:
    """The highest message id in ``channel`` (replies included), 0 when empty: what a page
    rendered now already counts (a reply at or below it is in its thread's count)."""
    return db.session.scalar(select(func.coalesce(func.max(Message.id), 0))
                             .where(Message.channel_id == channel.id)) or 0


def _channel_by_ref(channel_ref) -> Channel | None:
    if is_row_id(channel_ref):
        channel = get_row(Channel, channel_ref)
    elif isinstance(channel_ref, str) and 0 < len(channel_ref) <= 60:
        channel = db.session.scalar(select(Channel).where(Channel.slug == channel_ref))
    else:
        channel = None
    return channel


def channel_title(channel: Channel, viewer: User) -> str:
    """The name shown to ``viewer``: ``general-chat``, or the other person in a DM
    ("Mike Reyes", "SISO support" for the partner, "Support: Sarah" for staff)."""
    if channel.kind != "dm":
        return channel.name
    if channel.is_support:
        if viewer.is_staff:
            return f"Support: {channel.name}"
        return "SISO support"
    other = db.session.scalar(select(User).join(ChannelMember, ChannelMember.user_id == User.id)
                              .where(ChannelMember.channel_id == channel.id,
                                     ChannelMember.is_member, User.id != viewer.id))
    return other.name if other else channel.name


def ensure_team_channel(partner: Partner) -> Channel | None:
    """Create the team channel of a Performer+ team leader who has none yet.

    Returns the leader's team channel (new or existing), or ``None`` when the partner is
    not active or below Performer. Idempotent.
    """
    existing = db.session.scalar(select(Channel).where(Channel.team_leader_id == partner.id))
    if existing is not None:
        return existing
    if partner.status != "active":
        return None
    need = db.session.scalar(select(Tier.min_deals).where(Tier.key == TEAM_TIER_KEY))
    if need is None or standing(partner).tier.min_deals < need:
        return None
    first = re.sub(r"[^a-z0-9]+", "-", partner.user.name.lower()).strip("-")[:40] or "team"
    channel = Channel(slug=f"team-{partner.id}", name=f"team-{first}", kind="team",
                      topic=f"{partner.user.name}'s team", team_leader_id=partner.id,
                      position=100)
    db.session.add(channel)
    db.session.flush()
    return channel


def _member(channel_id: int, user_id: int, is_member: bool = False) -> ChannelMember:
    row = db.session.scalar(select(ChannelMember).where(ChannelMember.channel_id == channel_id,
                                                         ChannelMember.user_id == user_id))
    if row is None:
        row = ChannelMember(channel_id=channel_id, user_id=user_id, is_member=is_member,
                            last_read_id=0)
        db.session.add(row)
    elif is_member and not row.is_member:
        row.is_member = True
    return row


def open_dm(user: User, other_user_id) -> Channel:
    """Return (creating on first use) the direct-message channel between two active
    partners. Raises ``NotFound`` for an unknown, inactive or staff other user or for
    oneself; ``Forbidden`` when the caller is not an active partner.
    """
    if user.is_staff or user.partner is None or user.partner.status != "active":
        raise Forbidden("Direct messages are between partners; staff answer in support.")
    other = get_row(User, other_user_id)
    if other is None or other.id == user.id or other.is_staff or other.partner is None \
            or other.partner.status != "active":
        raise NotFound("No such partner.")
    lo, hi = sorted((user.id, other.id))
    slug = f"dm-{lo}-{hi}"
    channel = db.session.scalar(select(Channel).where(Channel.slug == slug))
    if channel is None:
        channel = Channel(slug=slug, name=f"dm-{lo}-{hi}", kind="dm", position=1000)
        db.session.add(channel)
        db.session.flush()
    _member(channel.id, lo, True)
    _member(channel.id, hi, True)
    db.session.flush()
    return channel


def open_support(user: User) -> Channel:
    """Return (creating on first use) the partner's direct channel with SISO support.
    Raises ``Forbidden`` for staff and partners who are not active."""
    if user.is_staff or user.partner is None or user.partner.status != "active":
        raise Forbidden("Support chat is for active partners.")
    slug = f"support-{user.id}"
    channel = db.session.scalar(select(Channel).where(Channel.slug == slug))
    if channel is None:
        channel = Channel(slug=slug, name=user.name[:80], kind="dm", is_support=True,
                          topic="Questions for the SISO team", position=999)
        db.session.add(channel)
        db.session.flush()
    _member(channel.id, user.id, True)
    db.session.flush()
    return channel


# --- rendering -----------------------------------------------------------------------

_CODE = re.compile(r"`([^`\n]{1,500})`")
_MD_LINK = re.compile(r"\[([^\]\n]{1,200})\]\((https?://[^\s)]{1,1000})\)")
_BARE_URL = re.compile(r"\bhttps?://[^\s<>\"']{1,1000}")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"
                     r"|(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_SLOT = re.compile(r"\x00(\d+)\x00")
_ALLOWED_TAGS = {"strong", "em", "code", "a", "br"}


def render(body: str) -> str:
    """Render a message's Markdown subset to sanitised HTML (see ``_render``).

    A pure function of the text, so each process keeps the last ``RENDER_CACHE_SIZE``
    results: a join renders the same 50 messages for every partner who opens the
    channel. Nothing about the reader or the time goes into the result."""
    if not isinstance(body, str):
        raise TypeError("body must be a string")
    return _render_cached(body)


#: Rendered bodies kept per process (a few MB at most: bodies are at most 2,000 characters).
RENDER_CACHE_SIZE = 4096


@functools.lru_cache(maxsize=RENDER_CACHE_SIZE)
def _render_cached(body: str) -> str:
    return _render(body)


def _render(body: str) -> str:
    """Render a message's Markdown subset to sanitised HTML.

    Supported: ``**bold**``, ``*italics*`` / ``_italics_``, `` `code` ``, ``[text](https://…)``
    and bare ``http(s)://`` links; newlines become ``<br>``. Everything else is text: the
    body is HTML-escaped first and the result passes nh3 with only ``strong em code a br``
    allowed, ``href`` limited to http/https, and ``rel="noopener noreferrer nofollow"``.
    """
    slots: list[str] = []

    def keep(fragment: str) -> str:
        slots.append(fragment)
        return f"\x00{len(slots) - 1}\x00"

    def link(url: str, text: str) -> str:
        return keep(f'<a href="{html_lib.escape(url, quote=True)}">{text}</a>')

    out = []
    pos = 0
    for m in _CODE.finditer(body):
        out.append(_inline(body[pos:m.start()], keep, link))
        out.append(keep(f"<code>{html_lib.escape(m.group(1))}</code>"))
        pos = m.end()
    out.append(_inline(body[pos:], keep, link))
    text = "".join(out).replace("\n", "<br>")
    while _SLOT.search(text):
        text = _SLOT.sub(lambda m: slots[int(m.group(1))], text)
    return nh3.clean(text, tags=_ALLOWED_TAGS, attributes={"a": {"href"}},
                     url_schemes={"http", "https"}, link_rel="noopener noreferrer nofollow")


def _inline(raw: str, keep, link) -> str:
    raw = _MD_LINK.sub(lambda m: link(m.group(2), html_lib.escape(m.group(1))), raw)
    parts = re.split(r"(\x00\d+\x00)", raw)
    done = []
    for part in parts:
        if _SLOT.fullmatch(part):
            done.append(part)
            continue
        part = _BARE_URL.sub(lambda m: link(m.group(0), html_lib.escape(m.group(0))), part)
        pieces = re.split(r"(\x00\d+\x00)", part)
        pieces = [p if _SLOT.fullmatch(p) else html_lib.escape(p, quote=False) for p in pieces]
        part = "".join(pieces)
        part = _BOLD.sub(lambda m: f"<strong>{m.group(1)}</strong>", part)
        part = _ITALIC.sub(lambda m: f"<em>{m.group(1) or m.group(2)}</em>", part)
        done.append(part)
    return "".join(done)


def handle_of(name: str) -> str:
    """A user's @mention handle: the name lower-cased, non-alphanumerics as dots
    (``Sarah Thompson`` → ``sarah.thompson``)."""
    return re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".")


_MENTION = re.compile(r"(?<![\w@])@([a-z0-9][a-z0-9._-]{0,58}[a-z0-9])", re.IGNORECASE)


def _mentioned_users(body: str, channel: Channel, author: User) -> list[User]:
    handles = list(dict.fromkeys(h.lower() for h in _MENTION.findall(body)))[:MAX_MENTIONS]
    found: list[User] = []
    for h in handles:
        pattern = "%".join(p for p in h.split(".") if p)
        for u in db.session.scalars(select(User).where(func.lower(User.name).like(pattern))
                                    .limit(20)):
            if handle_of(u.name) == h and u.id != author.id and u not in found \
                    and can_read(u, channel):
                found.append(u)
    return found


# --- mutes ---------------------------------------------------------------------------

class Muted(Forbidden):
    """The partner is muted in chat (403): sends, edits, reactions and typing are refused
    until ``until`` (rules: "Chat": "mute a partner for a time")."""

    code = "muted"

    def __init__(self, mute: ChatMute):
        super().__init__(f"You are muted in chat until {mute.until.strftime('%Y-%m-%d %H:%M')} "
                         f"UTC. Reason: {mute.reason}")
        self.until = mute.until


def active_mute(user_id: int) -> ChatMute | None:
    """The mute in force on the user now (the one ending last), or ``None``. Read from
    the database on every call, so a mute or unmute applies to open sockets at once."""
    return db.session.scalar(select(ChatMute).where(
        ChatMute.user_id == user_id, ChatMute.lifted_at.is_(None), ChatMute.until > now_utc())
        .order_by(ChatMute.until.desc()).limit(1))


def check_not_muted(user: User) -> None:
    """Raise ``Muted`` when a mute is in force on ``user`` (staff are never muted)."""
    if user.is_staff:
        return
    mute = active_mute(user.id)
    if mute is not None:
        raise Muted(mute)


# --- writing -------------------------------------------------------------------------

def _clean_body(body) -> str:
    if not isinstance(body, str) or not body.strip():
        raise ValidationError("Type a message first.")
    body = body.strip()
    if len(body) > MAX_MESSAGE_CHARS:
        raise ValidationError(f"Messages are at most {MAX_MESSAGE_CHARS:,} characters.")
    if _CONTROL.search(body):
        raise ValidationError("Messages cannot contain control characters.")
    return body


def post_message(user: User, channel: Channel, body, parent_id=None, *,
                 slow_mode: bool = True) -> Message:
    """Store a message (1–2,000 characters, optional thread parent) if the user may post;
    returns the flushed row. The broadcast (``message`` to the channel room) and @mention
    notifications follow the commit.

    Raises ``ValidationError`` (empty, oversized, control characters, bad parent),
    ``Forbidden`` (read-only channel), ``NotFound`` (channel not readable),
    ``core.community.presence.SlowMode`` (over 5 messages in 10 s; staff exempt), ``Muted`` (a mute
    is in force on the author).

    The returned row's ``fresh_payload`` is its ``message_payload`` as stored (what is
    broadcast), built without a query; it is not updated by later changes.
    """
    body = _clean_body(body)
    viewer = _Viewer(user)  # status and effective tier, read once for both checks
    if not _readable(viewer, channel):
        raise NotFound("No such channel.")
    check_not_muted(user)
    if not _postable(viewer, channel):
        raise Forbidden("Only staff post in this channel.")
    parent = None
    if parent_id is not None:
        parent = get_row(Message, parent_id)
        if parent is None or parent.channel_id != channel.id or parent.deleted_at is not None:
            raise ValidationError("That thread is not in this channel.")
        if parent.parent_id is not None:  # replies to a reply join the same thread
            parent = db.session.get(Message, parent.parent_id)
    if slow_mode and not user.is_staff:
        presence.check_slow_mode(user.id, channel.id)
    msg = Message(channel_id=channel.id, user_id=user.id, body=body, user=user,
                  parent_id=parent.id if parent else None)
    db.session.add(msg)
    db.session.flush()
    mentioned = _mentioned_users(body, channel, user)
    for u in mentioned:
        db.session.add(Mention(message_id=msg.id, user_id=u.id, channel_id=channel.id))
        notify(u.id, "mention", f"{user.name} mentioned you in #{channel_title(channel, u)}",
               body[:200], f"/partner/chat/{channel.slug}?m={msg.id}")
    # The author has read their own message. One upsert: two first posts of the same
    # author in a channel at once (two devices, a quick double send) both find no marker
    # row; a read-then-insert made the second fail on the unique constraint.
    _advance_marks({(user.id, channel.id): msg.id})
    user_id, channel_id = user.id, channel.id

    def stop_typing():
        try:
            presence.clear_typing(user_id, channel_id)
        except Exception:  # typing is a nicety  # noqa: S110
            pass

    # After the commit, not inside the transaction: under eventlet a Redis round trip
    # here lets other greenlets run while this one holds the write (SQLite: the lock).
    after_commit(stop_typing)
    # A message just stored has no reactions, replies or attachments yet and its mentions
    # are the ones above: its shape needs no query (``messages_of`` would run five).
    msg.fresh_payload = _shape_of(msg, user, replies=0, reactions={},
                                  mentions=[u.id for u in mentioned],
                                  files=[]).model_dump(mode="json")
    emit_after_commit("message", msg.fresh_payload, channel_room(channel.id))
    after_commit(CHAT_MESSAGES.inc)
    return msg


def get_message_for(user: User, message_id) -> Message:
    """A message in a channel the user can read, else ``NotFound``."""
    msg = get_row(Message, message_id)
    if msg is None or not can_read(user, msg.channel):
        raise NotFound("No such message.")
    return msg


def edit_message(user: User, message_id, body) -> Message:
    """Change the text of one's own message within ``EDIT_WINDOW`` (10 minutes).

    Raises ``NotFound``, ``Forbidden`` (someone else's, deleted, too old, or the user can
    no longer post there), ``Muted``, ``ValidationError`` (body). New @mentions notify.
    """
    msg = get_message_for(user, message_id)
    body = _clean_body(body)
    if msg.user_id != user.id:
        raise Forbidden("You can edit only your own messages.")
    check_not_muted(user)
    if msg.deleted_at is not None:
        raise Forbidden("This message was deleted.")
    if now_utc() - msg.created_at > EDIT_WINDOW:
        raise Forbidden("Messages can be edited for 10 minutes after sending.")
    if not can_post(user, msg.channel):
        raise Forbidden("You can no longer post in this channel.")
    msg.body = body
    msg.edited_at = now_utc()
    had = set(db.session.scalars(select(Mention.user_id).where(Mention.message_id == msg.id)))
    for u in _mentioned_users(body, msg.channel, user):
        if u.id not in had:
            db.session.add(Mention(message_id=msg.id, user_id=u.id, channel_id=msg.channel_id))
            notify(u.id, "mention", f"{user.name} mentioned you in "
                   f"#{channel_title(msg.channel, u)}", body[:200],
                   f"/partner/chat/{msg.channel.slug}?m={msg.id}")
    db.session.flush()
    emit_after_commit("message_updated", message_payload(msg), channel_room(msg.channel_id))
    return msg


def delete_message(user: User, message_id) -> Message:
    """Delete a message: the author their own, staff with the ``support`` role (chat
    moderation; ``admin`` too) any, audited. The row stays and shows as deleted to
    everyone live. Raises ``NotFound``, ``Forbidden``."""
    msg = get_message_for(user, message_id)
    if msg.user_id != user.id and not (user.is_staff and user.has_role("support")):
        raise Forbidden("You can delete only your own messages.")
    if msg.user_id == user.id and not user.is_staff and not can_post(user, msg.channel):
        raise Forbidden("You can no longer post in this channel.")
    if msg.deleted_at is None:
        msg.deleted_at = now_utc()
        msg.deleted_by_id = user.id
        if msg.user_id != user.id:
            audit(user.id, "chat.message.delete", "message", msg.id, None,
                  {"channel_id": msg.channel_id, "author_id": msg.user_id})
        db.session.flush()
        emit_after_commit("message_updated", message_payload(msg), channel_room(msg.channel_id))
    return msg


_EMOJI_OK = re.compile(r"^[^\s\w<>&\"'`]{1,16}$")


def toggle_reaction(user: User, message_id, emoji) -> tuple[Message, bool]:
    """Add the user's ``emoji`` to a message, or remove it if present; returns
    ``(message, added)``. At most ``MAX_REACTIONS`` (20) distinct emoji per message.

    Raises ``NotFound``, ``Forbidden`` (cannot post in the channel, or deleted message),
    ``ValidationError`` (not a short emoji, or the 21st distinct one), ``Muted``.
    """
    msg = get_message_for(user, message_id)
    if not isinstance(emoji, str) or not _EMOJI_OK.match(emoji):
        raise ValidationError("React with one emoji.")
    check_not_muted(user)
    if not can_post(user, msg.channel) or msg.deleted_at is not None:
        raise Forbidden("You cannot react here.")
    row = db.session.scalar(select(Reaction).where(Reaction.message_id == msg.id,
                                                   Reaction.user_id == user.id,
                                                   Reaction.emoji == emoji))
    if row is not None:
        db.session.delete(row)
        added = False
    else:
        distinct = set(db.session.scalars(select(Reaction.emoji).where(
            Reaction.message_id == msg.id).distinct()))
        if emoji not in distinct and len(distinct) >= MAX_REACTIONS:
            raise ValidationError(f"A message can have at most {MAX_REACTIONS} different reactions.")
        db.session.add(Reaction(message_id=msg.id, user_id=user.id, emoji=emoji))
        added = True
    db.session.flush()
    emit_after_commit("message_updated", message_payload(msg), channel_room(msg.channel_id))
    return msg, added


# --- reading -------------------------------------------------------------------------

def history(channel: Channel, before_id: int | None = None, limit: int = PAGE_SIZE, *,
            after_id: int | None = None, thread_id: int | None = None) -> list[Message]:
    """Messages of a channel, oldest first.

    - default: the newest ``limit`` top-level messages (replies live in their thread),
      older pages with ``before_id`` (cursor: ids below it);
    - ``thread_id``: the replies of that thread (same paging);
    - ``after_id``: every message (top-level and replies) with a larger id, oldest first,
      at most ``limit``: what a client missed while disconnected.
    """
    limit = max(1, min(int(limit), CATCH_UP_LIMIT))
    q = select(Message).where(Message.channel_id == channel.id)
    if after_id is not None:
        q = q.where(Message.id > after_id).order_by(Message.id).limit(limit)
        return list(db.session.scalars(q))
    q = q.where(Message.parent_id == thread_id) if thread_id else \
        q.where(Message.parent_id.is_(None))
    if before_id:
        q = q.where(Message.id < before_id)
    rows = list(db.session.scalars(q.order_by(Message.id.desc()).limit(limit)))
    rows.reverse()
    return rows


def search(channel: Channel, text, limit: int = PAGE_SIZE) -> list[Message]:
    """Messages of the channel whose text contains ``text`` (case-insensitive), newest
    first, deleted ones left out. Raises ``ValidationError`` for a query outside 2–100
    characters."""
    if not isinstance(text, str) or not 2 <= len(text.strip()) <= 100:
        raise ValidationError("Search for 2 to 100 characters.")
    needle = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    q = (select(Message).where(Message.channel_id == channel.id, Message.deleted_at.is_(None),
                               func.lower(Message.body).like(f"%{needle}%", escape="\\"))
         .order_by(Message.id.desc()).limit(limit))
    return list(db.session.scalars(q))


def message_of(m: Message) -> MessageShape:
    """One message in the API's ``Message`` shape (see :func:`messages_of`)."""
    return messages_of([m])[0]


def message_payload(m: Message) -> dict:
    """One message's ``Message`` shape as JSON: what Socket.IO events carry."""
    return message_of(m).model_dump(mode="json")


def messages_of(rows: list[Message]) -> list[MessageShape]:
    """Messages in the API's ``Message`` shape (``core.community.schemas``), in four
    queries whatever their number: body (Markdown, empty when deleted) and sanitised
    ``html`` (see ``render``), author, thread, reactions, mentions, attachments."""
    if not rows:
        return []
    ids = [m.id for m in rows]
    reactions: dict[int, dict[str, list[int]]] = {}
    for mid, emoji, uid in db.session.execute(
            select(Reaction.message_id, Reaction.emoji, Reaction.user_id)
            .where(Reaction.message_id.in_(ids)).order_by(Reaction.id)):
        reactions.setdefault(mid, {}).setdefault(emoji, []).append(uid)
    replies = dict(db.session.execute(
        select(Message.parent_id, func.count()).where(Message.parent_id.in_(ids))
        .group_by(Message.parent_id)).all())
    mentions: dict[int, list[int]] = {}
    for mid, uid in db.session.execute(select(Mention.message_id, Mention.user_id)
                                       .where(Mention.message_id.in_(ids))):
        mentions.setdefault(mid, []).append(uid)
    files: dict[int, list[dict]] = {}
    for a in db.session.execute(select(Attachment.id, Attachment.message_id, Attachment.filename,
                                       Attachment.content_type, Attachment.size_bytes)
                                .where(Attachment.message_id.in_(ids)).order_by(Attachment.id)):
        files.setdefault(a.message_id, []).append(
            {"id": a.id, "filename": a.filename, "content_type": a.content_type,
             "size_bytes": a.size_bytes, "url": f"/partner/chat/attachments/{a.id}"})
    # Only the three columns shown, not User entities (a history page has up to 50 authors).
    users = {row.id: row for row in db.session.execute(
        select(User.id, User.name, User.is_staff).where(User.id.in_({m.user_id for m in rows})))}
    return [_shape_of(m, users[m.user_id], replies=replies.get(m.id, 0),
                      reactions=reactions.get(m.id, {}), mentions=mentions.get(m.id, []),
                      files=files.get(m.id, [])) for m in rows]


def _shape_of(m: Message, author, *, replies: int, reactions: dict[str, list[int]],
              mentions: list[int], files: list[dict]) -> MessageShape:
    """One message's ``Message`` shape from what was read; ``author`` has ``name`` and
    ``is_staff``."""
    deleted = m.deleted_at is not None
    return MessageShape(
        id=m.id, channel_id=m.channel_id, parent_id=m.parent_id, user_id=m.user_id,
        author=author.name, author_handle=handle_of(author.name),
        author_is_staff=bool(author.is_staff),
        body="" if deleted else m.body, html="" if deleted else render(m.body),
        deleted=deleted, edited_at=m.edited_at, created_at=m.created_at,
        reply_count=replies,
        reactions=[] if deleted else [{"emoji": e, "count": len(u), "user_ids": u}
                                      for e, u in reactions.items()],
        mentions=mentions, attachments=[] if deleted else files)


def mark_read(user: User, channel: Channel, last_id) -> int:
    """Move the user's read marker in a channel forward to ``last_id`` (never back, never
    past the newest message). Returns the marker. Raises ``ValidationError`` for a bad id."""
    last_id = _checked_read_id(last_id)
    # One statement, computed by the database: two devices marking at once cannot move
    # the marker back (a read-then-write could), and an open page costs one write.
    newest = func.coalesce(select(func.max(Message.id)).where(Message.channel_id == channel.id)
                           .scalar_subquery(), 0)
    target = case((newest < last_id, newest), else_=last_id)
    current = func.coalesce(ChannelMember.last_read_id, 0)
    marked = db.session.execute(
        update(ChannelMember)
        .where(ChannelMember.channel_id == channel.id, ChannelMember.user_id == user.id)
        .values(last_read_id=case((current > target, current), else_=target))
        .returning(ChannelMember.last_read_id)
        .execution_options(synchronize_session="fetch")).scalar()
    if marked is not None:
        return marked
    _advance_marks({(user.id, channel.id): last_id})  # first marker of this user here
    return db.session.scalar(select(ChannelMember.last_read_id).where(
        ChannelMember.channel_id == channel.id, ChannelMember.user_id == user.id))


#: Seconds a read marker sent over the socket may wait before it is written
#: (``queue_read``, ``flush_read_marks``).
READ_FLUSH_SECONDS = 1.0
_reads_lock = threading.Lock()
_pending_reads: dict[tuple[int, int], int] = {}


def _checked_read_id(last_id) -> int:
    if not isinstance(last_id, int) or isinstance(last_id, bool) or last_id < 0:
        raise ValidationError("last_id must be a message id.")
    return min(last_id, MAX_ROW_ID)


def queue_read(user_id: int, channel_id: int, last_id) -> int:
    """Ask for user ``user_id``'s read marker in channel ``channel_id`` to move forward to
    ``last_id``, to be written with the others of this process by the next
    ``flush_read_marks`` (the caller runs it at least every ``READ_FLUSH_SECONDS``). Returns the highest marker
    asked for so far, before the write clamps it to the newest message. The caller has
    checked that the user may read the channel (a marker reveals nothing: it is only
    ever the number the user sent). Raises ``ValidationError`` for a bad id.

    Why not ``mark_read`` at once: every open chat page sends its marker every 5 s while
    messages arrive (static/js/chat.js): 200 writes a second for 1,000 readers, each one
    a transaction. SQLite takes one writer at a time for both web processes, and a
    message's own commit waited behind them (BENCHMARKS.md "Chat fan-out"). Queued,
    they are one statement a second per process. A marker can be lost if the process
    dies in that second; the page sends the next one with the next message read."""
    last_id = _checked_read_id(last_id)
    key = (user_id, channel_id)
    with _reads_lock:
        mark = max(_pending_reads.get(key, 0), last_id)
        _pending_reads[key] = mark
    return mark


def flush_read_marks(user_id: int | None = None) -> int:
    """Write the queued read markers (all, or only ``user_id``'s) and commit; returns
    how many (none queued: nothing is read or written). Same rule as ``mark_read`` (never back, never past the newest message),
    applied by the database in one statement for all of them. When the database is
    unavailable (``OperationalError``) the markers are queued again, keeping the highest;
    on any other error they are dropped. Either way the error is raised."""
    with _reads_lock:
        if user_id is None:
            batch = dict(_pending_reads)
            _pending_reads.clear()
        else:
            batch = {k: v for k, v in _pending_reads.items() if k[0] == user_id}
            for k in batch:
                del _pending_reads[k]
    if not batch:
        return 0
    try:
        _advance_marks(batch)
        db.session.commit()
    except OperationalError:  # database away or busy: keep them for the next pass
        db.session.rollback()
        with _reads_lock:
            for k, v in batch.items():
                _pending_reads[k] = max(_pending_reads.get(k, 0), v)
        raise
    except Exception:  # e.g. a channel deleted meanwhile: retrying would fail forever
        db.session.rollback()
        raise
    return len(batch)


def has_queued_reads(user_id: int) -> bool:
    """True when this process holds a read marker of ``user_id`` not written yet."""
    with _reads_lock:
        return any(k[0] == user_id for k in _pending_reads)


def _advance_marks(batch: dict[tuple[int, int], int]) -> None:
    """Move each ``(user_id, channel_id)`` marker forward to its value (never back, never
    past the channel's newest message), creating missing marker rows: an insert that
    skips rows that exist (also ones a concurrent transaction is adding), then one
    update for all. Rows in ``(user_id, channel_id)`` order, so two writers lock alike."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    pairs = sorted(batch.items())
    now = now_utc()
    # One statement with a list of parameters (compiled once, not per batch size).
    db.session.execute(
        insert(ChannelMember).on_conflict_do_nothing(index_elements=["channel_id", "user_id"]),
        [{"channel_id": c, "user_id": u, "is_member": False, "last_read_id": 0,
          "created_at": now} for (u, c), _ in pairs])
    table = ChannelMember.__table__
    newest = func.coalesce(select(func.max(Message.id))
                           .where(Message.channel_id == bindparam("c_id")).scalar_subquery(), 0)
    target = case((newest < bindparam("mark"), newest), else_=bindparam("mark"))
    current = func.coalesce(table.c.last_read_id, 0)
    db.session.execute(
        update(table).where(table.c.channel_id == bindparam("c_id"),
                            table.c.user_id == bindparam("u_id"))
        .values(last_read_id=case((current > target, current), else_=target)),
        [{"c_id": c, "u_id": u, "mark": m} for (u, c), m in pairs])


def unread_counts(user: User, channels: list[Channel]) -> dict[int, dict]:
    """``{channel_id: {"unread", "mentions", "last_read_id"}}`` for the given channels:
    messages by others after the user's read marker (deleted ones not counted), and how
    many of them mention the user. Three queries whatever the number of channels."""
    ids = [c.id for c in channels]
    if not ids:
        return {}
    marks = dict(db.session.execute(select(ChannelMember.channel_id, ChannelMember.last_read_id)
                                    .where(ChannelMember.user_id == user.id,
                                           ChannelMember.channel_id.in_(ids))).all())
    mark = func.coalesce(select(ChannelMember.last_read_id).where(
        ChannelMember.user_id == user.id, ChannelMember.channel_id == Message.channel_id)
        .correlate(Message).scalar_subquery(), 0)
    unread = dict(db.session.execute(
        select(Message.channel_id, func.count()).where(
            Message.channel_id.in_(ids), Message.user_id != user.id,
            Message.deleted_at.is_(None), Message.id > mark)
        .group_by(Message.channel_id)).all())
    mentions = dict(db.session.execute(
        select(Mention.channel_id, func.count()).join(Message, Message.id == Mention.message_id)
        .where(Mention.user_id == user.id, Mention.channel_id.in_(ids),
               Message.deleted_at.is_(None), Message.id > mark)
        .group_by(Mention.channel_id)).all())
    return {i: {"unread": unread.get(i, 0), "mentions": mentions.get(i, 0),
                "last_read_id": marks.get(i, 0)} for i in ids}


def read_state(user: User, channel: Channel) -> dict:
    """One channel's ``unread_counts`` entry plus ``first_unread_id``, in two queries
    (the read marker, then one aggregate over the messages after it): what a join needs.
    ``{"unread", "mentions", "last_read_id", "first_unread_id"}``, same rules as those two
    functions."""
    mark = db.session.scalar(select(ChannelMember.last_read_id).where(
        ChannelMember.channel_id == channel.id, ChannelMember.user_id == user.id)) or 0
    mentions = (select(func.count()).select_from(Mention)
                .join(Message, Message.id == Mention.message_id)
                .where(Mention.user_id == user.id, Mention.channel_id == channel.id,
                       Message.deleted_at.is_(None), Message.id > mark).scalar_subquery())
    unread, first, mentioned = db.session.execute(
        select(func.count(case((Message.deleted_at.is_(None), 1))), func.min(Message.id),
               mentions)
        .where(Message.channel_id == channel.id, Message.id > mark,
               Message.user_id != user.id)).one()
    return {"unread": unread or 0, "mentions": mentioned or 0, "last_read_id": mark,
            "first_unread_id": first}


def first_unread_id(user: User, channel: Channel) -> int | None:
    """Id of the first message after the user's read marker (top-level or reply), or
    ``None`` when everything is read ("jump to first unread")."""
    mark = db.session.scalar(select(ChannelMember.last_read_id).where(
        ChannelMember.channel_id == channel.id, ChannelMember.user_id == user.id)) or 0
    return db.session.scalar(select(func.min(Message.id)).where(
        Message.channel_id == channel.id, Message.id > mark, Message.user_id != user.id))


def members_for_presence(channel: Channel, limit: int = 200) -> list:
    """Users to show in a channel's member list: DM members, or the authors of the last
    ``limit`` messages. Rows with ``id`` and ``name`` (not User entities: every join
    reads up to ``limit`` of them)."""
    cols = select(User.id, User.name)
    if channel.kind == "dm":
        return list(db.session.execute(cols.join(
            ChannelMember, ChannelMember.user_id == User.id).where(
            ChannelMember.channel_id == channel.id, ChannelMember.is_member)))
    recent = select(Message.user_id).where(Message.channel_id == channel.id) \
        .order_by(Message.id.desc()).limit(limit).subquery()
    return list(db.session.execute(cols.where(User.id.in_(select(recent.c.user_id)))))


# --- cutting off sockets of users who lost access ----------------------------------------

def kick_user(user_id: int, reason: str) -> int:
    """Disconnect every socket of the user, in every process (through the message queue
    when there is one). Returns how many sockets were told. Never raises."""
    try:
        sids = presence.sockets_of(user_id)
    except Exception:
        log.exception("could not list sockets of user %s", user_id)
        return 0
    server = getattr(socketio, "server", None)
    for sid in sids:
        try:
            socketio.emit("kicked", {"reason": reason}, to=sid)
            if server is not None:
                server.disconnect(sid, namespace="/")
        except Exception:
            log.exception("could not disconnect %s", sid)
    return len(sids)


def kick_after_commit(user_id: int, reason: str) -> None:
    """Once the current transaction commits, disconnect every socket of ``user_id`` with
    ``reason`` (:func:`kick_user`): their chat access may have dropped (account no longer
    active, sessions ended, tier lowered or overridden), and a reconnect checks it anew
    (rules: "Chat"). Recorded once per user and transaction; the first reason stands."""
    after_commit_once(("chat-kick", user_id), lambda: kick_user(user_id, reason))


def recheck_room(channel: Channel) -> list[int]:
    """After a change to ``channel``'s access rule (tier requirement raised): find the
    users whose sockets joined its room (Redis, every process) and who may no longer read
    it under the rule as flushed in this transaction; once the transaction commits, their
    sockets leave the room (through the message queue when there is one) and hear
    ``channel_lost``. Returns those users' ids. Never raises (Redis down: the heartbeat
    re-check still removes them within ``presence.HEARTBEAT_SECONDS``)."""
    try:
        joined = presence.users_in_room(channel.id)
    except Exception:
        log.exception("could not list the sockets in channel %s", channel.id)
        return []
    lost = [u.id for u in db.session.scalars(select(User).where(User.id.in_(joined)))
            if not can_read(u, channel)] if joined else []
    if not lost:
        return []
    room, channel_id = channel_room(channel.id), channel.id

    def run():
        server = getattr(socketio, "server", None)
        for uid in lost:
            try:
                presence.remove_room(uid, channel_id)
                for sid in presence.sockets_of(uid):
                    if server is not None:
                        server.leave_room(sid, room, namespace="/")
                    socketio.emit("channel_lost", {"channel_id": channel_id}, to=sid)
            except Exception:
                log.exception("could not take user %s out of channel %s", uid, channel_id)

    after_commit(run)
    return lost


def announce_channel(channel: Channel) -> list[int]:
    """After a public channel is created, or its tier requirement changed: the connected
    users (Redis, every process) who may read it under the rule as flushed in this
    transaction hear ``channel_added`` ``{channel_id, slug, title, locked}`` in their
    user room once the transaction commits, so open chat sidebars list it without a
    reload (a sidebar that has it already ignores the event). Returns those users' ids.
    Never raises: Redis down means the channel shows at the next page load."""
    try:
        online = presence.connected_users()
    except Exception:
        log.exception("could not list the connected users for channel %s", channel.id)
        return []
    readers = [u.id for u in db.session.scalars(select(User).where(User.id.in_(online)))
               if can_read(u, channel)] if online else []
    payload = {"channel_id": channel.id, "slug": channel.slug, "title": channel.name,
               "locked": bool(channel.min_tier_key)}
    for uid in readers:
        emit_after_commit("channel_added", payload, user_room(uid))
    return readers


def still_allowed(user: User, channel_ids: list[int]) -> list[int]:
    """Of ``channel_ids``, those the user may still read (heartbeat re-check)."""
    if not channel_ids:
        return []
    viewer = _Viewer(user)
    return [c.id for c in db.session.scalars(select(Channel).where(Channel.id.in_(channel_ids)))
            if _readable(viewer, c)]


def dm_partners(user: User, query: str = "", limit: int = 20) -> list[User]:
    """Active partners the user could start a DM with, by name (for the picker)."""
    q = (select(User).join(Partner, Partner.user_id == User.id)
         .where(Partner.status == "active", User.id != user.id))
    if query:
        needle = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        q = q.where(func.lower(User.name).like(f"%{needle}%", escape="\\"))
    return list(db.session.scalars(q.order_by(User.name).limit(limit)))



# --- attachments -----------------------------------------------------------------------

#: Largest attachment accepted (rules: "Chat": 10 MB).
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
#: Largest image accepted, in pixels (refuses decompression bombs before decoding).
MAX_IMAGE_PIXELS = 40_000_000


def sniff_type(data: bytes) -> str | None:
    """The file type from its first bytes: ``image/png``, ``image/jpeg``, ``image/gif``,
    ``image/webp`` or ``application/pdf``; ``None`` for anything else (the name and the
    browser's claimed type are never trusted)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def _reencode(data: bytes, kind: str) -> tuple[bytes, str, str]:
    """Decode and re-encode an image (drops metadata and anything hidden after the pixel
    data); JPEG stays JPEG, the rest become PNG. Raises ``ValidationError``."""
    import io
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > MAX_IMAGE_PIXELS:
                    raise ValidationError("That image is too large (40 megapixels at most).")
                img.load()
                out = io.BytesIO()
                if kind == "image/jpeg":
                    img.convert("RGB").save(out, "JPEG", quality=88)
                    return out.getvalue(), "image/jpeg", "jpg"
                img = img.convert("RGBA" if "A" in img.getbands() or img.mode == "P" else "RGB")
                img.save(out, "PNG", optimize=False)
                return out.getvalue(), "image/png", "png"
    except ValidationError:
        raise
    except Exception:
        raise ValidationError("That image could not be read.") from None


def add_attachment(user: User, channel: Channel, filename, data: bytes,
                   caption="") -> Message:
    """Post a message carrying one file: an image (re-encoded) or a PDF (rewritten without
    JavaScript, actions, embedded files and forms: ``core.base.pdf_clean``), at most 10 MB,
    type checked from the content. The file lands in ``chat/`` in the file store before the
    commit (an orphan file after a rollback is harmless; no delete before commit).

    Same rules as ``post_message`` (membership, posting right, slow mode). Raises
    ``ValidationError`` (size, type, unreadable image), ``Forbidden``, ``NotFound``.
    """
    import os
    import uuid

    if not isinstance(data, bytes | bytearray) or not data:
        raise ValidationError("Choose a file to send.")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ValidationError("Files are at most 10 MB.")
    kind = sniff_type(bytes(data[:16]))
    if kind is None:
        raise ValidationError("Send an image (PNG, JPEG, GIF, WebP) or a PDF.")
    name = re.sub(r"[^\w.\- ]+", "_", os.path.basename(str(filename or "file")))[:100] or "file"
    if kind == "application/pdf":
        from core.base.pdf_clean import clean_pdf

        ext = "pdf"
        if not bytes(data[-1024:]).rstrip().endswith(b"%%EOF"):
            raise ValidationError("That PDF looks incomplete.")
        data = clean_pdf(bytes(data))  # no JavaScript, actions, embedded files, forms
    else:
        data, kind, ext = _reencode(bytes(data), kind)
    stem = name.rsplit(".", 1)[0] if "." in name else name
    name = f"{stem}.{ext}"
    caption = caption.strip() if isinstance(caption, str) else ""
    msg = post_message(user, channel, caption or f"📎 {name}")
    rel = f"chat/{uuid.uuid4().hex}.{ext}"
    get_storage().put_bytes(rel, data)
    db.session.add(Attachment(message_id=msg.id, file_path=rel, filename=name,
                              content_type=kind, size_bytes=len(data)))
    db.session.flush()
    emit_after_commit("message_updated", message_payload(msg), channel_room(channel.id))
    return msg


def get_attachment_for(user: User, attachment_id) -> Attachment:
    """An attachment of a message the user can read now (and not deleted), else
    ``NotFound``."""
    row = get_row(Attachment, attachment_id)
    if row is None:
        raise NotFound("No such file.")
    msg = db.session.get(Message, row.message_id)
    if msg is None or msg.deleted_at is not None or not can_read(user, msg.channel):
        raise NotFound("No such file.")
    return row
