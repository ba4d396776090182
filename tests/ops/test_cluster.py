"""The deploy kit end to end (docs/deploy.md): two web processes started by the Procfile's
own command (`deploy/run web`: eventlet's server, or gunicorn with gevent) behind a real
nginx running deploy/nginx/siso.conf (only ports, upstream addresses and the static folder changed), a
Socket.IO chat crossing the two processes through nginx, then one process killed mid-chat:
the partner on it reconnects through nginx to the other and has every message."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
import requests
import socketio as sio_client
from conftest import REPO, TEST_REDIS_URL, TEST_SOCKETIO_CHANNEL, free_port, make_partner
from test_chat import token_for, wait_for
from test_chat_live import Inbox

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(not os.path.exists(NGINX),
                                reason="nginx not installed (scripts/install.sh dev)")


def nginx_conf(tmp, port, upstreams) -> str:
    """deploy/nginx/siso.conf with this test's ports and folders, in a main config."""
    site = (REPO / "deploy" / "nginx" / "siso.conf").read_text()
    site = site.replace("server web-1:8000", f"server 127.0.0.1:{upstreams[0]}")
    site = site.replace("server web-2:8000", f"server 127.0.0.1:{upstreams[1]}")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    site = site.replace("/srv/siso/static/", f"{REPO}/static/")
    assert "web-1" not in site and "listen 80" not in site
    (tmp / "siso.conf").write_text(site)
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / d).mkdir(exist_ok=True)
    main = f"""
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/siso.conf;
}}
"""
    (tmp / "nginx.conf").write_text(main)
    return str(tmp / "nginx.conf")


def start_web(db_url, port, log_path, mode):
    """`deploy/run web` (the Procfile's command) in its own process group, in async
    ``mode`` (eventlet's own server, or gunicorn's gevent worker)."""
    env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=TEST_REDIS_URL,
               SOCKETIO_MESSAGE_QUEUE=TEST_REDIS_URL + "?max_connections=10000",
               SOCKETIO_CHANNEL=TEST_SOCKETIO_CHANNEL, SOCKETIO_ASYNC_MODE=mode,
               PSYCOPG_IMPL="python", PORT=str(port), BIND_HOST="127.0.0.1",
               SECRET_KEY="cluster-" + "k" * 40, PROXY_COUNT="1", LOG_FORMAT="json",
               STORAGE_DIR=str(log_path.parent / f"files-{port}"), PYTHONWARNINGS="ignore",
               PYTHONPATH=str(REPO), PATH=f"{os.path.dirname(sys.executable)}:"
                                          f"{os.environ.get('PATH', '')}")
    env.pop("FLASK_APP", None)
    log = open(log_path, "ab")
    return subprocess.Popen([str(REPO / "deploy" / "run"), "web"], env=env, cwd=str(REPO),
                            stdout=log, stderr=log, start_new_session=True)


def wait_http(url, proc=None, timeout=40):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited {proc.returncode}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def kill_group(proc, sig=signal.SIGKILL):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def served_by(logs, request_id) -> int | None:
    """Which web process (index) logged ``request_id``."""
    for i, path in enumerate(logs):
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("{") and f'"request_id": "{request_id}"' in line:
                return i
    return None


def route_cookies(base, logs) -> dict[int, str]:
    """A `siso_route` cookie value that nginx sends to each process."""
    found = {}
    for n in range(60):
        value, rid = f"route-{n}", f"probe-{n}-{os.getpid()}"
        requests.get(f"{base}/livez", cookies={"siso_route": value},
                     headers={"X-Request-ID": rid}, timeout=5)
        for _ in range(20):
            i = served_by(logs, rid)
            if i is not None:
                break
            time.sleep(0.05)
        if i is not None:
            found.setdefault(i, value)
        if len(found) == 2:
            return found
    raise AssertionError(f"nginx sent every probe to one process: {found}")


