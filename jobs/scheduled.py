"""Scheduled work, enqueued by every worker's ticker (one job per time slot, so several
workers do not pile up duplicates; each job is idempotent anyway)."""

import logging
import threading
import time

from flask import current_app
from rq import Retry

from core.base.errors import Conflict
from core.base.extensions import db
from core.base.outbox import QUEUE_DEFAULT, QUEUE_PAYOUTS, get_queue
from core.money.commissions import approve_due_commissions
from core.money.models import Payout
from core.money.payouts import (
    PAYOUT_JOB_RETRIES,
    TRANSFER_RETRY_WINDOW,
    fail_unconfirmed_transfer,
    unfinished_transfers,
)
from jobs.runtime import app_job

log = logging.getLogger(__name__)

#: Seconds between ticks.
TICK_SECONDS = 300


@app_job
def approve_due() -> int:
    """Approve commissions whose holding period ended; returns how many."""
    return approve_due_commissions()


@app_job
def award_achievements() -> dict:
    """The scheduled achievement checks (First Month, last month's Top Performer, and
    badges missed by events): ``core.community.achievements.award_scheduled``. Idempotent."""
    from core.community.achievements import award_scheduled

    return award_scheduled()


@app_job
def refresh_dashboard() -> None:
    """Recompute the back-office dashboard's cached figures (asked for by a page that
    found them older than ``core.program.backoffice.CACHE_SECONDS``)."""
    from core.program.backoffice import store_figures

    store_figures()


@app_job
def sweep_payouts() -> dict:
    """Resume Stripe payouts whose transfer job is gone (Redis was down at approval, the
    worker died mid-job), within bounds (``core.money.payouts.unfinished_transfers``):

    - an ``approved`` payout (never sent) or a ``processing`` one younger than
      ``TRANSFER_RETRY_WINDOW`` with no live job is enqueued again (same job id, same
      retries, same idempotency key);
    - a ``processing`` payout older than that with no live job is failed with a message
      telling finance to check Stripe (``fail_unconfirmed_transfer``), never resent.

    A payout whose job is queued, scheduled for a retry or running is left alone.
    Returns ``{"enqueued": int, "failed": int}``.
    """
    resume, expired = unfinished_transfers()
    q = get_queue(QUEUE_PAYOUTS)

    def job_alive(pid: int) -> bool:
        job = q.fetch_job(f"payout-{pid}")
        if job is None:
            return False
        status = job.get_status(refresh=True)
        if status == "scheduled" and release_if_overdue(q, job):
            return True  # it was stuck waiting for a scheduler; it is queued now
        return status not in ("finished", "failed", "canceled", "stopped")

    hours = TRANSFER_RETRY_WINDOW.total_seconds() / 3600
    enqueued = failed = 0
    for pid in expired:
        if job_alive(pid):
            continue
        payout = db.session.get(Payout, pid)
        try:
            fail_unconfirmed_transfer(payout, "no answer from Stripe was recorded within "
                                              f"{hours:g} hours of approval.")
        except Conflict:  # it moved on meanwhile
            continue
        db.session.commit()
        failed += 1
    for pid in resume:
        if job_alive(pid):
            continue
        retry = Retry(max=PAYOUT_JOB_RETRIES,
                      interval=list(current_app.config["RQ_RETRY_INTERVALS"])[
                          :PAYOUT_JOB_RETRIES])
        q.enqueue("jobs.payouts.send_payout", pid, job_id=f"payout-{pid}", retry=retry,
                  job_timeout=180, failure_ttl=7 * 24 * 3600)
        enqueued += 1
    return {"enqueued": enqueued, "failed": failed}


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


def start_ticker(app, every: int = TICK_SECONDS) -> threading.Thread:
    """Start a daemon thread that enqueues the scheduled jobs every ``every`` seconds."""

    def loop():
        while True:
            slot = int(time.time() // every)
            try:
                with app.app_context():
                    q = get_queue(QUEUE_DEFAULT)
                    for name in ("approve_due", "sweep_payouts", "award_achievements"):
                        job_id = f"tick-{name}-{slot}"
                        if q.fetch_job(job_id) is None:
                            q.enqueue(f"jobs.scheduled.{name}", job_id=job_id, result_ttl=every * 2)
            except Exception:
                log.exception("scheduled tick failed; trying again next slot")
            time.sleep(every - time.time() % every + 1)

    thread = threading.Thread(target=loop, name="siso-ticker", daemon=True)
    thread.start()
    return thread
