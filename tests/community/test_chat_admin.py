"""Chat in the back office (rules: "Chat"), through the admin pages as a browser
posts them and checked with real Socket.IO clients on the live server: channels with a
tier requirement and read-only flag, mutes that bite on open sockets and on the no-JS
form, staff deletes and announcements seen live, role checks, escaping."""

import re

import pytest
from conftest import csrf_from, login, make_partner, make_staff, submit
from sqlalchemy import func, select
from test_chat import connect, token_for
from test_chat_live import Inbox

from core.accounts.models import User
from core.base.extensions import db
from core.base.models import AuditLog
from core.community.models import Channel, ChatMute, Message

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def people(app):
    """Sarah (starter), Mike (active, 3 deals), and one staff member per role."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        make_partner("Mike Reyes", email="mike@example.com", deals=3)
        for role in ("admin", "support", "content", "finance"):
            make_staff(f"{role}@example.com", (role,))
        return {"sarah": db.session.scalar(select(User.id).where(
            User.email == "sarah@example.com"))}


def staff_client(app, role):
    client = app.test_client()
    assert login(client, f"{role}@example.com").status_code == 302
    return client


def create_channel(client, **data):
    form = {"name": "dental-sales", "slug": "dental-sales", "topic": "Selling to dentists",
            "min_tier_key": "", "position": ""}
    form.update(data)
    if not form.get("read_only"):
        form.pop("read_only", None)
    return submit(client, "/admin/chat/channels/new/", form)


def channel_id(app, slug):
    with app.app_context():
        return db.session.scalar(select(Channel.id).where(Channel.slug == slug))


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- channels -------------------------------------------------------------------------------

def test_tier_channel_created_in_admin_refuses_partner_below_it(app, live_server, people):
    """Content staff create #performer-deals for Active and up: Mike (active) joins it
    over the socket, Sarah (starter) is told there is no such channel; the creation is
    audited."""
    content = staff_client(app, "content")
    resp = create_channel(content, name="active-deals", slug="active-deals",
                          min_tier_key="active")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    cid = channel_id(app, "active-deals")
    assert cid
    assert count(app, AuditLog, AuditLog.action == "chat.channel.create",
                 AuditLog.object_id == cid) == 1

    sarah = connect(live_server, token_for(app, "sarah@example.com"))
    mike = connect(live_server, token_for(app, "mike@example.com"))
    try:
        ack = sarah.call("join", {"channel": "active-deals"}, timeout=5)
        assert ack["ok"] is False and ack["error"]["code"] == "not_found"
        ack = sarah.call("send", {"channel": cid, "body": "let me in"}, timeout=5)
        assert ack["ok"] is False
        assert mike.call("join", {"channel": "active-deals"}, timeout=5)["ok"]
        assert mike.call("send", {"channel": cid, "body": "hello lounge"}, timeout=5)["ok"]
    finally:
        sarah.disconnect()
        mike.disconnect()


def test_channel_made_read_only_refuses_partner_posts(app, live_server, people):
    """Content staff create a channel, then edit it to read-only with a new topic: a
    partner's send is refused over the socket, staff still post."""
    content = staff_client(app, "content")
    assert create_channel(content).status_code == 302
    cid = channel_id(app, "dental-sales")
    mike = connect(live_server, token_for(app, "mike@example.com"))
    try:
        assert mike.call("send", {"channel": cid, "body": "before"}, timeout=5)["ok"]
        resp = submit(content, f"/admin/chat/channels/edit/?id={cid}",
                      {"name": "dental-sales", "topic": "News for dental sellers",
                       "min_tier_key": "", "read_only": "y", "position": "20"})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        with app.app_context():
            ch = db.session.get(Channel, cid)
            assert ch.read_only and ch.topic == "News for dental sellers"
            assert ch.slug == "dental-sales"
        ack = mike.call("send", {"channel": cid, "body": "after"}, timeout=5)
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
        assert "staff" in ack["error"]["message"]
    finally:
        mike.disconnect()
    staff = connect(live_server, token_for(app, "content@example.com", kind="staff"))
    try:
        assert staff.call("send", {"channel": cid, "body": "staff news"}, timeout=5)["ok"]
    finally:
        staff.disconnect()
    assert count(app, AuditLog, AuditLog.action == "chat.channel.update") == 1


