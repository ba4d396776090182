"""Background jobs, declared where they live (rules: "Jobs and retries").

A job is a function decorated with :func:`job`, beside the rules it runs: its queue,
time limit, retries and result lifetimes are stated there, once. Code asks for it by
reference, never by a dotted string: ``send_payout.after_commit(payout.id)`` records it
on the transaction's outbox (``core.base.outbox``), and it reaches RQ once the
transaction commits. A worker runs only the functions listed here (:data:`JOBS`).

Jobs take ids (JSON values), reload what they need inside an app context, and are
idempotent: RQ delivers at least once.
"""

import functools
import json
import logging
import os
from collections.abc import Callable
from datetime import timedelta

from flask import current_app, has_app_context
from redis import Redis
from rq import Queue, Retry, get_current_job

#: Queue names, in the order a worker serves them: money first, then e-mail, then
#: renders (seconds each), then the rest.
QUEUE_PAYOUTS = "payouts"
QUEUE_EMAIL = "email"
QUEUE_PDF = "pdf"
QUEUE_DEFAULT = "default"
QUEUES = (QUEUE_PAYOUTS, QUEUE_EMAIL, QUEUE_PDF, QUEUE_DEFAULT)

#: Every declared job, by dotted name: the only functions a worker runs.
JOBS: dict[str, "Job"] = {}

_app = None
log = logging.getLogger(__name__)


def set_app(app) -> None:
    """Remember the app jobs run in when no app context is active (the worker's)."""
    global _app
    _app = app


def get_app():
    """The app jobs run in: the current one, the one :func:`set_app` remembered, or a
    core app (no face) made from the environment."""
    global _app
    if has_app_context():
        return current_app._get_current_object()
    if _app is None:
        from core.base.app import create_core_app

        _app = create_core_app()
    return _app


def redis_connection() -> Redis:
    """A Redis client for ``REDIS_URL`` (one pool per app)."""
    app = current_app._get_current_object()
    conn = app.extensions.get("siso_redis")
    if conn is None:
        conn = Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=2,
                              socket_timeout=5)
        app.extensions["siso_redis"] = conn
    return conn


def get_queue(name: str = QUEUE_DEFAULT) -> Queue:
    """The RQ queue ``name`` with the JSON serializer (never pickle)."""
    from rq.serializers import JSONSerializer

    return Queue(name, connection=redis_connection(), serializer=JSONSerializer)


def job_logger(name: str) -> logging.LoggerAdapter:
    """A logger whose lines carry the RQ job id."""
    current = get_current_job()
    return logging.LoggerAdapter(logging.getLogger(name),
                                 {"job_id": current.id if current else "-"})


def last_try() -> bool:
    """True when this run is an RQ job with no retry left (or none configured)."""
    current = get_current_job()
    return current is not None and not current.should_retry


def ensure_own_db_pool(app) -> None:
    """In a process forked from the one that set ``app.extensions["siso_pid"]`` (the
    worker supervisor), discard the database pool inherited from it, once per process:
    the child opens its own connections and keeps them for all its jobs, and never uses
    the supervisor's. Does nothing in the supervisor or in a web process."""
    from core.base.extensions import db

    pid = os.getpid()
    if pid == app.extensions.get("siso_pid", pid) or app.extensions.get("siso_pool_pid") == pid:
        return
    db.engine.dispose(close=False)
    app.extensions["siso_pool_pid"] = pid


