"""gunicorn settings of the web process in the ``gevent`` and ``threading`` modes
(``web.serve`` starts gunicorn with them; the ``eventlet`` mode runs eventlet's own server,
gunicorn having no eventlet worker since 26).

One gunicorn worker per process: Socket.IO keeps a socket's state in the process that
accepted it, so capacity grows by running more web processes (containers, units) behind
the sticky load balancer, not by gunicorn workers.
"""

import os

bind = f"{os.environ.get('BIND_HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
workers = 1
worker_class = "gevent" if os.environ.get("SOCKETIO_ASYNC_MODE") == "gevent" else "gthread"
threads = 100 if worker_class == "gthread" else 1
worker_connections = 10000
# A request (an upload, a ZIP download) may take this long; Socket.IO long-polls are 25 s.
timeout = 120
graceful_timeout = 30
keepalive = 5
# The app writes one JSON line per request with its request id (core/ops/logs.py).
accesslog = None
errorlog = "-"
# X-Forwarded-* are trusted by the app itself (PROXY_COUNT), not by gunicorn.
forwarded_allow_ips = "127.0.0.1"
# Several web processes may share a host (and $HOME): no shared control socket.
control_socket_disable = True


def child_exit(server, worker):
    """Drop the exited worker's live gauges from the shared metrics folder."""
    from core.ops.metrics import process_exited

    process_exited(worker.pid)
