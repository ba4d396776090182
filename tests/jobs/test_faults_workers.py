"""A worker killed with SIGKILL in the middle of a Stripe transfer (rules: "Jobs and retries"
(nothing lost)": "the job is retried or marked failed visibly; the payout is paid
exactly once").

A real long-running ``flask worker`` (supervisor and worker child, jobs/worker.py) sends
an approved payout to the fake Stripe server (tests/stripe_fake.py), which is slow on
``POST /v1/transfers`` (its ``delay`` control). While the worker child holding the job
waits for Stripe's answer the test SIGKILLs it, as the OOM killer or an operator would.
Two worlds, one test each:

- ``before``: Stripe made the transfer and the answer was lost with the worker child;
- ``after``: the request never got through (the fake drops it when the client hangs up).

Either way the supervisor notices the dead child and fails the job as RQ fails a dead
work-horse's, the fresh child's RQ scheduler puts the job back after the back-off (``RQ_RETRY_INTERVALS`` made short), the retry resumes the ``processing``
payout with the same idempotency key ``payout-<id>``, and the payout ends paid once:
one transfer at Stripe, one ``PayoutTransfer`` row, the commissions paid, the balance 0.

When every try loses its worker child, RQ shows the job failed, the payout stays
``processing`` (a transfer may exist, so it is neither failed nor sent under a new key)
and the sweeper (``core.money.payouts.sweep_payouts``) resumes it with the same key.
"""

import os
import signal
import subprocess
import sys
from datetime import timedelta

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
from test_worker_loss import ROOT, child_holding, wait_for, wait_until_serving

from core.base.extensions import db
from core.base.models import AuditLog
from core.community.models import Notification
from core.money.models import Commission, Payout, PayoutTransfer
from core.money.payouts import (
    PAYOUT_JOB_RETRIES,
    approve_payout,
    available_cents,
    create_payout,
    sweep_payouts,
)

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


def approved_payout_setup(app, fake):
    """An onboarded partner with a requested Stripe payout and a finance user; returns
    the ids and figures the assertions need."""
    with app.app_context():
        partner = onboarded_partner_with_balance(fake)
        finance = make_staff("finance@example.com", ("finance",))
        payout = create_payout(partner.id, partner.user_id)
        db.session.commit()
        info = dict(pid=payout.id, amount=payout.amount_cents, partner_id=partner.id,
                    user_id=partner.user_id, account=partner.stripe_account_id,
                    finance_id=finance.id)
        db.session.remove()
    return info


def approve(app, info) -> None:
    from core.accounts.models import User

    with app.app_context():
        approve_payout(info["pid"], db.session.get(User, info["finance_id"]))
        db.session.commit()
        db.session.remove()


def kill_horse_while_waiting_on_stripe(app, fake, worker, queue_redis, info) -> None:
    """Wait until the transfer request sits in the slow fake, then SIGKILL the worker
    child holding the payout's job (from RQ's worker registry in Redis)."""
    assert wait_for(lambda: control(fake, "state")["delayed_waiting"] == 1, 60), \
        "the transfer request never reached the fake Stripe"
    horse = child_holding(queue_redis, worker.pid, f"payout-{info['pid']}")
    assert horse, "no worker child holds the payout's job"
    with app.app_context():
        assert db.session.get(Payout, info["pid"]).status == "processing"  # before money
        db.session.remove()
    os.kill(horse, signal.SIGKILL)


def payout_status(app, pid) -> str:
    with app.app_context():
        status = db.session.get(Payout, pid).status
        db.session.remove()
    return status


def stop_worker(worker) -> str:
    """Warm shut-down (as a deploy does); the whole group if it hangs. Returns its log."""
    try:
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:  # the whole group: a stray scheduler keeps its lock
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
            out = b""
    return out.decode(errors="replace")


def assert_paid_once(app, fake, info) -> dict:
    """Paid exactly once: one transfer at Stripe under ``payout-<id>``, one
    ``PayoutTransfer`` row, commissions paid, balance 0, one audit row, one notice."""
    pid, amount = info["pid"], info["amount"]
    state = control(fake, "state")
    assert state["transfers_count"] == 1, state
    transfer = state["transfers"][0]
    assert transfer["idempotency_key"] == f"payout-{pid}"
    assert transfer["amount"] == amount and transfer["destination"] == info["account"]
    with app.app_context():
        row = db.session.get(Payout, pid)
        assert row.status == "paid", (row.status, row.failure_message)
        assert row.reference == transfer["id"] and row.amount_cents == amount
        rows = db.session.scalars(select(PayoutTransfer).where(
            PayoutTransfer.payout_id == pid)).all()
        assert [(r.transfer_id, r.idempotency_key, r.amount_cents) for r in rows] == \
            [(transfer["id"], f"payout-{pid}", amount)]
        commissions = db.session.scalars(select(Commission).where(
            Commission.partner_id == info["partner_id"])).all()
        assert {(c.status, c.payout_id) for c in commissions} == {("paid", pid)}
        assert sum(c.amount_cents for c in commissions) == amount
        assert available_cents(info["partner_id"]) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "payout.paid", AuditLog.object_id == pid)) == 1
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == info["user_id"], Notification.kind == "payout")) == 1
        db.session.remove()
    return state