class Job:
    """A job function and how it runs.

    Attributes: ``name`` (dotted path RQ stores), ``queue``, ``timeout`` (seconds, or
    the name of the setting that holds them, such as ``"PDF_JOB_TIMEOUT"``),
    ``retries`` (RQ retries after ``RQ_RETRY_INTERVALS``), ``result_ttl`` and
    ``failure_ttl`` (seconds a result or a failure is kept), ``every`` (seconds between
    runs the worker's ticker asks for, or ``None``), ``render_kind`` (the row a render
    job records its failure on: ``statement``, ``material``, ``preview``, ``batch_zip``).
    Calling it runs the function in an app context, committing on success and rolling
    back on error.
    """

    def __init__(self, fn: Callable, *, queue: str, timeout: int | str = 180, retries: int = 0,
                 result_ttl: int = 3600, failure_ttl: int = 7 * 24 * 3600,
                 every: int | None = None, render_kind: str | None = None):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name = f"{fn.__module__}.{fn.__qualname__}"
        self.queue, self.timeout, self.retries = queue, timeout, retries
        self.result_ttl, self.failure_ttl = result_ttl, failure_ttl
        self.every, self.render_kind = every, render_kind
        JOBS[self.name] = self

    def __call__(self, *args):
        import time

        from core.base.extensions import db
        from core.ops import logs
        from core.ops.metrics import JOB_FAILURES, JOB_SECONDS

        app = get_app()
        current = get_current_job()
        meta = (current.meta or {}) if current is not None else {}
        token = logs.bind(request_id=meta.get("request_id") or logs.current("request_id"),
                          job_id=current.id if current is not None else None,
                          route=f"job:{self.name}")
        started, outcome = time.perf_counter(), "failed"
        with app.app_context():
            ensure_own_db_pool(app)
            try:
                result = self.fn(*args)
                db.session.commit()
                outcome = "ok"
                return result
            except Exception:
                db.session.rollback()
                JOB_FAILURES.labels(self.name).inc()
                raise
            finally:
                db.session.remove()
                seconds = time.perf_counter() - started
                JOB_SECONDS.labels(self.name, outcome).observe(seconds)
                log.info("job %s %s", self.name, outcome,
                         extra={"job": self.name, "outcome": outcome,
                                "duration_ms": round(seconds * 1000, 1)})
                logs.unbind(token)

    def retry_policy(self) -> Retry | None:
        """RQ's ``Retry`` for this job: ``retries`` tries after ``RQ_RETRY_INTERVALS``."""
        if not self.retries:
            return None
        intervals = list(current_app.config.get("RQ_RETRY_INTERVALS", (5, 30, 120)))
        return Retry(max=self.retries, interval=intervals[:self.retries])

    def after_commit(self, *args, job_id: str | None = None, timeout: int | None = None):
        """Run this job with ``args`` (JSON values) once the current transaction commits:
        recorded on the transaction's outbox, so a job that Redis could not take then is
        sent later by the outbox sweeper; a rollback drops it. ``job_id`` makes it one
        job per object (RQ keeps one job of an id)."""
        from core.base.outbox import enqueue_after_commit

        enqueue_after_commit(self, list(args), job_id=job_id, timeout=timeout)

    def enqueue(self, *args, job_id: str | None = None, timeout: int | None = None):
        """Put this job on its RQ queue now (sweepers, the ticker); returns the RQ job.
        The current request id (if any) rides in the job's ``meta`` so the job's log
        lines carry it. Raises ``redis.exceptions.RedisError`` when Redis does not
        answer."""
        from core.ops.logs import current

        rid = current("request_id")
        return get_queue(self.queue).enqueue(
            self.name, *args, job_id=job_id, retry=self.retry_policy(),
            job_timeout=timeout or self.time_limit(), result_ttl=self.result_ttl,
            failure_ttl=self.failure_ttl, meta={"request_id": rid} if rid else None)

    def time_limit(self) -> int:
        """The job's time limit in seconds (``timeout``, read from the settings when it
        names one)."""
        if isinstance(self.timeout, str):
            return int(current_app.config[self.timeout])
        return self.timeout


def job(*, queue: str = QUEUE_DEFAULT, timeout: int | str = 180, retries: int = 0,
        result_ttl: int = 3600, failure_ttl: int = 7 * 24 * 3600, every: int | None = None,
        render_kind: str | None = None) -> Callable[[Callable], Job]:
    """Declare a job function (see :class:`Job` for the arguments)."""

    def declare(fn: Callable) -> Job:
        return Job(fn, queue=queue, timeout=timeout, retries=retries, result_ttl=result_ttl,
                   failure_ttl=failure_ttl, every=every, render_kind=render_kind)

    return declare


#: Seconds past its time after which a job waiting for a retry counts as stuck: the
#: scheduler puts due jobs back within a second or two when it runs.
OVERDUE_SECONDS = 30


