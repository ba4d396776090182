"""The web process's entry point (`deploy/run web` = `python -m web.serve`, docs/deploy.md
"The web server"): each mode runs a current server, an unknown mode is refused."""

import os
import subprocess
import sys

import requests
from conftest import REPO, TEST_REDIS_URL, free_port
from test_cluster import kill_group, wait_http


def _env(tmp_path, mode, port):
    return dict(os.environ, SOCKETIO_ASYNC_MODE=mode, PORT=str(port), BIND_HOST="127.0.0.1",
                DATABASE_URL=f"sqlite:///{tmp_path}/serve.db", REDIS_URL=TEST_REDIS_URL,
                STORAGE_DIR=str(tmp_path / "files"), SECRET_KEY="serve-" + "k" * 40,
                PSYCOPG_IMPL="python", PYTHONWARNINGS="ignore", PYTHONPATH=str(REPO),
                PATH=f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}")


def test_unknown_mode_is_refused_with_the_modes_named(tmp_path):
    out = subprocess.run([str(REPO / "deploy" / "run"), "web"], cwd=str(REPO),
                         env=_env(tmp_path, "tornado", free_port()), capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 64
    assert "eventlet, gevent, threading" in out.stderr and "'tornado'" in out.stderr


def _serve(tmp_path, mode):
    port = free_port()
    log = open(tmp_path / f"{mode}.log", "ab")
    proc = subprocess.Popen([str(REPO / "deploy" / "run"), "web"], cwd=str(REPO),
                            env=_env(tmp_path, mode, port), stdout=log, stderr=log,
                            start_new_session=True)
    return proc, f"http://127.0.0.1:{port}"


def _command_line(pid) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        return fh.read().replace(b"\0", b" ").decode()


def test_eventlet_mode_runs_eventlets_own_server_not_gunicorn(tmp_path):
    proc, base = _serve(tmp_path, "eventlet")
    try:
        wait_http(f"{base}/livez", proc)
        assert "-m web.serve" in _command_line(proc.pid)
        assert "gunicorn" not in _command_line(proc.pid)
        # Socket.IO's polling handshake answers under eventlet
        r = requests.get(f"{base}/socket.io/?EIO=4&transport=polling", timeout=5)
        assert r.status_code == 200 and r.text.startswith("0{")
        assert '"upgrades":["websocket"]' in r.text
    finally:
        kill_group(proc)


def test_threading_mode_runs_a_current_gunicorn(tmp_path):
    import gunicorn

    assert int(gunicorn.__version__.split(".")[0]) >= 26  # off the old eventlet-era pin
    proc, base = _serve(tmp_path, "threading")
    try:
        wait_http(f"{base}/livez", proc)
        assert "gunicorn" in _command_line(proc.pid)
        # a fresh database nobody has migrated: reachable, but not ready to serve
        r = requests.get(f"{base}/readyz", timeout=5)
        checks = r.json()["checks"]
        assert r.status_code == 503
        assert checks["database"]["ok"] is True and checks["migrations"]["ok"] is False
    finally:
        kill_group(proc)
