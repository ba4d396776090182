"""Background jobs: queue lengths, failed jobs with their error, retry (admin, finance)."""

from flask import flash, redirect, url_for
from flask_admin import BaseView, expose
from flask_wtf import FlaskForm
from redis.exceptions import RedisError

from admin.views.base import refuse, staff_with
from core.base.jobs import QUEUES, get_queue

#: Failed jobs listed per queue.
FAILED_SHOWN = 50


class JobsView(BaseView):
    """What the workers are doing, and what failed."""

    def is_accessible(self):
        return staff_with("finance")

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    @expose("/")
    def index(self):
        from rq.registry import FailedJobRegistry, StartedJobRegistry

        rows, queues = [], []
        try:
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
        return self.render("admin/jobs.html", queues=queues, failed=rows, form=FlaskForm())

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
