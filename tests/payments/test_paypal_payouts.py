"""PayPal Payouts against a real HTTP fake of PayPal (tests/paypal_fake.py), with the
real worker and Redis: one batch per payout whatever happens, items ending SUCCESS,
UNCLAIMED then RETURNED, FAILED or BLOCKED, verified and de-duplicated webhooks."""

import json

import pytest
from conftest import make_partner, make_staff
from paypal_fake import control, start_fake_paypal, stop_fake_paypal

from core.base.extensions import db
from core.base.models import AuditLog
from core.community.models import Notification
from core.money.models import Commission, Payout, PayoutTransfer
from core.money.payouts import approve_payout, available_cents, create_payout, send_payout
from core.payments.methods import set_payout_method
from core.payments.models import PaypalEvent
from core.payments.paypal import poll_paypal_payouts

RECEIVER = "lena@example.com"


@pytest.fixture(scope="module")
def fake_paypal():
    proc, base = start_fake_paypal()
    yield base
    stop_fake_paypal(proc)


@pytest.fixture
def paypal_app(app, fake_paypal, monkeypatch):
    """The app with PayPal on, pointed at the fake (reset per test; items settle at
    once unless a test says otherwise)."""
    control(fake_paypal, "reset", {})
    control(fake_paypal, "config", {"pending_seconds": 0, "webhook_id": "WH-SISO"})
    monkeypatch.setitem(app.config, "PAYPAL_CLIENT_ID", "client")
    monkeypatch.setitem(app.config, "PAYPAL_CLIENT_SECRET", "secret")
    monkeypatch.setitem(app.config, "PAYPAL_API_BASE", fake_paypal)
    monkeypatch.setitem(app.config, "PAYPAL_WEBHOOK_ID", "WH-SISO")
    monkeypatch.setitem(app.config, "PAYPAL_TIMEOUT_SECONDS", 2)
    from core.payments import paypal

    paypal._tokens.clear()
    return app


def paypal_payout(receiver=RECEIVER, approve=True):
    """A $600.00 payout of a partner paid by PayPal, approved by finance (committed).
    Returns ``(payout id, partner id)``."""
    partner = make_partner("Lena Schmidt", deals=3)
    db.session.execute(db.update(Commission).where(Commission.partner_id == partner.id)
                       .values(status="approved"))
    set_payout_method(partner, {"method": "paypal", "paypal": receiver}, partner.user_id)
    db.session.commit()
    finance = make_staff()
    payout = create_payout(partner.id, finance.id)
    if approve:
        approve_payout(payout.id, finance)
    db.session.commit()
    return payout.id, partner.id


def deliver(client, base, tamper=False):
    """Post the fake's queued webhook deliveries to the app; returns the answers."""
    out = []
    for ev in control(base, "events")["events"]:
        body = ev["body"]
        if tamper:
            body = body.replace("SUCCESS", "SUCCESS ")
        resp = client.post("/webhooks/paypal", data=body, headers=ev["headers"])
        out.append((resp.status_code, resp.get_json(), ev))
    return out


def test_one_batch_paid_by_webhook_duplicate_changes_nothing(paypal_app, fake_paypal,
                                                             run_worker, client):
    with paypal_app.app_context():
        pid, partner_id = paypal_payout()
        assert db.session.get(Payout, pid).gateway == "paypal"
    run_worker()
    state = control(fake_paypal, "state")
    assert len(state["batches"]) == 1
    batch = state["batches"][0]
    assert batch["sender_batch_id"] == f"payout-{pid}"
    assert batch["items"][0]["amount"] == {"value": "600.00", "currency": "USD"}
    assert batch["items"][0]["receiver"] == RECEIVER
    with paypal_app.app_context():
        payout = db.session.get(Payout, pid)
        assert payout.status == "processing"
        row = db.session.scalar(db.select(PayoutTransfer).where(PayoutTransfer.payout_id == pid))
        assert row.transfer_id == batch["payout_batch_id"]
        send_payout(pid)  # a retried job: nothing more is sent
        db.session.commit()
    assert len(control(fake_paypal, "state")["batches"]) == 1
    answers = deliver(client, fake_paypal)
    assert [(s, j["result"]) for s, j, _ in answers] == [(200, "paid")]
    _, _, ev = answers[0]
    again = client.post("/webhooks/paypal", data=ev["body"], headers=ev["headers"])
    assert again.get_json()["result"] == "duplicate"
    with paypal_app.app_context():
        payout = db.session.get(Payout, pid)
        assert payout.status == "paid" and payout.reference
        assert db.session.scalar(db.select(db.func.count()).select_from(PaypalEvent)) == 1
        assert {c.status for c in db.session.scalars(db.select(Commission).where(
            Commission.partner_id == partner_id))} == {"paid"}


