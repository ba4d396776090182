"""Chat rules in core (rules: "Chat"), called directly: access, Markdown, threads, reactions,
mentions, edits and deletes, slow mode in Redis, history cursors, unread counts, search,
presence and typing, attachments."""

import io
from datetime import timedelta

import pytest
from conftest import login, make_partner, make_staff, minimal_pdf

from core.accounts.models import User
from core.base.errors import Forbidden, NotFound, ValidationError
from core.base.extensions import db
from core.base.jobs import redis_connection
from core.base.models import AuditLog
from core.community import chat, presence
from core.community.models import Channel, Message, Notification


def channel(slug):
    return db.session.scalar(db.select(Channel).where(Channel.slug == slug))


def user(p):
    return db.session.get(User, p.user_id)


def test_tier_locked_channels_follow_effective_tier(ctx):
    """A starter partner cannot see the Active+ lounge; an active one can; a staff
    override down to starter takes it away at once, and one up to elite opens the
    elite council."""
    from core.program.tiers import set_override

    starter = make_partner("Sam Starter")
    active = make_partner("Ana Active", deals=3)
    staff = make_staff("admin@example.com", ("admin",))
    assert not chat.can_read(user(starter), channel("active-lounge"))
    assert chat.can_read(user(active), channel("active-lounge"))
    assert not chat.can_post(user(active), channel("announcements"))
    assert chat.can_post(staff, channel("announcements"))
    set_override(active.id, staff.id, tier_key="starter", reason="test")
    db.session.commit()
    assert not chat.can_read(user(active), channel("active-lounge"))
    with pytest.raises(NotFound):
        chat.get_channel_for(user(active), "active-lounge")
    set_override(starter.id, staff.id, tier_key="elite", reason="test")
    db.session.commit()
    assert chat.can_read(user(starter), channel("elite-council"))
    slugs = [c.slug for c in chat.channels_for(user(starter))]
    assert "elite-council" in slugs and "industry-restaurants" in slugs


def test_team_channel_for_performer_leaders_only(ctx):
    """A Performer leader gets one team channel; their team reads it, other partners do
    not; a starter with a team gets none."""
    leader = make_partner("Lea Leader", deals=10)
    member = make_partner("Max Member", leader=leader)
    outsider = make_partner("Olu Outsider", deals=12)
    team = chat.ensure_team_channel(leader)
    db.session.commit()
    assert team is not None and chat.ensure_team_channel(leader).id == team.id
    assert chat.can_read(user(leader), team) and chat.can_read(user(member), team)
    assert not chat.can_read(user(outsider), team)
    assert chat.ensure_team_channel(make_partner("Tiny Leader")) is None


def test_direct_messages_are_private(ctx):
    """A DM between two partners is readable by those two only (not a third partner, not
    staff); a support DM is readable by the partner and support staff, not finance."""
    a, b, c = make_partner("Ann A"), make_partner("Bob B"), make_partner("Cat C")
    support = make_staff("help@example.com", ("support",))
    finance = make_staff("money@example.com", ("finance",))
    dm = chat.open_dm(user(a), b.user_id)
    db.session.commit()
    assert chat.open_dm(user(b), a.user_id).id == dm.id
    assert chat.can_read(user(a), dm) and chat.can_read(user(b), dm)
    assert not chat.can_read(user(c), dm) and not chat.can_read(support, dm)
    assert chat.channel_title(dm, user(a)) == "Bob B"
    with pytest.raises(NotFound):
        chat.open_dm(user(a), a.user_id)
    desk = chat.open_support(user(a))
    db.session.commit()
    assert chat.can_read(support, desk) and chat.can_read(user(a), desk)
    assert not chat.can_read(finance, desk) and not chat.can_read(user(b), desk)
    assert desk in chat.channels_for(support)


