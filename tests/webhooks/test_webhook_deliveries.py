"""Outbound webhooks end to end: an admin registers an endpoint through the staff API,
the program's events reach a real HTTP receiver of the test's own through a real RQ
worker, and the receiver verifies every delivery with the reference ``standardwebhooks``
library (rules: "Webhook endpoints", "Webhook deliveries", "Webhook targets")."""

from datetime import timedelta

import pytest
from conftest import make_partner, make_staff
from receiver import Receiver
from sqlalchemy import select, update
from test_email import Outbox
from test_staff_api import staff_headers

from core.base.extensions import db
from core.base.models import AuditLog
from core.base.timeutil import now_utc
from core.webhooks.models import WebhookDelivery, WebhookEndpoint

LEAD_EVENTS = ["lead.created", "lead.status_changed", "lead.won"]


@pytest.fixture
def admin(app, client):
    return staff_headers(app, client)


@pytest.fixture
def receivers():
    made = []

    def make(*args, **kwargs):
        r = Receiver(*args, **kwargs)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def register(client, headers, url, events=LEAD_EVENTS, **extra):
    resp = client.post("/api/staff/webhooks", headers=headers,
                       json={"url": url, "events": events, "description": "CRM", **extra})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def add_lead(app, partner_id=None, company="TechCorp", won=False):
    from core.program.leads import create_lead, move_lead
    from core.program.models import Partner

    with app.app_context():
        p = db.session.get(Partner, partner_id) if partner_id else make_partner("Lea Lead")
        lead = create_lead(p, {"company_name": company}, p.user_id)
        db.session.commit()
        if won:
            move_lead(lead, "won", p.user_id, 150000)
            db.session.commit()
        return p.id, lead.id


def let_retries_fall_due(app):
    """Time passes: every pending retry is two minutes overdue, then the ticker's sweep
    runs (as every worker's ticker does)."""
    from core.webhooks.deliveries import send_due_deliveries

    with app.app_context():
        db.session.execute(update(WebhookDelivery).where(WebhookDelivery.status == "pending")
                           .values(next_attempt_at=now_utc() - timedelta(minutes=2)))
        db.session.commit()
        send_due_deliveries.enqueue()


def test_a_failed_delivery_is_retried_signed_with_the_same_id_and_in_order(
        app, client, admin, receivers, run_worker):
    """The receiver answers 500 then 200: the event comes again, with the same
    webhook-id, both times verifiable; the lead's later event waits for it; the log shows
    both attempts and the retry was due about 5 seconds later."""
    hook = receivers(answers=[500, 200])
    ep = register(client, admin, hook.url)
    assert ep["secret"].startswith("whsec_") and ep["events"] == sorted(LEAD_EVENTS)
    hook.secret = ep["secret"]
    pid, lead_id = add_lead(app)
    from core.program.leads import move_lead
    from core.program.models import Lead

    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        move_lead(lead, "contacted", lead.partner.user_id)
        db.session.commit()
    before = now_utc()
    run_worker()
    assert [r["json"]["type"] for r in hook.received] == ["lead.created"]  # the next waits
    with app.app_context():
        first = db.session.scalar(select(WebhookDelivery).order_by(WebhookDelivery.id))
        assert (first.status, first.attempts, first.last_status_code) == ("pending", 1, 500)
        wait = (first.next_attempt_at - before).total_seconds()
        assert 4 <= wait <= 10, wait
        from rq.registry import ScheduledJobRegistry

        from core.base.jobs import get_queue

        queue = get_queue("default")
        scheduled = ScheduledJobRegistry(queue=queue).get_job_ids()
        assert scheduled == [f"webhook-{first.key}-1"]
    let_retries_fall_due(app)
    run_worker()
    got = [(r["json"]["type"], r["status"], r["verified"]) for r in hook.received]
    assert got == [("lead.created", 500, True), ("lead.created", 200, True),
                   ("lead.status_changed", 200, True)]
    ids = [r["headers"]["webhook-id"] for r in hook.received]
    assert ids[0] == ids[1] != ids[2]
    assert hook.received[0]["headers"]["webhook-signature"].startswith("v1,")
    body = hook.received[1]["json"]
    assert set(body) == {"type", "timestamp", "data"}
    assert body["data"]["id"] == lead_id and body["data"]["company_name"] == "TechCorp"

    log = client.get(f"/api/staff/webhooks/{ep['id']}/deliveries", headers=admin).get_json()
    created = [d for d in log["items"] if d["event_type"] == "lead.created"][0]
    assert created["status"] == "succeeded" and created["msg_id"] == ids[0]
    assert [a["status_code"] for a in created["attempt_log"]] == [500, 200]
    assert created["attempt_log"][1]["response_excerpt"] == "ok"
    assert all(a["duration_ms"] >= 0 for a in created["attempt_log"])


