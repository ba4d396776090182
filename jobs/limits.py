"""Resource limits for render jobs, and visible failures (rules: "Template sandbox").

:class:`LimitedWorker` is the in-process RQ worker (an ``rq.SimpleWorker``: no fork per
job) that runs in the long-lived worker child of ``flask worker``'s supervisor
(:func:`jobs.worker.run_supervised`, docs/architecture.md). While a render job lays out
its PDF (:func:`render_limits`), that child (never the supervisor, nor a web process)
caps its address space with ``RLIMIT_AS`` at its size then plus ``PDF_MEMORY_LIMIT_MB``
(default 1,024 MB); the time limit is RQ's ``job_timeout`` (``PDF_JOB_TIMEOUT``, default
120 s, set at enqueue), enforced by SimpleWorker's death penalty (``SIGALRM`` in the
child's main thread) and, should C code never return to Python, by the supervisor
killing the child 60 s past the limit (as RQ's forking worker kills its work-horse). A
runaway template therefore ends in ``MemoryError``, ``JobTimeoutException`` or a dead
worker child.

Whatever the way a render job fails, :meth:`LimitedWorker.handle_job_failure` (called in
the child for an exception, in the supervisor for a dead child) records a sentence for
people on the row (statement, material render, template preview, batch ZIP) and, once
RQ will not retry it, notifies the person who asked. Hitting a limit is deterministic,
so such a job is not retried; a lost worker child is (``Retry`` at enqueue). A child
whose job hit a limit finishes recording the failure, then exits cleanly
(:attr:`LimitedWorker.recycle_reason`), and the supervisor starts a fresh one for the
next job: a renderer interrupted by ``MemoryError`` or an alarm may be left damaged.
"""

import datetime
import logging
import re

from rq import SimpleWorker
from rq.exceptions import DeserializationError

from core.base.jobs import load_jobs
from core.base.pdf import DEFAULT_MEMORY_LIMIT_MB

log = logging.getLogger(__name__)


def friendly_error(exc_string: str, timeout: int | None, memory_mb: int,
                   ran_seconds: float = 0.0) -> tuple[str, bool]:
    """Turn RQ's failure text into ``(sentence, hit_a_limit)``.

    ``ran_seconds`` is how long the job ran. A job that failed at its time limit counts
    as timed out whatever the exception says: RQ's alarm can land inside WeasyPrint's C
    calls (Pango through cffi), which then surface as ``SystemError: error return
    without exception set`` instead of ``JobTimeoutException``."""
    text = exc_string or ""
    timed_out = bool(timeout and timeout > 0 and ran_seconds >= timeout - 0.25)
    if "JobTimeoutException" in text or (timed_out and "MemoryError" not in text):
        return (f"Stopped: rendering took longer than the {timeout} s time limit. "
                "The template or its data is too large.", True)
    if "MemoryError" in text:
        return (f"Stopped: rendering needed more than the {memory_mb} MB memory limit. "
                "The template or its data is too large.", True)
    m = re.search(r"Work-horse terminated unexpectedly.*?(\(signal \d+\))?;", text)
    if m:
        return ("Stopped: the rendering process ended unexpectedly "
                f"{m.group(1) or ''} (killed, or out of memory).".replace("  ", " "), False)
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else "Rendering failed."
    if last.startswith("jinja2.exceptions."):
        last = "The template could not be rendered: " + last.partition(": ")[2]
    return (last[:500], False)


class LimitedWorker(SimpleWorker):
    """In-process RQ worker that records every render failure on its row, does not retry
    a job that hit a limit, and stops after such a job or after ``max_jobs`` jobs so
    that its supervisor starts a fresh process (see the module docstring; the memory cap
    itself is :func:`render_limits`, entered by the render jobs).

    The supervisor also builds one (never run) with a dead child's worker name, to fail
    that child's job through the same :meth:`handle_job_failure`."""

    #: The memory limit quoted in error messages, in MB (set from the app's config).
    memory_limit_mb = DEFAULT_MEMORY_LIMIT_MB
    #: Jobs after which the worker stops so a fresh process takes over (0 or None: no
    #: bound; ``WORKER_MAX_JOBS``).
    max_jobs: int | None = None
    #: Why this worker stopped to be replaced (``None`` while it should carry on).
    recycle_reason: str | None = None
    #: Jobs this worker has executed.
    jobs_done = 0

    def execute_job(self, job, queue):
        """Run the job in this process (SimpleWorker), then ask the work loop to stop if
        this process should be replaced (a limit was hit, or ``max_jobs`` reached): the
        loop ends before the next dequeue, so no job waits on a process that is going."""
        super().execute_job(job, queue)
        self.jobs_done += 1
        if self.recycle_reason is None and self.max_jobs and self.jobs_done >= self.max_jobs:
            self.recycle_reason = f"served {self.jobs_done} jobs (WORKER_MAX_JOBS)"
        if self.recycle_reason is not None:
            self.log.info("Worker %s: %s; stopping so a fresh process takes the next job",
                          self.name, self.recycle_reason)
            self._stop_requested = True

    def handle_job_failure(self, job, queue, started_job_registry=None, exc_string="",
                           execution=None):
        """Record the failure on the render's row, then let RQ retry or fail the job.

        A payload that does not decode as JSON (a pickled job pushed into Redis by
        someone else) has no function name to look at: it is failed like any other job,
        never run, and the worker carries on."""
        try:
            kind = getattr(load_jobs().get(job.func_name), "render_kind", None)
        except DeserializationError:
            kind = None
        message, hit_limit = friendly_error(exc_string, job.timeout, self.memory_limit_mb,
                                            _ran_seconds(job))
        if "JobRefused" in (exc_string or ""):
            job.retries_left = 0  # refused without running: the same payload, the same answer
        if kind is not None and (hit_limit or "jinja2.exceptions." in (exc_string or "")):
            # The same input would hit the same limit, or the same template error, again.
            job.retries_left = 0
        if hit_limit:
            # This process's renderer may be damaged: let a fresh one take the next job.
            self.recycle_reason = "a job hit its time or memory limit"
        final = not (job.should_retry and self._stopped_job_id != job.id)
        super().handle_job_failure(job, queue, started_job_registry=started_job_registry,
                                   exc_string=exc_string, execution=execution)
        if kind is None or not job.args:
            return
        try:
            _record(kind, int(job.args[0]), message, final)
        except Exception:  # never let bookkeeping take the worker down
            log.exception("could not record the failure of job %s", job.id)


def _ran_seconds(job) -> float:
    """Seconds since RQ started the job (0 when it never started)."""
    started = job.started_at
    if started is None:
        return 0.0
    if started.tzinfo is None:  # RQ stores UTC
        started = started.replace(tzinfo=datetime.UTC)
    return (datetime.datetime.now(datetime.UTC) - started).total_seconds()


def _record(kind: str, obj_id: int, message: str, final: bool) -> None:
    from core.base.extensions import db
    from core.base.jobs import ensure_own_db_pool, get_app
    from core.content.materials import record_render_failure

    app = get_app()
    with app.app_context():
        ensure_own_db_pool(app)
        try:
            record_render_failure(kind, obj_id, message, final)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        finally:
            db.session.remove()