def test_raising_a_channels_tier_takes_readers_below_it_out_at_once(app, live_server,
                                                                    people):
    """Mike (active) and a staff member are in #active-deals; content staff raise it to
    Performer and up: Mike's socket hears ``channel_lost`` right away and no longer
    receives the channel's messages, the staff socket still does; his read markers for
    it, accepted before, are refused after."""
    content = staff_client(app, "content")
    assert create_channel(content, name="active-deals", slug="active-deals",
                          min_tier_key="active").status_code == 302
    cid = channel_id(app, "active-deals")
    mike = connect(live_server, token_for(app, "mike@example.com"))
    watcher = connect(live_server, token_for(app, "admin@example.com", kind="staff"))
    mike_inbox = Inbox(mike, "channel_lost", "message")
    staff_inbox = Inbox(watcher, "message")
    try:
        assert mike.call("join", {"channel": cid}, timeout=5)["ok"]
        assert watcher.call("join", {"channel": cid}, timeout=5)["ok"]
        first = watcher.call("send", {"channel": cid, "body": "welcome"}, timeout=5)["id"]
        assert mike.call("read", {"channel": "active-deals", "last_id": first}, timeout=5)["ok"]
        resp = submit(content, f"/admin/chat/channels/edit/?id={cid}",
                      {"name": "active-deals", "topic": "", "min_tier_key": "performer",
                       "position": ""})
        assert resp.status_code == 302
        assert mike_inbox.wait("channel_lost", lambda d: d["channel_id"] == cid), \
            "Mike was not taken out of the room"
        assert watcher.call("send", {"channel": cid, "body": "performers only now"},
                            timeout=5)["ok"]
        assert staff_inbox.wait("message", lambda d: d["body"] == "performers only now")
        assert not mike_inbox.wait("message", lambda d: d["body"] == "performers only now",
                                   timeout=0.5)
        ack = mike.call("join", {"channel": cid}, timeout=5)
        assert ack["ok"] is False and ack["error"]["code"] == "not_found"
        for ref in (cid, "active-deals"):  # out of the room: read is checked the full way
            ack = mike.call("read", {"channel": ref, "last_id": first}, timeout=5)
            assert ack["ok"] is False and ack["error"]["code"] == "not_found"
    finally:
        mike.disconnect()
        watcher.disconnect()


def test_channel_slug_is_allow_listed(app, people):
    """Slugs outside lower-case letters, digits and single hyphens, the system's own
    prefixes and duplicates are refused with a message; nothing is created."""
    content = staff_client(app, "content")
    before = count(app, Channel)
    for slug in ("Dental Sales", "dental_sales", "../x", "-x", "x--y", "dm-1-2", "team-3",
                 "support", "general", "a" * 61):
        resp = create_channel(content, slug=slug)
        assert resp.status_code == 200, slug  # the form again, with the refusal
    assert count(app, Channel) == before
    html = create_channel(content, slug="dm-1-2").get_data(as_text=True)
    assert "reserved" in html


# --- mutes -----------------------------------------------------------------------------------

def mute_sarah(app, support, minutes="15", reason="Spamming links"):
    return submit(support, f"/admin/chat/moderation/mute?user_id={people_id(app)}",
                  {"email": "sarah@example.com", "minutes": minutes, "reason": reason},
                  post_url="/admin/chat/moderation/mute")


def people_id(app):
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == "sarah@example.com"))


