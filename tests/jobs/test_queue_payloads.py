"""RQ jobs travel as JSON (rules: "Jobs and retries": a pickled payload pushed into the queue is
refused, not run). Whoever can write to Redis must not get code execution in a worker."""

import os

from rq import Queue
from rq.job import Job
from rq.serializers import DefaultSerializer

from core.base.jobs import QUEUE_PDF, get_queue, redis_connection


class Boom:
    """Unpickling this runs ``os.system``: the classic pickle gadget."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickled_job_is_refused_not_run(app, run_worker, tmp_path):
    """A job written with RQ's pickle serializer, carrying a gadget, sits in the ``pdf``
    queue; the worker (JSON serializer) cannot decode it, runs nothing, lists it as
    failed and goes on to the next, well-formed job (it used to quit on it)."""
    marker = tmp_path / "pwned"
    with app.app_context():
        conn = redis_connection()
        evil = Queue(QUEUE_PDF, connection=conn, serializer=DefaultSerializer)
        job = evil.enqueue("os.system", Boom(str(marker)), job_id="evil")
        assert job.id == "evil"
        assert conn.hget("rq:job:evil", "data")  # the pickled payload is in Redis
        assert not marker.exists()  # (writing it ran nothing)
        ok = get_queue(QUEUE_PDF).enqueue("core.money.commissions.approve_due", job_id="fine")

    run_worker()

    assert not marker.exists(), "a pickled payload was executed by the worker"
    with app.app_context():
        conn = redis_connection()
        good = Job.fetch(ok.id, connection=conn, serializer=get_queue(QUEUE_PDF).serializer)
        assert good.get_status() == "finished"
        assert conn.lrange("rq:queue:pdf", 0, -1) == []  # nothing left to retry forever
        assert b"evil" in conn.zrange("rq:failed:pdf", 0, -1)  # failed, visible to staff


def test_a_json_job_naming_any_other_function_is_refused_not_run(app, run_worker, tmp_path):
    """A well-formed JSON job that names ``os.system`` (or ``subprocess.getoutput``, or one
    of our functions that is not a job) with a shell command is not run: it goes to the
    failed registry saying it is not one of our jobs, is not retried, and a callback named
    in a payload is never called; the worker then runs the next, real job."""
    from rq import Callback, Retry

    marker = tmp_path / "pwned"
    cmd = f"touch {marker}"
    with app.app_context():
        conn = redis_connection()
        q = get_queue(QUEUE_PDF)
        q.enqueue("os.system", cmd, job_id="evil-system", retry=Retry(max=3))
        q.enqueue("subprocess.getoutput", cmd, job_id="evil-subprocess")
        q.enqueue("core.accounts.users.create_staff", "x@example.com", "pw", "X", ["admin"],
                  job_id="evil-internal")
        q.enqueue("core.money.commissions.approve_due", job_id="evil-callback",
                  on_failure=Callback("os.system"), on_success=Callback("os.system"))
        ok = q.enqueue("core.money.commissions.approve_due", job_id="fine")

    run_worker()

    assert not marker.exists(), "a job named by its payload ran an arbitrary function"
    with app.app_context():
        conn = redis_connection()
        failed = {m.decode() for m in conn.zrange("rq:failed:pdf", 0, -1)}
        assert {"evil-system", "evil-subprocess", "evil-internal"} <= failed
        for job_id in ("evil-system", "evil-subprocess", "evil-internal"):
            job = Job.fetch(job_id, connection=conn, serializer=q.serializer)
            assert "is not one of SISO Partners' jobs; it was not run" in job.latest_result().exc_string
            assert job.retries_left in (0, None)
        assert conn.zcard("rq:scheduled:pdf") == 0  # nothing waits to be retried
        good = Job.fetch(ok.id, connection=conn, serializer=q.serializer)
        assert good.get_status() == "finished"
        from core.accounts.models import User
        from core.base.extensions import db

        assert db.session.scalar(db.select(User).where(User.email == "x@example.com")) is None
