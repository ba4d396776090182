"""Chat rules: who may read and post where; messages stored before broadcast."""

from sqlalchemy import select

from core.errors import Forbidden, NotFound, ValidationError  # noqa: F401 (ValidationError re-used by chat events)
from core.extensions import db, get_row
from core.models import Channel, Message, User
from core.models.chat import MAX_MESSAGE_CHARS
from core.tasks import emit_after_commit
from core.tiers import standing


def channel_room(channel_id: int) -> str:
    """Socket.IO room of a channel."""
    return f"channel:{channel_id}"


def can_read(user: User, channel: Channel) -> bool:
    """Staff read every channel; active partners read channels their effective tier
    unlocks (``min_tier_key``); applied or suspended partners read none."""
    if user.is_staff:
        return True
    partner = user.partner
    if partner is None or partner.status != "active":
        return False
    if not channel.min_tier_key:
        return True
    from core.tiers import tier_by_key

    need = tier_by_key(channel.min_tier_key)
    return need is None or standing(partner).tier.min_deals >= need.min_deals


def can_post(user: User, channel: Channel) -> bool:
    """Readers may post, except in read-only channels where only staff post."""
    if not can_read(user, channel):
        return False
    return user.is_staff or not channel.read_only


def channels_for(user: User) -> list[Channel]:
    """The channels a user can read, in display order."""
    rows = db.session.scalars(select(Channel).order_by(Channel.position, Channel.id))
    return [c for c in rows if can_read(user, c)]


def get_channel_for(user: User, channel_ref) -> Channel:
    """Return a readable channel by id or slug; otherwise raise ``NotFound``."""
    if isinstance(channel_ref, int) and not isinstance(channel_ref, bool):
        channel = get_row(Channel, channel_ref)
    elif isinstance(channel_ref, str) and len(channel_ref) <= 60:
        channel = db.session.scalar(select(Channel).where(Channel.slug == channel_ref))
    else:
        channel = None
    if channel is None or not can_read(user, channel):
        raise NotFound("No such channel.")
    return channel


def post_message(user: User, channel: Channel, body) -> Message:
    """Store a message (1–2,000 characters) if the user may post; returns the flushed row.

    Raises ``ValidationError`` for empty/oversized/non-text bodies, ``Forbidden`` when the
    channel is read-only for the user. The broadcast to the channel room follows the commit.
    """
    if not isinstance(body, str) or not body.strip():
        raise ValidationError("Type a message first.")
    body = body.strip()
    if len(body) > MAX_MESSAGE_CHARS:
        raise ValidationError(f"Messages are at most {MAX_MESSAGE_CHARS:,} characters.")
    if not can_post(user, channel):
        raise Forbidden("Only staff post in this channel.")
    msg = Message(channel_id=channel.id, user_id=user.id, body=body, user=user)
    db.session.add(msg)
    db.session.flush()
    emit_after_commit("message", message_json(msg), channel_room(channel.id))
    return msg


def history(channel: Channel, before_id: int | None = None, limit: int = 50) -> list[Message]:
    """The newest ``limit`` messages before ``before_id`` (cursor), oldest first."""
    q = select(Message).where(Message.channel_id == channel.id)
    if before_id:
        q = q.where(Message.id < before_id)
    rows = list(db.session.scalars(q.order_by(Message.id.desc()).limit(limit)))
    rows.reverse()
    return rows


def message_json(m: Message) -> dict:
    """Plain JSON of a message (text is escaped by whoever renders it)."""
    return {"id": m.id, "channel_id": m.channel_id, "user_id": m.user_id,
            "author": m.user.name, "body": "" if m.deleted_at else m.body,
            "deleted": m.deleted_at is not None, "created_at": m.created_at.isoformat()}