def release_if_overdue(queue, job) -> bool:
    """Put ``job`` on ``queue`` now when it waits in the scheduled registry more than
    :data:`OVERDUE_SECONDS` past its time (no scheduler put it back: Redis was away, or
    every scheduler was down). Returns True when it was released (rules: "Jobs and
    retries")."""
    from datetime import UTC, datetime

    from rq.exceptions import NoSuchJobError
    from rq.registry import ScheduledJobRegistry

    registry = ScheduledJobRegistry(queue.name, connection=queue.connection,
                                    serializer=queue.serializer)
    try:
        due = registry.get_scheduled_time(job)
    except NoSuchJobError:  # "scheduled", yet in no registry: nothing would ever run it
        queue.enqueue_job(job)
        return True
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    if (datetime.now(UTC) - due).total_seconds() <= OVERDUE_SECONDS:
        return False
    registry.remove(job)
    queue.enqueue_job(job)
    log.warning("job %s waited %s s past its retry time; queued it", job.id,
                int((datetime.now(UTC) - due).total_seconds()))
    return True


#: Seconds between the ticks of every worker's ticker: a job declared with ``every``
#: runs at most once per slot of that many seconds.
TICK_SECONDS = 300


#: The modules that declare jobs; a worker imports them all before it checks a job.
JOB_MODULES = ("core.accounts.email_links", "core.alerts.performance",
               "core.alerts.reminders", "core.community.achievements",
               "core.community.notifications", "core.community.push", "core.content.certificates",
               "core.content.materials", "core.engagement.badges",
               "core.engagement.spotlight", "core.events.events",
               "core.money.commissions", "core.money.payouts", "core.money.statement_batches",
               "core.money.statements", "core.payments.paypal", "core.payments.tax",
               "core.program.analytics", "core.program.backoffice", "core.program.fraud",
               "core.program.mentors", "core.program.program_figures",
               "core.webhooks.deliveries")


def load_jobs() -> dict[str, Job]:
    """Import every module that declares jobs; returns :data:`JOBS`."""
    import importlib

    for module in JOB_MODULES:
        importlib.import_module(module)
    return JOBS


#: Seconds an outbox row may wait before :func:`sweep_outbox` takes it as left behind (the
#: commit hands most rows to RQ within milliseconds).
SWEEP_AFTER_SECONDS = 30


def sweep_outbox(limit: int = 500) -> int:
    """Send the jobs the outbox still holds past :data:`SWEEP_AFTER_SECONDS` (Redis was
    away at their commit, or the process died between commit and enqueue): each is
    enqueued under its job id (skipped when RQ already has that job) and its row deleted.
    Returns how many were sent. Raises ``RedisError`` when Redis is still away (the rows
    stay). Called by every worker's ticker."""
    from core.base.extensions import db
    from core.base.models import OutboxJob
    from core.base.outbox import forget
    from core.base.timeutil import now_utc

    load_jobs()
    cutoff = now_utc() - timedelta(seconds=SWEEP_AFTER_SECONDS)
    from sqlalchemy import select

    rows = db.session.execute(select(OutboxJob.id, OutboxJob.job, OutboxJob.args,
                                     OutboxJob.job_id)
                              .where(OutboxJob.created_at < cutoff)
                              .order_by(OutboxJob.created_at).limit(limit)).all()
    sent, done = 0, []
    for row_id, name, args, job_id in rows:
        job = JOBS.get(name)
        rq_id = job_id or f"outbox-{row_id}"
        if job is not None and get_queue(job.queue).fetch_job(rq_id) is None:
            job.enqueue(*json.loads(args), job_id=rq_id)
            sent += 1
        elif job is None:
            log.error("outbox row %s names no job (%s); dropped", row_id, name)
        done.append(row_id)
    db.session.rollback()
    forget(db.engine, done)
    if sent:
        log.warning("outbox: sent %s job(s) left behind", sent)
    return sent


def pending_jobs() -> int:
    """How many jobs wait in the outbox (the back office's Jobs page shows it)."""
    from sqlalchemy import func, select

    from core.base.extensions import db
    from core.base.models import OutboxJob

    return db.session.scalar(select(func.count()).select_from(OutboxJob)) or 0
