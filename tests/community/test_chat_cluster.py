"""Two real chat server processes sharing one database and one Redis message queue
(docs/architecture.md "A socket event"): what a partner sends on one reaches a partner on the other, with its
reactions and edits, and a suspension made anywhere cuts the socket on either process.
Threading, eventlet and gevent modes are all run."""

import os
import subprocess
import sys
import time

import pytest
from conftest import (
    TEST_REDIS_URL,
    TEST_SOCKETIO_CHANNEL,
    TESTS,
    free_port,
    make_partner,
    make_staff,
)
from test_chat import connect, token_for, wait_for
from test_chat_live import Inbox

from core.base.extensions import db

HERE = str(TESTS)


#: The signing key the cluster's processes share (each would otherwise make its own).
CLUSTER_SECRET = os.urandom(16).hex()


def start_servers(db_url, mode, count=2):
    """Start ``count`` ``tests/chat_server.py`` processes; returns ``(urls, procs)``."""
    procs, urls = [], []
    for _ in range(count):
        port = free_port()
        env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=TEST_REDIS_URL,
                   SOCKETIO_MESSAGE_QUEUE=TEST_REDIS_URL + "?max_connections=10000",
                   SOCKETIO_CHANNEL=TEST_SOCKETIO_CHANNEL,
                   PORT=str(port), SOCKETIO_ASYNC_MODE=mode, PSYCOPG_IMPL="python"
                   if mode in ("eventlet", "gevent") else os.environ.get("PSYCOPG_IMPL", ""),
                   PYTHONWARNINGS="ignore", SECRET_KEY=CLUSTER_SECRET)
        if not env["PSYCOPG_IMPL"]:
            env.pop("PSYCOPG_IMPL")
        procs.append(subprocess.Popen([sys.executable, os.path.join(HERE, "chat_server.py")],
                                      env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE))
        urls.append(f"http://127.0.0.1:{port}")
    import requests

    try:
        _wait_started(urls, procs, requests)
    except Exception:
        stop_servers(procs)  # a server that failed to start must not outlive the test
        raise
    return urls, procs


def _wait_started(urls, procs, requests) -> None:
    for url, proc in zip(urls, procs, strict=True):
        deadline = time.time() + 45  # a loaded 2-core box took over 20 s to start one
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode()[-2000:])
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{url} did not start")


@pytest.fixture(params=["threading", "eventlet", "gevent"])
def cluster(request, app, db_url):
    urls, procs = start_servers(db_url, request.param)
    yield urls
    stop_servers(procs)


def stop_servers(procs) -> None:
    """Terminate the processes ``start_servers`` started; kill any still running at 5 s."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()


def test_message_crosses_processes(app, cluster):
    """Sarah on server A and Mike on server B: Mike gets Sarah's message live, then her
    edit and her reaction; suspending Mike (from a third process, this test) closes his
    socket on server B."""
    from core.accounts.models import User
    from core.program.partners import suspend_partner

    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        make_partner("Mike Reyes", email="mike@example.com")
    a, b = cluster
    sarah = connect(a, token_for(app, "sarah@example.com"))
    mike = connect(b, token_for(app, "mike@example.com"))
    inbox = Inbox(mike, "message", "message_updated", "typing")
    try:
        assert mike.call("join", {"channel": "general"}, timeout=5)["ok"]
        assert sarah.call("join", {"channel": "general"}, timeout=5)["ok"]
        sarah.call("typing", {"channel": "general"}, timeout=5)
        assert inbox.wait("typing"), "typing did not cross processes"
        sent = sarah.call("send", {"channel": "general", "body": "Across the cluster"}, timeout=5)
        assert sent["ok"]
        got = inbox.wait("message", lambda m: m["id"] == sent["id"])
        assert got and got["author"] == "Sarah Thompson"
        assert sarah.call("edit", {"id": sent["id"], "body": "Across the *cluster*"}, timeout=5)["ok"]
        assert inbox.wait("message_updated", lambda m: "<em>cluster</em>" in m["html"])
        assert sarah.call("react", {"id": sent["id"], "emoji": "🚀"}, timeout=5)["ok"]
        assert inbox.wait("message_updated", lambda m: m["reactions"])
        with app.app_context():
            mike_user = db.session.scalar(db.select(User).where(User.email == "mike@example.com"))
            from core.base.extensions import socketio

            # this test process plays "a third process": emits go through the queue
            socketio.server.manager = _queue_manager()
            try:
                suspend_partner(mike_user.partner.id, None, "test")
                db.session.commit()
            finally:
                socketio.server.manager = _LOCAL
        assert wait_for(lambda: not mike.connected, 5), "suspension did not cross processes"
    finally:
        sarah.disconnect()
        mike.disconnect()


def test_a_burst_arrives_complete_and_in_order_on_both_processes(app, cluster):
    """Staff post 40 messages without waiting for each answer (staff have no slow mode):
    partners on the sender's process and on the other one each get all 40, each exactly
    once. Then 10 more one after the other: both get them in the order sent. In eventlet
    mode most of these frames are written straight to the sockets (web.fanout), the
    rest through Engine.IO's queue. (Concurrent sends are stored and broadcast in
    whatever order their transactions finish; the page places messages by id.)"""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        make_partner("Mike Reyes", email="mike@example.com")
        make_staff("host@example.com", ("support",))
    a, b = cluster
    host = connect(a, token_for(app, "host@example.com", kind="staff"), transport="websocket")
    near = connect(a, token_for(app, "sarah@example.com"), transport="websocket")
    far = connect(b, token_for(app, "mike@example.com"), transport="websocket")
    inboxes = [Inbox(near, "message"), Inbox(far, "message")]

    def bodies(inbox, prefix):
        return [m for m in list(inbox.events["message"]) if m["body"].startswith(prefix)]

    try:
        for c in (host, near, far):
            assert c.call("join", {"channel": "general"}, timeout=5)["ok"]
        acks = []
        for i in range(40):
            host.emit("send", {"channel": "general", "body": f"Tip {i}"}, callback=acks.append)
        assert wait_for(lambda: len(acks) == 40, 20), f"{len(acks)} of 40 sends answered"
        assert all(ack["ok"] for ack in acks), [a for a in acks if not a["ok"]][:3]
        for inbox in inboxes:
            assert wait_for(lambda inbox=inbox: len(bodies(inbox, "Tip ")) >= 40, 20)
            got = bodies(inbox, "Tip ")
            assert sorted(m["id"] for m in got) == sorted(ack["id"] for ack in acks)
            assert sorted(m["body"] for m in got) == sorted(f"Tip {i}" for i in range(40))
        ids = [host.call("send", {"channel": "general", "body": f"Win {i}"}, timeout=5)["id"]
               for i in range(10)]
        for inbox in inboxes:
            assert wait_for(lambda inbox=inbox: len(bodies(inbox, "Win ")) >= 10, 10)
            assert [m["id"] for m in bodies(inbox, "Win ")] == ids
    finally:
        for c in (host, near, far):
            c.disconnect()


_LOCAL = None


def _queue_manager():
    """A write-only Redis manager, like an RQ worker's emitter."""
    global _LOCAL
    import socketio

    from core.base.extensions import socketio as flask_sio

    _LOCAL = flask_sio.server.manager
    mgr = socketio.RedisManager(TEST_REDIS_URL, channel=TEST_SOCKETIO_CHANNEL, write_only=True)
    mgr.set_server(flask_sio.server)
    return mgr
