"""Live chat over a real Socket.IO connection to a real server."""

import threading

import pytest
import socketio as sio_client
from conftest import PASSWORD, api_token, login, make_partner

from core.base.extensions import db
from core.community.models import Channel, Message


def connect(live_server, token=None, cookies=None, transport="polling"):
    """Connect a python-socketio client. Long-polling by default: the development server's
    WebSocket close handshake costs 3 s per disconnect, which only the live test pays."""
    client = sio_client.Client(reconnection=False)
    headers = {"Cookie": cookies} if cookies else None
    client.connect(live_server, auth={"token": token} if token else None, headers=headers,
                   transports=[transport], wait_timeout=5)
    return client


def token_for(app, email, kind="partner"):
    """A bearer token for ``email`` from the API login (``kind`` partner or staff)."""
    return api_token(app.test_client(), email, kind=kind)["Authorization"][7:]


@pytest.fixture
def two_partners(app):
    with app.app_context():
        a = make_partner("Sarah Thompson", email="sarah@example.com")
        b = make_partner("Mike Reyes", email="mike@example.com")
        general = db.session.scalar(db.select(Channel).where(Channel.slug == "general"))
        return a.user_id, b.user_id, general.id


def test_two_partners_chat_live(app, live_server, two_partners):
    """A message Sarah sends is stored first, acknowledged with its id, and reaches Mike
    live; Mike's page shows it in the history afterwards."""
    _, _, general = two_partners
    sarah = connect(live_server, token_for(app, "sarah@example.com"), transport="websocket")
    mike = connect(live_server, token_for(app, "mike@example.com"), transport="websocket")
    got = threading.Event()
    received = []

    @mike.on("message")
    def on_message(data):
        received.append(data)
        got.set()

    try:
        assert mike.call("join", {"channel": general}, timeout=5)["ok"]
        assert sarah.call("join", {"channel": "general"}, timeout=5)["ok"]
        ack = sarah.call("send", {"channel": general, "body": "Closed TechCorp! <b>$4,500</b>"},
                         timeout=5)
        assert ack["ok"] and isinstance(ack["id"], int)
        assert got.wait(5), "Mike did not receive the message"
        assert received[0]["id"] == ack["id"]
        assert received[0]["author"] == "Sarah Thompson"
        with app.app_context():
            assert db.session.get(Message, ack["id"]).body == "Closed TechCorp! <b>$4,500</b>"
    finally:
        sarah.disconnect()
        mike.disconnect()

    web = app.test_client()
    login(web, "mike@example.com", PASSWORD)
    page = web.get("/partner/chat/general").get_data(as_text=True)
    assert "Closed TechCorp! &lt;b&gt;$4,500&lt;/b&gt;" in page


def test_connect_refused_without_login(live_server):
    """A socket without a session or token is refused."""
    with pytest.raises(sio_client.exceptions.ConnectionError):
        connect(live_server, token="not-a-token")
    with pytest.raises(sio_client.exceptions.ConnectionError):
        connect(live_server)


def test_session_cookie_connects(app, live_server, two_partners):
    """The portal page's own session cookie is enough to connect (no token needed)."""
    import requests

    s = requests.Session()
    page = s.get(f"{live_server}/login")
    from conftest import csrf_from

    s.post(f"{live_server}/login", data={"email": "sarah@example.com", "password": PASSWORD,
                                         "csrf_token": csrf_from(page.text)})
    cookie = "; ".join(f"{k}={v}" for k, v in s.cookies.items())
    client = connect(live_server, cookies=cookie)
    try:
        assert client.call("join", {"channel": "general"}, timeout=5)["ok"]
    finally:
        client.disconnect()


def test_bad_events_get_errors_not_crashes(app, live_server, two_partners):
    """Empty, oversized or malformed sends get an error answer; the connection stays up;
    nothing is stored; partners cannot post in #announcements or join locked channels."""
    client = connect(live_server, token_for(app, "sarah@example.com"))
    try:
        for payload in ({"channel": "general", "body": ""}, {"channel": "general", "body": "x" * 2001},
                        "not an object", {"channel": 99999, "body": "hi"},
                        {"channel": "announcements", "body": "hi"},
                        {"channel": "elite-council", "body": "hi"}):
            ack = client.call("send", payload, timeout=5)
            assert ack["ok"] is False and ack["error"]["message"], payload
        assert client.call("join", {"channel": "elite-council"}, timeout=5)["ok"] is False
        assert client.connected
    finally:
        client.disconnect()
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Message)) == 0


def wait_for(predicate, timeout=5.0):
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; returns its value."""
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    return predicate()


def test_suspended_partner_is_cut_off(app, live_server, two_partners):
    """Suspending a partner disconnects their open socket at once (after the commit), and
    they cannot connect again with the same token."""
    from core.program.partners import suspend_partner

    sarah_uid, _, _ = two_partners
    token = token_for(app, "sarah@example.com")
    client = connect(live_server, token)
    kicked = []
    client.on("kicked", lambda data: kicked.append(data))
    try:
        assert client.call("join", {"channel": "general"}, timeout=5)["ok"]
        with app.app_context():
            from core.accounts.models import User

            suspend_partner(db.session.get(User, sarah_uid).partner.id, None, "test")
            db.session.commit()
        assert wait_for(lambda: not client.connected), "still connected after suspension"
    finally:
        client.disconnect()
    with pytest.raises(sio_client.exceptions.ConnectionError):
        connect(live_server, token)
