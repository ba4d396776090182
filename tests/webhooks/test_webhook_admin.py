"""The back office's webhook screens (admin): register an endpoint (its secret shown
once), send a test event, read the delivery log with its attempts, replay."""

from conftest import csrf_from, login, make_staff, submit
from receiver import Receiver
from sqlalchemy import select

from core.base.extensions import db
from core.webhooks.models import WebhookDelivery, WebhookEndpoint


def test_admin_registers_tests_and_replays(app, client, run_worker):
    """An admin registers the receiver's URL, sends a test event, sees its attempt (status
    200, the answer) in the log and replays it; the receiver verifies both."""
    with app.app_context():
        make_staff("boss@example.com", ("admin",))
    assert login(client, "boss@example.com").status_code == 302
    hook = Receiver(body=b"thanks from the CRM")
    try:
        resp = submit(client, "/admin/webhook-endpoints/new",
                      {"url": hook.url, "events": ["lead.created", "deal.confirmed"],
                       "description": "HubSpot"})
        assert resp.status_code == 302
        page = client.get("/admin/webhook-endpoints/").get_data(as_text=True)
        assert "signing secret, shown this once: whsec_" in page and hook.url in page
        with app.app_context():
            ep = db.session.scalar(select(WebhookEndpoint))
            hook.secret = ep.secret
            assert ep.events == "deal.confirmed,lead.created"
        assert ep.secret not in client.get(f"/admin/webhook-endpoints/details/?id={ep.id}").get_data(
            as_text=True)
        token = csrf_from(page)
        resp = client.post(f"/admin/webhook-endpoints/test/{ep.id}", data={"csrf_token": token})
        assert resp.status_code == 302
        run_worker()
        assert [(r["json"]["type"], r["verified"]) for r in hook.received] == [
            ("webhook.test", True)]
        with app.app_context():
            d = db.session.scalar(select(WebhookDelivery))
        log = client.get(f"/admin/webhook-deliveries/?flt1_endpoint_id_equals={ep.id}")
        assert "webhook.test" in log.get_data(as_text=True)
        detail = client.get(f"/admin/webhook-deliveries/details/?id={d.id}").get_data(
            as_text=True)
        assert "thanks from the CRM" in detail and "200" in detail
        assert client.post(f"/admin/webhook-deliveries/replay/{d.id}",
                           data={"csrf_token": token}).status_code == 302
        assert client.post(f"/admin/webhook-deliveries/replay/{d.id}",
                           data={}).status_code == 400  # no CSRF token: refused
        run_worker()
        assert len(hook.received) == 2 and all(r["verified"] for r in hook.received)
        bad = submit(client, "/admin/webhook-endpoints/new", {"url": "ftp://x", "events": ["lead.won"]})
        assert bad.status_code == 200 and "https" in bad.get_data(as_text=True)
    finally:
        hook.close()
