"""Live notifications from a real worker process (rules: "Materials": a notice arrives,
live over the socket, when it is ready; rules: "Notifications": live notices ride the same socket).

Three processes, as in production: a web process serving Socket.IO (tests/chat_server.py,
threading mode), ``flask worker --burst`` started as a command (its write-only emitter
publishes on the Redis message queue), and this test, which plays the partner's portal:
it asks for a material over HTTP, listens on the partner's socket and downloads the PDF.
"""

import os
import subprocess
import sys

from conftest import REPO, TEST_REDIS_URL, TEST_SOCKETIO_CHANNEL, login, make_partner
from test_chat import connect, token_for
from test_chat_cluster import start_servers
from test_chat_live import Inbox
from test_materials import request_pdf, templates  # noqa: F401  (fixture)

from core.base.extensions import db
from core.content.models import MaterialRender

ROOT = str(REPO)


def run_flask_worker(app, db_url: str) -> subprocess.CompletedProcess:
    """``flask --app wsgi worker --burst`` in its own process, on the test's database,
    Redis, storage folder and Socket.IO message queue."""
    env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=TEST_REDIS_URL,
               SOCKETIO_MESSAGE_QUEUE=TEST_REDIS_URL, SOCKETIO_CHANNEL=TEST_SOCKETIO_CHANNEL,
               STORAGE_DIR=app.config["STORAGE_DIR"],
               SECRET_KEY=app.config["SECRET_KEY"], SISO_ENV="development",
               PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
                          cwd=ROOT, env=env, capture_output=True, timeout=180)


def test_material_ready_arrives_live_from_the_worker(app, db_url, templates):  # noqa: F811
    """Maya's socket on the web process gets "FAQ sheet is ready" the moment the separate
    worker process has rendered it; its link opens her materials page, which offers the
    PDF for download."""
    with app.app_context():
        make_partner("Maya Chen", email="maya@example.com")
    urls, procs = start_servers(db_url, "threading", count=1)
    socket = None
    try:
        socket = connect(urls[0], token_for(app, "maya@example.com"), transport="websocket")
        inbox = Inbox(socket, "notification")
        portal = app.test_client()
        assert login(portal, "maya@example.com").status_code == 302
        assert request_pdf(portal, templates["faq-sheet"]).status_code == 303
        assert inbox.events["notification"] == []  # queued, not ready yet

        done = run_flask_worker(app, db_url)
        assert done.returncode == 0, done.stderr.decode()[-3000:]

        note = inbox.wait("notification", lambda n: n["kind"] == "material", timeout=10)
        assert note, f"no live notification; got {inbox.events['notification']}"
        assert note["title"] == "Client FAQ sheet is ready"
    finally:
        if socket is not None:
            socket.disconnect()
        for p in procs:
            p.terminate()
            p.wait(10)
    with app.app_context():
        row = db.session.scalar(db.select(MaterialRender))
        assert row.status == "ready", row.error
        download = f"/partner/materials/renders/{row.id}/download"
    page = portal.get(note["url"])
    assert page.status_code == 200 and download in page.get_data(as_text=True)
    resp = portal.get(download)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data[:5] == b"%PDF-"