@pytest.mark.parametrize("body,expected", [
    ("**bold** and *it* and _it2_", "<strong>bold</strong> and <em>it</em> and <em>it2</em>"),
    ("use `<b>x</b>` here", "use <code>&lt;b&gt;x&lt;/b&gt;</code> here"),
    ("[site](https://siso.example/a_b?x=1&y=2)",
     '<a href="https://siso.example/a_b?x=1&amp;y=2" rel="noopener noreferrer nofollow">site</a>'),
    ("see https://x.example/a_b_c now",
     'see <a href="https://x.example/a_b_c" rel="noopener noreferrer nofollow">'
     "https://x.example/a_b_c</a> now"),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("[x](javascript:alert(1))", "[x](javascript:alert(1))"),
    ('<img src=x onerror="alert(1)">', "&lt;img src=x onerror=\"alert(1)\"&gt;"),
    ("line1\nline2", "line1<br>line2"),
])
def test_markdown_subset_is_sanitised(body, expected):
    """Bold, italics, code and http(s) links render; every other markup shows as text."""
    assert chat.render(body) == expected


def test_threads_reactions_edit_delete(ctx):
    """Replies go to the thread, not the channel's main list; reactions toggle and stop at
    20 distinct emoji; authors edit for 10 minutes and delete (shown as deleted); staff
    delete anyone's (audited); partners cannot touch others' messages."""
    a, b = make_partner("Ann A"), make_partner("Bob B")
    staff = make_staff("mod@example.com", ("support",))
    general = channel("general")
    top = chat.post_message(user(a), general, "Who sells to dentists?")
    reply = chat.post_message(user(b), general, "Me!", parent_id=top.id)
    db.session.commit()
    assert [m.id for m in chat.history(general)] == [top.id]
    assert [m.id for m in chat.history(general, thread_id=top.id)] == [reply.id]
    assert chat.message_payload(top)["reply_count"] == 1
    with pytest.raises(ValidationError):
        chat.post_message(user(b), channel("daily-wins"), "wrong place", parent_id=top.id)

    msg, added = chat.toggle_reaction(user(b), top.id, "👍")
    assert added and chat.message_payload(top)["reactions"] == [
        {"emoji": "👍", "count": 1, "user_ids": [b.user_id]}]
    assert chat.toggle_reaction(user(b), top.id, "👍")[1] is False
    for e in ["😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍",
              "😘", "🥰", "😗", "😙", "🥲", "😚", "🙂"]:
        chat.toggle_reaction(user(a), top.id, e)
    with pytest.raises(ValidationError, match="20"):
        chat.toggle_reaction(user(b), top.id, "🔥")
    chat.toggle_reaction(user(b), top.id, "😀")  # an existing emoji still counts up
    with pytest.raises(ValidationError):
        chat.toggle_reaction(user(b), top.id, "<b>")
    db.session.commit()

    with pytest.raises(Forbidden):
        chat.edit_message(user(b), top.id, "hijack")
    chat.edit_message(user(a), top.id, "Who sells to **dentists**?")
    assert chat.message_payload(top)["edited_at"] and "<strong>" in chat.message_payload(top)["html"]
    top.created_at = top.created_at - timedelta(minutes=11)
    db.session.commit()
    with pytest.raises(Forbidden, match="10 minutes"):
        chat.edit_message(user(a), top.id, "too late")
    with pytest.raises(Forbidden):
        chat.delete_message(user(a), reply.id)
    chat.delete_message(user(b), reply.id)
    chat.delete_message(staff, top.id)
    db.session.commit()
    shown = chat.message_payload(top)
    assert shown["deleted"] and shown["body"] == "" and shown["html"] == ""
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditLog).where(
        AuditLog.action == "chat.message.delete")) == 1


def test_mentions_notify_readers_only(ctx):
    """@mike.reyes notifies Mike and counts as a mention in his unread counts; a starter
    mentioned in the Active+ lounge is not notified (cannot read it)."""
    sarah = make_partner("Sarah Thompson", deals=3)
    mike = make_partner("Mike Reyes", deals=3)
    newbie = make_partner("Nina New")
    msg = chat.post_message(user(sarah), channel("active-lounge"),
                            "Thanks @mike.reyes and @nina.new!")
    db.session.commit()
    notes = list(db.session.scalars(db.select(Notification).where(Notification.kind == "mention")))
    assert [n.user_id for n in notes] == [mike.user_id]
    assert "Sarah Thompson" in notes[0].title
    assert chat.message_payload(msg)["mentions"] == [mike.user_id]
    counts = chat.unread_counts(user(mike), [channel("active-lounge")])
    assert counts[channel("active-lounge").id]["mentions"] == 1
    assert chat.unread_counts(user(newbie), [channel("general")])[channel("general").id]["unread"] == 0


