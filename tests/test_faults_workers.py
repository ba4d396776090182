"""A worker killed with SIGKILL in the middle of a Stripe transfer (issue 7 "Faults
(nothing lost)": "the job is retried or marked failed visibly; the payout is paid
exactly once").

A real long-running ``flask worker`` sends an approved payout to the fake Stripe server
(tests/stripe_fake.py), which is slow on ``POST /v1/transfers`` (its ``delay`` control).
While the work-horse waits for Stripe's answer the test SIGKILLs it, as the OOM killer
or an operator would. Two worlds, one test each:

- ``before``: Stripe made the transfer and the answer was lost with the work-horse;
- ``after``: the request never got through (the fake drops it when the client hangs up).

Either way RQ notices the dead work-horse, its scheduler puts the job back after the
back-off (``RQ_RETRY_INTERVALS`` made short), the retry resumes the ``processing``
payout with the same idempotency key ``payout-<id>``, and the payout ends paid once:
one transfer at Stripe, one ``PayoutTransfer`` row, the commissions paid, the balance 0.
"""

import os
import signal
import subprocess
import sys

import pytest
import redis
from conftest import TEST_REDIS_URL, make_staff
from sqlalchemy import func, select
from test_stripe_payouts import (  # noqa: F401  (fixtures)
    control,
    fake_stripe,
    onboarded_partner_with_balance,
    stripe_app,
)
from test_worker_loss import ROOT, children_of, wait_for

from core.extensions import db
from core.models import AuditLog, Commission, Notification, Payout, PayoutTransfer
from core.payouts import approve_payout, available_cents, create_payout

#: Seconds the fake holds the transfer request: far longer than the test needs to act.
STRIPE_DELAY = 60


def start_worker(app, db_url, stripe_base):
    """A real ``flask worker`` on the payouts queue, talking to the fake Stripe."""
    env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=TEST_REDIS_URL,
               STORAGE_DIR=app.config["STORAGE_DIR"], SECRET_KEY=app.config["SECRET_KEY"],
               SISO_ENV="development", PYTHONWARNINGS="ignore",
               STRIPE_API_KEY="sk_test_siso", STRIPE_API_BASE=stripe_base,
               RQ_RETRY_INTERVALS="1,1,1", SOCKETIO_MESSAGE_QUEUE="")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker",
                             "--queues", "payouts"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


