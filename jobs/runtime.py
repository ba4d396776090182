"""The app context that jobs run in, and the job decorator."""

import functools
import logging
import os

from rq import get_current_job
from rq.job import Job

_app = None


def set_app(app) -> None:
    """Remember the Flask app jobs should use (set by ``create_app`` via ``jobs.init_app``)."""
    global _app
    _app = app


def get_app():
    """Return the app for jobs: the one ``flask worker`` set, else a core app (no face)
    made from the environment."""
    global _app
    if _app is None:
        from core.base.app import create_core_app

        _app = create_core_app()
    return _app


def job_logger(name: str) -> logging.LoggerAdapter:
    """A logger whose lines carry the RQ job id (STYLE.md, Redash ``get_job_logger``)."""
    job = get_current_job()
    return logging.LoggerAdapter(logging.getLogger(name),
                                 {"job_id": job.id if job else "-"})


def ensure_own_db_pool(app) -> None:
    """In a process forked from the one that set ``app.extensions["siso_pid"]`` (the
    worker supervisor, :func:`jobs.worker.run_supervised`), discard the database pool
    inherited from it, once per process: the child then opens its own connections and
    keeps them for all its jobs (issue 6 "Speed": a new connection per job was part of
    the fork-per-job cost), and never uses the supervisor's. ``dispose(close=False)``
    leaves the supervisor's connections open for the supervisor. Call inside an app
    context; does nothing in the supervisor itself or in a process without
    ``siso_pid`` (web processes)."""
    from core.base.extensions import db

    pid = os.getpid()
    if pid == app.extensions.get("siso_pid", pid) or app.extensions.get("siso_pool_pid") == pid:
        return
    db.engine.dispose(close=False)
    app.extensions["siso_pool_pid"] = pid


#: Dotted names of the functions a worker may run: every ``@app_job`` (rules: "Jobs and
#: retries": whoever can write to Redis must not choose what a worker runs).
JOB_FUNCTIONS: set[str] = set()
#: The modules that declare jobs, imported before a worker checks a job's name.
JOB_MODULES = ("jobs.documents", "jobs.email", "jobs.payouts", "jobs.pdf", "jobs.scheduled",
               "jobs.statement_batches")


def allowed_job(func_name) -> bool:
    """True when ``func_name`` names one of our job functions (:data:`JOB_FUNCTIONS`,
    after importing :data:`JOB_MODULES`)."""
    import importlib

    for module in JOB_MODULES:
        importlib.import_module(module)
    return isinstance(func_name, str) and func_name in JOB_FUNCTIONS


class JobRefused(Exception):
    """A job named a function that is not one of ours; it was not run."""


class AllowedJob(Job):
    """An RQ job that runs only our job functions (:func:`allowed_job`) and has no
    callbacks: anything else raises :class:`JobRefused` before any import of it, so the
    job goes to the failed registry with that reason."""

    def _execute(self):
        if not allowed_job(self.func_name) or self.instance is not None:
            raise JobRefused(f"{self.func_name!r} is not one of SISO Partners' jobs; it was "
                             "not run.")
        return super()._execute()

    # Our jobs have no callbacks; a callback named in a job's payload is never imported.
    @property
    def success_callback(self):
        return None

    @property
    def failure_callback(self):
        return None

    @property
    def stopped_callback(self):
        return None


def app_job(fn):
    """Run ``fn`` inside an app context; commit on success, roll back on error; list it
    among the functions a worker may run (:data:`JOB_FUNCTIONS`).

    In the worker child, the first job discards the database pool inherited from the
    supervisor (:func:`ensure_own_db_pool`); later jobs reuse the child's connections.
    """
    JOB_FUNCTIONS.add(f"{fn.__module__}.{fn.__qualname__}")

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from core.base.extensions import db

        app = get_app()
        with app.app_context():
            ensure_own_db_pool(app)
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