def test_mute_bites_on_an_open_socket_and_the_form_then_unmute(app, live_server, people):
    """Sarah is connected; support mutes her for 15 minutes: her next send, edit and
    reaction get an error ack and an error event saying until when, the no-JS form post
    is refused too; after the unmute her next send goes through."""
    sarah = connect(live_server, token_for(app, "sarah@example.com"))
    inbox = Inbox(sarah, "error")
    web = app.test_client()
    assert login(web, "sarah@example.com").status_code == 302
    support = staff_client(app, "support")
    try:
        first = sarah.call("send", {"channel": "general", "body": "buy my course"}, timeout=5)
        assert first["ok"]
        resp = mute_sarah(app, support)
        assert resp.status_code == 302, resp.get_data(as_text=True)
        with app.app_context():
            mute = db.session.scalar(select(ChatMute))
            until = mute.until.strftime("%Y-%m-%d %H:%M")

        for event, payload in (("send", {"channel": "general", "body": "again"}),
                               ("edit", {"id": first["id"], "body": "edited"}),
                               ("react", {"id": first["id"], "emoji": "🔥"}),
                               ("typing", {"channel": "general"})):
            ack = sarah.call(event, payload, timeout=5)
            assert ack["ok"] is False and ack["error"]["code"] == "muted", (event, ack)
            assert f"until {until} UTC" in ack["error"]["message"]
            assert "Spamming links" in ack["error"]["message"]
        assert inbox.wait("error", lambda e: e["code"] == "muted")
        assert sarah.connected

        page = web.get("/partner/chat/general").get_data(as_text=True)
        assert f"You are muted in chat until {until} UTC" in page
        resp = web.post("/partner/chat/general", data={"body": "no-JS post",
                                                       "csrf_token": csrf_from(page)},
                        follow_redirects=True)
        assert "You are muted in chat until" in resp.get_data(as_text=True)
        import io

        from conftest import minimal_pdf

        pdf = minimal_pdf()
        resp = web.post("/partner/chat/general/attachments", data={
            "file": (io.BytesIO(pdf), "deck.pdf"), "caption": "attached",
            "csrf_token": csrf_from(page)}, content_type="multipart/form-data")
        assert resp.status_code == 403 and "You are muted in chat until" in resp.get_data(
            as_text=True)
        assert count(app, Message, Message.body.in_(("again", "no-JS post", "attached"))) == 0

        listing = support.get("/admin/chat/moderation/").get_data(as_text=True)
        assert "Spamming links" in listing and "Sarah Thompson" in listing
        resp = support.post(f"/admin/chat/moderation/unmute/{mute.id}",
                            data={"csrf_token": csrf_from(listing)})
        assert resp.status_code == 302
        assert sarah.call("send", {"channel": "general", "body": "sorry"}, timeout=5)["ok"]
        resp = web.post("/partner/chat/general", data={
            "body": "no-JS again", "csrf_token": csrf_from(web.get("/partner/chat/general")
                                                           .get_data(as_text=True))})
        assert resp.status_code == 303
        assert count(app, Message, Message.body == "no-JS again") == 1
    finally:
        sarah.disconnect()
    assert count(app, AuditLog, AuditLog.action.in_(("chat.mute", "chat.unmute"))) == 2


def test_mute_duration_and_targets_are_checked(app, people):
    """A mute shorter than 15 minutes or longer than 30 days, without a reason, or on a
    staff member is refused; no mute is written."""
    from core.base.errors import NotFound, ValidationError
    from core.community import moderation

    with app.app_context():
        support = db.session.scalar(select(User).where(User.email == "support@example.com"))
        sarah = people["sarah"]
        for minutes in (5, 30 * 24 * 60 + 1, "60"):
            with pytest.raises(ValidationError):
                moderation.mute(support, sarah, minutes, "because")
        with pytest.raises(ValidationError):
            moderation.mute(support, sarah, 60, "  ")
        with pytest.raises(NotFound):
            moderation.mute(support, support.id, 60, "staff cannot be muted")
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(ChatMute)) == 0
        row = moderation.mute(support, sarah, 30 * 24 * 60, "a month")
        again = moderation.mute(support, sarah, 15, "shorter after all")
        db.session.commit()
        assert row.lifted_at is not None and again.lifted_at is None
        from core.community.chat import active_mute

        assert active_mute(sarah).id == again.id


# --- delete and announce, live ------------------------------------------------------------

def test_staff_delete_from_admin_shows_deleted_live(app, live_server, people):
    """Mike watches #general; support deletes Sarah's message from the moderation list:
    Mike receives it as deleted at once, and the delete is audited."""
    sarah = connect(live_server, token_for(app, "sarah@example.com"))
    mike = connect(live_server, token_for(app, "mike@example.com"))
    inbox = Inbox(mike, "message_updated")
    try:
        assert mike.call("join", {"channel": "general"}, timeout=5)["ok"]
        sent = sarah.call("send", {"channel": "general", "body": "rude words"}, timeout=5)
        assert sent["ok"]
        support = staff_client(app, "support")
        page = support.get("/admin/chat/moderation/?q=rude").get_data(as_text=True)
        assert "rude words" in page and 'data-confirm="Delete this message' in page
        assert f'action="/admin/chat/moderation/delete/{sent["id"]}"' in page
        resp = support.post(f"/admin/chat/moderation/delete/{sent['id']}",
                            data={"csrf_token": csrf_from(page)})
        assert resp.status_code == 302
        got = inbox.wait("message_updated", lambda d: d["id"] == sent["id"] and d["deleted"])
        assert got, "Mike did not see the delete live"
        assert got["body"] == "" and got["html"] == ""
    finally:
        sarah.disconnect()
        mike.disconnect()
    assert count(app, AuditLog, AuditLog.action == "chat.message.delete",
                 AuditLog.object_id == sent["id"]) == 1


