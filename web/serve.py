"""The production web process (deploy/Procfile ``web``: ``python -m web.serve``).

``SOCKETIO_ASYNC_MODE`` picks the server (docs/deploy.md "The web server"):

- ``eventlet`` (the default): Flask-SocketIO's own eventlet server (``socketio.run``), the
  way its documentation deploys eventlet; gunicorn has no eventlet worker since 26.
- ``gevent``: a current gunicorn with its gevent worker (deploy/gunicorn.conf.py).
- ``threading``: gunicorn's threaded worker (no WebSocket upgrade; long-polling only).

Every mode binds ``BIND_HOST``:``PORT`` (default ``0.0.0.0:8000``) and runs one process:
capacity grows by running more web processes behind the sticky load balancer.

Only the standard library is imported before the mode's monkey-patching (done by
``wsgi``), so nothing grabs an unpatched socket or lock.
"""

import os
import shutil
import signal
import sys

#: Server modes this entry point runs.
MODES = ("eventlet", "gevent", "threading")


def bind_address() -> tuple[str, int]:
    """``(host, port)`` from ``BIND_HOST`` (default all interfaces) and ``PORT`` (8000)."""
    return (os.environ.get("BIND_HOST", "0.0.0.0"),  # noqa: S104 (behind the balancer)
            int(os.environ.get("PORT", "8000")))


def gunicorn_argv() -> list[str]:
    """The gunicorn command line of the gevent and threading modes."""
    exe = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or "gunicorn"
    return [exe, "--config", "deploy/gunicorn.conf.py", "wsgi:app"]


def _stop(_signum, _frame):
    """SIGTERM: leave the server loop so ``atexit`` hooks (metrics clean-up) run."""
    raise SystemExit(0)


def serve_eventlet() -> None:
    """Run the app under eventlet's WSGI server (what Flask-SocketIO's ``socketio.run``
    starts in eventlet mode, with production settings) until SIGTERM or SIGINT."""
    import atexit

    import eventlet
    import eventlet.wsgi

    import wsgi  # monkey-patches first, then builds the app
    from core.ops.metrics import process_exited

    atexit.register(process_exited)
    signal.signal(signal.SIGTERM, _stop)
    sock = eventlet.listen(bind_address(), backlog=2048, reuse_port=False)
    # log_output off: the app writes one JSON line per request with its id
    # (core/ops/logs.py). debug off: an error never sends a traceback to the client.
    # socket_timeout closes idle keep-alive sockets; the balancer's timeouts are longer.
    eventlet.wsgi.server(sock, wsgi.app, log_output=False, debug=False, keepalive=True,
                         socket_timeout=75, max_size=10000)


def main() -> None:
    """Start the web server of ``SOCKETIO_ASYNC_MODE`` (default ``eventlet``); exits 64
    for an unknown mode."""
    mode = os.environ.setdefault("SOCKETIO_ASYNC_MODE", "eventlet").strip() or "eventlet"
    os.environ["SOCKETIO_ASYNC_MODE"] = mode
    if mode not in MODES:
        print(f"web.serve: SOCKETIO_ASYNC_MODE must be one of {', '.join(MODES)}, "
              f"not {mode!r}", file=sys.stderr)
        raise SystemExit(64)
    if mode == "eventlet":
        serve_eventlet()
    else:
        argv = gunicorn_argv()
        os.execv(argv[0], argv)  # noqa: S606 (our own fixed command line)


if __name__ == "__main__":
    main()
