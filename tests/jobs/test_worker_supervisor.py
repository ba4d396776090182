"""The worker's process model (rules: "Jobs and retries", "Template sandbox", jobs/worker.py): one
long-lived worker child under a supervisor serves job after job, and is replaced when it
dies, when it reaches ``WORKER_MAX_JOBS`` jobs, or on a warm shutdown finishes its job.

Real processes throughout: ``run_worker`` makes the test process the supervisor (burst),
the last tests run ``flask worker`` as production does.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import redis
from conftest import TEST_REDIS_URL, make_partner, make_staff_once
from sqlalchemy import insert
from test_worker_loss import ROOT, child_holding, wait_for, wait_until_serving, worker_children

from core.base.extensions import db
from core.base.timeutil import now_utc
from core.money.models import Commission, Statement
from core.money.statements import issue_statement


def issue_statements(app, count: int, lines: int = 3) -> list[int]:
    """``count`` partners with ``lines`` commissions this month, a statement each."""
    with app.app_context():
        start = now_utc().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        staff_id, ids = make_staff_once().id, []
        for n in range(count):
            p = make_partner(f"Sam Batch {n}", email=f"sam{n}@example.com")
            db.session.execute(insert(Commission), [
                dict(partner_id=p.id, type="base", amount_cents=10000 + i, rate_bps=2000,
                     status="approved", note=f"Client project {i}",
                     created_at=start + timedelta(seconds=i)) for i in range(lines)])
            db.session.commit()
            ids.append(issue_statement(p.id, start.year, start.month, staff_id).id)
        db.session.commit()
        db.session.remove()
    return ids


def statuses(app, ids) -> list[str]:
    with app.app_context():
        got = [db.session.get(Statement, i).status for i in ids]
        db.session.remove()
    return got


def worker_of(conn, job_id: str) -> str:
    """Name of the RQ worker that ran the job (RQ stores it on the job)."""
    return conn.hget(f"rq:job:{job_id}", "worker_name").decode()


def test_one_child_renders_every_job_of_a_burst(app, run_worker):
    """Two statements, one burst: both rendered by the same worker child (one fork for
    the burst, not one per job: that fork was the 60 ms a job of BENCHMARKS.md)."""
    ids = issue_statements(app, 2)
    report = run_worker()
    assert statuses(app, ids) == ["ready", "ready"]
    assert len(report.children) == 1 and report.lost_jobs == [], report
    conn = redis.Redis.from_url(TEST_REDIS_URL)
    (name,) = report.names
    assert [worker_of(conn, f"statement-{i}") for i in ids] == [name, name]
    # RQ's record of that worker (kept a minute after its death) has the child's pid.
    assert int(conn.hget(f"rq:worker:{name}", "pid")) == report.children[0] != os.getpid()


def test_child_is_replaced_after_max_jobs(app, run_worker):
    """With ``max_jobs=1`` every job gets a fresh child, and none is lost."""
    ids = issue_statements(app, 2)
    report = run_worker(max_jobs=1)
    assert statuses(app, ids) == ["ready", "ready"]
    conn = redis.Redis.from_url(TEST_REDIS_URL)
    names = [worker_of(conn, f"statement-{i}") for i in ids]
    assert names[0] != names[1] and set(names) <= set(report.names), (names, report)
    assert len(set(report.children)) == len(report.children) >= 2
    assert report.lost_jobs == []


def start_worker(app, db_url):
    env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=TEST_REDIS_URL,
               STORAGE_DIR=app.config["STORAGE_DIR"], SECRET_KEY=app.config["SECRET_KEY"],
               SISO_ENV="development", PYTHONWARNINGS="ignore", SOCKETIO_MESSAGE_QUEUE="")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker",
                             "--queues", "pdf"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(worker) -> tuple[int | None, str]:
    """SIGTERM (a deploy's warm shutdown); the group if it hangs. Returns (status, log)."""
    try:
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
            out = b""
    return worker.returncode, out.decode(errors="replace")


def test_child_killed_while_idle_is_replaced_and_the_next_job_renders(app, db_url):
    """The OOM killer takes the idle worker child: the supervisor starts a fresh one,
    clears the dead one from RQ's registry (no job was lost, so none is failed), and the
    next statement renders in the new child."""
    conn = redis.Redis.from_url(TEST_REDIS_URL)
    worker = start_worker(app, db_url)
    try:
        first = wait_until_serving(worker, conn, "pdf")
        (old_key,) = worker_children(conn, worker.pid)
        os.kill(first, signal.SIGKILL)
        fresh = wait_for(lambda: [p for p in worker_children(conn, worker.pid).values()
                                  if p != first], 60)
        assert fresh, "no fresh worker child"
        assert wait_for(lambda: not conn.sismember("rq:workers", old_key), 10), \
            "the dead child is still registered"
        assert wait_for(lambda: conn.exists("rq:scheduler-lock:pdf"), 20), "no scheduler"
        (sid,) = issue_statements(app, 1)
        assert wait_for(lambda: statuses(app, [sid]) == ["ready"], 60)
        holder = worker_of(conn, f"statement-{sid}")
        assert int(conn.hget(f"rq:worker:{holder}", "pid")) == fresh[0]
    finally:
        code, log = stop(worker)
    assert code == 0, log[-3000:]
    assert "Work-horse terminated unexpectedly" not in log, log[-3000:]
    assert "registered its death" in log, log[-3000:]


def test_warm_shutdown_finishes_the_job_in_hand(app, db_url):
    """SIGTERM to ``flask worker`` while its child renders a long statement: the render
    completes and is recorded, then both processes exit with status 0."""
    conn = redis.Redis.from_url(TEST_REDIS_URL)
    worker = start_worker(app, db_url)
    try:
        wait_until_serving(worker, conn, "pdf")
        (sid,) = issue_statements(app, 1, lines=800)
        assert wait_for(lambda: child_holding(conn, worker.pid, f"statement-{sid}"), 60)
        time.sleep(0.5)
    finally:
        code, log = stop(worker)
    assert code == 0, log[-3000:]
    assert statuses(app, [sid]) == ["ready"], log[-3000:]
    assert "Work-horse terminated unexpectedly" not in log, log[-3000:]
