"""Chat pages and their small JSON helpers (rules: "Chat"). Thin: parse, call ``core.community.chat``,
commit, render. Live traffic rides Socket.IO (``portal/chat_events.py``)."""

import functools

from flask import (
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from core.base.errors import DomainError, ValidationError
from core.base.extensions import db
from core.base.schemas import dump
from core.community import chat, presence
from portal import bp
from portal.forms import EmptyForm, MessageForm
from web.downloads import send_stored


def chat_user(fn):
    """Logged in, and an active partner or staff (staff moderate and answer support)."""

    @functools.wraps(fn)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_staff and (current_user.partner is None
                                          or current_user.partner.status != "active"):
            if current_user.partner is None:
                return redirect("/admin/")
            from portal.views import locked_page

            return locked_page(current_user.partner)
        return fn(*args, **kwargs)

    return wrapper


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    if not value:
        return None
    if not value.isdigit() or len(value) > 10:
        raise ValidationError(f"{name} must be a message id.")
    return int(value)


@bp.route("/partner/chat", methods=["GET", "POST"])
@bp.route("/partner/chat/<slug>", methods=["GET", "POST"])
@chat_user
def chat_page(slug: str = "general"):
    """A channel: sidebar with unread badges, the newest 50 messages server-rendered, live
    updates over Socket.IO. The form also posts without JavaScript."""
    if current_user.partner is not None:
        if chat.ensure_team_channel(current_user.partner) is not None:
            db.session.commit()
    locked = chat.tier_lock(current_user, slug)
    if locked is not None:
        return render_template("portal/channel_locked.html", channel=locked[0],
                               tier=locked[1]), 403
    channel = chat.get_channel_for(current_user, slug)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            chat.post_message(current_user, channel, form.body.data)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        return redirect(url_for("portal.chat_page", slug=channel.slug)), 303
    chat.flush_read_marks(current_user.id)  # markers this process has not written yet
    channels = chat.channels_for(current_user)
    counts = chat.unread_counts(current_user, channels)
    messages = chat.history(channel)
    first_unread = chat.first_unread_id(current_user, channel)
    return render_template(
        "portal/chat.html", channel=channel, title=chat.channel_title(channel, current_user),
        channels=[(c, chat.channel_title(c, current_user), counts[c.id]) for c in channels],
        messages=dump(chat.messages_of(messages)), form=form, action_form=EmptyForm(),
        can_post=chat.can_post(current_user, channel), first_unread_id=first_unread,
        mute=None if current_user.is_staff else chat.active_mute(current_user.id),
        last_read_id=counts[channel.id]["last_read_id"],
        latest_id=chat.latest_message_id(channel),
        me={"id": current_user.id, "name": current_user.name,
            "handle": chat.handle_of(current_user.name), "is_staff": current_user.is_staff},
        heartbeat=presence.HEARTBEAT_SECONDS,
        dm_people=chat.dm_partners(current_user) if not current_user.is_staff else [])


@bp.get("/partner/chat/<slug>/messages")
@chat_user
def chat_messages(slug: str):
    """JSON history: ``?before=<id>`` older page, ``?after=<id>`` catch-up (all messages
    after it), ``?thread=<id>`` a thread's replies. ``{"items": [...]}``, oldest first."""
    channel = chat.get_channel_for(current_user, slug)
    rows = chat.history(channel, _int_arg("before"), after_id=_int_arg("after"),
                        thread_id=_int_arg("thread"))
    return jsonify(items=dump(chat.messages_of(rows)))


@bp.get("/partner/chat/<slug>/search")
@chat_user
def chat_search(slug: str):
    """JSON search within one channel: ``?q=text`` → ``{"items": [...]}`` newest first."""
    channel = chat.get_channel_for(current_user, slug)
    return jsonify(items=dump(chat.messages_of(chat.search(channel, request.args.get("q", "")))))


@bp.post("/partner/chat/dm/<int:user_id>")
@chat_user
def chat_open_dm(user_id: int):
    """Open (or create) a direct-message channel with another partner."""
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("portal.chat_page"))
    channel = chat.open_dm(current_user, user_id)
    db.session.commit()
    return redirect(url_for("portal.chat_page", slug=channel.slug)), 303


@bp.post("/partner/chat/support")
@chat_user
def chat_open_support():
    """Open (or create) the partner's direct channel with SISO support."""
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("portal.chat_page"))
    channel = chat.open_support(current_user)
    db.session.commit()
    return redirect(url_for("portal.chat_page", slug=channel.slug)), 303


@bp.post("/partner/chat/<slug>/attachments")
@chat_user
def chat_upload(slug: str):
    """Upload one image or PDF (≤10 MB; CSRF token in the form or ``X-CSRFToken``) as a
    message; answers ``201 {"message": {...}}``."""
    channel = chat.get_channel_for(current_user, slug)
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError("Choose a file to send.")
    data = upload.stream.read(chat.MAX_ATTACHMENT_BYTES + 1)
    msg = chat.add_attachment(current_user, channel, upload.filename, data,
                              request.form.get("caption", ""))
    payload = chat.message_payload(msg)
    db.session.commit()
    return jsonify(message=payload), 201


@bp.get("/partner/chat/attachments/<int:attachment_id>")
@chat_user
def chat_attachment(attachment_id: int):
    """Serve an attachment to the channel's readers only, as a download for PDFs and
    inline for images, always with ``nosniff`` and the checked type."""
    row = chat.get_attachment_for(current_user, attachment_id)
    inline = row.content_type.startswith("image/") and request.args.get("download") != "1"
    # never presigned: a member's upload is served on our origin under a sandbox CSP
    return send_stored(row.file_path, mimetype=row.content_type, as_attachment=not inline,
                       download_name=row.filename, presign=False,
                       headers={"Content-Security-Policy": "default-src 'none'; sandbox",
                                "Cache-Control": "private, no-store"})