def test_slow_mode_in_redis(ctx):
    """Five messages in ten seconds pass; the sixth gets a clear slow-mode error with a
    wait; the window lives in Redis (shared by every process); staff are exempt."""
    a = make_partner("Ann A")
    staff = make_staff("mod@example.com", ("admin",))
    general = channel("general")
    for i in range(5):
        chat.post_message(user(a), general, f"msg {i}")
    with pytest.raises(presence.SlowMode) as err:
        chat.post_message(user(a), general, "one too many")
    assert "5 messages every 10 seconds" in err.value.message and err.value.retry_after >= 1
    assert redis_connection().zcard(f"chat:slow:{general.id}:{a.user_id}") == 5
    chat.post_message(user(a), channel("daily-wins"), "other channel is fine")
    for i in range(8):
        chat.post_message(staff, general, f"staff {i}")
    presence.check_slow_mode(a.user_id, general.id + 1000, now_ms=0)
    for _ in range(4):
        presence.check_slow_mode(a.user_id, general.id + 1000, now_ms=1)
    presence.check_slow_mode(a.user_id, general.id + 1000, now_ms=10_001)  # window slid


def test_history_cursors_unread_and_search(ctx):
    """Newest 50 on open, older pages by ``before``, catch-up by ``after``; unread counts
    drop when the read marker moves; search finds text in one channel only."""
    a, b = make_partner("Ann A"), make_partner("Bob B")
    general = channel("general")
    ids = []
    for i in range(120):
        m = Message(channel_id=general.id, user_id=a.user_id, body=f"note {i} 100%_done")
        db.session.add(m)
        db.session.flush()
        ids.append(m.id)
    db.session.commit()
    page = chat.history(general)
    assert [m.id for m in page] == ids[-50:]
    older = chat.history(general, before_id=page[0].id)
    assert [m.id for m in older] == ids[20:70]
    assert [m.id for m in chat.history(general, after_id=ids[110])] == ids[111:]
    assert chat.unread_counts(user(b), [general])[general.id]["unread"] == 120
    assert chat.first_unread_id(user(b), general) == ids[0]
    chat.mark_read(user(b), general, ids[99])
    assert chat.mark_read(user(b), general, ids[10]) == ids[99]  # never backwards
    db.session.commit()
    assert chat.unread_counts(user(b), [general])[general.id]["unread"] == 20
    assert chat.mark_read(user(b), general, 10**6) == ids[-1]  # never past the newest
    assert [m.body for m in chat.search(general, "NOTE 11")][:2] == ["note 119 100%_done",
                                                                     "note 118 100%_done"]
    assert len(chat.search(general, "%_")) == 50  # wildcards are literal text
    assert chat.search(channel("daily-wins"), "note") == []
    with pytest.raises(ValidationError):
        chat.search(general, "x")


def test_queued_read_markers_follow_the_same_rule_in_one_write(ctx):
    """Markers sent over the socket are queued and written together: the highest asked
    for wins, never backwards past what is stored, never past the newest message; a
    user with no marker row yet gets one; flushing one user leaves the others queued."""
    a, b, c = make_partner("Ann A"), make_partner("Bob B"), make_partner("Cy C")
    general = channel("general")
    ids = [chat.post_message(user(a), general, f"tip {i}", slow_mode=False).id for i in range(5)]
    db.session.commit()
    chat.mark_read(user(c), general, ids[3])
    db.session.commit()
    assert chat.queue_read(b.user_id, general.id, ids[2]) == ids[2]
    assert chat.queue_read(b.user_id, general.id, ids[1]) == ids[2]  # the highest so far
    chat.queue_read(c.user_id, general.id, ids[0])  # behind what is stored
    chat.queue_read(a.user_id, general.id, 10**6)
    with pytest.raises(ValidationError):
        chat.queue_read(b.user_id, general.id, "9")
    assert chat.has_queued_reads(user(b).id)
    assert chat.flush_read_marks(user(b).id) == 1
    assert not chat.has_queued_reads(user(b).id) and chat.has_queued_reads(user(c).id)
    assert chat.unread_counts(user(b), [general])[general.id] == {
        "unread": 2, "mentions": 0, "last_read_id": ids[2]}
    assert chat.flush_read_marks() == 2
    assert chat.flush_read_marks() == 0
    assert chat.unread_counts(user(c), [general])[general.id]["last_read_id"] == ids[3]
    assert chat.unread_counts(user(a), [general])[general.id]["last_read_id"] == ids[-1]