@pytest.mark.parametrize("execute", ["before", "after"])
def test_work_horse_killed_while_waiting_on_stripe_pays_once(
        stripe_app, fake_stripe, db_url, monkeypatch, execute):  # noqa: F811
    """Finance approves a payout; its work-horse is SIGKILLed while Stripe is answering
    (``before``: Stripe made the transfer; ``after``: it never got the request); the
    retried job pays it exactly once, with the same idempotency key."""
    info = approved_payout_setup(stripe_app, fake_stripe)
    pid = info["pid"]
    queue_redis = redis.Redis.from_url(TEST_REDIS_URL)
    # The retry schedule is stored on the job when approval enqueues it (this process).
    monkeypatch.setitem(stripe_app.config, "RQ_RETRY_INTERVALS", (1, 1, 1))
    control(fake_stripe, "fail", {"mode": "delay", "count": 1, "delay": STRIPE_DELAY,
                                  "path_prefix": "/v1/transfers", "method": "POST",
                                  "execute": execute})

    worker = start_worker(stripe_app, db_url, fake_stripe)
    try:
        wait_until_serving(worker, queue_redis, "payouts")
        approve(stripe_app, info)
        kill_horse_while_waiting_on_stripe(stripe_app, fake_stripe, worker, queue_redis, info)
        assert control(fake_stripe, "state")["transfers_count"] == \
            (1 if execute == "before" else 0)
        finished = wait_for(lambda: payout_status(stripe_app, pid) in ("paid", "failed"), 60)
        # The job commits the payout paid, then RQ marks it finished: wait for both.
        job_done = wait_for(lambda: queue_redis.hget(f"rq:job:payout-{pid}", "status")
                            == b"finished", 30)
        job_status = queue_redis.hget(f"rq:job:payout-{pid}", "status")
    finally:
        log = stop_worker(worker)
    assert "Work-horse terminated unexpectedly" in log, log[-3000:]
    assert finished, log[-3000:]
    assert job_done, (job_status, log[-3000:])

    state = assert_paid_once(stripe_app, fake_stripe, info)
    if execute == "before":  # the retry got Stripe's stored answer back
        assert state["abandoned_count"] == 1 and state["replays_count"] == 1, state
    else:  # the lost request did nothing; the retry made the transfer
        assert state["dropped_count"] == 1 and state["replays_count"] == 0, state


def test_work_horse_killed_on_every_try_then_the_sweeper_pays_once(
        stripe_app, fake_stripe, db_url, monkeypatch):  # noqa: F811
    """Every try of the job loses its work-horse while Stripe (which made the transfer on
    the first) is answering: RQ gives up and shows the job failed, the payout stays
    ``processing`` (never failed while a transfer may exist, never paid twice), and the
    sweeper resumes it with the same key: paid once, with the first transfer."""
    info = approved_payout_setup(stripe_app, fake_stripe)
    pid = info["pid"]
    queue_redis = redis.Redis.from_url(TEST_REDIS_URL)
    monkeypatch.setitem(stripe_app.config, "RQ_RETRY_INTERVALS", (1, 1, 1))
    tries = 1 + PAYOUT_JOB_RETRIES
    control(fake_stripe, "fail", {"mode": "delay", "count": tries, "delay": STRIPE_DELAY,
                                  "path_prefix": "/v1/transfers", "method": "POST",
                                  "execute": "before"})

    worker = start_worker(stripe_app, db_url, fake_stripe)
    try:
        wait_until_serving(worker, queue_redis, "payouts")
        approve(stripe_app, info)
        for n in range(1, tries + 1):
            kill_horse_while_waiting_on_stripe(stripe_app, fake_stripe, worker, queue_redis,
                                               info)
            assert wait_for(lambda n=n: control(fake_stripe, "state")["abandoned_count"] == n,
                            10)
        assert wait_for(lambda: queue_redis.hget(f"rq:job:payout-{pid}", "status")
                        == b"failed", 30), "RQ did not give the job up"
        state = control(fake_stripe, "state")
        assert state["transfers_count"] == 1 and state["replays_count"] == tries - 1, state
        assert payout_status(stripe_app, pid) == "processing"

        # The worker's ticker runs the sweeper every 5 minutes; it leaves payouts approved
        # in the last 2 minutes to their own job: let those minutes pass, then sweep.
        with stripe_app.app_context():
            row = db.session.get(Payout, pid)
            row.approved_at = row.approved_at - timedelta(minutes=3)
            db.session.commit()
            assert sweep_payouts() == {"enqueued": 1, "failed": 0}
        finished = wait_for(lambda: payout_status(stripe_app, pid) == "paid", 60)
        with stripe_app.app_context():  # and a second sweep finds nothing to do
            assert sweep_payouts() == {"enqueued": 0, "failed": 0}
    finally:
        log = stop_worker(worker)
    assert log.count("Work-horse terminated unexpectedly") == tries, log[-3000:]
    assert finished, log[-3000:]
    state = assert_paid_once(stripe_app, fake_stripe, info)
    assert state["replays_count"] == tries, state  # every later try got the first answer


def test_retry_intervals_come_from_the_environment(monkeypatch):
    """``RQ_RETRY_INTERVALS`` (used above to make the back-off short) is read as whole
    seconds; a bad value stops the app with a sentence naming the variable."""
    from core.base.config import Config

    monkeypatch.setenv("RQ_RETRY_INTERVALS", "1, 2,30")
    assert Config.from_env()["RQ_RETRY_INTERVALS"] == (1, 2, 30)
    monkeypatch.delenv("RQ_RETRY_INTERVALS")
    assert Config.from_env()["RQ_RETRY_INTERVALS"] == (5, 30, 120)
    for bad in ("soon", "5,-1"):
        monkeypatch.setenv("RQ_RETRY_INTERVALS", bad)
        with pytest.raises(RuntimeError, match="RQ_RETRY_INTERVALS"):
            Config.from_env()
