"""Logs (rules: "Logs, metrics and errors"): one JSON line per request with its request
id (taken from X-Request-ID or made, echoed in the answer), the id carried into the jobs
the request queues and the socket's events, and no password, token or key in any line."""

import json
import logging
import re

import pytest
from conftest import PASSWORD, api_token, csrf_from, login, make_partner

from core.ops.logs import make_handler, redact


@pytest.fixture
def json_log(tmp_path):
    """Every log record of this process (and of workers it forks) as JSON lines in a file;
    returns a function giving the parsed lines so far."""
    path = tmp_path / "log.jsonl"
    stream = open(path, "a", buffering=1)
    handler = make_handler(stream, "json")
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)

    def lines():
        stream.flush()
        return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]

    lines.path = path
    yield lines
    root.removeHandler(handler)
    root.setLevel(old_level)
    stream.close()


def test_request_id_is_echoed_and_logged(client, json_log):
    """A request with X-Request-ID gets it back and one JSON line naming it, the route and
    the status; one without gets a fresh id; a malformed one is replaced."""
    resp = client.get("/login", headers={"X-Request-ID": "lb-7f3a.1"})
    assert resp.status_code == 200 and resp.headers["X-Request-ID"] == "lb-7f3a.1"
    [line] = [x for x in json_log() if x["logger"] == "siso.request"]
    assert line["request_id"] == "lb-7f3a.1" and line["route"] == "/login"
    assert line["status"] == 200 and line["method"] == "GET" and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["time"]
    made = client.get("/login").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    bad = client.get("/login", headers={"X-Request-ID": "x" * 300}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", bad)


def test_logged_in_user_and_route_rule_not_path(app, client, json_log):
    """The line names the user id and the URL rule, never the path (paths can hold
    tokens)."""
    with app.app_context():
        p = make_partner("Lou Logs", email="lou@example.com")
        uid = p.user_id
    login(client, "lou@example.com")
    client.get("/password/reset/not-a-real-token-abc", headers={"X-Request-ID": "r-2"})
    [line] = [x for x in json_log() if x.get("request_id") == "r-2"
              and x["logger"] == "siso.request"]
    assert line["route"] == "/password/reset/<token>"
    assert "not-a-real-token-abc" not in json.dumps(json_log())
    client.get("/partner/dashboard", headers={"X-Request-ID": "r-3"})
    [dash] = [x for x in json_log() if x.get("request_id") == "r-3"
              and x["logger"] == "siso.request"]
    assert dash["user_id"] == uid


def test_request_id_reaches_the_job_it_queued(app, client, json_log, run_worker):
    """Asking for a password reset with X-Request-ID queues the e-mail job with that id:
    the worker's line for the job carries it."""
    from core.base.jobs import QUEUE_EMAIL, get_queue

    with app.app_context():
        make_partner("Jo Job", email="jo@example.com")
    page = client.get("/password/forgot")
    resp = client.post("/password/forgot", headers={"X-Request-ID": "reset-req-77"},
                       data={"email": "jo@example.com",
                             "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert resp.status_code == 200
    with app.app_context():
        [queued] = get_queue(QUEUE_EMAIL).get_jobs()
        assert queued.meta["request_id"] == "reset-req-77"
    run_worker()
    jobs = [x for x in json_log() if x["logger"] == "core.base.jobs"
            and x["message"].endswith(" ok")]
    assert jobs and jobs[0]["request_id"] == "reset-req-77"
    assert jobs[0]["job_id"] == queued.id and jobs[0]["duration_ms"] > 0


def test_socket_events_carry_the_handshake_request_id(app, live_server, json_log):
    """A socket opened with X-Request-ID: its connect line and every event's line carry
    that id and the user."""
    import socketio as sio_client
    from test_chat import token_for

    with app.app_context():
        p = make_partner("Sam Socket", email="sam@example.com")
        uid = p.user_id
    client = sio_client.Client(reconnection=False)
    client.connect(live_server, auth={"token": token_for(app, "sam@example.com")},
                   headers={"X-Request-ID": "sock-42"}, transports=["polling"], wait_timeout=5)
    try:
        assert client.call("join", {"channel": "general"}, timeout=5)["ok"]
    finally:
        client.disconnect()
    lines = [x for x in json_log() if x.get("request_id") == "sock-42"]
    assert {x["route"] for x in lines} >= {"socket:connect", "socket:join"}
    assert all(x["user_id"] == uid for x in lines)


def test_no_secrets_in_the_logs(app, client, json_log, run_worker, monkeypatch):
    """A run through log-ins (good and bad passwords), an API token used, a password
    reset (production: mail bodies are not logged), /metrics with its token: no password,
    token, reset link, key or signing key is in any line."""
    from core.accounts.models import User
    from core.base.extensions import db

    monkeypatch.setitem(app.config, "MAIL_LOG_BODY", False)
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "metrics-token-SEEDED-5f1c")
    with app.app_context():
        make_partner("Sue Secret", email="sue@example.com")
    secrets = [PASSWORD, "wrong-SEEDED-password-9", app.config["SECRET_KEY"],
               "metrics-token-SEEDED-5f1c"]
    login(client, "sue@example.com")
    login(app.test_client(), "sue@example.com", "wrong-SEEDED-password-9")
    headers = api_token(app.test_client(), "sue@example.com")
    secrets.append(headers["Authorization"][7:])
    app.test_client().get("/api/partner/profile", headers=headers)
    app.test_client().post("/api/auth/partner/login",
                           json={"email": "sue@example.com", "password": PASSWORD})
    app.test_client().get("/metrics",
                          headers={"Authorization": "Bearer metrics-token-SEEDED-5f1c"})
    other = app.test_client()
    page = other.get("/password/forgot")
    other.post("/password/forgot", data={"email": "sue@example.com",
                                         "csrf_token": csrf_from(page.get_data(as_text=True))})
    run_worker()
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "sue@example.com"))
        assert user is not None
    logging.getLogger("test").info("token=abc%s and Bearer xyz%s", "SEEDED1", "SEEDED2")
    text = json_log.path.read_text()
    assert text.count('"siso.request"') >= 6
    for secret in secrets:
        assert secret not in text, f"{secret[:6]}... appears in the log"
    assert "SEEDED1" not in text and "SEEDED2" not in text
    assert "[redacted]" in text


def test_redaction_patterns():
    """What the redaction blanks, and what it keeps."""
    assert redact("password=hunter2 user=4") == "password=[redacted] user=4"
    assert redact('{"token": "abc.def"}') == '{"token": "[redacted]"}'
    assert "eyJ" not in redact("Authorization: Bearer eyJ.x.y")
    assert "sk_live_abc123" not in redact("key sk_live_abc123 failed")
    assert redact("GET /password/reset/abc.def-1") == "GET /password/reset/[redacted]"
    assert redact("payout 12 sent to acct_1") == "payout 12 sent to acct_1"
