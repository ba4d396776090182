"""Scheduled work, enqueued by every worker's ticker (one job per time slot, so several
workers do not pile up duplicates; each job is idempotent anyway)."""

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import select

from core.commissions import approve_due_commissions
from core.extensions import db
from core.models import Payout
from core.tasks import QUEUE_DEFAULT, QUEUE_PAYOUTS, get_queue
from core.timeutil import now_utc
from jobs.runtime import app_job

log = logging.getLogger(__name__)

#: Seconds between ticks.
TICK_SECONDS = 300


@app_job
def approve_due() -> int:
    """Approve commissions whose holding period ended; returns how many."""
    return approve_due_commissions()


@app_job
def sweep_payouts() -> int:
    """Re-enqueue approved payouts whose transfer job never ran (Redis was down at
    approval, or the job was lost). Returns how many were enqueued."""
    stale = now_utc() - timedelta(minutes=2)
    ids = list(db.session.scalars(select(Payout.id).where(
        Payout.status.in_(("approved", "processing")), Payout.approved_at < stale,
        Payout.gateway == "stripe")))
    q = get_queue(QUEUE_PAYOUTS)
    for pid in ids:
        job = q.fetch_job(f"payout-{pid}")
        if job is None or job.get_status(refresh=True) in ("finished", "failed", "canceled",
                                                           "stopped"):
            q.enqueue("jobs.payouts.send_payout", pid, job_id=f"payout-{pid}",
                      job_timeout=180, failure_ttl=7 * 24 * 3600)
    return len(ids)


def start_ticker(app, every: int = TICK_SECONDS) -> threading.Thread:
    """Start a daemon thread that enqueues the scheduled jobs every ``every`` seconds."""

    def loop():
        while True:
            slot = int(time.time() // every)
            try:
                with app.app_context():
                    q = get_queue(QUEUE_DEFAULT)
                    for name in ("approve_due", "sweep_payouts"):
                        job_id = f"tick-{name}-{slot}"
                        if q.fetch_job(job_id) is None:
                            q.enqueue(f"jobs.scheduled.{name}", job_id=job_id, result_ttl=every * 2)
            except Exception:
                log.exception("scheduled tick failed; trying again next slot")
            time.sleep(every - time.time() % every + 1)

    thread = threading.Thread(target=loop, name="siso-ticker", daemon=True)
    thread.start()
    return thread