def client_with(base, token, cookie):
    s = requests.Session()
    s.cookies.set("siso_route", cookie)
    c = sio_client.Client(reconnection=True, reconnection_delay=0.5,
                          reconnection_delay_max=1, http_session=s)
    c.connect(base, auth={"token": token}, wait_timeout=10)
    return c


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_chat_through_nginx_survives_a_web_process_dying(app, db_url, tmp_path, mode):
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        make_partner("Mike Reyes", email="mike@example.com")
    ports = [free_port(), free_port()]
    logs = [tmp_path / "web-a.log", tmp_path / "web-b.log"]
    webs = [start_web(db_url, p, log, mode) for p, log in zip(ports, logs, strict=True)]
    nginx_port = free_port()
    nginx = None
    clients = []
    try:
        for p, proc in zip(ports, webs, strict=True):
            wait_http(f"http://127.0.0.1:{p}/livez", proc)
        conf = nginx_conf(tmp_path, nginx_port, ports)
        nginx = subprocess.Popen([NGINX, "-c", conf, "-p", str(tmp_path)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{nginx_port}"
        wait_http(f"{base}/livez", nginx)

        # nginx: sticky cookie set, static files from disk with a long cache, gzip
        first = requests.get(f"{base}/login", timeout=5)
        assert first.status_code == 200 and "siso_route=" in first.headers["Set-Cookie"]
        assert re.fullmatch(r"[0-9a-f]{32}", first.headers["X-Request-ID"])
        css = next(p for p in (REPO / "static").rglob("*.css"))
        st = requests.get(f"{base}/static/{css.relative_to(REPO / 'static')}",
                          headers={"Accept-Encoding": "gzip"}, timeout=5)
        assert st.status_code == 200 and "max-age=31536000" in st.headers["Cache-Control"]
        assert st.headers.get("Content-Encoding") == "gzip" or css.stat().st_size < 1024

        cookies = route_cookies(base, logs)
        sarah = client_with(base, token_for(app, "sarah@example.com"), cookies[0])
        mike = client_with(base, token_for(app, "mike@example.com"), cookies[1])
        clients = [sarah, mike]
        inbox = Inbox(mike, "message")
        for c in clients:
            assert c.call("join", {"channel": "general"}, timeout=10)["ok"]
        sent = sarah.call("send", {"channel": "general", "body": "Across nginx"}, timeout=10)
        assert sent["ok"]
        assert inbox.wait("message", lambda m: m["id"] == sent["id"], 10), \
            "the message did not cross the two processes"

        old_sid = mike.get_sid()
        kill_group(webs[1])  # web B dies with Mike's socket on it
        during = [sarah.call("send", {"channel": "general", "body": f"While B is down {i}"},
                             timeout=10) for i in range(3)]
        assert all(d["ok"] for d in during)
        assert wait_for(lambda: mike.connected and mike.get_sid() not in (None, old_sid), 30), \
            "Mike did not reconnect through nginx"
        assert mike.call("join", {"channel": "general"}, timeout=10)["ok"]
        history = mike.call("history", {"channel": "general"}, timeout=10)
        bodies = [m["body"] for m in history["messages"]]
        for want in ["Across nginx"] + [f"While B is down {i}" for i in range(3)]:
            assert want in bodies, f"{want!r} lost; history: {bodies}"
        after = sarah.call("send", {"channel": "general", "body": "After the failover"},
                           timeout=10)
        assert inbox.wait("message", lambda m: m["id"] == after["id"], 10)
        # every line the processes wrote is JSON with a request id
        lines = [json.loads(x) for x in logs[0].read_text().splitlines() if x.startswith("{")]
        assert any(x.get("route") == "socket:connect" and x.get("request_id") for x in lines)
    finally:
        for c in clients:
            try:
                c.disconnect()
            except Exception:
                pass
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        for w in webs:
            kill_group(w, signal.SIGTERM)
