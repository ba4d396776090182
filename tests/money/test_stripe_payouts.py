"""Payouts through Stripe Connect against a real HTTP fake of Stripe (tests/stripe_fake.py):
onboarding, one transfer per payout whatever happens, failures, webhooks."""

import hashlib
import hmac
import json
import time
import urllib.request
from datetime import timedelta

import pytest
from conftest import make_partner, make_staff
from stripe_fake import start_fake_stripe, stop_fake_stripe

from core.base.extensions import db
from core.base.models import AuditLog
from core.money.models import Commission, Payout, PayoutTransfer, StripeEvent
from core.money.payouts import approve_payout, available_cents, create_payout
from core.money.stripe_connect import onboarding_link, refresh_account

WEBHOOK_SECRET = "whsec_test_siso"


@pytest.fixture(scope="module")
def fake_stripe():
    proc, base = start_fake_stripe()
    yield base
    stop_fake_stripe(proc)


@pytest.fixture
def stripe_app(app, fake_stripe, monkeypatch):
    """The app with the Stripe gateway on, pointed at the fake server (reset per test)."""
    control(fake_stripe, "reset", {})
    monkeypatch.setitem(app.config, "STRIPE_API_KEY", "sk_test_siso")
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", fake_stripe)
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    return app


def control(base, what, body=None):
    req = urllib.request.Request(f"{base}/_control/{what}",
                                 data=None if body is None else json.dumps(body).encode(),
                                 method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read() or b"{}")


def onboarded_partner_with_balance(fake_stripe, cents_deals=3):
    """A partner with approved commissions and a finished Stripe onboarding."""
    partner = make_partner("Sarah Thompson", deals=cents_deals)
    url = onboarding_link(partner, "http://app/return", "http://app/refresh")
    urllib.request.urlopen(url, timeout=5).read()  # the partner fills in Stripe's form
    assert refresh_account(partner) is True
    db.session.execute(db.update(Commission).where(Commission.partner_id == partner.id)
                       .values(status="approved"))
    db.session.commit()
    return partner


def approved_payout(fake_stripe):
    """An onboarded partner's $600.00 payout, created and approved by finance, committed
    (its transfer job is queued). Returns ``(payout, partner)`` (in the caller's app
    context)."""
    partner = onboarded_partner_with_balance(fake_stripe)
    finance = make_staff()
    payout = create_payout(partner.id, finance.id)
    approve_payout(payout.id, finance)
    db.session.commit()
    return payout, partner


def test_onboarding_then_one_transfer(stripe_app, fake_stripe, run_worker):
    """A partner onboards with Stripe; finance approves their payout; the worker makes one
    transfer keyed payout-<id>; running the job again (a retry) sends nothing more."""
    with stripe_app.app_context():
        partner = onboarded_partner_with_balance(fake_stripe)
        finance = make_staff()
        payout = create_payout(partner.id, finance.id)
        db.session.commit()
        assert payout.gateway == "stripe" and payout.amount_cents == 60000
        approve_payout(payout.id, finance)
        db.session.commit()
        pid, partner_id = payout.id, partner.id
    run_worker()
    with stripe_app.app_context():
        payout = db.session.get(Payout, pid)
        assert payout.status == "paid" and payout.reference.startswith("tr_")
        from core.money.payouts import send_payout

        assert send_payout(pid) == "paid"  # a retried job finds it paid
        assert db.session.scalar(db.select(db.func.count()).select_from(PayoutTransfer)) == 1
        statuses = set(db.session.scalars(db.select(Commission.status)
                                          .where(Commission.partner_id == partner_id)))
        assert statuses == {"paid"}
    state = control(fake_stripe, "state")
    assert state["transfers_count"] == 1
    assert state["transfers"][0]["idempotency_key"] == f"payout-{pid}"
    assert state["transfers"][0]["amount"] == 60000