def test_event_data_is_the_staff_api_shape(app, client, admin, receivers, run_worker):
    """A confirmed deal sends deal.confirmed and commission.created whose data are the
    staff API's deal and commission, as the confirmation answer shows them."""
    hook = receivers()
    ep = register(client, admin, hook.url, events=["deal.confirmed", "commission.created",
                                                   "lead.won"])
    hook.secret = ep["secret"]
    _, lead_id = add_lead(app, won=True)
    confirmed = client.post(f"/api/staff/leads/{lead_id}/confirm", json={}, headers=admin)
    assert confirmed.status_code == 201
    run_worker()
    by_type = {r["json"]["type"]: r["json"]["data"] for r in hook.received}
    assert set(by_type) == {"lead.won", "deal.confirmed", "commission.created"}
    answer = confirmed.get_json()
    assert by_type["deal.confirmed"] == answer["deal"]
    assert by_type["commission.created"] == answer["commissions"][0]
    assert all(r["verified"] for r in hook.received)


def test_replay_and_test_event(app, client, admin, receivers, run_worker):
    """An admin replays a delivery (same webhook-id and body, verified again) and sends a
    test event; each is logged as its own delivery."""
    hook = receivers()
    ep = register(client, admin, hook.url)
    hook.secret = ep["secret"]
    add_lead(app)
    run_worker()
    [d] = client.get(f"/api/staff/webhooks/{ep['id']}/deliveries", headers=admin).get_json()[
        "items"]
    again = client.post(f"/api/staff/webhooks/deliveries/{d['id']}/replay", headers=admin)
    assert again.status_code == 202 and again.get_json()["kind"] == "replay"
    test = client.post(f"/api/staff/webhooks/{ep['id']}/test", headers=admin)
    assert test.status_code == 202
    run_worker()
    assert [r["json"]["type"] for r in hook.received] == ["lead.created", "lead.created",
                                                          "webhook.test"]
    assert hook.received[0]["body"] == hook.received[1]["body"]
    assert hook.received[0]["headers"]["webhook-id"] == hook.received[1]["headers"]["webhook-id"]
    assert all(r["verified"] for r in hook.received)
    items = client.get(f"/api/staff/webhooks/{ep['id']}/deliveries", headers=admin).get_json()[
        "items"]
    assert [(i["kind"], i["status"]) for i in items] == [
        ("test", "succeeded"), ("replay", "succeeded"), ("event", "succeeded")]
    assert client.post("/api/staff/webhooks/deliveries/999999/replay",
                       headers=admin).status_code == 404
    with app.app_context():
        actions = set(db.session.scalars(select(AuditLog.action).where(
            AuditLog.action.like("webhook.%"))))
    assert actions == {"webhook.create", "webhook.replay", "webhook.test"}


def test_rotation_signs_with_old_and_new_secret_for_a_day(app, client, admin, receivers,
                                                          run_worker):
    """After a rotation a receiver still holding the old secret verifies, and so does one
    with the new; a day later only the new one signs. Secrets are never listed."""
    old_hook, new_hook = receivers(), receivers()
    ep = register(client, admin, old_hook.url)
    rotated = client.post(f"/api/staff/webhooks/{ep['id']}/rotate-secret", headers=admin)
    assert rotated.status_code == 200
    new_secret = rotated.get_json()["secret"]
    assert new_secret != ep["secret"] and rotated.get_json()["previous_secret_until"]
    old_hook.secret, new_hook.secret = ep["secret"], new_secret
    client.patch(f"/api/staff/webhooks/{ep['id']}", headers=admin,
                 json={"url": new_hook.url})
    second = register(client, admin, old_hook.url)  # old_hook's URL again, other secret
    client.delete(f"/api/staff/webhooks/{second['id']}", headers=admin)
    client.patch(f"/api/staff/webhooks/{ep['id']}", headers=admin, json={"url": old_hook.url})
    add_lead(app)
    run_worker()
    assert [r["verified"] for r in old_hook.received] == [True]
    with app.app_context():
        from core.webhooks.http import signature

        row = db.session.get(WebhookEndpoint, ep["id"])
        assert len(old_hook.received[0]["headers"]["webhook-signature"].split(" ")) == 2
        row.previous_secret_until = now_utc() - timedelta(seconds=1)
        db.session.commit()
        assert signature([new_secret], "msg_x", now_utc(), "{}").startswith("v1,")
    add_lead(app, company="Later Co")
    run_worker()
    assert [r["verified"] for r in old_hook.received] == [True, False]
    listed = client.get("/api/staff/webhooks", headers=admin).get_json()["items"]
    assert [e["id"] for e in listed] == [ep["id"]] and "secret" not in listed[0]
    assert "secret" not in client.get(f"/api/staff/webhooks/{ep['id']}",
                                      headers=admin).get_json()


