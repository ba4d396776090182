"""Shared fixtures: a real database (SQLite, or PostgreSQL via TEST_DATABASE_URL), a real
Redis database flushed per test, a real RQ worker (supervisor and worker child), a live
Socket.IO server, and helpers that post forms the way a browser does (CSRF token
included)."""

import io
import os
import re
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text

from core.base.config import TestingConfig, normalise_db_url  # noqa: E402
from core.base.extensions import db  # noqa: E402
from web.app import create_app  # noqa: E402

#: This folder (helper servers live here), the repository, and where tests leave pictures.
TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
TEST_OUTPUT = TESTS / "output"

#: Redis database used by tests (flushed per test); override with TEST_REDIS_URL.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
#: Socket.IO message-queue channel of this test run's server processes and workers. Redis
#: pub/sub ignores the database number, so a fixed name would let two runs on one Redis
#: (other checkouts, CI jobs) deliver room emits to each other's sockets.
TEST_SOCKETIO_CHANNEL = f"siso-test-{os.getpid()}-{os.urandom(4).hex()}"
PASSWORD = "correct-horse-battery"

# Property tests check rules, not speed: no per-example deadline, which a shared, loaded
# 2-core machine would miss now and then (speed is measured by bench/).
hypothesis_settings.register_profile("siso", deadline=None)
hypothesis_settings.load_profile("siso")


# --- no seeded secret in any log line of the run (rules: "Logs, metrics and errors") -------

def seeded_secrets() -> dict[str, str]:
    """What the suite seeds that no log line may ever hold, by name: the partners'
    password, the signing and field-encryption keys, the TINs the tax-form tests enter
    (with and without dashes), the fake Stripe platform key."""
    found = {"partner password": PASSWORD, "signing key": TestingConfig.SECRET_KEY,
             "field encryption key": TestingConfig.FIELD_ENCRYPTION_KEYS[0],
             "Stripe key": "sk_test_fake_platform_key"}
    for tin in ("536-90-4399", "666-12-3456", "07-1234567", "12345678901"):
        found[f"TIN {tin[-4:]}"] = tin
        found[f"TIN {tin[-4:]} (digits)"] = tin.replace("-", "")
    return found


_SUITE_LOG: dict = {}


def pytest_configure(config):
    """Every log record of the run (this process and the workers it forks), as JSON lines,
    in one file scanned at the end for :func:`seeded_secrets`."""
    import logging

    from core.ops.logs import make_handler

    fd, path = tempfile.mkstemp(prefix="siso-suite-log-", suffix=".jsonl")
    stream = os.fdopen(fd, "a", buffering=1)
    handler = make_handler(stream, "json")
    handler.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    _SUITE_LOG.update(path=path, stream=stream, handler=handler)


def pytest_sessionfinish(session, exitstatus):
    """Fail the run when a seeded secret appears in any log line (names what and where)."""
    if "path" not in _SUITE_LOG:
        return
    import logging

    logging.getLogger().removeHandler(_SUITE_LOG["handler"])
    _SUITE_LOG["stream"].close()
    with open(_SUITE_LOG["path"], errors="replace") as fh:
        lines = fh.readlines()
    leaks = [(name, n) for n, line in enumerate(lines, 1)
             for name, secret in seeded_secrets().items() if secret in line]
    _SUITE_LOG.update(lines=len(lines), leaks=leaks)
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        os.unlink(_SUITE_LOG["path"])


def pytest_terminal_summary(terminalreporter):
    """Say how many log lines were scanned, and any seeded secret found in them."""
    if "lines" not in _SUITE_LOG:
        return
    leaks = _SUITE_LOG["leaks"]
    if leaks:
        terminalreporter.section("seeded secrets in the logs", red=True)
        for name, n in leaks[:20]:
            terminalreporter.write_line(f"{name}: line {n} of {_SUITE_LOG['path']}")
    else:
        terminalreporter.write_line(f"log scan: {_SUITE_LOG['lines']} log lines of this run, "
                                    f"no seeded secret in any")


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def db_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return normalise_db_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def app(db_url, tmp_path_factory):
    """The app on a schema built by the Alembic migrations (not ``create_all``)."""
    storage = tmp_path_factory.mktemp("files")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=db_url, REDIS_URL=TEST_REDIS_URL,
                     STORAGE_DIR=str(storage))
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
        from flask_migrate import upgrade

        upgrade(revision="heads")
        db.session.remove()
    return app


def _truncate_postgresql(tables, attempts: int = 5):
    """Empty every table in one TRUNCATE. The live server of an earlier test can still be
    finishing a request (a closed page's socket disconnecting) that reads two tables while
    the TRUNCATE locks them one by one; PostgreSQL then breaks the deadlock by aborting one
    side. The request is done by the next attempt, so the TRUNCATE is retried."""
    from sqlalchemy.exc import OperationalError

    names = ", ".join(t.name for t in tables)
    for attempt in range(attempts):
        try:
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        except OperationalError as exc:
            if "deadlock detected" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def _reset(app):
    from core.community import chat
    from core.seed.demo import seed_reference_data

    chat._pending_reads.clear()  # read markers a socket queued in the previous test
    with app.app_context():
        db.session.remove()
        tables = [t for t in reversed(db.metadata.sorted_tables)]
        if db.engine.dialect.name == "postgresql":
            _truncate_postgresql(tables)
        else:
            with db.engine.begin() as conn:
                # The ledger guard refuses DELETE; tests step around it, then put it back.
                from core.base.ledger_guard import create_sql, drop_sql

                for stmt in drop_sql("sqlite"):
                    conn.execute(text(stmt))
                for t in tables:
                    conn.execute(t.delete())
                for stmt in create_sql("sqlite"):
                    conn.execute(text(stmt))
        seed_reference_data()
        db.session.commit()
        db.session.remove()


