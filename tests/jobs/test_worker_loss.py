"""A render job survives the loss of its work-horse (rules: "Jobs and retries": "jobs are idempotent and
retried on worker loss; a killed worker leaves no half-written file visible").

A real ``flask worker`` (a supervisor and its long-lived worker child, jobs/worker.py)
renders a long statement; the test SIGKILLs the worker child holding the job (found from
RQ's worker registry in Redis) in the middle of the render, as the kernel's OOM killer or
an operator would. The supervisor notices, fails the job the way RQ fails a dead
work-horse's, RQ retries it in a fresh child, and the statement ends up ready with a
complete PDF whose figures are right, and nothing half-written beside it.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import redis
from conftest import REPO, TEST_REDIS_URL, make_partner, make_staff_once
from sqlalchemy import insert
from test_materials import pdf_text

from core.base.extensions import db
from core.base.timeutil import now_utc
from core.money.cents import format_cents
from core.money.models import Commission, Statement
from core.money.statements import issue_statement

ROOT = str(REPO)
LINES = 1200  # about 30 pages: a few seconds of WeasyPrint, time enough to be killed in


def children_of(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def worker_children(queue_redis, supervisor: int) -> dict[str, int]:
    """Live RQ workers (Redis key → pid) whose process is a child of ``supervisor``."""
    kids = set(children_of(supervisor))
    found = {}
    for key in queue_redis.smembers("rq:workers"):
        raw = queue_redis.hget(key, "pid")
        if raw and int(raw) in kids and not queue_redis.hexists(key, "death"):
            found[key.decode()] = int(raw)
    return found


def child_holding(queue_redis, supervisor: int, job_id: str) -> int | None:
    """Pid of the supervisor's worker child whose current execution is ``job_id``
    (RQ 3 keeps a worker's executions in ``rq:worker:<name>:executions``)."""
    for key, pid in worker_children(queue_redis, supervisor).items():
        if any(m.decode().startswith(f"{job_id}:")
               for m in queue_redis.smembers(f"{key}:executions")):
            return pid
    return None


def wait_until_serving(worker, queue_redis, queue: str) -> int:
    """Wait until the supervisor's worker child listens and its RQ scheduler holds the
    queue's lock (it puts retries back after the back-off); return the child's pid."""
    assert wait_for(lambda: worker_children(queue_redis, worker.pid), 90), \
        "the worker did not start"
    assert wait_for(lambda: queue_redis.exists(f"rq:scheduler-lock:{queue}"), 20), \
        "no scheduler"
    (pid,) = worker_children(queue_redis, worker.pid).values()
    return pid


def wait_for(predicate, timeout: float):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return None


def test_killed_work_horse_is_retried_and_leaves_no_half_file(app, db_url):
    """Finance issues a 30-page statement; the worker child rendering it is killed
    mid-render; the PDF they then download is whole, with the partner's name, every page numbered and the
    month's earnings to the cent."""
    with app.app_context():
        p = make_partner("Kim Long", email="kim@example.com")
        start = now_utc().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        db.session.execute(insert(Commission), [
            dict(partner_id=p.id, type="base", amount_cents=10000 + i, rate_bps=2000,
                 status="approved", note=f"Client project {i}",
                 created_at=start + timedelta(seconds=i)) for i in range(LINES)])
        db.session.commit()
        pid, staff_id = p.id, make_staff_once().id
        db.session.remove()
    folder = os.path.join(app.config["STORAGE_DIR"], "statements")
    queue_redis = redis.Redis.from_url(TEST_REDIS_URL)

    env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=TEST_REDIS_URL,
               STORAGE_DIR=app.config["STORAGE_DIR"], SECRET_KEY=app.config["SECRET_KEY"],
               SISO_ENV="development", PYTHONWARNINGS="ignore")
    # A long-running worker, as `flask worker` runs in production (its scheduler puts
    # the retry back on the queue after RQ's back-off).
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker",
                               "--queues", "pdf"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        first_child = wait_until_serving(worker, queue_redis, "pdf")
        with app.app_context():
            st = issue_statement(pid, start.year, start.month, staff_id)
            db.session.commit()
            sid, earned = st.id, st.earned_cents
            db.session.remove()
        assert earned == sum(10000 + i for i in range(LINES))

        def started():
            raw = queue_redis.hget(f"rq:job:statement-{sid}", "status")
            return raw == b"started" and child_holding(queue_redis, worker.pid,
                                                       f"statement-{sid}")

        horse = wait_for(started, 60)
        assert horse == first_child, "the render did not run in the worker child"
        time.sleep(1.0)  # well inside WeasyPrint's layout of 30 pages
        with app.app_context():
            assert db.session.get(Statement, sid).status == "pending"
            db.session.remove()
        os.kill(horse, signal.SIGKILL)

        def ready():
            with app.app_context():
                status = db.session.get(Statement, sid).status
                db.session.remove()
            return status == "ready"

        done = wait_for(ready, 90)
        replacement = worker_children(queue_redis, worker.pid)
        worker.send_signal(signal.SIGTERM)  # warm shut-down, as a deploy does
        out, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:  # the whole group: an orphaned scheduler keeps its lock
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
    log = out.decode()
    assert "Work-horse terminated unexpectedly" in log, log[-3000:]
    assert done, log[-3000:]
    # A fresh child took over; the dead one's registration was cleaned up.
    assert replacement and horse not in replacement.values(), (replacement, log[-3000:])

    with app.app_context():
        st = db.session.get(Statement, sid)
        assert st.status == "ready", (st.status, st.error)
        assert st.error == ""  # the lost attempt is not shown once the retry succeeded
        path = os.path.join(app.config["STORAGE_DIR"], st.file_path)
        db.session.remove()
    with open(path, "rb") as f:
        pages, _ = pdf_text(f.read())
    text = "\n".join(pages)
    assert len(pages) > 10
    assert "Kim Long" in text and f"Page {len(pages)} of {len(pages)}" in text
    assert format_cents(earned) in text
    assert [n for n in os.listdir(folder) if n.endswith(".tmp")] == []
