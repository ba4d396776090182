"""The worker runtime: ``flask worker``'s supervisor, its worker child and scheduler, the
ticker, and the limits and allow-list every job runs under. The jobs themselves are
declared where they live, in ``core`` (``core.base.jobs``)."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register ``flask worker`` and make jobs run in ``app`` when no app context is set."""
    from core.base.jobs import set_app
    from jobs.worker import register_cli

    set_app(app)
    register_cli(app)