def test_stripe_500s_are_retried_with_the_same_key(stripe_app, fake_stripe, run_worker):
    """Stripe answering 500 twice, then a crash-like repeat of the job: still exactly one
    transfer, because every attempt carries the same idempotency key."""
    with stripe_app.app_context():
        payout, partner = approved_payout(fake_stripe)
        pid = payout.id
    control(fake_stripe, "fail", {"mode": "500", "count": 2, "path_prefix": "/v1/transfers"})
    run_worker()
    with stripe_app.app_context():
        assert db.session.get(Payout, pid).status == "paid"
    assert control(fake_stripe, "state")["transfers_count"] == 1


def test_stripe_timing_out_after_it_made_the_transfer_pays_once(stripe_app, fake_stripe,
                                                                run_worker, monkeypatch):
    """Stripe makes the transfer but its answer never arrives in time (twice): the client
    gives up after ``STRIPE_TIMEOUT_SECONDS`` and asks again with the same idempotency
    key, Stripe replays the first answer, and the payout is paid with one transfer."""
    monkeypatch.setitem(stripe_app.config, "STRIPE_TIMEOUT_SECONDS", 0.5)
    with stripe_app.app_context():
        payout, partner = approved_payout(fake_stripe)
        pid = payout.id
    control(fake_stripe, "fail", {"mode": "timeout", "count": 2, "delay": 1.5,
                                  "after_commit": True, "path_prefix": "/v1/transfers"})
    run_worker()
    state = control(fake_stripe, "state")
    assert state["failures_injected"] == 2
    assert state["transfers_count"] == 1
    with stripe_app.app_context():
        payout = db.session.get(Payout, pid)
        assert payout.status == "paid"
        assert payout.reference == state["transfers"][0]["id"]


def test_stripe_never_answering_fails_the_payout_visibly(stripe_app, fake_stripe, run_worker,
                                                         monkeypatch):
    """Every transfer attempt times out without Stripe doing anything: after the
    library's retries and RQ's, the payout is failed with a message finance can act on,
    the money is back in the partner's balance, and nothing was transferred."""
    from core.base.jobs import set_app

    set_app(stripe_app)
    monkeypatch.setitem(stripe_app.config, "STRIPE_TIMEOUT_SECONDS", 0.3)
    monkeypatch.setitem(stripe_app.config, "RQ_RETRY_INTERVALS", (0, 0, 0))
    with stripe_app.app_context():
        payout, partner = approved_payout(fake_stripe)
        pid, partner_id = payout.id, partner.id
    control(fake_stripe, "fail", {"mode": "timeout", "count": 100, "delay": 0.6,
                                  "path_prefix": "/v1/transfers"})
    run_worker()
    state = control(fake_stripe, "state")
    assert state["transfers_count"] == 0
    assert state["failures_injected"] == 4 * 3  # 4 job runs x 3 HTTP attempts each
    with stripe_app.app_context():
        payout = db.session.get(Payout, pid)
        assert payout.status == "failed"
        assert "Stripe did not confirm the transfer" in payout.failure_message
        assert available_cents(partner_id) == 60000


def test_stripe_down_leaves_payout_processing_then_retry_pays_once(stripe_app, fake_stripe,
                                                                   run_worker):
    """Called outside RQ (no retries left to decide on), a run that hits a Stripe outage
    raises and the payout stays processing with the money untouched; the retry later pays
    it exactly once. (Under RQ the last retry fails the payout: see below.)"""
    with stripe_app.app_context():
        payout, partner = approved_payout(fake_stripe)
        pid = payout.id
    control(fake_stripe, "fail", {"mode": "429", "count": 20, "path_prefix": "/v1/transfers"})
    from core.money.payouts import send_payout

    with stripe_app.app_context():
        from core.money.gateways import TransientGatewayError

        with pytest.raises(TransientGatewayError):
            send_payout(pid)
        assert db.session.get(Payout, pid).status == "processing"
    control(fake_stripe, "reset", {})
    # the account vanished with the reset: recreate state as Stripe would still have it
    with stripe_app.app_context():
        partner = db.session.get(Payout, pid).partner
        partner.stripe_account_id = None
        db.session.commit()
        urllib.request.urlopen(onboarding_link(partner, "http://a/r", "http://a/f")).read()
        refresh_account(partner)
        db.session.commit()
        assert send_payout(pid) == "paid"
        assert send_payout(pid) == "paid"
    assert control(fake_stripe, "state")["transfers_count"] == 1


