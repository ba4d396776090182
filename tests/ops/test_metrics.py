"""Prometheus metrics (rules: "Logs, metrics and errors"): ``/metrics`` only with the
bearer token (404 when unset), parsed back with prometheus_client's own parser; figures
add up across processes in multiprocess mode."""

import os
import subprocess
import sys

import pytest
import requests
from conftest import REPO, TEST_REDIS_URL, csrf_from, make_partner
from prometheus_client.parser import text_string_to_metric_families
from servers import base_env, start_web, stop

TOKEN = "metrics-test-token-1"


def parse(text: str) -> dict:
    """``{(sample name, frozenset(labels)): value}`` of an exposition text."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def total(samples, name, **labels):
    """Sum of ``name`` over every label set that includes ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


@pytest.fixture
def token(app, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    return {"Authorization": f"Bearer {TOKEN}"}


def test_metrics_hidden_without_the_token(app, client, monkeypatch):
    """Unset token: 404 for everyone; set: 404 without the header or with a wrong one."""
    assert client.get("/metrics").status_code == 404
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 404
    ok = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and ok.content_type.startswith("text/plain")


def test_latency_queue_depths_and_payouts(app, client, token):
    """Requests show in the latency histogram by route and status; queue depths and
    payouts by state are read at scrape time."""
    from core.base.extensions import db
    from core.base.jobs import QUEUE_EMAIL, get_queue
    from core.money.models import Payout

    before = parse(client.get("/metrics", headers=token).get_data(as_text=True))
    for _ in range(3):
        client.get("/login")
    client.get("/partner/leads/999999")  # 302 to the log-in page
    with app.app_context():
        p = make_partner("Pay Metrics", email="paym@example.com")
        db.session.add_all([Payout(partner_id=p.id, amount_cents=1500, status="paid", requested_by_id=p.user_id),
                            Payout(partner_id=p.id, amount_cents=2500, status="paid", requested_by_id=p.user_id),
                            Payout(partner_id=p.id, amount_cents=700, status="failed", requested_by_id=p.user_id)])
        db.session.commit()
        get_queue(QUEUE_EMAIL).enqueue("core.accounts.email_links.nothing", job_id="m-1")
    after = parse(client.get("/metrics", headers=token).get_data(as_text=True))
    name = "siso_http_request_duration_seconds_count"
    grew = (value(after, name, route="/login", method="GET", status="200") or 0) - \
        (value(before, name, route="/login", method="GET", status="200") or 0)
    assert grew == 3
    assert value(after, name, route="/partner/leads/<int:lead_id>", method="GET",
                 status="302") >= 1
    assert value(after, "siso_rq_queue_depth", queue="email") == 1
    assert value(after, "siso_rq_queue_depth", queue="payouts") == 0
    assert value(after, "siso_redis_up") == 1
    assert value(after, "siso_payouts", state="paid") == 2
    assert value(after, "siso_payouts_amount_cents", state="paid") == 4000
    assert value(after, "siso_payouts", state="failed") == 1


def test_socket_connections_and_chat_messages(app, live_server, client, token):
    """An open chat socket counts as a connection; a message posted counts once."""
    from test_chat import connect, token_for

    with app.app_context():
        make_partner("Chad Chat", email="chad@example.com")
    before = parse(client.get("/metrics", headers=token).get_data(as_text=True))
    sock = connect(live_server, token_for(app, "chad@example.com"))
    try:
        assert sock.call("join", {"channel": "general"}, timeout=5)["ok"]
        assert sock.call("send", {"channel": "general", "body": "counted"}, timeout=5)["ok"]
        during = parse(client.get("/metrics", headers=token).get_data(as_text=True))
    finally:
        sock.disconnect()
    assert value(during, "siso_socketio_connections") == \
        value(before, "siso_socketio_connections") + 1
    assert value(during, "siso_chat_messages_total") == \
        value(before, "siso_chat_messages_total") + 1


def test_figures_add_up_across_processes(app, db_url, tmp_path):
    """Two web processes and a worker sharing PROMETHEUS_MULTIPROC_DIR: either web
    process's /metrics counts the requests both answered and the job the worker ran."""
    mp = tmp_path / "prom"
    mp.mkdir()
    with app.app_context():
        make_partner("Multi Proc", email="multi@example.com")
    env = base_env(db_url, TEST_REDIS_URL, str(tmp_path / "files"),
                   PROMETHEUS_MULTIPROC_DIR=mp, METRICS_TOKEN=TOKEN)
    a, pa = start_web(env)
    b, pb = start_web(env)
    try:
        for url in (a, a, b):
            assert requests.get(f"{url}/login", timeout=10).status_code == 200
        s = requests.Session()
        page = s.get(f"{b}/password/forgot", timeout=10).text
        assert s.post(f"{b}/password/forgot", timeout=10, data={
            "email": "multi@example.com", "csrf_token": csrf_from(page)}).status_code == 200
        worker = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "worker",
                                 "--burst"], env=env, cwd=str(REPO), timeout=120,
                                capture_output=True)
        assert worker.returncode == 0, worker.stderr[-2000:]
        text = requests.get(f"{a}/metrics", timeout=10,
                            headers={"Authorization": f"Bearer {TOKEN}"}).text
    finally:
        stop(pa, pb)
    samples = parse(text)
    assert value(samples, "siso_http_request_duration_seconds_count", route="/login",
                 method="GET", status="200") == 3
    assert total(samples, "siso_job_duration_seconds_count", outcome="ok") >= 1
    assert any(n == "siso_job_duration_seconds_count" and
               dict(ls).get("job", "").startswith("core.accounts.email_links")
               for n, ls in samples)
    assert len(os.listdir(mp)) >= 3  # each process wrote its own files
