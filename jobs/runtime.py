"""The app context that jobs run in, and the job decorator."""

import functools
import logging
import os

from rq import get_current_job

_app = None


def set_app(app) -> None:
    """Remember the Flask app jobs should use (set by ``create_app`` via ``jobs.init_app``)."""
    global _app
    _app = app


def get_app():
    """Return the app for jobs, creating one from the environment if none was set."""
    global _app
    if _app is None:
        from core import create_app

        _app = create_app()
    return _app


def job_logger(name: str) -> logging.LoggerAdapter:
    """A logger whose lines carry the RQ job id (STYLE.md, Redash ``get_job_logger``)."""
    job = get_current_job()
    return logging.LoggerAdapter(logging.getLogger(name),
                                 {"job_id": job.id if job else "-"})


def app_job(fn):
    """Run ``fn`` inside an app context; commit on success, roll back on error.

    In a forked work-horse the inherited database pool is discarded first, so the child
    never reuses the parent's connections.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from core.extensions import db

        app = get_app()
        with app.app_context():
            if os.getpid() != app.extensions.get("siso_pid", os.getpid()):
                db.engine.dispose(close=False)
            try:
                result = fn(*args, **kwargs)
                db.session.commit()
                return result
            except Exception:
                db.session.rollback()
                raise
            finally:
                db.session.remove()

    return wrapper