def test_refused_transfer_fails_and_returns_balance(stripe_app, fake_stripe):
    """When Stripe refuses the transfer the payout is failed with Stripe's message and the
    commissions are back in the partner's available balance."""
    from core.money.payouts import send_payout

    with stripe_app.app_context():
        payout, partner = approved_payout(fake_stripe)
        partner.stripe_account_id = "acct_does_not_exist"
        db.session.commit()
        pid, partner_id = payout.id, partner.id
        assert send_payout(pid) == "failed"
        db.session.expire_all()  # the job ran in its own session
        payout = db.session.get(Payout, pid)
        assert payout.status == "failed" and "Stripe refused" in payout.failure_message
        assert available_cents(partner_id) == 60000
    assert control(fake_stripe, "state")["transfers_count"] == 0


def test_no_payout_method_cannot_be_approved(stripe_app):
    """Finance cannot approve a Stripe payout for a partner who never onboarded: a clear
    error, an audit row of the attempt, and the payout stays requested."""
    from core.base.errors import ValidationError

    with stripe_app.app_context():
        partner = make_partner("Mike Reyes", deals=3)
        db.session.execute(db.update(Commission).values(status="approved"))
        finance = make_staff()
        payout = create_payout(partner.id, finance.id)
        db.session.commit()
        with pytest.raises(ValidationError, match="no payout method"):
            approve_payout(payout.id, finance)
        db.session.commit()
        assert db.session.get(Payout, payout.id).status == "requested"
        assert db.session.scalar(db.select(AuditLog.action).where(
            AuditLog.action == "payout.approve.refused")) is not None


def signed(payload: dict, secret=WEBHOOK_SECRET, at=None):
    body = json.dumps(payload).encode()
    ts = int(at or time.time())
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={ts},v1={sig}"


def event(evt_id, etype, obj):
    return {"id": evt_id, "object": "event", "type": etype, "data": {"object": obj},
            "api_version": "2024-06-20", "created": int(time.time())}


def test_webhooks_verified_deduplicated_and_applied(stripe_app, fake_stripe, run_worker,
                                                    client):
    """A bad signature or an old timestamp gets 400 and changes nothing; account.updated
    and transfer.reversed are applied once even when Stripe delivers them twice."""
    with stripe_app.app_context():
        payout, partner = approved_payout(fake_stripe)
        pid, acct = payout.id, partner.stripe_account_id
    run_worker()
    with stripe_app.app_context():
        transfer_id = db.session.get(Payout, pid).reference

    body, sig = signed(event("evt_1", "transfer.reversed", {"id": transfer_id}))
    bad = client.post("/webhooks/stripe", data=body, headers={"Stripe-Signature": sig + "0"})
    assert bad.status_code == 400
    old_body, old_sig = signed(event("evt_1", "transfer.reversed", {"id": transfer_id}),
                               at=time.time() - 3600)
    assert client.post("/webhooks/stripe", data=old_body,
                       headers={"Stripe-Signature": old_sig}).status_code == 400
    assert client.post("/webhooks/stripe", data=body).status_code == 400
    with stripe_app.app_context():
        assert db.session.get(Payout, pid).status == "paid"

    for expected in ("transfer_reversed", "duplicate"):
        resp = client.post("/webhooks/stripe", data=body, headers={"Stripe-Signature": sig})
        assert resp.status_code == 200 and resp.get_json()["result"] == expected
    with stripe_app.app_context():
        payout = db.session.get(Payout, pid)
        assert payout.status == "reversed"
        assert available_cents(payout.partner_id) == 60000

    body, sig = signed(event("evt_2", "account.updated", {"id": acct, "payouts_enabled": False}))
    assert client.post("/webhooks/stripe", data=body,
                       headers={"Stripe-Signature": sig}).get_json()["result"] == "account_updated"
    with stripe_app.app_context():
        assert db.session.get(Payout, pid).partner.stripe_payouts_enabled is False
        assert db.session.scalar(db.select(db.func.count()).select_from(StripeEvent)) == 2


