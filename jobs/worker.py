"""``flask worker``: an RQ worker with the app context ready and WeasyPrint preloaded."""

import os

import click
from flask import Flask


def make_worker(app: Flask, queues=None, burst: bool = False):
    """Return an RQ worker (:class:`jobs.limits.LimitedWorker`: render jobs run under a
    memory cap, failures are recorded on their rows) on the app's Redis, JSON serializer.

    WeasyPrint is imported and warmed up here, in the parent, so forked work-horses do
    not pay its import and first-render set-up on every job (STACK-NOTES.md "RQ").
    """
    import weasyprint  # preload before forking

    # Warm it too: the first render loads fonts, the user-agent stylesheets and Pango's
    # font map. Done once here, every forked work-horse inherits them instead of paying
    # for it on each job (bench/pdf.py, BENCHMARKS.md "PDF pipeline").
    from core.pdf import render_pdf

    render_pdf("<html><body><p>warm-up <b>bold</b></p><table><tr><td>1</td></tr></table>"
               "</body></html>")
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
            socketio.init_app(None, message_queue=mq, async_mode="threading")
        worker = make_worker(app, queues.split(","), burst)
        if not burst:
            from jobs.scheduled import start_ticker

            start_ticker(app)
        worker.work(burst=burst, with_scheduler=True)
