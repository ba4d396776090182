"""``flask worker``: an RQ worker with the app context ready and WeasyPrint preloaded."""

import os

import click
from flask import Flask


def make_worker(app: Flask, queues=None, burst: bool = False):
    """Return an RQ ``Worker`` on the app's Redis with the JSON serializer.

    WeasyPrint is imported here, in the parent, so forked work-horses do not pay its
    import on every job (STACK-NOTES.md "RQ").
    """
    import weasyprint  # noqa: F401  (preload before forking)
    from rq import Worker
    from rq.serializers import JSONSerializer

    from core.tasks import QUEUES, redis_connection
    from jobs.runtime import set_app

    set_app(app)  # jobs run in this app, not in whichever app was created last
    with app.app_context():
        conn = redis_connection()
    app.extensions["siso_pid"] = os.getpid()
    return Worker(list(queues or QUEUES), connection=conn, serializer=JSONSerializer)


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