def test_bad_signature_is_refused_and_audited(paypal_app, fake_paypal, run_worker, client):
    with paypal_app.app_context():
        pid, _ = paypal_payout()
    run_worker()
    answers = deliver(client, fake_paypal, tamper=True)
    assert [s for s, _, _ in answers] == [400]
    resp = client.post("/webhooks/paypal", data=json.dumps({"id": "WH-1", "event_type": "x"}),
                       headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    with paypal_app.app_context():
        assert db.session.get(Payout, pid).status == "processing"
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditLog).where(
            AuditLog.action == "paypal.webhook.refused")) == 2


def test_unclaimed_then_returned_puts_money_back_and_tells_partner(paypal_app, fake_paypal,
                                                                   run_worker, client):
    control(fake_paypal, "outcome", {"receiver": RECEIVER, "outcome": "UNCLAIMED"})
    with paypal_app.app_context():
        pid, partner_id = paypal_payout()
    run_worker()
    assert [j["result"] for _, j, _ in deliver(client, fake_paypal)] == ["unclaimed"]
    with paypal_app.app_context():
        assert db.session.get(Payout, pid).status == "processing"
        assert available_cents(partner_id) == 0
        assert db.session.scalar(db.select(Notification).where(
            Notification.title == "Claim your PayPal payout")) is not None
    control(fake_paypal, "advance", {"seconds": 31 * 24 * 3600})
    assert [j["result"] for _, j, _ in deliver(client, fake_paypal)] == ["failed"]
    with paypal_app.app_context():
        payout = db.session.get(Payout, pid)
        assert payout.status == "failed" and "not claimed within 30 days" in \
            payout.failure_message
        assert available_cents(partner_id) == 60000
        note = db.session.scalar(db.select(Notification).where(
            Notification.title == "Payout failed"))
        assert note is not None and "not claimed" in note.body


@pytest.mark.parametrize("outcome, words", [("FAILED", "could not pay the receiver"),
                                            ("BLOCKED", "blocked")])
def test_failed_and_blocked_found_by_polling(paypal_app, fake_paypal, run_worker,
                                             outcome, words):
    """No webhook arrives: the poller reads the batch and returns the money."""
    control(fake_paypal, "outcome", {"receiver": RECEIVER, "outcome": outcome})
    with paypal_app.app_context():
        pid, partner_id = paypal_payout()
    run_worker()
    with paypal_app.app_context():
        assert poll_paypal_payouts() == {"checked": 1, "changed": 1}
        payout = db.session.get(Payout, pid)
        assert payout.status == "failed" and words in payout.failure_message
        assert available_cents(partner_id) == 60000
        assert poll_paypal_payouts() == {"checked": 0, "changed": 0}


def test_timeout_after_paypal_made_the_batch_replays_same_request_id(paypal_app,
                                                                     fake_paypal):
    """PayPal makes the batch but the answer is lost: the retry (same PayPal-Request-Id)
    gets the stored answer; one batch."""
    control(fake_paypal, "fail", {"mode": "timeout", "count": 1, "delay": 3,
                                  "after_commit": True, "method": "POST",
                                  "path_prefix": "/v1/payments/payouts"})
    with paypal_app.app_context():
        pid, _ = paypal_payout()
        from core.money.gateways import TransientGatewayError

        with pytest.raises(TransientGatewayError):
            send_payout(pid)
        db.session.rollback()
        assert db.session.get(Payout, pid).status == "processing"
        assert send_payout(pid) == "processing"
        db.session.commit()
        row = db.session.scalar(db.select(PayoutTransfer).where(PayoutTransfer.payout_id == pid))
    batches = control(fake_paypal, "state")["batches"]
    assert len(batches) == 1 and row.transfer_id == batches[0]["payout_batch_id"]


def test_duplicate_sender_batch_id_is_refused_by_paypal_and_never_resent(paypal_app,
                                                                        fake_paypal):
    """PayPal forgot the request id: resending meets its sender_batch_id check, which
    refuses; the payout stays processing for finance, nothing is paid twice."""
    control(fake_paypal, "fail", {"mode": "timeout", "count": 1, "delay": 3,
                                  "after_commit": True, "method": "POST",
                                  "path_prefix": "/v1/payments/payouts"})
    with paypal_app.app_context():
        pid, _ = paypal_payout()
        with pytest.raises(Exception):
            send_payout(pid)
        db.session.rollback()
        control(fake_paypal, "forget_request_ids", {})
        assert send_payout(pid) == "processing"
        db.session.commit()
        assert db.session.scalar(db.select(AuditLog).where(
            AuditLog.action == "payout.paypal_duplicate")) is not None
    assert len(control(fake_paypal, "state")["batches"]) == 1