def test_transfer_failing_past_every_retry_fails_the_payout(stripe_app, fake_stripe,
                                                            run_worker, monkeypatch):
    """Stripe answers every transfer attempt with 429 (rate limited). The worker tries the
    first run and its three RQ retries (each with the library's own network retries, the
    same idempotency key throughout), then gives up visibly: the payout is failed with a
    readable message naming the key to look for in Stripe, the commissions are back in
    the partner's balance, the partner is told, and nothing was transferred. The sweeper
    leaves the failed payout alone."""
    from core.base.jobs import set_app
    from core.community.models import Notification
    from core.money.payouts import sweep_payouts

    set_app(stripe_app)

    monkeypatch.setitem(stripe_app.config, "RQ_RETRY_INTERVALS", (0, 0, 0))  # no waiting
    with stripe_app.app_context():
        payout, partner = approved_payout(fake_stripe)
        pid, partner_id, user_id = payout.id, partner.id, partner.user_id
    control(fake_stripe, "fail", {"mode": "429", "count": 100, "path_prefix": "/v1/transfers"})
    run_worker()
    state = control(fake_stripe, "state")
    assert state["failures_injected"] == 4 * 3  # 4 job runs x 3 HTTP attempts each
    assert state["transfers_count"] == 0
    with stripe_app.app_context():
        payout = db.session.get(Payout, pid)
        assert payout.status == "failed" and payout.failed_at is not None
        assert "Stripe did not confirm the transfer" in payout.failure_message
        assert f"payout-{pid}" in payout.failure_message
        assert available_cents(partner_id) == 60000
        assert set(db.session.scalars(db.select(Commission.status).where(
            Commission.partner_id == partner_id))) == {"approved"}
        assert db.session.scalar(db.select(Commission.id).where(
            Commission.payout_id == pid)) is None
        titles = list(db.session.scalars(db.select(Notification.title).where(
            Notification.user_id == user_id)))
        assert "Payout failed" in titles
        assert db.session.scalar(db.select(AuditLog.id).where(
            AuditLog.action == "payout.failed", AuditLog.object_id == pid)) is not None
        from core.base.timeutil import now_utc

        db.session.execute(db.update(Payout).where(Payout.id == pid).values(
            approved_at=now_utc() - timedelta(minutes=10)))  # old enough to be swept
        db.session.commit()
    assert sweep_payouts() == {"enqueued": 0, "failed": 0}
    with stripe_app.app_context():
        from core.base.jobs import get_queue

        assert get_queue("payouts").count == 0


