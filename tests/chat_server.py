"""Run one chat web process for the cross-process tests and the benchmark.

Environment: ``DATABASE_URL``, ``REDIS_URL``, ``SOCKETIO_MESSAGE_QUEUE``, ``SOCKETIO_CHANNEL``,
``PORT``, ``STORAGE_DIR``, ``SOCKETIO_ASYNC_MODE`` (``threading``, ``eventlet`` or ``gevent``). Uses the
testing config (same secret key as the test process) so tokens and cookies work in both.

``CHAT_PROFILE=<path>`` (benchmark only): from SIGUSR1 on, run under cProfile and, on
SIGTERM, write the profile to ``<path>`` and per-event handler timings (count, total, p50, p99, max in ms;
``connect`` included) and full garbage collections to ``<path>.events.json``. Under
eventlet cProfile sees every greenlet of the one OS thread; the timer is CPU time, so
``tottime`` is the process's CPU by function (waits for the database or other processes
are not in it).
"""

import os

if os.environ.get("SOCKETIO_ASYNC_MODE") == "eventlet":
    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)
    import eventlet

    eventlet.monkey_patch()
elif os.environ.get("SOCKETIO_ASYNC_MODE") == "gevent":
    from gevent import monkey

    monkey.patch_all()


from core.base.config import TestingConfig  # noqa: E402
from core.base.extensions import socketio  # noqa: E402
from web.app import create_app, freeze_startup_objects  # noqa: E402


def _profile(path: str) -> None:
    """Profile the process and time every Socket.IO handler; dump both on SIGTERM."""
    import cProfile
    import json
    import signal
    import time

    timings: dict[str, list[float]] = {}
    server = socketio.server
    original = server._trigger_event

    def timed(event, namespace, *args):
        start = time.perf_counter()
        try:
            return original(event, namespace, *args)
        finally:
            timings.setdefault(event, []).append((time.perf_counter() - start) * 1000)

    server._trigger_event = timed
    import gc

    gc_pauses: list[float] = []
    gc_started = [0.0]

    def gc_cb(phase, info):
        if phase == "start":
            gc_started[0] = time.perf_counter()
        elif info.get("generation") == 2:
            gc_pauses.append((time.perf_counter() - gc_started[0]) * 1000)

    gc.callbacks.append(gc_cb)
    prof = cProfile.Profile(time.process_time)  # CPU time: wall time on a busy box misleads

    def stop(*_):
        prof.disable()
        prof.dump_stats(path)
        out = {}
        for name, xs in timings.items():
            xs.sort()
            out[name] = {"count": len(xs), "total_ms": round(sum(xs), 1),
                         "p50_ms": round(xs[len(xs) // 2], 2),
                         "p99_ms": round(xs[min(len(xs) - 1, int(len(xs) * 0.99))], 2),
                         "max_ms": round(xs[-1], 2)}
        out["gc_gen2"] = {"count": len(gc_pauses), "total_ms": round(sum(gc_pauses), 1),
                          "max_ms": round(max(gc_pauses, default=0.0), 1)}
        from web import fanout

        out["fanout_writes"] = dict(fanout.stats)
        with open(path + ".events.json", "w") as fh:
            json.dump(out, fh, indent=1)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    # The benchmark profiles its measured phase only: it sends SIGUSR1 when that begins.
    signal.signal(signal.SIGUSR1, lambda *_: prof.enable())


def main() -> None:
    """Build the app from the environment and serve it until terminated."""
    mode = os.environ.get("SOCKETIO_ASYNC_MODE", "threading")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=os.environ["DATABASE_URL"],
                     REDIS_URL=os.environ["REDIS_URL"],
                     SOCKETIO_MESSAGE_QUEUE=os.environ["SOCKETIO_MESSAGE_QUEUE"],
                     STORAGE_DIR=os.environ.get("STORAGE_DIR", "/tmp/siso-chat-files"),
                     SOCKETIO_ASYNC_MODE=mode)
    freeze_startup_objects()  # as wsgi.py does
    port = int(os.environ["PORT"])
    if os.environ.get("CHAT_PROFILE"):
        _profile(os.environ["CHAT_PROFILE"])
    if mode in ("eventlet", "gevent"):
        socketio.run(app, host="127.0.0.1", port=port, log_output=False)
    else:
        socketio.run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True,
                     use_reloader=False, log_output=False)


if __name__ == "__main__":
    main()