def test_pause_holds_deliveries_until_resumed(app, client, admin, receivers, run_worker):
    """A paused endpoint gets nothing; resumed, it gets what waited, in order."""
    hook = receivers()
    ep = register(client, admin, hook.url)
    hook.secret = ep["secret"]
    paused = client.post(f"/api/staff/webhooks/{ep['id']}/pause", headers=admin)
    assert paused.get_json()["status"] == "paused"
    add_lead(app, won=True)
    run_worker()
    assert hook.received == []
    resumed = client.patch(f"/api/staff/webhooks/{ep['id']}", headers=admin,
                           json={"status": "active"})
    assert resumed.status_code == 200 and resumed.get_json()["status"] == "active"
    run_worker()
    assert [r["json"]["type"] for r in hook.received] == ["lead.created",
                                                          "lead.status_changed", "lead.won"]


def test_410_disables_at_once(app, client, admin, receivers, run_worker):
    """A 410 answer disables the endpoint at once; its other deliveries are cancelled."""
    hook = receivers(answers=[410])
    ep = register(client, admin, hook.url)
    add_lead(app, won=True)
    run_worker()
    assert len(hook.received) == 1
    got = client.get(f"/api/staff/webhooks/{ep['id']}", headers=admin).get_json()
    assert got["status"] == "disabled" and "410" in got["disabled_reason"]
    with app.app_context():
        states = sorted(db.session.scalars(select(WebhookDelivery.status)))
    assert states == ["cancelled", "cancelled", "failed"]
    assert client.post(f"/api/staff/webhooks/{ep['id']}/test",
                       headers=admin).status_code == 409


def test_three_days_of_failures_disable_and_email_the_admins(app, client, admin, receivers,
                                                             run_worker):
    """An endpoint whose attempts have failed for 3 days is disabled on the next failure,
    and every admin gets an e-mail naming it."""
    outbox = Outbox(app.config["STORAGE_DIR"] + "/outbox")
    outbox.clear()
    with app.app_context():
        make_staff("second.admin@example.com", ("admin",))
        make_staff("money@example.com", ("finance",))
    hook = receivers(answers=[503])
    ep = register(client, admin, hook.url)
    with app.app_context():
        db.session.execute(update(WebhookEndpoint).values(
            failing_since=now_utc() - timedelta(days=3, minutes=1)))
        db.session.commit()
    add_lead(app)
    run_worker()
    got = client.get(f"/api/staff/webhooks/{ep['id']}", headers=admin).get_json()
    assert got["status"] == "disabled" and "3 days" in got["disabled_reason"]
    to = sorted(m["To"] for m in outbox.messages())
    assert to == ["admin@example.com", "factory@example.com", "second.admin@example.com"]
    assert hook.url in outbox.messages()[0].get_body(("plain",)).get_content()
    outbox.clear()


def test_failures_within_three_days_keep_retrying(app, client, admin, receivers, run_worker):
    """A failing endpoint not yet failing for 3 days stays active; the delivery waits for
    its next try, and once every retry is used it has failed (the endpoint stays)."""
    hook = receivers(answers=[500])
    ep = register(client, admin, hook.url)
    add_lead(app)
    run_worker()
    for _ in range(len(app.config["WEBHOOK_RETRY_SECONDS"])):
        let_retries_fall_due(app)
        run_worker()
    assert len(hook.received) == 1 + len(app.config["WEBHOOK_RETRY_SECONDS"])
    with app.app_context():
        d = db.session.scalar(select(WebhookDelivery))
        assert (d.status, d.attempts) == ("failed", 8)
        assert db.session.get(WebhookEndpoint, ep["id"]).status == "active"


def test_long_answers_are_cut_and_slow_ones_time_out(app, receivers, ctx):
    """An answer of 100 KB is read up to 64 KB and logged as its first KB; an endpoint
    slower than the time limit is an attempt without a status code."""
    from core.webhooks.http import post

    big = receivers(body=b"x" * 100_000)
    res = post(big.url, ["whsec_" + "A" * 44], "msg_1", "{}", now_utc())
    assert res.status_code == 200 and len(res.excerpt) == 1024
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    held = []  # the accepted connection, kept open and never answered
    threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 1
    try:
        res = post(f"http://127.0.0.1:{server.getsockname()[1]}/", ["whsec_" + "A" * 44],
                   "msg_2", "{}", now_utc())
    finally:
        app.config["WEBHOOK_TIMEOUT_SECONDS"] = 10
        server.close()
    assert res.status_code is None and "Timeout" in res.error and res.duration_ms < 3000
