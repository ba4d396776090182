"""RQ jobs travel as JSON (issue 7 "Faults": a pickled payload pushed into the queue is
refused, not run). Whoever can write to Redis must not get code execution in a worker."""

import os

from rq import Queue
from rq.job import Job
from rq.serializers import DefaultSerializer

from core.tasks import QUEUE_PDF, get_queue, redis_connection


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
        ok = get_queue(QUEUE_PDF).enqueue("jobs.scheduled.approve_due", job_id="fine")

    run_worker()

    assert not marker.exists(), "a pickled payload was executed by the worker"
    with app.app_context():
        conn = redis_connection()
        good = Job.fetch(ok.id, connection=conn, serializer=get_queue(QUEUE_PDF).serializer)
        assert good.get_status() == "finished"
        assert conn.lrange("rq:queue:pdf", 0, -1) == []  # nothing left to retry forever
        assert b"evil" in conn.zrange("rq:failed:pdf", 0, -1)  # failed, visible to staff
