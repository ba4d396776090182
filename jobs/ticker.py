"""The ticker of every worker child: every tick it sends what the outbox still holds
(``core.base.jobs.sweep_outbox``) and asks for the periodic jobs (declared with
``every=...``), one job per time slot, so several workers never pile up duplicates
(each job is idempotent anyway)."""

import logging
import threading
import time

log = logging.getLogger(__name__)

#: Seconds between two looks at the outbox: a job Redis could not take at its commit is
#: sent within about this long after Redis answers again (plus the outbox's own grace).
OUTBOX_SECONDS = 15


def tick(app, slot_seconds: int) -> None:
    """One tick, in an app context: sweep the outbox, then enqueue each periodic job
    once for the current slot (job id ``tick-<name>-<slot>``)."""
    from core.base.extensions import db
    from core.base.jobs import get_queue, load_jobs, sweep_outbox

    with app.app_context():
        try:
            sweep_outbox()
        finally:
            db.session.remove()
        for job in load_jobs().values():
            if not job.every:
                continue
            slot = int(time.time() // job.every)
            job_id = f"tick-{job.name.rsplit('.', 1)[1]}-{slot}"
            if get_queue(job.queue).fetch_job(job_id) is None:
                job.enqueue(job_id=job_id)


def start_ticker(app, every: int = OUTBOX_SECONDS) -> threading.Thread:
    """Start a daemon thread that runs :func:`tick` every ``every`` seconds."""
    from core.base.jobs import TICK_SECONDS

    def loop():
        while True:
            try:
                tick(app, TICK_SECONDS)
            except Exception:
                log.exception("tick failed; trying again at the next")
            time.sleep(every)

    thread = threading.Thread(target=loop, name="siso-ticker", daemon=True)
    thread.start()
    return thread