@pytest.fixture(autouse=True)
def clean_state(app):
    """Every test starts from the migrated schema with only reference data, and an empty
    Redis database."""
    from core.base.jobs import redis_connection

    _reset(app)
    with app.app_context():
        redis_connection().flushdb()
    yield


@pytest.fixture
def ctx(app):
    """An app context for calling core functions directly."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


CSRF_RE = re.compile(r'name="(?:[\w-]+-)?csrf_token" type="hidden" value="([^"]+)"|'
                     r'name="(?:[\w-]+-)?csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token in a rendered page."""
    m = CSRF_RE.search(html)
    assert m, "page has no CSRF token"
    return m.group(1) or m.group(2)


def submit(client, page_url: str, data: dict, post_url: str | None = None, prefix: str = ""):
    """GET a page, take its CSRF token and POST the form as a browser would."""
    page = client.get(page_url)
    assert page.status_code == 200, (page_url, page.status_code)
    payload = dict(data)
    payload[f"{prefix}csrf_token"] = csrf_from(page.get_data(as_text=True))
    return client.post(post_url or page_url, data=payload)


def login(client, email: str, password: str = PASSWORD):
    """Log in through the login form; returns the response."""
    return submit(client, "/login", {"email": email, "password": password})


# --- factories ----------------------------------------------------------------------

def make_partner(name="Pat Partner", email=None, status="active", deals=0, training=True,
                 recruiter=None, leader=None, password=PASSWORD, verified=True):
    """Create a partner (in an app context) with ``deals`` confirmed won deals of $1,000;
    ``verified`` (default) takes their e-mail address as verified, as for every account
    that existed before verification (tests of verification pass ``verified=False``)."""
    from core.content.models import TrainingCompletion, TrainingModule
    from core.money.commissions import confirm_deal, set_team
    from core.program.leads import create_lead, move_lead
    from core.program.partners import register_partner
    from core.program.tiers import refresh_tier

    email = email or f"{name.lower().replace(' ', '.')}.{time.time_ns()}@example.com"
    p = register_partner(email, password, name, True,
                         referral_code=recruiter.referral_code if recruiter else None,
                         email_verified=verified)
    p.status = status
    if training:
        for m in db.session.scalars(db.select(TrainingModule).where(TrainingModule.required)):
            db.session.add(TrainingCompletion(partner_id=p.id, module_id=m.id))
    db.session.flush()
    if leader is not None:
        set_team(p.id, None, team_leader_id=leader.id, recruiter_id=p.recruiter_id)
    staff = make_staff_once()
    for i in range(deals):
        lead = create_lead(p, {"company_name": f"Deal {i}"}, p.user_id)
        move_lead(lead, "won", p.user_id, 100000)
        confirm_deal(lead.id, staff.id)
    refresh_tier(p)
    db.session.commit()
    return p


def make_staff(email="finance@example.com", roles=("finance",), password=PASSWORD):
    from core.accounts.users import create_staff

    user = create_staff(email, password, email.split("@")[0].title(), list(roles))
    db.session.commit()
    return user


def make_staff_once():
    """A system staff user used by factories to confirm deals."""
    from core.accounts.models import User

    user = db.session.scalar(db.select(User).where(User.email == "factory@example.com"))
    return user or make_staff("factory@example.com", ("admin",))


def api_token(client, email, password=PASSWORD, kind="partner") -> dict:
    """Log in through the API and return the Authorization header."""
    resp = client.post(f"/api/auth/{kind}/login", json={"email": email, "password": password})
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['token']}"}


def minimal_pdf() -> bytes:
    """A minimal but well-formed one-page PDF, written by hand."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (i, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objs) + 1, xref))
    return out.getvalue()


# --- real worker and live server ----------------------------------------------------

@pytest.fixture
def run_worker(app):
    """Run the real worker (this process as the supervisor, one forked worker child
    running RQ's SimpleWorker, JSON serializer; jobs.worker.run_supervised) until the
    queues are empty. Returns its ``SupervisorReport`` (children's pids and names)."""
    from jobs.worker import run_supervised

    def run(**kwargs):
        kwargs.setdefault("with_scheduler", False)
        return run_supervised(app, burst=True, **kwargs)

    return run


@pytest.fixture(scope="session")
def live_server(app):
    """The app served over real HTTP + Socket.IO (threading mode) on a free port."""
    from core.base.extensions import socketio

    port = free_port()
    thread = threading.Thread(target=lambda: socketio.run(
        app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True, use_reloader=False,
        log_output=False), daemon=True)
    thread.start()
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def tmpdir_path():
    with tempfile.TemporaryDirectory() as d:
        yield d


#: Debian's Chromium and the flags this machine needs (no sandbox as root, no network).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the browser tests (Playwright; no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(autouse=True)
def close_browser_pages(request):
    """After a browser test, close its pages: a page left open keeps its socket and its
    session cookie, and in the next test (fresh database, same user ids) it would act as
    that user (reading messages, moving read markers)."""
    yield
    if "browser" in request.fixturenames:
        for context in list(request.getfixturevalue("browser").contexts):
            context.close()
