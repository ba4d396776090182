"""RQ jobs: PDFs, payouts, scheduled approvals; and the ``flask worker`` command.

Jobs take ids, reload inside an app context, and are idempotent: RQ delivers at least
once (STYLE.md "Background jobs").
"""

from flask import Flask

from jobs.runtime import set_app


def init_app(app: Flask) -> None:
    """Register the worker CLI command and remember the app for in-process workers."""
    from jobs.worker import register_cli

    set_app(app)
    register_cli(app)
