"""Real processes for the operations tests: a Redis server of the test's own, web
processes (``python wsgi.py``, threading mode) and workers, each with its own
environment. Every helper returns the ``Popen`` so the test stops what it started."""

import os
import shutil
import subprocess
import sys
import time

import requests
from conftest import REPO, free_port


def start_redis(tmp_path) -> tuple[str, subprocess.Popen]:
    """A redis-server on a free port (no persistence); returns ``(url, proc)``."""
    port = free_port()
    proc = subprocess.Popen([shutil.which("redis-server"), "--bind", "127.0.0.1", "--port",
                             str(port), "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path), "--loglevel", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            client.ping()
            break
        except redis.RedisError:
            time.sleep(0.05)
    return f"redis://127.0.0.1:{port}/0", proc


def base_env(db_url: str, redis_url: str, storage_dir: str, **extra) -> dict:
    """The environment of a web process or worker of these tests."""
    env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=redis_url, STORAGE_DIR=storage_dir,
               SOCKETIO_MESSAGE_QUEUE="", SECRET_KEY="ops-test-" + "x" * 40,
               PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore", SISO_ENV="development")
    env.pop("FLASK_APP", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_web(env: dict, log_path=None) -> tuple[str, subprocess.Popen]:
    """``python wsgi.py`` on a free port with ``env``; waits until ``/livez`` answers.
    Returns ``(base url, proc)``; its stderr goes to ``log_path`` (or nowhere)."""
    port = free_port()
    env = dict(env, PORT=str(port))
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, str(REPO / "wsgi.py")], env=env, cwd=str(REPO),
                            stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"web process exited with {proc.returncode}")
        try:
            if requests.get(f"{url}/livez", timeout=1).status_code == 200:
                return url, proc
        except requests.RequestException:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"{url} did not start")


def stop(*procs) -> None:
    """Terminate ``procs``; kill any still running after 5 s."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
