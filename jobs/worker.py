"""``flask worker``: an RQ worker with the app context ready and WeasyPrint preloaded."""

import gc
import os

import click
from flask import Flask

_warm = False


def warm_up_renderer() -> None:
    """Render a sample statement and each built-in material once per process, in the
    worker's parent (later calls do nothing).

    Forked work-horses inherit what that leaves in memory: WeasyPrint's fonts, Pango's
    font map, the user-agent stylesheets and the compiled Jinja templates. A work-horse
    exits after one job, so anything first loaded *inside* a job is paid again by every
    job (bench/pdf.py, BENCHMARKS.md "PDF pipeline"). Uses sample values only.
    """
    global _warm
    if _warm:
        return
    from core.documents import builtin_template_rows, render_material_html, sample_context
    from core.pdf import render_pdf, render_statement_html

    line = {"date": "2026-01-02", "ref": "C-1", "description": "Sample client project",
            "type": "base", "kind": "earned", "amount_cents": 30000}
    statement = {
        "partner": {"name": "Sample Partner", "email": "sample@example.invalid",
                    "company_name": "Sample LLC", "id": 0},
        "period": "2026-01", "period_label": "January 2026", "version": 1,
        "issued_at": "01 Feb 2026",
        "figures": {"opening_cents": 0, "earned_cents": 30000, "reversed_cents": 0,
                    "paid_cents": 0, "closing_cents": 30000},
        "lines": [line, dict(line, type="payout", kind="paid", amount_cents=-30000)],
    }
    render_pdf(render_statement_html(statement))
    context = sample_context("https://example.invalid/r/SAMPLE")
    for template in builtin_template_rows():
        render_pdf(render_material_html(template, context))
    # Keep the garbage collector's hands off everything loaded so far: a work-horse that
    # collected it would write to (and so copy) most of the parent's pages after fork.
    gc.collect()
    gc.freeze()
    _warm = True


def make_worker(app: Flask, queues=None, burst: bool = False):
    """Return an RQ worker (:class:`jobs.limits.LimitedWorker`: render jobs run under a
    memory cap, failures are recorded on their rows) on the app's Redis, JSON serializer.

    WeasyPrint is imported and warmed up here, in the parent, so forked work-horses do
    not pay its import and first-render set-up on every job (STACK-NOTES.md "RQ").
    """
    import weasyprint  # noqa: F401  (preload before forking)

    warm_up_renderer()
    from rq.serializers import JSONSerializer

    from core.tasks import QUEUES, redis_connection
    from jobs.limits import DEFAULT_MEMORY_LIMIT_MB, LimitedWorker
    from jobs.runtime import set_app

    set_app(app)  # jobs run in this app, not in whichever app was created last
    with app.app_context():
        conn = redis_connection()
    app.extensions["siso_pid"] = os.getpid()
    worker = LimitedWorker(list(queues or QUEUES), connection=conn, serializer=JSONSerializer)
    worker.memory_limit_mb = int(app.config.get("PDF_MEMORY_LIMIT_MB", DEFAULT_MEMORY_LIMIT_MB))
    return worker


def register_cli(app: Flask) -> None:
    """Add ``flask worker`` to the app's CLI."""

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Exit when the queues are empty")
    @click.option("--queues", default="payouts,pdf,default", help="Queues in priority order")
    def worker_cmd(burst, queues):
        """Run an RQ worker for the payouts, pdf and default queues."""
        from core.extensions import socketio

        mq = app.config.get("SOCKETIO_MESSAGE_QUEUE")
        if mq:  # a write-only emitter: notifications reach the web processes' sockets
            socketio.init_app(None, message_queue=mq, async_mode="threading",
                              channel=app.config["SOCKETIO_CHANNEL"])
        worker = make_worker(app, queues.split(","), burst)
        if not burst:
            from jobs.scheduled import start_ticker

            start_ticker(app)
        worker.work(burst=burst, with_scheduler=True)
