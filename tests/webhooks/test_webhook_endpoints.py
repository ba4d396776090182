"""Registering webhook endpoints: the SSRF refusals (at save and again at send time) and
bad input, each a 422 that changes nothing (rules: "Webhook targets", "Webhook
endpoints")."""

import pytest
from receiver import Receiver
from sqlalchemy import func, select
from test_staff_api import staff_headers

from core.base.extensions import db
from core.webhooks.events import EVENT_TYPES
from core.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@pytest.fixture
def admin(app, client):
    return staff_headers(app, client)


@pytest.fixture
def production_targets(app):
    """As in production: no loopback, https only."""
    app.config["WEBHOOK_ALLOW_LOOPBACK"] = False
    yield
    app.config["WEBHOOK_ALLOW_LOOPBACK"] = True


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(WebhookEndpoint))


@pytest.mark.parametrize("url, words", [
    ("http://127.0.0.1:8080/hook", "internal address"),
    ("https://127.0.0.1/hook", "internal address"),
    ("https://localhost/hook", "internal address"),
    ("https://10.0.0.5/hook", "internal address"),
    ("https://192.168.1.20/hook", "internal address"),
    ("https://169.254.169.254/latest/meta-data/", "internal address"),  # cloud metadata
    ("https://[::1]/hook", "internal address"),
    ("https://[::ffff:127.0.0.1]/hook", "internal address"),
    ("https://[fd00:ec2::254]/hook", "internal address"),
    ("https://0.0.0.0/hook", "internal address"),
    ("https://100.64.0.1/hook", "internal address"),  # carrier-grade NAT
    ("http://8.8.8.8/hook", "https"),
    ("ftp://8.8.8.8/hook", "https"),
    ("https://user:pw@8.8.8.8/hook", "user name"),
    ("https://no-such-host.invalid/hook", "does not resolve"),
    ("not a url", "https"),
])
def test_internal_and_plain_targets_are_refused(app, client, admin, production_targets,
                                                url, words):
    """In production an endpoint on a loopback, private, link-local, metadata or other
    internal address, or not https, is a 422 saying why, and nothing is saved."""
    resp = client.post("/api/staff/webhooks", headers=admin,
                       json={"url": url, "events": ["lead.created"]})
    assert resp.status_code == 422, resp.get_json()
    assert words in resp.get_json()["error"]["message"]
    assert count(app) == 0


def test_bad_input_is_refused_and_changes_nothing(app, client, admin):
    """Unknown events (422 listing the valid ones), no events, a URL over 2,000
    characters, unknown fields and a bad status are refused; nothing is saved."""
    url = "http://127.0.0.1:9/hook"
    unknown = client.post("/api/staff/webhooks", headers=admin,
                          json={"url": url, "events": ["lead.created", "lead.exploded"]})
    assert unknown.status_code == 422
    message = unknown.get_json()["error"]["message"]
    assert "lead.exploded" in message and all(e in message for e in EVENT_TYPES)
    for body in ({"url": url, "events": []}, {"url": url},
                 {"url": "https://example.com/" + "a" * 2000, "events": ["lead.created"]},
                 {"url": url, "events": ["lead.created"], "secret": "mine"},
                 {"url": url, "events": "lead.created"},
                 {"url": 5, "events": ["lead.created"]}):
        resp = client.post("/api/staff/webhooks", headers=admin, json=body)
        assert resp.status_code == 422, (body, resp.get_json())
    assert count(app) == 0
    ep = client.post("/api/staff/webhooks", headers=admin,
                     json={"url": url, "events": ["lead.created"]}).get_json()
    for change in ({"status": "disabled"}, {"events": ["nope"]}, {"url": "ftp://x/"},
                   {"description": "x" * 501}):
        resp = client.patch(f"/api/staff/webhooks/{ep['id']}", headers=admin, json=change)
        assert resp.status_code == 422, change
    got = client.get(f"/api/staff/webhooks/{ep['id']}", headers=admin).get_json()
    assert (got["status"], got["events"], got["url"]) == ("active", ["lead.created"], url)
    for path in ("/api/staff/webhooks/999", "/api/staff/webhooks/999/deliveries"):
        assert client.get(path, headers=admin).status_code == 404
    assert client.delete("/api/staff/webhooks/999", headers=admin).status_code == 404
    assert client.delete(f"/api/staff/webhooks/{ep['id']}", headers=admin).status_code == 200
    assert count(app) == 0


def test_a_target_that_turns_internal_is_refused_at_send_time(app, client, admin, run_worker):
    """The address is checked again before every attempt: an endpoint saved while its
    host was public and now internal gets nothing, and the log says why."""
    hook = Receiver()
    try:
        ep = client.post("/api/staff/webhooks", headers=admin,
                         json={"url": hook.url, "events": ["lead.created"]}).get_json()
        app.config["WEBHOOK_ALLOW_LOOPBACK"] = False  # what was allowed is internal now
        try:
            from conftest import make_partner

            from core.program.leads import create_lead

            with app.app_context():
                p = make_partner("Sam Send")
                create_lead(p, {"company_name": "Rebind Inc"}, p.user_id)
                db.session.commit()
            run_worker()
        finally:
            app.config["WEBHOOK_ALLOW_LOOPBACK"] = True
        assert hook.received == []
        with app.app_context():
            attempt = db.session.scalar(select(WebhookAttempt))
            assert attempt.status_code is None and "internal address" in attempt.error
            d = db.session.scalar(select(WebhookDelivery))
            assert (d.status, d.attempts, d.endpoint_id) == ("pending", 1, ep["id"])
    finally:
        hook.close()


def test_non_admin_staff_cannot_manage_webhooks(app, client):
    """Only admins register endpoints: finance and support get 403."""
    h = staff_headers(app, client, email="fin@example.com", roles=("finance", "support"))
    assert client.get("/api/staff/webhooks", headers=h).status_code == 403
    assert client.post("/api/staff/webhooks", headers=h, json={
        "url": "http://127.0.0.1:9/", "events": ["lead.created"]}).status_code == 403
