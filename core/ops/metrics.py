"""Prometheus metrics (prometheus_client; rules: "Logs, metrics and errors").

Every process counts into its own metrics; with ``PROMETHEUS_MULTIPROC_DIR`` set (before
the process imports prometheus_client: the deploy kit sets it for web processes and
workers alike) they go to files in that folder, and any web process's ``/metrics`` adds
up every process's figures. Figures read at scrape time (RQ queue depths, payouts by
state) come from Redis and the database, so every node reports the same.
"""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

#: Request latency, seconds, by URL rule (never the raw path), method and status.
REQUEST_SECONDS = Histogram(
    "siso_http_request_duration_seconds", "Time to answer a request, by route and status.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
#: Job run time, seconds, by job name and outcome (``ok`` | ``failed``).
JOB_SECONDS = Histogram(
    "siso_job_duration_seconds", "Time a job ran, by job and outcome.", ["job", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 600))
#: Job runs that raised, by job name (RQ may still retry them).
JOB_FAILURES = Counter("siso_job_failures_total", "Job runs that raised, by job.", ["job"])
#: Open Socket.IO connections (sum over live processes).
SOCKET_CONNECTIONS = Gauge("siso_socketio_connections", "Open Socket.IO connections.",
                           multiprocess_mode="livesum")
#: Chat messages stored.
CHAT_MESSAGES = Counter("siso_chat_messages_total", "Chat messages posted.")


class ScrapeTimeCollector:
    """Figures read when ``/metrics`` is scraped: ``siso_rq_queue_depth{queue}``,
    ``siso_rq_failed_jobs{queue}``, ``siso_redis_up`` and ``siso_payouts{state}`` (count)
    with ``siso_payouts_amount_cents{state}``. Needs an app context."""

    def collect(self):
        from rq.registry import FailedJobRegistry

        from core.base.jobs import QUEUES, get_queue

        depth = GaugeMetricFamily("siso_rq_queue_depth", "Jobs waiting on each RQ queue.",
                                  labels=["queue"])
        failed = GaugeMetricFamily("siso_rq_failed_jobs", "Jobs in each queue's failed "
                                   "registry.", labels=["queue"])
        up = GaugeMetricFamily("siso_redis_up", "1 when Redis answered this scrape.")
        try:
            for name in QUEUES:
                q = get_queue(name)
                depth.add_metric([name], q.count)
                failed.add_metric([name], FailedJobRegistry(queue=q).count)
            up.add_metric([], 1)
        except Exception:  # Redis away: say so, keep the other figures
            up.add_metric([], 0)
        yield from (depth, failed, up)
        yield from _payouts()


def _payouts():
    from sqlalchemy import func, select

    from core.base.extensions import db
    from core.money.models import Payout

    count = GaugeMetricFamily("siso_payouts", "Payouts by state.", labels=["state"])
    amount = GaugeMetricFamily("siso_payouts_amount_cents", "Sum of payouts by state, in "
                               "cents.", labels=["state"])
    try:
        rows = db.session.execute(select(Payout.status, func.count(),
                                         func.coalesce(func.sum(Payout.amount_cents), 0))
                                  .group_by(Payout.status)).all()
    finally:
        db.session.rollback()
    for state, n, cents in rows:
        count.add_metric([state], n)
        amount.add_metric([state], int(cents))
    yield from (count, amount)


def multiprocess_dir() -> str | None:
    """The folder shared by this host's processes, or None (single-process mode)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render() -> tuple[bytes, str]:
    """The exposition text of every process's metrics plus the scrape-time figures, and
    its content type. Needs an app context."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    scrape = CollectorRegistry()
    scrape.register(ScrapeTimeCollector())
    return body + generate_latest(scrape), CONTENT_TYPE_LATEST


def process_exited(pid: int | None = None) -> None:
    """Drop a finished process's live gauges (multiprocess mode; gunicorn's
    ``child_exit`` hook, the eventlet web server's exit and the worker supervisor call it)."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())
