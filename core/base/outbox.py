"""Side effects that must wait for the commit: RQ jobs and Socket.IO emits (STYLE.md).

Core enqueues jobs by their import path (``"jobs.payouts.send_payout"``), so core never
imports ``jobs``. The work is held on the session and released by SQLAlchemy's
``after_commit`` event; a rollback drops it.
"""

import logging

from flask import current_app, g, has_app_context
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.base.extensions import db, socketio

log = logging.getLogger(__name__)

#: Queue names (STYLE.md "Background jobs").
QUEUE_PDF = "pdf"
QUEUE_PAYOUTS = "payouts"
QUEUE_DEFAULT = "default"
#: Outgoing e-mail (jobs/email.py): ahead of renders, which can take seconds each.
QUEUE_EMAIL = "email"
QUEUES = (QUEUE_PAYOUTS, QUEUE_EMAIL, QUEUE_PDF, QUEUE_DEFAULT)

_PENDING = "siso_after_commit"


def redis_connection() -> Redis:
    """Return a Redis client for ``REDIS_URL`` (one pool per app)."""
    app = current_app._get_current_object()
    conn = app.extensions.get("siso_redis")
    if conn is None:
        conn = Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=2,
                              socket_timeout=5)
        app.extensions["siso_redis"] = conn
    return conn


def get_queue(name: str = QUEUE_DEFAULT) -> Queue:
    """Return the RQ queue ``name`` using the JSON serializer (never pickle)."""
    from rq.serializers import JSONSerializer

    return Queue(name, connection=redis_connection(), serializer=JSONSerializer)


def enqueue_after_commit(queue: str, func_path: str, *args, job_id: str | None = None,
                         retries: int = 0, timeout: int = 180) -> None:
    """Enqueue ``func_path(*args)`` on ``queue`` once the current transaction commits.

    ``args`` must be JSON values (ids, not objects). ``job_id`` makes the enqueue
    idempotent for one object; ``retries`` uses RQ's ``Retry`` with the back-off of
    ``RQ_RETRY_INTERVALS`` (seconds; 5, 30, 120 by default).
    """
    app = current_app._get_current_object()

    def run():
        if not app.config.get("RQ_ASYNC", True):
            module, _, name = func_path.rpartition(".")
            getattr(__import__(module, fromlist=[name]), name)(*args)
            return
        intervals = list(app.config.get("RQ_RETRY_INTERVALS", (5, 30, 120)))[:retries]
        retry = Retry(max=retries, interval=intervals) if retries else None
        try:
            get_queue(queue).enqueue(func_path, *args, job_id=job_id, retry=retry,
                                     job_timeout=timeout, result_ttl=3600,
                                     failure_ttl=7 * 24 * 3600)
        except RedisError:
            # The row is committed; a sweeper re-enqueues what is still waiting.
            log.error("could not enqueue %s%r: Redis unavailable", func_path, args)
            if has_app_context():
                g.siso_jobs_not_queued = jobs_not_queued() + 1

    _defer(run)


def jobs_not_queued() -> int:
    """How many jobs this app context (a request) committed but could not hand to Redis.

    Those wait for a sweeper (payouts: ``jobs.scheduled.sweep_payouts``, every worker's
    ticker); a view uses this to tell the person their action is saved and its job is
    queued for later (issue 7 "Faults"). Returns an int, 0 when every enqueue succeeded.
    """
    return getattr(g, "siso_jobs_not_queued", 0) if has_app_context() else 0


#: What a person or API client is told when work was saved but its job could not be
#: handed to the queue (Redis not answering): it runs once the queue is back.
NOT_QUEUED_WARNING = ("Saved. The job queue is not answering right now, so the work that "
                      "follows (a transfer, an e-mail, a document) is queued for later: it "
                      "runs automatically, once, within minutes of the queue coming back.")


def emit_after_commit(event_name: str, data: dict, room: str) -> None:
    """Emit a Socket.IO event to ``room`` after the commit (best effort, never raises)."""

    def run():
        try:
            socketio.emit(event_name, data, to=room)
        except Exception:  # the message is stored; live delivery is a nicety
            log.exception("socket emit %s failed", event_name)

    _defer(run)


def after_commit(fn) -> None:
    """Run ``fn()`` once the current transaction commits (dropped on a rollback). ``fn``
    must not use the database session (it has just committed); Redis and Socket.IO are
    fine. It should not raise."""
    _defer(fn)


def _defer(fn) -> None:
    session = db.session()
    session.info.setdefault(_PENDING, []).append(fn)


@event.listens_for(Session, "after_commit")
def _run_pending(session):
    pending = session.info.pop(_PENDING, [])
    for fn in pending:
        fn()


@event.listens_for(Session, "after_rollback")
def _drop_pending(session):
    session.info.pop(_PENDING, None)