def test_paypal_down_past_every_retry_fails_visibly(paypal_app, fake_paypal, run_worker,
                                                    monkeypatch):
    from core.base.jobs import set_app

    set_app(paypal_app)
    monkeypatch.setitem(paypal_app.config, "RQ_RETRY_INTERVALS", (0, 0, 0))
    control(fake_paypal, "fail", {"mode": "429", "count": 100, "method": "POST",
                                  "path_prefix": "/v1/payments/payouts"})
    with paypal_app.app_context():
        pid, partner_id = paypal_payout()
    run_worker()
    assert control(fake_paypal, "state")["batches"] == []
    with paypal_app.app_context():
        payout = db.session.get(Payout, pid)
        assert payout.status == "failed" and f"batch payout-{pid}" in payout.failure_message
        assert available_cents(partner_id) == 60000


def test_expired_oauth_token_is_fetched_again(paypal_app, fake_paypal):
    control(fake_paypal, "config", {"token_ttl": 3600})
    with paypal_app.app_context():
        pid, _ = paypal_payout(approve=False)
        from core.payments.paypal import _token

        _token()
        control(fake_paypal, "advance", {"seconds": 7200})  # the cached token died at PayPal
        finance = db.session.scalar(db.select(__import__(
            "core.accounts.models", fromlist=["User"]).User).where(
            db.text("email = 'finance@example.com'")))
        approve_payout(pid, finance)
        db.session.commit()
        assert send_payout(pid) == "processing"
        db.session.commit()
    assert control(fake_paypal, "state")["tokens_issued"] == 2


def test_approval_run_sends_one_paypal_batch_others_one_by_one(paypal_app, fake_paypal,
                                                              run_worker, client):
    """Finance ticks three PayPal payouts and a bank one and approves them together: one
    PayPal batch with three items (sender_batch_id payout-<first>), the bank one waits for
    its reference; webhooks then pay each PayPal payout."""
    from conftest import csrf_from, login

    with paypal_app.app_context():
        finance = make_staff()
        ids = []
        for n, receiver in enumerate(("a@example.com", "b@example.com", "c@example.com",
                                      None)):
            partner = make_partner(f"Run Partner {n}", deals=1)
            db.session.execute(db.update(Commission).where(
                Commission.partner_id == partner.id).values(status="approved"))
            details = {"method": "paypal", "paypal": receiver} if receiver else {
                "method": "bank_transfer", "account_holder": "Bank Person",
                "iban": "DE89370400440532013000"}
            set_payout_method(partner, details, partner.user_id)
            db.session.commit()
            ids.append(create_payout(partner.id, finance.id).id)
            db.session.commit()
    login(client, "finance@example.com")
    token = csrf_from(client.get("/admin/payouts/").get_data(as_text=True))
    resp = client.post("/admin/payouts/action/", data={
        "action": "approve", "rowid": [str(i) for i in ids], "csrf_token": token})
    assert resp.status_code == 302
    run_worker()
    batches = control(fake_paypal, "state")["batches"]
    assert len(batches) == 1 and batches[0]["sender_batch_id"] == f"payout-{ids[0]}"
    assert sorted(i["sender_item_id"] for i in batches[0]["items"]) == \
        [f"payout-{i}" for i in ids[:3]]
    results = [j["result"] for _, j, _ in deliver(client, fake_paypal)]
    assert results == ["paid", "paid", "paid"]
    with paypal_app.app_context():
        statuses = [db.session.get(Payout, i).status for i in ids]
        assert statuses == ["paid", "paid", "paid", "processing"]
        assert db.session.get(Payout, ids[3]).gateway == "bank_transfer"
        keys = {r.batch_key for r in db.session.scalars(db.select(PayoutTransfer))}
        assert keys == {f"payout-{ids[0]}"}


def test_method_changed_while_processing_finishes_on_paypal(paypal_app, fake_paypal,
                                                           run_worker, client):
    """The partner switches to bank transfer while their PayPal payout is processing: the
    payout finishes on PayPal."""
    with paypal_app.app_context():
        pid, partner_id = paypal_payout()
    run_worker()
    with paypal_app.app_context():
        from core.program.models import Partner

        partner = db.session.get(Partner, partner_id)
        set_payout_method(partner, {"method": "bank_transfer", "account_holder": "Lena",
                                    "iban": "DE89370400440532013000"}, partner.user_id)
        db.session.commit()
    assert [j["result"] for _, j, _ in deliver(client, fake_paypal)] == ["paid"]
    with paypal_app.app_context():
        payout = db.session.get(Payout, pid)
        assert (payout.status, payout.gateway, payout.payee) == ("paid", "paypal", RECEIVER)
