"""``flask worker``: a supervisor, one long-lived RQ worker child and one scheduler
process (rules: "Jobs and retries"; docs: architecture, "A job").

The process model, and why:

- The **supervisor** (:func:`run_supervised`) creates and warms the app
  (:func:`warm_up_renderer`, ``gc.freeze()``), starts no threads, and forks one
  **worker child** and one **scheduler** (``jobs.scheduler``). It then waits for the
  worker child, restarts the scheduler within a second of its death, forwards
  ``SIGTERM``/``SIGINT`` to the child (RQ's warm shutdown: the current job finishes)
  and, every few seconds, reads the child's current job from Redis to kill a child stuck
  past its job's time limit + 60 s (what RQ's forking worker does to a stuck
  work-horse).
- The **worker child** runs :class:`jobs.limits.LimitedWorker` (an ``rq.SimpleWorker``):
  every job runs in that one process, which keeps its database connections, compiled
  SQL and WeasyPrint state from job to job (a fresh work-horse per job cost about 60 ms;
  BENCHMARKS.md "PDF pipeline"). It also runs the ticker
  (:func:`jobs.ticker.start_ticker`). It never starts RQ's own scheduler.
- The **scheduler** puts jobs due for a retry back on their queues; it rides out Redis
  outages and keeps a stable name, so a restarted one takes its locks back at once.
- **Safety** rests on replacing the child: it exits cleanly after a job hit its memory
  or time limit (its renderer may be damaged) and after ``WORKER_MAX_JOBS`` jobs (to
  bound leaks), and the supervisor forks a fresh one from its warm, clean memory. When
  the child dies holding a job (SIGKILL, OOM killer, a crash in C code), the supervisor
  fails that job the way RQ fails a dead work-horse's job (same ``exc_string``, through
  :meth:`jobs.limits.LimitedWorker.handle_job_failure`: the row gets its sentence, the
  ``Retry`` given at enqueue is honoured, the requester is told when it is final),
  registers the dead worker's death and forks a fresh child.
"""

import contextlib
import gc
import logging
import os
import select
import signal
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field

import click
from flask import Flask

from jobs.limits import LimitedWorker
from jobs.scheduler import set_parent_death_signal

log = logging.getLogger(__name__)

#: Exit status of a worker child that stopped to be replaced (a limit was hit, or
#: ``WORKER_MAX_JOBS`` reached): the supervisor starts a fresh child, also in burst mode.
EXIT_RECYCLE = 75  # os.EX_TEMPFAIL
#: Seconds past a job's time limit after which the supervisor kills the child (RQ's
#: forking worker allows its work-horse the same 60 s).
HARD_KILL_GRACE = 60
#: Seconds between the supervisor's looks at the child's current job.
WATCH_SECONDS = 5
#: Consecutive crashes (no job held, no clean exit) after which a burst run gives up.
BURST_CRASH_LIMIT = 5

_warm = False


def warm_up_renderer() -> None:
    """Render a sample statement and each built-in material once per process, in the
    supervisor (later calls do nothing).

    Every worker child inherits what that leaves in memory: WeasyPrint's fonts, Pango's
    font map, the user-agent stylesheets and the compiled Jinja templates, so a fresh
    child (after a crash, a limit or ``WORKER_MAX_JOBS``) renders its first job at full
    speed (bench/pdf.py, BENCHMARKS.md "PDF pipeline"). Uses sample values only.
    """
    global _warm
    if _warm:
        return
    from core.base.pdf import render_pdf
    from core.content.materials import builtin_template_rows, render_material_html, sample_context
    from core.money.statement_pdf import render_statement_pdf

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
    render_statement_pdf(statement)
    context = sample_context("https://example.invalid/r/SAMPLE")
    for template in builtin_template_rows():
        render_pdf(render_material_html(template, context))
    # Keep the garbage collector's hands off everything loaded so far: a child that
    # collected it would write to (and so copy) most of the supervisor's pages.
    gc.collect()
    gc.freeze()
    _warm = True


def prepare_supervisor(app: Flask) -> None:
    """Make this process the supervisor of ``app``'s worker children: preload and warm
    WeasyPrint (:func:`warm_up_renderer`), make jobs use ``app`` (``core.base.jobs.set_app``) and
    record this pid as ``app.extensions["siso_pid"]``, so that the memory cap
    (:func:`jobs.limits.render_limits`) and the fresh database pool
    (:func:`core.base.jobs.ensure_own_db_pool`) apply in the children, never here."""
    import weasyprint  # noqa: F401  (preload before forking)

    from core.base.jobs import set_app

    warm_up_renderer()
    set_app(app)  # jobs run in this app, not in whichever app was created last
    app.extensions["siso_pid"] = os.getpid()


