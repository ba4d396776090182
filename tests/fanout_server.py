"""A bare python-socketio server under eventlet with ``web.fanout`` installed, for
tests/test_fanout.py: large broadcasts to one room, which a real chat message (2,000
characters at most) would need thousands of to fill a socket's buffers.

Environment: ``PORT``. Events (all acknowledged): ``join`` (enter room ``r``),
``burst {n, size}`` (emit ``m {i, pad}`` n times to the room, ``pad`` of ``size``
characters; ack: seconds the emitting took), ``stats`` (ack: ``web.fanout.stats`` and
whether the fast path is installed).
"""

import os
import time
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import eventlet  # noqa: E402

eventlet.monkey_patch()


import socketio  # noqa: E402
from eventlet import wsgi  # noqa: E402

from web import fanout  # noqa: E402

# Long keep-alive: a test client that stops reading must not be dropped for missing pongs.
sio = socketio.Server(async_mode="eventlet", ping_interval=120, ping_timeout=120)
installed = fanout.install()


@sio.on("join")
def join(sid, data=None):
    """Put the socket in room ``r``."""
    sio.enter_room(sid, "r")
    return {"ok": True}


@sio.on("burst")
def burst(sid, data):
    """Emit ``n`` numbered messages of ``size`` characters to room ``r``."""
    start = time.perf_counter()
    pad = "x" * int(data["size"])
    for i in range(int(data["n"])):
        sio.emit("m", {"i": i, "pad": pad}, to="r")
    return {"ok": True, "seconds": time.perf_counter() - start}


@sio.on("stats")
def stats(sid, data=None):
    """How the fan-out wrote so far."""
    return {"installed": installed, **fanout.stats}


if __name__ == "__main__":
    listener = eventlet.listen(("127.0.0.1", int(os.environ["PORT"])))
    wsgi.server(listener, socketio.WSGIApp(sio), log_output=False)
