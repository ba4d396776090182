"""The unit of work: what must happen once a transaction commits (rules: "Unit of work").

Domain functions record their side effects on the transaction's outbox, in plain sight:

- a job (``some_job.after_commit(...)``): a row in the ``outbox_jobs`` table written in
  the same transaction, handed to RQ after the commit and deleted once RQ has it; a job
  Redis could not take stays in the table and ``core.base.jobs.sweep_outbox`` sends
  it later, so an
  e-mail, a render or a transfer is never lost;
- a Socket.IO emit (:func:`emit_after_commit`) and any other call (:func:`after_commit`,
  :func:`after_commit_once`), run after the commit;
- an audit row of a refused attempt (``core.base.audit.audit_refusal``), written after
  the transaction ends, committed or rolled back.

One pair of session events drains the outbox: ``after_commit``, and the end of the
outermost transaction (``after_transaction_end``: a rollback, or a session closed
without a commit); there is no other session listener. A rollback drops everything but
the refusals.
"""

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app, g, has_app_context
from redis.exceptions import RedisError
from sqlalchemy import delete, event
from sqlalchemy.orm import Session

from core.base.extensions import db, socketio
from core.base.timeutil import now_utc

log = logging.getLogger(__name__)

#: ``Session.info`` key of the transaction's outbox.
_KEY = "siso_outbox"


@dataclass
class Outbox:
    """What one transaction asked for after its end."""

    #: Calls to make after the commit, in order.
    calls: list[Callable[[], None]] = field(default_factory=list)
    #: Keys of :func:`after_commit_once` calls already recorded.
    once: set = field(default_factory=set)
    #: ``(row id, job, args, job_id, timeout)`` of the jobs recorded.
    jobs: list[tuple] = field(default_factory=list)
    #: ``(write, engine, row)`` of refused attempts (``core.base.audit``): ``write(engine,
    #: rows)`` is called after the commit or the rollback.
    refusals: list[tuple] = field(default_factory=list)
    #: Rows buffered by ``core.base.bulkwrite.bulk_rows`` (``None`` outside a block).
    bulk: dict | None = None
    #: What a feature reads once per transaction (``core.webhooks.events``: the endpoints).
    memo: dict = field(default_factory=dict)


def current() -> Outbox:
    """The outbox of the current session's transaction (made on first use)."""
    session = db.session()
    box = session.info.get(_KEY)
    if box is None:
        box = session.info[_KEY] = Outbox()
    return box


def after_commit(fn: Callable[[], None]) -> None:
    """Run ``fn()`` once the current transaction commits (dropped on a rollback). ``fn``
    must not use the database session (it has just committed); Redis and Socket.IO are
    fine. Its exceptions are logged, never raised."""
    current().calls.append(fn)


def after_commit_once(key, fn: Callable[[], None]) -> None:
    """:func:`after_commit`, unless a call with the same ``key`` (hashable) is already
    recorded in this transaction."""
    box = current()
    if key not in box.once:
        box.once.add(key)
        box.calls.append(fn)


def emit_after_commit(event_name: str, data: dict, room: str) -> None:
    """Emit a Socket.IO event to ``room`` after the commit (best effort, never raises:
    what it tells is stored and read again on the next page or join)."""

    def run():
        socketio.emit(event_name, data, to=room)

    after_commit(run)


def enqueue_after_commit(job, args: list, job_id: str | None = None,
                         timeout: int | None = None) -> None:
    """Record ``job`` (a ``core.base.jobs.Job``) with ``args`` on the outbox: a row in
    ``outbox_jobs`` now, an RQ job after the commit. Use ``job.after_commit(...)``."""
    from core.base.models import OutboxJob

    box = current()
    row_id = uuid.uuid4().hex
    values = dict(id=row_id, job=job.name, args=json.dumps(args), job_id=job_id,
                  created_at=now_utc())
    if box.bulk is not None:  # inside core.base.bulkwrite.bulk_rows: one INSERT at its end
        box.bulk.setdefault(OutboxJob, []).append((values, None))
    else:
        db.session.add(OutboxJob(**values))
    box.jobs.append((row_id, job, args, job_id, timeout))


def jobs_not_queued() -> int:
    """How many jobs this request committed but could not hand to Redis (they wait in
    ``outbox_jobs`` for ``core.base.jobs.sweep_outbox``). A view uses it to tell the person their action
    is saved and its work queued for later. Returns 0 outside a request."""
    return getattr(g, "siso_jobs_not_queued", 0) if has_app_context() else 0


#: What a person or API client is told when work was saved but its job could not be
#: handed to the queue (Redis not answering): it runs once the queue is back.
NOT_QUEUED_WARNING = ("Saved. The job queue is not answering right now, so the work that "
                      "follows (a transfer, an e-mail, a document) is queued for later: it "
                      "runs automatically, once, within minutes of the queue coming back.")


def _hand_to_rq(jobs: list[tuple]) -> list[str]:
    """Enqueue the recorded jobs; returns the outbox row ids RQ took."""
    taken = []
    run_inline = not current_app.config.get("RQ_ASYNC", True)
    for row_id, job, args, job_id, timeout in jobs:
        if run_inline:  # tests of views only: run it here, right after the commit
            job(*args)
            taken.append(row_id)
            continue
        try:
            job.enqueue(*args, job_id=job_id or f"outbox-{row_id}", timeout=timeout)
            taken.append(row_id)
        except RedisError:
            log.error("could not enqueue %s%r: Redis unavailable; the outbox keeps it",
                      job.name, tuple(args))
            if has_app_context():
                g.siso_jobs_not_queued = jobs_not_queued() + 1
    return taken


def forget(engine, row_ids: list[str]) -> None:
    """Delete the outbox rows of jobs RQ has (ids), in a transaction of their own."""
    from core.base.models import OutboxJob

    if row_ids:
        with engine.begin() as conn:
            conn.execute(delete(OutboxJob.__table__).where(OutboxJob.id.in_(row_ids)))


def _write_refusals(refusals: list[tuple]) -> None:
    batches = {}
    for write, engine, row in refusals:
        batches.setdefault((write, engine), []).append(row)
    for (write, engine), rows in batches.items():
        write(engine, rows)


@event.listens_for(Session, "after_commit")
def _drain(session):
    box = session.info.pop(_KEY, None)
    if box is None:
        return
    if box.refusals:
        _write_refusals(box.refusals)
    if box.jobs:
        try:
            forget(db.engine, _hand_to_rq(box.jobs))
        except Exception:  # the rows stay; the sweeper sends them
            log.exception("outbox: handing jobs to RQ failed")
    for fn in box.calls:
        try:
            fn()
        except Exception:
            log.exception("after-commit call %r failed", fn)


@event.listens_for(Session, "after_transaction_end")
def _drop(session, transaction):
    """The outermost transaction ended without a commit (rolled back, or the session
    closed): write the refusals, drop the rest. After a commit ``_drain`` has already
    taken the outbox."""
    if transaction.parent is not None:  # a savepoint: the transaction goes on
        return
    box = session.info.pop(_KEY, None)
    if box is not None and box.refusals:
        _write_refusals(box.refusals)