def make_worker(app: Flask, queues=None, burst: bool = False, name: str | None = None,
                max_jobs: int | None = None, ticker: bool = False):
    """Return the in-process RQ worker a worker child runs: a
    :class:`jobs.limits.LimitedWorker` (``rq.SimpleWorker``; render jobs run under a
    memory cap, failures are recorded on their rows, the worker stops to be replaced
    after a limit or ``max_jobs`` jobs) on the app's Redis, with the JSON serializer.

    ``name`` is the RQ worker name (the supervisor picks one per child, to find its job
    if it dies); ``burst`` is unused (kept for callers; pass it to ``work()``);
    ``ticker``: the worker's ``start_ticker()`` starts :func:`jobs.ticker.start_ticker`.
    Called outside a supervisor, this process becomes the one that sets ``siso_pid`` (no
    memory cap applies in it)."""
    from rq.serializers import JSONSerializer

    from core.base.jobs import QUEUES, redis_connection, set_app
    from core.base.pdf import DEFAULT_MEMORY_LIMIT_MB
    from jobs.allowed import AllowedJob

    warm_up_renderer()
    set_app(app)
    app.extensions.setdefault("siso_pid", os.getpid())
    with app.app_context():
        conn = redis_connection()
    worker = ChildWorker(list(queues or QUEUES), name=name, connection=conn,
                         serializer=JSONSerializer, job_class=AllowedJob)
    worker.memory_limit_mb = int(app.config.get("PDF_MEMORY_LIMIT_MB", DEFAULT_MEMORY_LIMIT_MB))
    worker.max_jobs = max_jobs
    worker.ticker_app = app if ticker else None
    return worker


class ChildWorker(LimitedWorker):
    """:class:`LimitedWorker` as run in a worker child, with the ticker
    (:func:`jobs.ticker.start_ticker`) when it has a ``ticker_app``. It never runs
    RQ's scheduler: the supervisor owns that process (``jobs.scheduler``)."""

    ticker_app = None
    _ticker = None

    def start_ticker(self) -> None:
        """Start the ticker thread once (if this worker has a ``ticker_app``)."""
        if self.ticker_app is not None and self._ticker is None:
            from jobs.ticker import start_ticker

            self._ticker = start_ticker(self.ticker_app)


@dataclass
class SupervisorReport:
    """What :func:`run_supervised` did, for its caller (tests, bench)."""

    #: Pids of the worker children, in the order they were forked.
    children: list[int] = field(default_factory=list)
    #: Their RQ worker names (same order).
    names: list[str] = field(default_factory=list)
    #: Their ``waitpid`` statuses (same order).
    statuses: list[int] = field(default_factory=list)
    #: Ids of jobs failed because the child holding them died.
    lost_jobs: list[str] = field(default_factory=list)
    #: True when a burst run stopped after ``BURST_CRASH_LIMIT`` crashes in a row.
    gave_up: bool = False


def run_supervised(app: Flask, queues=None, burst: bool = False, with_scheduler: bool = True,
                   max_jobs: int | None = None, ticker: bool | None = None) -> SupervisorReport:
    """Serve ``queues`` (default: ``core.base.outbox.QUEUES``) with one long-lived worker child
    under this process as its supervisor (module docstring).

    Args:
        app: the Flask app the jobs run in; warmed here (:func:`prepare_supervisor`).
        queues: queue names in priority order.
        burst: the child exits when the queues are empty, and so does this function
            (after replacing children that stopped on a limit, ``max_jobs`` or a crash).
        with_scheduler: this supervisor also keeps one scheduler process alive
            (``jobs.scheduler.SchedulerKeeper``: retries after a back-off).
        max_jobs: jobs after which a child is replaced; default ``WORKER_MAX_JOBS``
            (0: never).
        ticker: start :func:`jobs.ticker.start_ticker` in the child; default: when
            not ``burst``.

    Returns:
        a :class:`SupervisorReport` (children's pids and names, statuses, lost jobs).

    ``SIGTERM``/``SIGINT`` are forwarded to the child (warm shutdown), then the function
    returns; the previous handlers are put back. Raises nothing for a dying child: its
    job is failed as RQ fails a dead work-horse's job, and a fresh child is forked.
    Must run in the process's main thread (signal handlers); the process should have no
    other threads (a fork copies none of them, but copies the locks they hold).
    """
    return Supervisor(app, queues, burst, with_scheduler, max_jobs, ticker).run()


