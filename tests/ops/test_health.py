"""Health endpoints (rules: "Health checks"): ``/livez`` says the process answers;
``/readyz`` names each check and answers 503 only when the node cannot serve (database
unreachable or not migrated to head, storage unusable), never because Redis is down."""

import requests
from conftest import free_port
from servers import base_env, start_redis, start_web, stop


def test_readyz_names_every_check(client):
    """A healthy node: 200, each check named and ok, the migration revision shown."""
    resp = client.get("/readyz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "migrations", "storage", "redis"}
    assert all(c["ok"] for c in body["checks"].values())
    assert body["checks"]["redis"]["fatal"] is False
    assert body["checks"]["database"]["fatal"] is True
    assert body["checks"]["migrations"]["revision"]
    assert body["checks"]["storage"]["backend"] == "file"
    assert client.get("/livez").get_json() == {"status": "alive"}


def test_redis_down_is_reported_but_not_fatal(db_url, tmp_path):
    """A web process whose Redis stops: /readyz still 200 with redis not ok, and the
    node still serves pages (the log-in page)."""
    redis_url, redis_proc = start_redis(tmp_path)
    web, proc = start_web(base_env(db_url, redis_url, str(tmp_path / "files")))
    try:
        before = requests.get(f"{web}/readyz", timeout=10)
        assert before.status_code == 200 and before.json()["checks"]["redis"]["ok"]
        stop(redis_proc)
        after = requests.get(f"{web}/readyz", timeout=10)
        assert after.status_code == 200, after.text
        body = after.json()
        assert body["status"] == "ready"
        assert body["checks"]["redis"]["ok"] is False
        assert "Connection" in body["checks"]["redis"]["error"]
        assert body["checks"]["database"]["ok"] and body["checks"]["migrations"]["ok"]
        page = requests.get(f"{web}/login", timeout=10)
        assert page.status_code == 200 and "Log in" in page.text
        # the legacy probe still says 503, for monitors that want Redis's state
        assert requests.get(f"{web}/healthz", timeout=10).status_code == 503
    finally:
        stop(proc, redis_proc)


def test_database_unreachable_is_not_ready(tmp_path):
    """A web process whose database does not answer: /livez 200, /readyz 503 naming the
    database (and the migrations check skipped)."""
    from conftest import TEST_REDIS_URL

    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    web, proc = start_web(base_env(dead, TEST_REDIS_URL, str(tmp_path / "files")))
    try:
        assert requests.get(f"{web}/livez", timeout=10).status_code == 200
        resp = requests.get(f"{web}/readyz", timeout=20)
        assert resp.status_code == 503
        body = resp.json()
        assert body["status"] == "not ready"
        assert body["checks"]["database"]["ok"] is False
        assert "OperationalError" in body["checks"]["database"]["error"]
        assert body["checks"]["migrations"]["ok"] is False
        assert body["checks"]["redis"]["ok"] is True
    finally:
        stop(proc)


def test_database_behind_the_migrations_is_not_ready(tmp_path):
    """A database that answers but was never migrated (or is behind the code): 503,
    naming the migrations check."""
    from conftest import TEST_REDIS_URL

    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    web, proc = start_web(base_env(empty, TEST_REDIS_URL, str(tmp_path / "files")))
    try:
        resp = requests.get(f"{web}/readyz", timeout=20)
        assert resp.status_code == 503
        checks = resp.json()["checks"]
        assert checks["database"]["ok"] is True
        assert checks["migrations"]["ok"] is False
    finally:
        stop(proc)


def test_storage_unusable_is_not_ready(app, client, tmp_path, monkeypatch):
    """A storage folder that cannot be made (a file stands in its place): 503 naming
    storage."""
    from core.ops.storage import FileStorage

    (tmp_path / "taken").write_text("a file, not a folder")
    monkeypatch.setitem(app.extensions, "siso_storage", FileStorage(str(tmp_path / "taken")))
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["checks"]["storage"]["ok"] is False


def test_jobs_page_shows_worker_heartbeats(app, db_url, tmp_path):
    """A running `flask worker` appears on the back office's Jobs page with its host, pid,
    state and last heartbeat; with none running the page says nothing will run."""
    import socket
    import subprocess
    import sys
    import time

    from conftest import REPO, TEST_REDIS_URL, login, make_staff

    with app.app_context():
        make_staff("finance@example.com", ("finance",))
    staff = app.test_client()
    login(staff, "finance@example.com")
    assert "No worker is running" in staff.get("/admin/jobs/").get_data(as_text=True)
    env = base_env(db_url, TEST_REDIS_URL, str(tmp_path / "files"))
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                              env=env, cwd=str(REPO), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline, page = time.time() + 40, ""
        while time.time() < deadline:
            page = staff.get("/admin/jobs/").get_data(as_text=True)
            if "No worker is running" not in page:
                break
            time.sleep(0.5)
        assert socket.gethostname() in page
        assert "UTC" in page.split('id="workers"')[1].split("</table>")[0]
    finally:
        stop(worker)
