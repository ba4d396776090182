"""PostgreSQL restarted while the app serves requests (rules: "Jobs and retries", nothing lost:
"that request fails cleanly, the next ones succeed (pool pre-ping), no corrupt row").

The test starts a private, throwaway PostgreSQL cluster (never the shared server on
5432), builds the schema with the Alembic migrations and serves the app against it in a
subprocess (``python wsgi.py``, a real web process with its own connection pool; the
app is a process-wide singleton in pytest, so it cannot be created twice here). Then:

1. Between requests: the pool holds connections the restart killed; the next request
   still answers 200 at once (``pool_pre_ping``), and a lead created just before the
   restart is whole.
2. Down for a while: a partner's pages answer a 503 page saying to try again (drawn
   without the database), the web process lives on, and once the cluster is back the
   same pages answer 200.
3. During a request: the test locks ``lead_activities`` so that a partner's "create a
   lead" request stops in the middle of its transaction, after inserting the lead and
   before its "Lead created" activity. The cluster restarts (``pg_ctl restart -m fast``)
   under it. That request gets a clean error answer, the web process lives on, the next
   requests succeed, and the half-made lead is not there at all.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import psycopg
import pytest
import requests
from conftest import PASSWORD, TEST_REDIS_URL, csrf_from, free_port
from test_worker_loss import ROOT, wait_for

PG_BIN = "/usr/lib/postgresql/15/bin"

#: Builds the schema with the migrations and adds one active partner (in a subprocess:
#: the app must not be created twice in the pytest process).
SETUP = f"""
from flask_migrate import upgrade
from web.app import create_app
from core.program.partners import register_partner
from core.base.extensions import db
from core.seed.demo import seed_reference_data

app = create_app()
with app.app_context():
    upgrade(revision="heads")
    seed_reference_data()
    p = register_partner("pg.partner@example.com", {PASSWORD!r}, "Pat Postgres", True)
    p.status = "active"
    db.session.commit()