def test_presence_and_typing_expire(ctx):
    """Heartbeats make a user online or away; no heartbeat means offline; a typing
    indicator disappears by itself after its TTL."""
    assert presence.heartbeat(7, "online") is None
    assert presence.heartbeat(7, "away") == "online"
    assert presence.presence_of([7, 8]) == {7: "away", 8: "offline"}
    assert redis_connection().ttl("chat:presence:7") <= presence.PRESENCE_TTL
    presence.set_typing(7, 1, now=1000.0)
    assert presence.typing_in(1, now=1003.0) == [7]
    assert presence.typing_in(1, now=1000.0 + presence.TYPING_TTL + 0.1) == []


def _png(extra=b""):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (20, 10), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue() + extra


def test_attachments_checked_reencoded_and_member_only(app, client):
    """An image is re-encoded (bytes hidden after it are gone) and served with nosniff
    and a Content-Disposition to readers of its channel only; a file that only claims to
    be an image, and files over 10 MB, are refused; PDFs download as attachments."""
    with app.app_context():
        a, b = make_partner("Ann A", email="ann@example.com"), make_partner("Bob B")
        c = make_partner("Cat C", email="cat@example.com")
        dm = chat.open_dm(user(a), b.user_id)
        db.session.commit()
        dm_slug = dm.slug
    login(client, "ann@example.com")
    page = client.get(f"/partner/chat/{dm_slug}").get_data(as_text=True)
    from conftest import csrf_from

    token = csrf_from(page)
    resp = client.post(f"/partner/chat/{dm_slug}/attachments", headers={"X-CSRFToken": token},
                       data={"file": (io.BytesIO(_png(b"<script>alert(1)</script>")), "x.png"),
                             "caption": "our flyer"})
    assert resp.status_code == 201, resp.get_json()
    att = resp.get_json()["message"]["attachments"][0]
    assert att["content_type"] == "image/png" and resp.get_json()["message"]["body"] == "our flyer"
    got = client.get(att["url"])
    assert got.status_code == 200 and got.headers["X-Content-Type-Options"] == "nosniff"
    assert "filename" in got.headers["Content-Disposition"] and b"<script>" not in got.data
    fake = client.post(f"/partner/chat/{dm_slug}/attachments", headers={"X-CSRFToken": token},
                       data={"file": (io.BytesIO(b"<html><script>x</script>"), "a.png")})
    assert fake.status_code == 422
    big = client.post(f"/partner/chat/{dm_slug}/attachments", headers={"X-CSRFToken": token},
                      data={"file": (io.BytesIO(b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024)),
                                     "big.pdf")})
    assert big.status_code == 422
    pdf = client.post(f"/partner/chat/{dm_slug}/attachments", headers={"X-CSRFToken": token},
                      data={"file": (io.BytesIO(minimal_pdf()), "deck.pdf")})
    assert pdf.status_code == 201
    pdf_url = pdf.get_json()["message"]["attachments"][0]["url"]
    got = client.get(pdf_url)
    assert got.headers["Content-Disposition"].startswith("attachment")
    other = app.test_client()
    login(other, "cat@example.com")
    assert other.get(att["url"]).status_code == 404
    assert other.get(f"/partner/chat/{dm_slug}").status_code == 404
    assert c is not None


def test_a_message_posted_while_redis_is_down_is_kept(app):
    """With Redis not answering, slow mode cannot be counted: the partner's message from
    the plain form is stored (and shown) instead of failing, and a warning is logged."""
    from conftest import free_port, login, make_partner, submit
    from redis import Redis

    from core.community.models import Message

    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
    client = app.test_client()
    assert login(client, "sarah@example.com").status_code == 302
    live = app.extensions["siso_redis"]
    app.extensions["siso_redis"] = Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        resp = submit(client, "/partner/chat/general", {"body": "Posted during the outage"})
    finally:
        app.extensions["siso_redis"] = live
    assert resp.status_code == 303
    with app.app_context():
        bodies = list(db.session.scalars(db.select(Message.body)))
    assert bodies == ["Posted during the outage"]
    assert "Posted during the outage" in client.get("/partner/chat/general").get_data(as_text=True)