def test_delete_without_csrf_token_is_refused(app, people):
    """A forged delete (no CSRF token) changes nothing."""
    with app.app_context():
        from core.community import chat

        sarah = db.session.get(User, people["sarah"])
        general = db.session.scalar(select(Channel).where(Channel.slug == "general"))
        mid = chat.post_message(sarah, general, "keep me").id
        db.session.commit()
    support = staff_client(app, "support")
    assert support.post(f"/admin/chat/moderation/delete/{mid}").status_code == 400
    with app.app_context():
        assert db.session.get(Message, mid).deleted_at is None


def test_announcement_reaches_a_connected_partner_live(app, live_server, people):
    """Content staff post an announcement from the back office: a partner in
    #announcements receives it live, authored by the staff member; a mentioned
    partner gets a notification."""
    mike = connect(live_server, token_for(app, "mike@example.com"))
    inbox = Inbox(mike, "message", "notification")
    try:
        assert mike.call("join", {"channel": "announcements"}, timeout=5)["ok"]
        content = staff_client(app, "content")
        resp = submit(content, "/admin/chat/announcements/",
                      {"body": "New **pricing** sheet is out, @mike.reyes"})
        assert resp.status_code == 302
        got = inbox.wait("message", lambda d: "pricing" in d["body"])
        assert got, "the announcement did not arrive live"
        assert got["author"] == "Content" and got["author_is_staff"]
        assert "<strong>pricing</strong>" in got["html"]
        assert inbox.wait("notification")
    finally:
        mike.disconnect()
    page = content.get("/admin/chat/announcements/").get_data(as_text=True)
    assert "New **pricing** sheet is out" in page


# --- roles -------------------------------------------------------------------------------------

def nav_links(html):
    nav = re.search(r"<nav .*?</nav>", html, re.S).group(0)
    return set(re.findall(r'href="(/admin/[^"]*)"', nav))


CHANNELS, MODERATION, ANNOUNCE = ("/admin/chat/channels/", "/admin/chat/moderation/",
                                  "/admin/chat/announcements/")


@pytest.mark.parametrize("role, allowed", [
    ("admin", {CHANNELS, MODERATION, ANNOUNCE}),
    ("support", {MODERATION}),
    ("content", {CHANNELS, ANNOUNCE}),
    ("finance", set()),
])
def test_each_role_sees_and_opens_only_its_chat_screens(app, people, role, allowed):
    """The menu lists exactly the chat screens the role may use; the others answer 403
    on GET and on their form posts (with a valid CSRF token), and change nothing."""
    client = staff_client(app, role)
    links = nav_links(client.get("/admin/").get_data(as_text=True))
    for url in (CHANNELS, MODERATION, ANNOUNCE):
        assert (url in links) == (url in allowed), (role, url, links)
        assert client.get(url).status_code == (200 if url in allowed else 403), (role, url)
    token = csrf_from(client.get("/admin/reauth/").get_data(as_text=True))
    with app.app_context():
        from core.community import chat

        sarah = db.session.get(User, people["sarah"])
        general = db.session.scalar(select(Channel).where(Channel.slug == "general"))
        mid = chat.post_message(sarah, general, "hello").id
        db.session.commit()
    posts = {
        CHANNELS: ("/admin/chat/channels/new/", {"name": "x-room", "slug": "x-room",
                                                 "min_tier_key": ""}),
        MODERATION: (f"/admin/chat/moderation/delete/{mid}", {}),
        ANNOUNCE: ("/admin/chat/announcements/", {"body": f"hi from {role}"}),
    }
    for screen, (url, data) in posts.items():
        resp = client.post(url, data={**data, "csrf_token": token})
        if screen in allowed:
            assert resp.status_code == 302, (role, url, resp.status_code)
        else:
            assert resp.status_code == 403, (role, url, resp.status_code)
    resp = client.post("/admin/chat/moderation/mute", data={
        "email": "sarah@example.com", "minutes": "15", "reason": "test", "csrf_token": token})
    assert resp.status_code == (302 if MODERATION in allowed else 403)
    with app.app_context():
        assert (db.session.scalar(select(Channel.id).where(Channel.slug == "x-room"))
                is not None) == (CHANNELS in allowed)
        assert (db.session.get(Message, mid).deleted_at is not None) == (MODERATION in allowed)
        assert bool(db.session.scalar(select(func.count()).select_from(ChatMute))) == \
            (MODERATION in allowed)


