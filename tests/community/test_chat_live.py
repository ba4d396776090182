"""Chat over real Socket.IO connections to the live server (rules: "Chat"): demotion
kicks out, reconnection loses nothing, slow mode, origin check, live reactions, edits,
deletes and typing, logout, and malformed events on every handler."""

import threading

import pytest
import socketio as sio_client
from conftest import PASSWORD, csrf_from, make_partner, make_staff
from test_chat import connect, token_for, wait_for

from core.base.extensions import db
from core.community.models import Channel


class Inbox:
    """Collects the events a client receives, by name."""

    def __init__(self, client, *names):
        self.events = {n: [] for n in names}
        self.lock = threading.Lock()
        for n in names:
            client.on(n, self._handler(n))

    def _handler(self, name):
        def handle(data=None):
            with self.lock:
                self.events[name].append(data)
        return handle

    def wait(self, name, predicate=lambda d: True, timeout=5.0):
        return wait_for(lambda: next((d for d in list(self.events[name]) if predicate(d)), None),
                        timeout)


@pytest.fixture
def people(app):
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com", deals=3)
        make_partner("Mike Reyes", email="mike@example.com", deals=3)
        make_staff("admin@example.com", ("admin",))
        lounge = db.session.scalar(db.select(Channel.id).where(Channel.slug == "active-lounge"))
        return {"lounge": lounge}


def test_demotion_kicks_out_of_locked_rooms(app, live_server, people):
    """An Active partner in the Active+ lounge is disconnected the moment staff override
    them down to Starter; on reconnecting, the lounge refuses them but #general works."""
    from core.accounts.models import User
    from core.program.tiers import set_override

    token = token_for(app, "sarah@example.com")
    client = connect(live_server, token)
    try:
        assert client.call("join", {"channel": "active-lounge"}, timeout=5)["ok"]
        with app.app_context():
            sarah = db.session.scalar(db.select(User).where(User.email == "sarah@example.com"))
            admin = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
            set_override(sarah.partner.id, admin.id, tier_key="starter", reason="test")
            db.session.commit()
        assert wait_for(lambda: not client.connected), "demoted partner still connected"
    finally:
        client.disconnect()
    again = connect(live_server, token)
    try:
        ack = again.call("join", {"channel": "active-lounge"}, timeout=5)
        assert ack["ok"] is False and ack["error"]["code"] == "not_found"
        assert again.call("join", {"channel": "general"}, timeout=5)["ok"]
    finally:
        again.disconnect()


def test_read_marker_is_written_soon_and_counted_at_once(app, live_server, people):
    """Mike reads Sarah's two messages: his other devices hear it, his unread badges
    asked right after count them read, and the marker reaches the database within a
    couple of seconds without anything else happening (the batch writer)."""
    from core.accounts.models import User
    from core.community import chat
    from core.community.models import ChannelMember

    with app.app_context():
        mike_id = db.session.scalar(db.select(User.id).where(User.email == "mike@example.com"))
    sarah = connect(live_server, token_for(app, "sarah@example.com"))
    mike = connect(live_server, token_for(app, "mike@example.com"))
    other_device = connect(live_server, token_for(app, "mike@example.com"))
    heard = Inbox(other_device, "read")
    try:
        general = mike.call("join", {"channel": "general"}, timeout=5)["channel"]["id"]
        ids = [sarah.call("send", {"channel": "general", "body": f"win {i}"}, timeout=5)["id"]
               for i in range(2)]
        assert mike.call("unread", {}, timeout=5)["channels"][str(general)]["unread"] == 2
        ack = mike.call("read", {"channel": "general", "last_id": ids[-1]}, timeout=5)
        assert ack == {"ok": True, "last_read_id": ids[-1]}
        assert heard.wait("read", lambda r: r["last_read_id"] == ids[-1])
        assert mike.call("unread", {}, timeout=5)["channels"][str(general)]["unread"] == 0
        assert mike.call("read", {"channel": "general", "last_id": ids[-1]}, timeout=5)["ok"]

        def stored():
            with app.app_context():
                return db.session.scalar(db.select(ChannelMember.last_read_id).where(
                    ChannelMember.user_id == mike_id,
                    ChannelMember.channel_id == general)) == ids[-1]

        assert wait_for(lambda: stored() and not chat.has_queued_reads(mike_id), 5), \
            "the queued marker was not written"
    finally:
        for c in (sarah, mike, other_device):
            c.disconnect()