def test_sweeper_resends_recent_lost_jobs_and_fails_old_ones(stripe_app, fake_stripe,
                                                             run_worker):
    """Three Stripe payouts are stuck without a job (the worker died): one approved
    (never sent), one processing for 10 minutes, one processing for 13 hours. The sweeper
    resends the first two (same key; each is then paid once) and fails the old one with a
    message to check Stripe, since Stripe forgets idempotency keys after 24 hours and a
    resend could pay twice. Its commissions are back in the balance; it is never resent."""
    from core.base.jobs import get_queue, set_app
    from core.base.timeutil import now_utc
    from core.money.payouts import sweep_payouts

    set_app(stripe_app)  # the sweeper job runs in this app
    with stripe_app.app_context():
        finance = make_staff()
        ids = []
        for _ in range(3):
            partner = onboarded_partner_with_balance(fake_stripe)
            payout = create_payout(partner.id, finance.id)
            approve_payout(payout.id, finance)
            db.session.commit()
            ids.append(payout.id)
        get_queue("payouts").empty()  # the jobs were lost
        now = now_utc()
        for pid, status, age in ((ids[0], "approved", timedelta(minutes=10)),
                                 (ids[1], "processing", timedelta(minutes=10)),
                                 (ids[2], "processing", timedelta(hours=13))):
            db.session.execute(db.update(Payout).where(Payout.id == pid).values(
                status=status, approved_at=now - age))
        db.session.commit()
        old_partner = db.session.get(Payout, ids[2]).partner_id

    assert sweep_payouts() == {"enqueued": 2, "failed": 1}
    # A second sweep while those jobs wait: nothing is enqueued twice, nothing re-failed.
    assert sweep_payouts() == {"enqueued": 0, "failed": 0}
    with stripe_app.app_context():
        assert sorted(get_queue("payouts").job_ids) == sorted(
            [f"payout-{ids[0]}", f"payout-{ids[1]}"])
        old = db.session.get(Payout, ids[2])
        assert old.status == "failed"
        assert "check the Stripe dashboard" in old.failure_message
        assert f"payout-{ids[2]}" in old.failure_message
        assert available_cents(old_partner) == 60000
    run_worker()
    with stripe_app.app_context():
        assert [db.session.get(Payout, pid).status for pid in ids] == ["paid", "paid", "failed"]
    state = control(fake_stripe, "state")
    assert sorted(t["idempotency_key"] for t in state["transfers"]) == sorted(
        [f"payout-{ids[0]}", f"payout-{ids[1]}"])
    assert sweep_payouts() == {"enqueued": 0, "failed": 0}


def test_refused_webhooks_leave_an_audit_row_and_change_nothing(stripe_app, client):
    """A webhook with a bad signature, one with an old (replayed) timestamp and one with no
    signature are each refused with 400 and recorded in the audit log with the reason;
    nothing else is stored (no event, the payout untouched)."""
    body, sig = signed(event("evt_9", "account.updated", {"id": "acct_x"}))
    old_body, old_sig = signed(event("evt_9", "account.updated", {"id": "acct_x"}),
                               at=time.time() - 3600)
    forged = sig.split(",v1=")[0] + ",v1=" + "0" * 64
    for data, headers in ((body, {"Stripe-Signature": forged}),
                          (old_body, {"Stripe-Signature": old_sig}),
                          (body, {})):
        resp = client.post("/webhooks/stripe", data=data, headers=headers)
        assert resp.status_code == 400, resp.get_data(as_text=True)
    with stripe_app.app_context():
        rows = list(db.session.scalars(db.select(AuditLog).order_by(AuditLog.id)))
        assert [(r.action, r.object_type, r.actor_id) for r in rows] == [
            ("stripe.webhook.refused", "stripe_event", None)] * 3
        reasons = [json.loads(r.after)["refused"] for r in rows]
        assert reasons == ["bad signature", "old timestamp", "missing signature"]
        assert db.session.scalar(db.select(db.func.count()).select_from(StripeEvent)) == 0


def test_a_signed_webhook_without_id_or_data_is_a_400(stripe_app, client):
    """A correctly signed event with no ``id``, no ``data``, or ``data`` that holds no
    object is refused with 400 naming what is missing (never 500); nothing is stored."""
    good = event("evt_shape", "account.updated", {"id": "acct_x"})
    for broken, missing in (({k: v for k, v in good.items() if k != "id"}, "id"),
                            ({k: v for k, v in good.items() if k != "data"}, "data.object"),
                            (dict(good, data={"previous": 1}), "data.object"),
                            (dict(good, data="x"), "data.object"),
                            (dict(good, type=None), "type")):
        body, sig = signed(broken)
        resp = client.post("/webhooks/stripe", data=body, headers={"Stripe-Signature": sig})
        assert resp.status_code == 400, (missing, resp.get_data(as_text=True))
        assert missing in resp.get_json()["error"]["message"]
    with stripe_app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(StripeEvent)) == 0
