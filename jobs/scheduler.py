"""The job scheduler of ``flask worker``: one process per supervisor, owned by it
(rules: "Jobs and retries").

RQ's scheduler puts jobs due for a retry (or scheduled for later) back on their queues.
Left to RQ, it is a process the worker child forks; it exits on its first Redis error,
nobody restarts it for 10 minutes, and one started by RQ's own check outlives a dead
worker child and keeps the locks. Here the supervisor forks the scheduler itself
(:class:`SchedulerKeeper`), restarts it within seconds when it dies, and stops it when the
supervisor stops. The scheduler loop (:func:`run_scheduler`) rides out Redis outages:
it retries every second and carries on when Redis is back. Its name is stable per
supervisor, so a restarted scheduler takes its predecessor's queue locks back at once
(RQ's lock is refreshed by the same name) instead of waiting for them to expire.
"""

import contextlib
import logging
import os
import signal
import socket
import sys
import time

log = logging.getLogger(__name__)

#: Seconds between the scheduler's rounds (RQ's default interval).
INTERVAL = 1
#: Seconds between attempts to take queue locks held by no live scheduler.
LOCK_RETRY_SECONDS = 5.0
#: Longest wait before a scheduler that keeps dying is started again (seconds).
MAX_RESTART_DELAY = 10.0


def scheduler_name(supervisor_pid: int) -> str:
    """The stable RQ scheduler name of the supervisor ``supervisor_pid`` on this host."""
    return f"{socket.gethostname()}.{supervisor_pid}.scheduler"


def run_scheduler(redis_url: str, queues: list[str], name: str) -> None:
    """The scheduler process's loop, until SIGTERM or SIGINT: take the queues' locks, keep
    them alive and put due jobs on their queues, every :data:`INTERVAL` seconds. A Redis
    error is logged and the round tried again a second later; it never ends the loop.
    On stop, releases its locks and registers its death."""
    from redis import Redis
    from redis.exceptions import RedisError
    from rq.scheduler import RQScheduler
    from rq.serializers import JSONSerializer

    conn = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
    scheduler = RQScheduler(queues, connection=conn, interval=INTERVAL,
                            serializer=JSONSerializer, name=name)
    stop = {"now": False}

    def request_stop(signum, frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    born, next_lock_try, failing = False, 0.0, False
    while not stop["now"]:
        try:
            if not born:
                scheduler.register_birth()
                born = True
            if scheduler.acquired_locks != set(queues) and time.monotonic() >= next_lock_try:
                scheduler.acquire_locks()
                next_lock_try = time.monotonic() + LOCK_RETRY_SECONDS
            if scheduler.acquired_locks:
                scheduler.heartbeat()
                scheduler.enqueue_scheduled_jobs()
            if failing:
                log.info("scheduler %s: Redis answers again; scheduling resumed", name)
                failing = False
        except RedisError as exc:
            if not failing:
                log.warning("scheduler %s: Redis unavailable (%s); retrying every second",
                            name, exc)
            failing, born = True, False
            scheduler._acquired_locks = set()  # take them again once Redis answers
            next_lock_try = 0.0
        time.sleep(INTERVAL)
    with contextlib.suppress(RedisError):
        scheduler.release_locks()
        scheduler.register_death()


def set_parent_death_signal(sig: int) -> None:
    """Linux: have the kernel send ``sig`` to this process when its parent dies, so a
    child (worker or scheduler) whose supervisor was SIGKILLed shuts down warmly instead
    of serving on unsupervised. Best effort elsewhere."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class SchedulerKeeper:
    """Keeps exactly one scheduler process alive for a supervisor: :meth:`start` forks
    it, :meth:`check` (called by the supervisor every second) reaps a dead one and forks
    a new one (after a back-off when it keeps dying), :meth:`stop` ends it."""

    def __init__(self, redis_url: str, queues: list[str], supervisor_pid: int):
        self.redis_url = redis_url
        self.queues = list(queues)
        self.name = scheduler_name(supervisor_pid)
        self.pid = 0
        self.restarts = 0
        self._next_start = 0.0
        self._failures = 0

    def start(self) -> int:
        """Fork the scheduler process; returns its pid."""
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover  (the child never returns)
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                set_parent_death_signal(signal.SIGTERM)
                run_scheduler(self.redis_url, self.queues, self.name)
            except BaseException:  # noqa: BLE001  (report, then exit: never unwind the fork)
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.pid = pid
        log.info("scheduler %s started (pid %s)", self.name, pid)
        return pid

    def check(self) -> None:
        """Reap the scheduler if it died and start a fresh one (at once the first time,
        then after a growing pause, up to :data:`MAX_RESTART_DELAY`)."""
        if self.pid:
            try:
                done, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                done, status = self.pid, 0
            if done != self.pid:
                self._failures = 0
                return
            log.warning("scheduler %s (pid %s) ended with status %s; starting another",
                        self.name, self.pid, status)
            self.pid = 0
            self._failures += 1
            self._next_start = time.monotonic() + min(
                MAX_RESTART_DELAY, 0.0 if self._failures == 1 else 2.0 ** self._failures)
        if not self.pid and time.monotonic() >= self._next_start:
            self.restarts += 1
            self.start()

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the scheduler, wait up to ``grace`` seconds, then SIGKILL it."""
        if not self.pid:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            done, _ = os.waitpid(self.pid, os.WNOHANG)
            if done == self.pid:
                self.pid = 0
                return
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        self.pid = 0
