"""Background jobs: the workers alive (host, pid, current job, last heartbeat), queue
lengths, failed jobs with their error, retry (admin, finance)."""

from flask import flash, redirect, url_for
from flask_admin import expose
from flask_wtf import FlaskForm
from redis.exceptions import RedisError

from admin.views.base import StaffView, refuse, staff_with
from core.base.jobs import QUEUES, get_queue

#: Failed jobs listed per queue.
FAILED_SHOWN = 50


def worker_heartbeats() -> list[dict]:
    """Every RQ worker registered in Redis (the worker children of ``flask worker``, on
    any host): ``name``, ``host``, ``pid``, ``state``, ``job`` (current job id or ""),
    ``last_seen`` (aware UTC of its last heartbeat), by host and pid. A worker whose
    heartbeat stops drops out of RQ's registry on its own. Raises ``RedisError``."""
    from datetime import UTC

    from rq import Worker
    from rq.serializers import JSONSerializer

    from core.base.jobs import redis_connection

    out = []
    for w in Worker.all(connection=redis_connection(), serializer=JSONSerializer):
        seen = w.last_heartbeat
        if seen is not None and seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)
        out.append({"name": w.name, "host": w.hostname or "", "pid": w.pid,
                    "state": str(w.get_state()), "job": w.get_current_job_id() or "",
                    "last_seen": seen})
    return sorted(out, key=lambda r: (r["host"], r["pid"] or 0))


class JobsView(StaffView):
    """What the workers are doing, and what failed."""

    roles = ("finance",)

    @expose("/")
    def index(self):
        from rq.registry import FailedJobRegistry, StartedJobRegistry

        rows, queues, workers = [], [], []
        try:
            workers = worker_heartbeats()
            for name in QUEUES:
                q = get_queue(name)
                failed = FailedJobRegistry(queue=q)
                queues.append({"name": name, "queued": q.count,
                               "running": StartedJobRegistry(queue=q).count,
                               "failed": failed.count})
                for job_id in failed.get_job_ids(0, FAILED_SHOWN - 1):
                    job = q.fetch_job(job_id)
                    if job is None:
                        continue
                    result = job.latest_result()
                    error = ((result.exc_string if result else "") or "").strip().splitlines()
                    rows.append({"id": job.id, "queue": name, "func": job.func_name,
                                 "args": job.args, "ended_at": job.ended_at,
                                 "error": error[-1] if error else ""})
        except RedisError:
            flash("Redis is not answering: jobs cannot be listed now.", "error")
        return self.render("admin/jobs.html", queues=queues, failed=rows, workers=workers,
                           form=FlaskForm())

    @expose("/retry/<queue>/<job_id>", methods=["POST"])
    def retry(self, queue: str, job_id: str):
        from rq.registry import FailedJobRegistry

        if not staff_with("finance"):
            return refuse()
        form = FlaskForm()
        if not form.validate_on_submit() or queue not in QUEUES:
            flash("That retry was not accepted; reload the page.", "error")
            return redirect(url_for(".index"))
        try:
            FailedJobRegistry(queue=get_queue(queue)).requeue(job_id)
            flash(f"Job {job_id} is queued again.", "success")
        except Exception as exc:  # rq raises InvalidJobOperationError / NoSuchJobError
            flash(f"Job {job_id} could not be retried: {exc}", "error")
        return redirect(url_for(".index"))