"""


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class PrivateCluster:
    """A PostgreSQL cluster in a temporary folder, on a free port, trust auth."""

    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="siso-pg-")
        self.data = os.path.join(self.folder, "data")
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")

    def run(self, *args, timeout=120):
        subprocess.run(_as_postgres([f"{PG_BIN}/{args[0]}", *args[1:]]), check=True,
                       timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def init_and_start(self):
        self.run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--no-sync")
        self.pg_ctl("start")
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE siso")

    def pg_ctl(self, action, *extra):
        self.run("pg_ctl", "-D", self.data, "-l", os.path.join(self.folder, "server.log"),
                 "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1",
                 "-w", *extra, action)

    def url(self, database="siso") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def destroy(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            try:
                self.run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop",
                         timeout=60)
            except subprocess.SubprocessError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def cluster():
    if not os.path.exists(f"{PG_BIN}/initdb"):
        pytest.skip(f"PostgreSQL server tools are not installed ({PG_BIN}/initdb missing)")
    pg = PrivateCluster()
    try:
        pg.init_and_start()
        yield pg
    finally:
        pg.destroy()


@pytest.fixture
def web(cluster, tmp_path):
    """The app served by ``python wsgi.py`` against the private cluster."""
    env = dict(os.environ, DATABASE_URL=cluster.url(), REDIS_URL=TEST_REDIS_URL,
               SECRET_KEY="faults-postgres-secret", SISO_ENV="development",
               STORAGE_DIR=str(tmp_path / "files"), SOCKETIO_MESSAGE_QUEUE="",
               PYTHONWARNINGS="ignore")
    env.pop("STRIPE_API_KEY", None)
    subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=env, check=True,
                   timeout=180, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    port = free_port()
    log_path = tmp_path / "web.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "wsgi.py"], cwd=ROOT,
                                env=dict(env, PORT=str(port)), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(f"{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        assert wait_for(up, 60), log_path.read_text()[-3000:]
        yield proc, base, log_path
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def partner_token(base) -> dict:
    resp = requests.post(f"{base}/api/auth/partner/login", timeout=10,
                         json={"email": "pg.partner@example.com", "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['token']}"}


def leads_in_db(cluster) -> list[tuple]:
    """Every lead with the number of its "Lead created" activities, straight from SQL."""
    with psycopg.connect(cluster.url()) as conn:
        return conn.execute(
            "SELECT l.company_name, l.contact_name, l.status, l.source, count(a.id) "
            "FROM leads l LEFT JOIN lead_activities a "
            "ON a.lead_id = l.id AND a.notes = 'Lead created' "
            "GROUP BY l.id ORDER BY l.id").fetchall()


@pytest.mark.slow
def test_restart_between_requests_the_next_request_succeeds(cluster, web):
    proc, base, log_path = web
    auth = partner_token(base)
    made = requests.post(f"{base}/api/partner/leads", headers=auth, timeout=10,
                         json={"company_name": "Before Restart Ltd",
                               "contact_name": "Ada Early"})
    assert made.status_code == 201, made.text
    # The web process's pool now holds connections; the restart kills them all.
    cluster.pg_ctl("restart", "-m", "fast")

    listed = requests.get(f"{base}/api/partner/leads", headers=auth, timeout=10)
    assert listed.status_code == 200, (listed.status_code, log_path.read_text()[-3000:])
    assert [x["company_name"] for x in listed.json()["items"]] == ["Before Restart Ltd"]
    assert requests.get(f"{base}/healthz", timeout=10).json()["database"] == "ok"
    assert leads_in_db(cluster) == [("Before Restart Ltd", "Ada Early", "new", "api", 1)]
    assert proc.poll() is None


@pytest.mark.slow
def test_restart_during_a_request_fails_it_cleanly_and_leaves_no_half_row(cluster, web):
    proc, base, log_path = web
    auth = partner_token(base)
    first = requests.post(f"{base}/api/partner/leads", headers=auth, timeout=10,
                          json={"company_name": "Made Before Ltd", "contact_name": "Bo"})
    assert first.status_code == 201, first.text

    # Hold a lock the request will wait for after it inserted its lead row.
    locker = psycopg.connect(cluster.url())
    locker.execute("LOCK TABLE lead_activities IN ACCESS EXCLUSIVE MODE")
    answer = {}

    def create():
        try:
            answer["resp"] = requests.post(
                f"{base}/api/partner/leads", headers=auth, timeout=60,
                json={"company_name": "In Flight Inc", "contact_name": "Cy"})
        except requests.RequestException as exc:  # would mean the server dropped us
            answer["error"] = exc

    request_thread = threading.Thread(target=create)
    try:
        request_thread.start()

        def waiting():
            with psycopg.connect(cluster.url(), autocommit=True) as conn:
                return conn.execute(
                    "SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query ILIKE 'INSERT INTO lead_activities%'").fetchall()

        assert wait_for(waiting, 30), "the request never reached the lead activity insert"
        # Half-way: its lead row is inserted but not committed. An immediate stop: a fast one
        # ends the locker's session first, and the request could then finish and commit
        # before its own session ends (a whole row behind an error answer, not a half one).
        cluster.pg_ctl("restart", "-m", "immediate")
        request_thread.join(60)
    finally:
        try:
            locker.close()
        except psycopg.Error:
            pass
    assert not request_thread.is_alive(), "the request never ended"
    assert "error" not in answer, answer  # an HTTP answer, not a dropped connection
    resp = answer["resp"]
    # A clean answer in the API's error shape, saying to try again: not a bare 500 page.
    assert resp.status_code == 503, (resp.status_code, resp.text)
    assert resp.headers["Retry-After"] == "5"
    assert resp.json()["error"]["code"] == "database_unavailable"
    assert "try again" in resp.json()["error"]["message"]
    # Logged for the operators, with the traceback (the driver's exception depends on
    # when the restart hit: AdminShutdown, or a connection already closed).
    for _ in range(50):
        if "database unavailable during POST /api/partner/leads" in log_path.read_text():
            break
        time.sleep(0.1)
    assert "database unavailable during POST /api/partner/leads" in log_path.read_text()
    assert proc.poll() is None, log_path.read_text()[-3000:]

    # The next requests succeed, and the lead of the failed one is not there at all.
    listed = requests.get(f"{base}/api/partner/leads", headers=auth, timeout=10)
    assert listed.status_code == 200, (listed.status_code, log_path.read_text()[-3000:])
    assert [x["company_name"] for x in listed.json()["items"]] == ["Made Before Ltd"]
    again = requests.post(f"{base}/api/partner/leads", headers=auth, timeout=10,
                          json={"company_name": "In Flight Inc", "contact_name": "Cy"})
    assert again.status_code == 201, again.text
    assert leads_in_db(cluster) == [("Made Before Ltd", "Bo", "new", "api", 1),
                                    ("In Flight Inc", "Cy", "new", "api", 1)]
    with psycopg.connect(cluster.url()) as conn:
        orphans = conn.execute("SELECT count(*) FROM lead_activities a LEFT JOIN leads l "
                               "ON l.id = a.lead_id WHERE l.id IS NULL").fetchone()[0]
    assert orphans == 0


@pytest.mark.slow
def test_pages_while_the_database_is_down_say_so_and_recover(cluster, web):
    proc, base, log_path = web
    browser = requests.Session()
    page = browser.get(f"{base}/login", timeout=10)
    resp = browser.post(f"{base}/login", timeout=10, allow_redirects=False, data={
        "email": "pg.partner@example.com", "password": PASSWORD,
        "csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302, resp.text
    assert browser.get(f"{base}/partner/leads", timeout=10).status_code == 200

    cluster.pg_ctl("stop", "-m", "fast")
    try:
        down = browser.get(f"{base}/partner/leads", timeout=30)
        assert down.status_code == 503, (down.status_code, down.text[:500])
        assert down.headers["Retry-After"] == "5"
        assert "The database stopped answering" in down.text
        api = requests.get(f"{base}/healthz", timeout=30)
        assert api.status_code == 503 and api.json()["database"].startswith("error")
        assert proc.poll() is None, log_path.read_text()[-3000:]
    finally:
        cluster.pg_ctl("start")
    back = browser.get(f"{base}/partner/leads", timeout=10)
    assert back.status_code == 200, (back.status_code, log_path.read_text()[-3000:])
    assert "Pat" in back.text  # still logged in: the session outlived the outage


def test_lost_connection_answers_503_in_process(client, ctx, monkeypatch):
    """The handler itself, on the suite's own database: an API call whose query loses its
    connection gets the JSON error; a page gets the error page, or plain HTML when the
    error page cannot be drawn either."""
    import flask
    from conftest import api_token, login, make_partner
    from sqlalchemy.exc import OperationalError

    import core.program.leads

    make_partner("Lou Lost", email="lou@example.com")
    auth = api_token(client, "lou@example.com")
    assert login(client, "lou@example.com").status_code == 302

    def lost(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(core.program.leads, "partner_leads", lost)  # the API list
    monkeypatch.setattr(core.program.leads, "pipeline", lost)  # the pipeline page
    resp = client.get("/api/partner/leads", headers=auth)
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "5"
    assert resp.get_json()["error"]["code"] == "database_unavailable"
    # The answer is the documented one: a 503 with the error shape and Retry-After.
    doc = client.get("/api/openapi.json").get_json()
    documented = doc["paths"]["/api/partner/leads"]["get"]["responses"]["503"]
    unavailable = doc["components"]["responses"][documented["$ref"].rsplit("/", 1)[1]]
    assert "Retry-After" in unavailable["headers"]
    assert set(resp.get_json()["error"]) >= set(
        doc["components"]["schemas"]["Error"]["properties"]["error"]["required"])
    page = client.get("/partner/leads")
    assert page.status_code == 503 and "Lou" in page.get_data(as_text=True)  # the layout
    assert "The database stopped answering" in page.get_data(as_text=True)
    monkeypatch.setattr(flask, "render_template", lost)
    plain = client.get("/partner/leads")
    assert plain.status_code == 503
    assert "The database stopped answering" in plain.get_data(as_text=True)