def test_content_staff_cannot_delete_others_messages_over_the_socket(app, live_server,
                                                                     people):
    """Deleting someone else's message is moderation: content staff are refused over
    the socket too, support staff may."""
    sarah = connect(live_server, token_for(app, "sarah@example.com"))
    try:
        sent = sarah.call("send", {"channel": "general", "body": "mine"}, timeout=5)
    finally:
        sarah.disconnect()
    content = connect(live_server, token_for(app, "content@example.com", kind="staff"))
    try:
        assert content.call("delete", {"id": sent["id"]}, timeout=5)["ok"] is False
    finally:
        content.disconnect()
    support = connect(live_server, token_for(app, "support@example.com", kind="staff"))
    try:
        assert support.call("delete", {"id": sent["id"]}, timeout=5)["ok"]
    finally:
        support.disconnect()


def test_partner_is_refused_every_chat_admin_screen(app, people):
    partner = app.test_client()
    assert login(partner, "sarah@example.com").status_code == 302
    for url in (CHANNELS, MODERATION, ANNOUNCE, "/admin/chat/moderation/mute",
                "/admin/chat/channels/new/"):
        assert partner.get(url).status_code == 403, url


# --- escaping ------------------------------------------------------------------------------------

def test_hostile_html_is_escaped_in_the_chat_admin_pages(app, people):
    """A channel named <script>…, a message and a mute reason with a script and a
    partner named with one are shown as text on every chat admin page."""
    from core.community import chat, moderation

    with app.app_context():
        admin = db.session.scalar(select(User).where(User.email == "admin@example.com"))
        evil = make_partner(XSS, email="evil@example.com")
        room = moderation.create_channel(admin, "evil-room", XSS, topic=XSS)
        db.session.commit()
        user = db.session.get(User, evil.user_id)
        chat.post_message(user, room, f"hi {XSS}")
        moderation.announce(admin, f"news {XSS}")
        moderation.mute(admin, user.id, 60, f"reason {XSS}")
        db.session.commit()
        rid = room.id
    client = staff_client(app, "admin")
    for url in (CHANNELS, f"/admin/chat/channels/edit/?id={rid}",
                f"/admin/chat/channels/details/?id={rid}", MODERATION,
                f"{MODERATION}?q=script", f"{MODERATION}?channel={rid}", ANNOUNCE):
        resp = client.get(url)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200, url
        assert XSS not in html, url
        assert XSS_ESCAPED in html, url


def test_moderation_list_query_count_does_not_grow(app, people):
    """The moderation screen costs the same number of queries with 3 messages and 1 mute
    as with 40 messages from several authors and channels and 4 mutes (no N+1)."""
    from test_admin_queries import count_queries

    from core.community import chat, moderation

    def add(n, mutes):
        with app.app_context():
            admin = db.session.scalar(select(User).where(User.email == "admin@example.com"))
            rooms = [db.session.scalar(select(Channel).where(Channel.slug == s))
                     for s in ("general", "daily-wins", "ask-for-help")]
            for i in range(n):
                p = make_partner(f"Writer {n}-{i}")
                u = db.session.get(User, p.user_id)
                chat.post_message(u, rooms[i % 3], f"message {i}", slow_mode=False)
                if i < mutes:
                    moderation.mute(admin, u.id, 60, "noise")
            db.session.commit()

    client = staff_client(app, "support")
    add(3, 1)
    small = count_queries(app, client, MODERATION)
    add(40, 4)
    large = count_queries(app, client, MODERATION)
    assert large == small, f"{small} queries with few rows, {large} with more"
    assert small <= 15, small