def test_reconnect_fetches_what_was_missed(app, live_server, people):
    """Mike's connection drops; Sarah sends three messages (one in a thread); when Mike
    reconnects and joins with his last id, he gets exactly those three, in order."""
    sarah = connect(live_server, token_for(app, "sarah@example.com"))
    mike_token = token_for(app, "mike@example.com")
    mike = connect(live_server, mike_token)
    try:
        first = sarah.call("send", {"channel": "general", "body": "before the drop"}, timeout=5)
        last_seen = mike.call("join", {"channel": "general"}, timeout=5)["messages"][-1]["id"]
        assert last_seen == first["id"]
        mike.disconnect()
        sent = [sarah.call("send", {"channel": "general", "body": f"missed {i}"}, timeout=5)["id"]
                for i in range(2)]
        sent.append(sarah.call("send", {"channel": "general", "body": "in thread",
                                        "parent_id": first["id"]}, timeout=5)["id"])
        mike = connect(live_server, mike_token)
        ack = mike.call("join", {"channel": "general", "after": last_seen}, timeout=5)
        assert [m["id"] for m in ack["messages"]] == sent
        assert ack["messages"][2]["parent_id"] == first["id"]
        assert ack["unread"]["unread"] == 4
    finally:
        sarah.disconnect()
        mike.disconnect()


def test_long_outage_catches_up_page_by_page(app, live_server, people):
    """Mike is away while 450 messages (some of them thread replies, all from staff, who
    have no slow mode) arrive; on his next
    join the server hands them over 200 at a time and says when there is more, and
    following ``more`` with ``history`` from the highest id he holds gets every one,
    in order, once."""
    from core.accounts.models import User
    from core.community.chat import CATCH_UP_LIMIT, get_channel_for, post_message

    with app.app_context():
        staff = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
        general = get_channel_for(staff, "general")
        root = post_message(staff, general, "before Mike left")
        db.session.commit()
        last_seen = root.id
        missed = []
        for i in range(450):
            parent = root.id if i % 10 == 9 else None
            missed.append(post_message(staff, general, f"missed {i}", parent).id)
        db.session.commit()
    mike = connect(live_server, token_for(app, "mike@example.com"))
    try:
        ack = mike.call("join", {"channel": "general", "after": last_seen}, timeout=10)
        got = [m["id"] for m in ack["messages"]]
        assert len(got) == CATCH_UP_LIMIT and ack["more"] is True
        while ack["more"]:
            ack = mike.call("history", {"channel": "general", "after": max(got)}, timeout=10)
            assert ack["ok"], ack
            got += [m["id"] for m in ack["messages"]]
        assert got == missed
        plain = mike.call("join", {"channel": "general"}, timeout=10)
        assert plain["more"] is False  # a first join is the newest page, not a catch-up
    finally:
        mike.disconnect()


def test_slow_mode_over_the_socket(app, live_server, people):
    """The sixth message within ten seconds gets a slow-mode error answer and an error
    event; the connection stays up; staff are not limited."""
    client = connect(live_server, token_for(app, "sarah@example.com"))
    inbox = Inbox(client, "error")
    try:
        acks = [client.call("send", {"channel": "general", "body": f"m{i}"}, timeout=5)
                for i in range(6)]
        assert all(a["ok"] for a in acks[:5])
        assert acks[5]["ok"] is False and acks[5]["error"]["code"] == "slow_mode"
        assert "Try again in" in acks[5]["error"]["message"]
        assert inbox.wait("error", lambda e: e["code"] == "slow_mode")
        assert client.connected
    finally:
        client.disconnect()
    staff = connect(live_server, token_for(app, "admin@example.com", kind="staff"))
    try:
        assert all(staff.call("send", {"channel": "general", "body": f"s{i}"}, timeout=5)["ok"]
                   for i in range(7))
    finally:
        staff.disconnect()


def test_foreign_origin_refused(app, live_server, people):
    """A browser page on another site cannot open a chat socket, even with a token."""
    client = sio_client.Client(reconnection=False)
    with pytest.raises(sio_client.exceptions.ConnectionError):
        client.connect(live_server, auth={"token": token_for(app, "sarah@example.com")},
                       headers={"Origin": "http://evil.example"}, transports=["polling"],
                       wait_timeout=5)


def test_reactions_edits_deletes_and_typing_live(app, live_server, people):
    """Mike sees Sarah typing, then her message, her edit, his own reaction counted, a
    thread reply count and her delete (shown as deleted), all live."""
    sarah = connect(live_server, token_for(app, "sarah@example.com"))
    mike = connect(live_server, token_for(app, "mike@example.com"))
    inbox = Inbox(mike, "typing", "message", "message_updated")
    try:
        assert mike.call("join", {"channel": "general"}, timeout=5)["ok"]
        assert sarah.call("join", {"channel": "general"}, timeout=5)["ok"]
        assert sarah.call("typing", {"channel": "general"}, timeout=5)["ok"]
        t = inbox.wait("typing")
        assert t["name"] == "Sarah Thompson" and t["expires_in"] > 0
        sent = sarah.call("send", {"channel": "general", "body": "Hi @mike.reyes"}, timeout=5)
        assert inbox.wait("message", lambda m: m["id"] == sent["id"])["mentions"]
        assert sarah.call("edit", {"id": sent["id"], "body": "Hi **Mike**"}, timeout=5)["ok"]
        upd = inbox.wait("message_updated", lambda m: m["edited_at"])
        assert upd["html"] == "Hi <strong>Mike</strong>"
        assert mike.call("react", {"id": sent["id"], "emoji": "🎉"}, timeout=5)["added"]
        assert inbox.wait("message_updated", lambda m: m["reactions"] and
                          m["reactions"][0]["count"] == 1)
        assert mike.call("delete", {"id": sent["id"]}, timeout=5)["ok"] is False
        assert sarah.call("delete", {"id": sent["id"]}, timeout=5)["ok"]
        assert inbox.wait("message_updated", lambda m: m["deleted"])
        assert mike.call("unread", {}, timeout=5)["ok"]
    finally:
        sarah.disconnect()
        mike.disconnect()


