"""The scheduler of ``flask worker`` (jobs/scheduler.py): owned by the supervisor, it
survives Redis outages and its own death, so a payout's retry runs soon after Redis comes
back (rules: "Jobs and retries").

Real pieces: a Redis server of the test's own (AOF on, so its data outlives a restart,
as a production Redis does), a real ``flask worker`` on it, the fake Stripe server, and
the database of the suite.
"""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import redis
from conftest import free_port, make_staff
from test_stripe_payouts import (  # noqa: F401  (fixtures)
    control,
    fake_stripe,
    onboarded_partner_with_balance,
    stripe_app,
)
from test_worker_loss import ROOT, children_of, wait_for, worker_children

from core.accounts.models import User
from core.base.extensions import db
from core.money.models import Payout
from core.money.payouts import approve_payout, create_payout


class OwnRedis:
    """A redis-server on a free port with an append-only file, stoppable and restartable
    with its data."""

    def __init__(self, folder):
        self.folder, self.port, self.proc = str(folder), free_port(), None

    def start(self):
        self.proc = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", self.folder, "--appendonly", "yes", "--appendfsync", "always",
             "--save", "", "--logfile", os.path.join(self.folder, "redis.log")])
        assert wait_for(self.ping, 10), "own redis did not start"

    def ping(self):
        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
        except redis.RedisError:
            return False

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)  # SHUTDOWN: the AOF is on disk
        self.proc.wait(10)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    if server.proc.poll() is None:
        server.stop()


def start_worker(app, db_url, redis_url, stripe_base):
    env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=redis_url,
               STORAGE_DIR=app.config["STORAGE_DIR"], SECRET_KEY=app.config["SECRET_KEY"],
               SISO_ENV="development", PYTHONWARNINGS="ignore", STRIPE_API_KEY="sk_test_siso",
               STRIPE_API_BASE=stripe_base, RQ_RETRY_INTERVALS="5,5,5",
               SOCKETIO_MESSAGE_QUEUE="")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker",
                             "--queues", "payouts"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def live_schedulers(conn) -> dict[str, int]:
    """RQ schedulers registered in Redis whose process is alive: name → pid."""
    found = {}
    for key in conn.keys("rq:scheduler:*"):
        pid = int(conn.hget(key, "pid") or 0)
        if pid and os.path.exists(f"/proc/{pid}") and \
                open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
            found[key.decode()] = pid
    return found


def test_a_retry_due_during_a_redis_outage_runs_soon_after_redis_returns(
        stripe_app, fake_stripe, db_url, own_redis):  # noqa: F811
    """Stripe refuses a payout's transfer, so its job waits 5 s for a retry; Redis then
    goes away for longer than that and comes back. The retry runs within 30 s of Redis's
    return and the payout is paid once. Throughout, the supervisor keeps exactly one
    scheduler alive: killed, it is back within seconds; the worker child killed, the
    scheduler is not duplicated."""
    with stripe_app.app_context():
        partner = onboarded_partner_with_balance(fake_stripe)
        finance = make_staff("finance@example.com", ("finance",))
        payout = create_payout(partner.id, partner.user_id)
        db.session.commit()
        pid, finance_id = payout.id, finance.id
    conn = redis.Redis.from_url(own_redis.url)
    worker = start_worker(stripe_app, db_url, own_redis.url, fake_stripe)
    try:
        assert wait_for(lambda: len(live_schedulers(conn)) == 1 and
                        conn.exists("rq:scheduler-lock:payouts"), 60), "no scheduler"
        control(fake_stripe, "fail", {"mode": "500", "count": 3,
                                      "path_prefix": "/v1/transfers"})
        # Finance approves; the transfer job goes to the worker's Redis.
        live = stripe_app.extensions["siso_redis"]
        stripe_app.extensions["siso_redis"] = conn
        try:
            with stripe_app.app_context():
                approve_payout(pid, db.session.get(User, finance_id))
                db.session.commit()
        finally:
            stripe_app.extensions["siso_redis"] = live
        assert wait_for(lambda: conn.zcard("rq:scheduled:payouts") == 1, 60), \
            "the first try did not fail into a scheduled retry"
        own_redis.stop()
        time.sleep(8)  # the retry falls due while Redis is away
        own_redis.start()
        back = time.monotonic()

        def paid():
            with stripe_app.app_context():
                status = db.session.get(Payout, pid).status
                db.session.remove()
            return status == "paid"

        assert wait_for(paid, 30), "the retry did not run within 30 s of Redis's return"
        assert time.monotonic() - back < 30
        assert control(fake_stripe, "state")["transfers_count"] == 1

        # Exactly one scheduler, and the supervisor owns it: killed, it comes back.
        (first,) = live_schedulers(conn).values()
        assert first in children_of(worker.pid)
        os.kill(first, signal.SIGKILL)
        assert wait_for(lambda: set(live_schedulers(conn).values()) - {first}, 15), \
            "the scheduler was not restarted"
        (second,) = live_schedulers(conn).values()
        assert second in children_of(worker.pid)
        # The worker child killed: replaced, and still one scheduler, the same one.
        (child,) = worker_children(conn, worker.pid).values()
        os.kill(child, signal.SIGKILL)
        assert wait_for(lambda: set(worker_children(conn, worker.pid).values()) - {child}, 30)
        time.sleep(2)
        assert list(live_schedulers(conn).values()) == [second]
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(60)
    assert wait_for(lambda: not live_schedulers(conn), 10), "a scheduler outlived the worker"


def test_the_sweeper_releases_a_retry_no_scheduler_put_back(stripe_app, fake_stripe,  # noqa: F811
                                                             run_worker):
    """A payout job left in the scheduled registry well past its time (no scheduler was
    running) counts as stuck: the sweeper puts it on its queue and the worker pays."""
    from datetime import UTC, datetime, timedelta

    from rq import Retry
    from rq.registry import ScheduledJobRegistry

    from core.base.jobs import QUEUE_PAYOUTS, get_queue
    from core.money.payouts import sweep_payouts

    with stripe_app.app_context():
        partner = onboarded_partner_with_balance(fake_stripe)
        finance = make_staff("finance@example.com", ("finance",))
        payout = create_payout(partner.id, partner.user_id)
        db.session.commit()
        pid = payout.id
        approve_payout(pid, db.session.get(User, finance.id))
        db.session.commit()
        # The approval's job, replaced by a retry that fell due a minute ago and that no
        # scheduler put back; the approval is older than the sweeper's grace.
        q = get_queue(QUEUE_PAYOUTS)
        q.fetch_job(f"payout-{pid}").delete()
        q.enqueue_at(datetime.now(UTC) - timedelta(minutes=1), "core.money.payouts.send_payout",
                     pid, job_id=f"payout-{pid}", retry=Retry(max=1))
        row = db.session.get(Payout, pid)
        row.approved_at = row.approved_at - timedelta(minutes=3)
        db.session.commit()
        assert ScheduledJobRegistry(QUEUE_PAYOUTS, connection=q.connection).count == 1
        assert q.count == 0
        sweep_payouts()
        assert q.count == 1
        assert ScheduledJobRegistry(QUEUE_PAYOUTS, connection=q.connection).count == 0
    run_worker()
    with stripe_app.app_context():
        assert db.session.get(Payout, pid).status == "paid"
    assert control(fake_stripe, "state")["transfers_count"] == 1