@pytest.mark.parametrize("execute", ["before", "after"])
def test_work_horse_killed_while_waiting_on_stripe_pays_once(
        stripe_app, fake_stripe, db_url, monkeypatch, execute):  # noqa: F811
    """Finance approves a payout; its work-horse is SIGKILLed while Stripe is answering
    (``before``: Stripe made the transfer; ``after``: it never got the request); the
    retried job pays it exactly once, with the same idempotency key."""
    with stripe_app.app_context():
        partner = onboarded_partner_with_balance(fake_stripe)
        finance = make_staff("finance@example.com", ("finance",))
        payout = create_payout(partner.id, partner.user_id)
        db.session.commit()
        pid, amount = payout.id, payout.amount_cents
        partner_id, user_id = partner.id, partner.user_id
        account = partner.stripe_account_id
        finance_id = finance.id
        db.session.remove()
    queue_redis = redis.Redis.from_url(TEST_REDIS_URL)
    # The retry schedule is stored on the job when approval enqueues it (this process).
    monkeypatch.setitem(stripe_app.config, "RQ_RETRY_INTERVALS", (1, 1, 1))
    control(fake_stripe, "fail", {"mode": "delay", "count": 1, "delay": STRIPE_DELAY,
                                  "path_prefix": "/v1/transfers", "method": "POST",
                                  "execute": execute})

    worker = start_worker(stripe_app, db_url, fake_stripe)
    out = b""
    try:
        def listening():
            return any(queue_redis.hget(key.decode(), "pid") == str(worker.pid).encode()
                       for key in queue_redis.keys("rq:worker:*"))

        assert wait_for(listening, 90), "the worker did not start"
        assert wait_for(lambda: children_of(worker.pid), 10), "no scheduler child"
        scheduler = set(children_of(worker.pid))

        with stripe_app.app_context():
            from core.models import User

            approve_payout(pid, db.session.get(User, finance_id))
            db.session.commit()
            db.session.remove()

        # The work-horse's transfer request is in the fake, waiting for its answer.
        assert wait_for(lambda: control(fake_stripe, "state")["delayed_waiting"] == 1, 60), \
            "the transfer request never reached the fake Stripe"
        horses = set(children_of(worker.pid)) - scheduler
        assert horses, "no work-horse to kill"
        with stripe_app.app_context():
            row = db.session.get(Payout, pid)
            assert row.status == "processing"  # committed before any money moved
            db.session.remove()
        state = control(fake_stripe, "state")
        assert state["transfers_count"] == (1 if execute == "before" else 0)
        for horse in horses:
            os.kill(horse, signal.SIGKILL)

        def paid():
            with stripe_app.app_context():
                status = db.session.get(Payout, pid).status
                db.session.remove()
            return status in ("paid", "failed")

        finished = wait_for(paid, 60)
        job_status = queue_redis.hget(f"rq:job:payout-{pid}", "status")
        worker.send_signal(signal.SIGTERM)  # warm shut-down, as a deploy does
        out, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:  # the whole group: an orphaned scheduler keeps its lock
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
    log = out.decode(errors="replace")
    assert "Work-horse terminated unexpectedly" in log, log[-3000:]
    assert finished, log[-3000:]
    assert job_status == b"finished", (job_status, log[-3000:])

    # Stripe holds exactly one transfer, made with the payout's own key.
    state = control(fake_stripe, "state")
    assert state["transfers_count"] == 1, state
    transfer = state["transfers"][0]
    assert transfer["idempotency_key"] == f"payout-{pid}"
    assert transfer["amount"] == amount and transfer["destination"] == account
    if execute == "before":  # the retry got Stripe's stored answer back
        assert state["abandoned_count"] == 1 and state["replays_count"] == 1, state
    else:  # the lost request did nothing; the retry made the transfer
        assert state["dropped_count"] == 1 and state["replays_count"] == 0, state

    with stripe_app.app_context():
        row = db.session.get(Payout, pid)
        assert row.status == "paid", (row.status, row.failure_message)
        assert row.reference == transfer["id"] and row.amount_cents == amount
        # Nothing half-recorded: one transfer row, the commissions paid with it.
        rows = db.session.scalars(select(PayoutTransfer).where(
            PayoutTransfer.payout_id == pid)).all()
        assert [(r.transfer_id, r.idempotency_key, r.amount_cents) for r in rows] == \
            [(transfer["id"], f"payout-{pid}", amount)]
        commissions = db.session.scalars(select(Commission).where(
            Commission.partner_id == partner_id)).all()
        assert {(c.status, c.payout_id) for c in commissions} == {("paid", pid)}
        assert sum(c.amount_cents for c in commissions) == amount
        assert available_cents(partner_id) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "payout.paid", AuditLog.object_id == pid)) == 1
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.kind == "payout")) == 1
        db.session.remove()


def test_retry_intervals_come_from_the_environment(monkeypatch):
    """``RQ_RETRY_INTERVALS`` (used above to make the back-off short) is read as whole
    seconds; a bad value stops the app with a sentence naming the variable."""
    from core.config import Config

    monkeypatch.setenv("RQ_RETRY_INTERVALS", "1, 2,30")
    assert Config.from_env()["RQ_RETRY_INTERVALS"] == (1, 2, 30)
    monkeypatch.delenv("RQ_RETRY_INTERVALS")
    assert Config.from_env()["RQ_RETRY_INTERVALS"] == (5, 30, 120)
    for bad in ("soon", "5,-1"):
        monkeypatch.setenv("RQ_RETRY_INTERVALS", bad)
        with pytest.raises(RuntimeError, match="RQ_RETRY_INTERVALS"):
            Config.from_env()