def test_logout_closes_the_pages_socket(app, live_server, people):
    """A socket opened with the portal's session cookie closes when the partner logs out."""
    import requests

    s = requests.Session()
    page = s.get(f"{live_server}/login")
    s.post(f"{live_server}/login", data={"email": "sarah@example.com", "password": PASSWORD,
                                         "csrf_token": csrf_from(page.text)})
    cookie = "; ".join(f"{k}={v}" for k, v in s.cookies.items())
    client = connect(live_server, cookies=cookie)
    try:
        assert client.call("join", {"channel": "general"}, timeout=5)["ok"]
        chat_page = s.get(f"{live_server}/partner/chat/general")
        s.post(f"{live_server}/logout", data={"csrf_token": csrf_from(chat_page.text)})
        assert wait_for(lambda: not client.connected), "socket survived the logout"
    finally:
        client.disconnect()


BAD = [
    ("join", None), ("join", "general"), ("join", {"channel": ["x"]}), ("join", {"channel": 10**30}),
    ("join", {"channel": "general", "after": -1}), ("history", {"channel": "general", "before": "x"}),
    ("send", {"channel": "general", "body": None}), ("send", {"channel": "general", "body": "a\x00"}),
    ("send", {"channel": "general", "body": "hi", "parent_id": "1"}),
    ("send", {"channel": "general", "body": "hi", "parent_id": 999999}),
    ("edit", {"id": True, "body": "x"}), ("edit", {"id": 999999, "body": "x"}),
    ("delete", {"id": "1"}), ("react", {"id": 1, "emoji": 5}), ("react", {"id": 1, "emoji": "x" * 40}),
    ("read", {"channel": "general", "last_id": "9"}), ("typing", {"channel": "announcements"}),
    ("heartbeat", {"state": "dancing"}), ("search", {"channel": "general", "q": ""}),
    ("search", {"channel": "general", "q": {"$gt": ""}}), ("leave", {"channel": "nope"}),
]


def test_malformed_events_get_errors_not_crashes(app, live_server, people):
    """Every handler answers malformed or impossible payloads with ``ok: false`` and a
    message; the connection stays up and still works afterwards."""
    client = connect(live_server, token_for(app, "sarah@example.com"))
    try:
        for name, payload in BAD:
            ack = client.call(name, payload, timeout=5) if payload is not None \
                else client.call(name, timeout=5)
            assert ack["ok"] is False and ack["error"]["message"], (name, payload)
        assert client.connected
        assert client.call("heartbeat", {"state": "away"}, timeout=5)["ok"]
        assert client.call("send", {"channel": "general", "body": "still fine"}, timeout=5)["ok"]
    finally:
        client.disconnect()


def test_presence_changes_arrive_in_batches(app, live_server, people):
    """Mike's socket hears Sarah come online and go offline as ``presence`` events holding
    a list of changes (one event per process per batch, not one per socket per change),
    each within about a second; his own join lists her state."""
    from core.accounts.models import User
    from portal.chat_events import PRESENCE_BATCH_SECONDS

    with app.app_context():
        sarah_id = db.session.scalar(db.select(User.id).where(User.email == "sarah@example.com"))
    mike = connect(live_server, token_for(app, "mike@example.com"))
    inbox = Inbox(mike, "presence")
    try:
        sarah = connect(live_server, token_for(app, "sarah@example.com"))
        online = inbox.wait("presence", lambda p: {"user_id": sarah_id, "state": "online"}
                            in p["changes"], timeout=PRESENCE_BATCH_SECONDS + 4)
        assert online, inbox.events["presence"]
        assert sarah.call("send", {"channel": "general", "body": "hi"}, timeout=5)["ok"]
        ack = mike.call("join", {"channel": "general"}, timeout=5)
        assert {"user_id": sarah_id, "name": "Sarah Thompson", "state": "online"} in ack["presence"]
        sarah.disconnect()
        offline = inbox.wait("presence", lambda p: {"user_id": sarah_id, "state": "offline"}
                             in p["changes"], timeout=PRESENCE_BATCH_SECONDS + 4)
        assert offline, inbox.events["presence"]
    finally:
        mike.disconnect()