class Supervisor:
    """The state of one :func:`run_supervised` call: the worker child being waited for,
    the scheduler it keeps, the report, and the crash count."""

    def __init__(self, app: Flask, queues, burst: bool, with_scheduler: bool,
                 max_jobs: int | None, ticker: bool | None):
        from rq.logutils import setup_loghandlers

        from core.base.jobs import QUEUES, redis_connection
        from core.base.pdf import DEFAULT_MEMORY_LIMIT_MB
        from jobs.scheduler import SchedulerKeeper

        prepare_supervisor(app)
        self.app, self.burst = app, burst
        self.queues = list(queues or QUEUES)
        self.max_jobs = int(app.config.get("WORKER_MAX_JOBS", 0) or 0) if max_jobs is None \
            else max_jobs
        self.ticker = (not burst) if ticker is None else ticker
        self.memory_mb = int(app.config.get("PDF_MEMORY_LIMIT_MB", DEFAULT_MEMORY_LIMIT_MB))
        with app.app_context():
            self.conn = redis_connection()
        setup_loghandlers(None, name="rq.worker")  # the dead-child lines go where RQ's go
        self.rq_log = logging.getLogger("rq.worker")
        self.me = os.getpid()
        self.state = {"child": 0, "stopping": False}
        self.report = SupervisorReport()
        self.crashes = 0
        self.keeper = SchedulerKeeper(app.config["REDIS_URL"], self.queues, self.me) \
            if with_scheduler else None

    def _forward(self, signum, frame):
        if os.getpid() != self.me:  # a child that has not yet installed its own handlers
            os._exit(0)
        self.state["stopping"] = True
        if self.state["child"]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.state["child"], signum)

    def run(self) -> SupervisorReport:
        """Fork worker children one after another until stopped (or, in burst mode, until
        the queues are empty); keep the scheduler alive meanwhile."""
        previous = {s: signal.signal(s, self._forward) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            if self.keeper is not None:
                self.keeper.start()
            while not self.state["stopping"]:
                pid, name = self._fork_child()
                status = _wait_for_child(pid, name, self.queues, self.conn, self.rq_log,
                                         self.state, self.keeper)
                self.state["child"] = 0
                if not self._carry_on(pid, name, status):
                    break
        finally:
            if self.keeper is not None:
                self.keeper.stop()
            for s, handler in previous.items():
                signal.signal(s, handler)
        return self.report

    def _fork_child(self) -> tuple[int, str]:
        name = (f"{socket.gethostname()}.{self.me}.{len(self.report.children) + 1}."
                f"{uuid.uuid4().hex[:8]}")
        threads = _thread_count()
        if threads > 1:
            log.warning("supervisor %s forks a worker child with %s threads running", self.me,
                        threads)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child_main(self.app, name, self.queues, self.burst, self.max_jobs, self.ticker,
                        self.me)
        self.state["child"] = pid
        if self.state["stopping"]:  # the signal came between the fork and the line above
            os.kill(pid, signal.SIGTERM)
        self.report.children.append(pid)
        self.report.names.append(name)
        return pid, name

    def _carry_on(self, pid: int, name: str, status: int) -> bool:
        """Record the child's end, fail the jobs it held, and say whether to fork another."""
        self.report.statuses.append(status)
        lost = _bury_child(self.conn, name, self.queues, pid, status, self.memory_mb,
                           self.rq_log)
        self.report.lost_jobs.extend(lost)
        code = os.waitstatus_to_exitcode(status)
        if self.state["stopping"]:
            return False
        if lost or code == EXIT_RECYCLE:
            self.crashes = 0
            return True
        if code == 0:
            self.crashes = 0
            if self.burst:
                return False
            self.rq_log.info("Worker %s (pid %s) exited; starting a fresh one", name, pid)
            return True
        self.crashes += 1
        self.rq_log.warning("Worker %s (pid %s) ended with status %s holding no job (%s in a "
                            "row)", name, pid, code, self.crashes)
        if self.burst and self.crashes >= BURST_CRASH_LIMIT:
            self.report.gave_up = True
            return False
        _sleep_unless_stopping(min(30.0, 0.5 * 2 ** (self.crashes - 1)), self.state,
                               self.keeper)
        return True


def _thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        import threading

        return threading.active_count()


def _sleep_unless_stopping(seconds: float, state: dict, keeper=None) -> None:
    deadline = time.monotonic() + seconds
    while not state["stopping"] and time.monotonic() < deadline:
        time.sleep(min(0.2, deadline - time.monotonic()))
        if keeper is not None:
            keeper.check()


def _child_main(app, name, queues, burst, max_jobs, ticker, supervisor):
    """The worker child: run the RQ worker, then ``os._exit`` (never return into the
    supervisor's code, which may be a test runner). Exit status 0 when the work loop
    ended (queues empty in burst mode, or a shutdown was asked), :data:`EXIT_RECYCLE`
    when the worker stopped to be replaced, 1 on an unexpected error."""
    code = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        set_parent_death_signal(signal.SIGTERM)
        if os.getppid() != supervisor:  # the supervisor died before the line above
            os._exit(0)
        import random

        random.seed()
        worker = make_worker(app, queues, burst, name=name, max_jobs=max_jobs, ticker=ticker)
        worker.start_ticker()
        worker.work(burst=burst, with_scheduler=False)  # the supervisor owns the scheduler
        code = EXIT_RECYCLE if worker.recycle_reason else 0
    except SystemExit as exc:  # RQ's cold shutdown
        code = exc.code if isinstance(exc.code, int) else 0
    except BaseException:  # noqa: BLE001  (report it, then exit: never unwind the fork)
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(BaseException):
            from core.base.extensions import db

            with app.app_context():  # close this child's own connections politely
                if app.extensions.get("siso_pool_pid") == os.getpid():
                    db.engine.dispose()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _child_view(conn, name, queues):
    """A :class:`LimitedWorker` for the child named ``name``, built in the supervisor to
    read that child's state in Redis and to fail its job (never run)."""
    from rq.serializers import JSONSerializer

    from jobs.allowed import AllowedJob

    return LimitedWorker(queues, name=name, connection=conn, serializer=JSONSerializer,
                         job_class=AllowedJob, prepare_for_work=False)


def _current_jobs(view):
    """``[(execution, job)]`` the child is running, from its execution index in Redis."""
    from rq.exceptions import NoSuchJobError

    found = []
    for execution in view.get_current_executions(refresh=True):
        try:
            job = view.job_class.fetch(execution.job_id, connection=view.connection,
                                       serializer=view.serializer)
        except NoSuchJobError:
            continue
        found.append((execution, job))
    return found


#: Seconds an idle worker child may take to stop after the forwarded SIGTERM before
#: the supervisor repeats it (RQ's second signal: a cold shutdown).
IDLE_STOP_GRACE = 10


def _wait_for_child(pid, name, queues, conn, rq_log, state=None, keeper=None) -> int:
    """Wait for the child to exit and return its ``waitpid`` status. Every second, let
    ``keeper`` (a ``jobs.scheduler.SchedulerKeeper``) restart a dead scheduler. Every
    :data:`WATCH_SECONDS`, kill the child if its job ran :data:`HARD_KILL_GRACE` s past
    the job's time limit (a render stuck in C code never sees SimpleWorker's alarm).

    Once ``state["stopping"]`` (a warm shutdown forwarded to the child), a child that
    holds no job and is still there after :data:`IDLE_STOP_GRACE` s gets SIGTERM again:
    a warm stop that landed while RQ still counted the child busy between two jobs only
    sets a flag, and the child would sit in its blocking dequeue for minutes."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = None
    next_watch = time.monotonic() + WATCH_SECONDS
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return status
            wait = min(1.0, max(0.0, next_watch - time.monotonic()))
            if fd is not None:
                select.select([fd], [], [], wait)
            else:
                time.sleep(min(wait, 0.05))
            if keeper is not None and not (state or {}).get("stopping"):
                keeper.check()
            if time.monotonic() < next_watch:
                continue
            next_watch = time.monotonic() + WATCH_SECONDS
            if state is not None and state.get("stopping"):
                _repeat_stop_if_idle(pid, name, queues, conn, rq_log, state)
            _kill_if_stuck(pid, name, queues, conn, rq_log)
    finally:
        if fd is not None:
            os.close(fd)


def _repeat_stop_if_idle(pid, name, queues, conn, rq_log, state) -> None:
    """SIGTERM the child again when it is idle :data:`IDLE_STOP_GRACE` s after a stop."""
    since = state.setdefault("stop_seen", time.monotonic())
    if time.monotonic() - since < IDLE_STOP_GRACE or state.get("repeated"):
        return
    try:
        idle = not list(_current_jobs(_child_view(conn, name, queues)))
    except Exception:  # noqa: BLE001  (Redis down: assume idle)
        idle = True
    if idle:
        rq_log.warning("Worker %s (pid %s) is idle and still running %s s after the stop; "
                       "repeating it", name, pid, IDLE_STOP_GRACE)
        state["repeated"] = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def _kill_if_stuck(pid, name, queues, conn, rq_log) -> None:
    """SIGKILL the child when its job ran :data:`HARD_KILL_GRACE` s past its limit."""
    from jobs.limits import _ran_seconds

    try:
        for _execution, job in _current_jobs(_child_view(conn, name, queues)):
            limit, ran = job.timeout, _ran_seconds(job)
            if limit and limit > 0 and ran > limit + HARD_KILL_GRACE:
                rq_log.warning("Worker %s: job %s ran %.0f s, past its %s s limit; killing "
                               "the worker child %s", name, job.id, ran, limit, pid)
                os.kill(pid, signal.SIGKILL)
    except Exception:  # noqa: BLE001  (Redis down: keep waiting for the child)
        log.exception("could not watch worker child %s", pid)


def _bury_child(conn, name, queues, pid, status, memory_mb, rq_log) -> list[str]:
    """After the child ``name`` (``pid``) exited with ``status``: fail the jobs it held
    the way RQ's ``Worker.monitor_work_horse`` fails a dead work-horse's job (same
    ``exc_string``, so ``jobs.limits.friendly_error`` reads it), through
    :meth:`LimitedWorker.handle_job_failure`, and register its death if it could not.
    Returns the ids of the jobs failed."""
    from rq.job import JobStatus
    from rq.utils import now

    view = _child_view(conn, name, queues)
    view.memory_limit_mb = memory_mb
    lost = []
    try:
        held = _current_jobs(view)
    except Exception:  # noqa: BLE001
        log.exception("could not read the jobs of worker %s", name)
        held = []
    for execution, job in held:
        try:
            job_status = job.get_status()
        except Exception:  # noqa: BLE001  (its hash expired meanwhile: nothing to fail)
            log.info("job %s of worker %s is gone", job.id, name)
            continue
        if job_status in (JobStatus.FINISHED, JobStatus.FAILED):
            continue
        job.ended_at = now()
        signal_msg = f" (signal {os.WTERMSIG(status)})" if status and os.WIFSIGNALED(status) else ""
        exc_string = f"Work-horse terminated unexpectedly; waitpid returned {status}{signal_msg}; "
        rq_log.warning("Worker %s: job %s failed (%s)", name, job.id, exc_string)
        view.handle_work_horse_killed(job, pid, status, None)
        queue = view.queue_class(job.origin, connection=conn, job_class=view.job_class,
                                 serializer=view.serializer)
        view.handle_job_failure(job, queue=queue, exc_string=exc_string, execution=execution)
        lost.append(job.id)
    try:
        if conn.exists(view.key) and not conn.hexists(view.key, "death"):
            view.register_death()
            rq_log.warning("Worker %s (pid %s) died with status %s; registered its death",
                           name, pid, status)
    except Exception:  # noqa: BLE001
        log.exception("could not clean up after worker %s", name)
    return lost


def register_cli(app: Flask) -> None:
    """Add ``flask worker`` to the app's CLI."""

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Exit when the queues are empty")
    @click.option("--queues", default="payouts,email,pdf,default",
                  help="Queues in priority order")
    def worker_cmd(burst, queues):
        """Run the worker supervisor and its worker child for the payouts, email, pdf and
        default queues (jobs.worker module docstring)."""
        from core.base.extensions import socketio

        mq = app.config.get("SOCKETIO_MESSAGE_QUEUE")
        if mq:  # a write-only emitter (no thread): notifications reach the web processes
            socketio.init_app(None, message_queue=mq, async_mode="threading",
                              channel=app.config["SOCKETIO_CHANNEL"])
        report = run_supervised(app, queues.split(","), burst=burst, with_scheduler=True)
        if report.gave_up:
            raise SystemExit(1)
