"""Direct WebSocket writes for Socket.IO broadcasts under eventlet (docs/architecture.md "A socket event",
``bench/chat.py``).

Engine.IO (python-engineio 4.15) queues every packet it sends, and a writer greenlet per
socket takes it off the queue and writes it. For a chat message to a room of 500
sockets that is 500 queue puts, 500 greenlet wake-ups and about 1,500 hub timers (the
writer waits on its queue with a timeout): about 33 µs of CPU a recipient, the largest
part of a chat process's work, and a broadcast to 1,000 partners over two processes
kept both cores busy for 40 ms (BENCHMARKS.md "Chat fan-out"). When a socket's writer
is idle, nothing is queued and nothing is being written, the emitting greenlet can
write the frame itself: the server's CPU per message halves.

``install()`` adds that fast path to Engine.IO's ``Socket.send``. What it keeps:

- **Order.** A frame is written directly only when the socket's queue is empty and its
  WebSocket send lock is free with no greenlet waiting for it. Eventlet switches
  greenlets only where one waits, and nothing here waits between the check and the
  write, so no earlier packet can still be on its way: the writer pops a packet and
  takes the send lock without a switch. (With permessage-deflate the compressor's state
  follows the same order.)
- **A slow reader never stalls a broadcast.** The write is one non-blocking ``send``.
  What the kernel does not take at once (a partner on a bad network whose buffers are
  full) is finished by a greenlet of its own that holds the send lock until it is
  done, so every later packet of that socket (queued, written by its writer) waits
  behind it and the broadcast goes on to the next socket.
- **Pings, close and upgrade packets still go through the queue**, and so does every
  packet of a socket that is not a plain eventlet WebSocket (long-polling, TLS
  terminated by eventlet): the writer's wait for its queue (ping interval + timeout)
  still ends with the next ping, as before.
- **A dead connection** fails the same way as before: the finishing greenlet's write
  raises, the reader sees the connection close and Engine.IO disconnects the socket.
  The message itself is in the database; the client fetches what it missed on
  reconnect (``join {after}``).

Threading mode is untouched. The attributes it relies on are checked at install; with
other library versions it logs a warning and leaves Engine.IO as it is.
"""

import logging
import sys

log = logging.getLogger(__name__)

#: Writes since start, by path (read by tests and the benchmark):
#: ``direct`` written whole at once, ``deferred`` started at once and finished by a
#: greenlet of their own (slow reader), ``queued`` left to Engine.IO's writer.
stats = {"direct": 0, "deferred": 0, "queued": 0}

_installed = False


def _busy(lock) -> bool:
    """True when taking the WebSocket's send lock could wait: held, or promised to a
    greenlet that has not run yet (eventlet's ``Semaphore`` hands a released lock to its
    waiters first, so ``locked()`` alone says "free" while the writer is still due)."""
    return lock.counter <= 0 or bool(lock._waiters)


def install() -> bool:
    """Add the direct-write fast path to ``engineio.socket.Socket`` (process-wide,
    idempotent). Only under eventlet with the socket module monkey-patched; returns
    ``True`` when the fast path is in place, ``False`` when it was not installed (not
    eventlet, or library internals not as expected: a warning is logged)."""
    global _installed
    if _installed:
        return True
    parts = _eventlet_parts()
    if parts is None:
        return False
    socket_class = parts["Socket"]
    socket_class._websocket_handler = _wrap_handler(socket_class._websocket_handler, parts)
    socket_class.send = _direct_send(socket_class.send, parts)
    _installed = True
    return True


def _eventlet_parts() -> dict | None:
    """The library pieces the fast path uses, or ``None`` when eventlet is not imported
    and monkey-patched, or their internals are not as expected."""
    if "eventlet" not in sys.modules:  # not imported, so not monkey-patched either
        return None
    try:
        from engineio import packet as eio_packet
        from engineio import socket as eio_socket
        from eventlet import patcher, spawn
        from eventlet.greenio.base import GreenSocket
        from eventlet.semaphore import Semaphore
        from eventlet.websocket import RFC6455WebSocket
    except ImportError:
        return None
    if not patcher.is_monkey_patched("socket"):
        return None
    socket_class = eio_socket.Socket
    needed = [(socket_class, "_websocket_handler"), (socket_class, "send"),
              (socket_class, "check_ping_timeout"), (RFC6455WebSocket, "_pack_message"),
              (RFC6455WebSocket, "_send")]
    probe = Semaphore()
    if not all(callable(getattr(cls, name, None)) for cls, name in needed) \
            or not hasattr(probe, "_waiters") or not hasattr(probe, "counter"):
        log.warning("Engine.IO or eventlet internals differ: broadcasts use the queue only")
        return None
    return {"Socket": socket_class, "message": eio_packet.MESSAGE, "spawn": spawn,
            "GreenSocket": GreenSocket, "RFC6455WebSocket": RFC6455WebSocket}


def _wrap_handler(websocket_handler, parts: dict):
    """Engine.IO's WebSocket handler, remembering the socket's eventlet WebSocket (the
    one the fast path writes to) while it runs."""
    ws_class, green_socket = parts["RFC6455WebSocket"], parts["GreenSocket"]

    def _websocket_handler(self, ws):
        if type(ws) is ws_class and type(getattr(ws, "socket", None)) is green_socket \
                and hasattr(ws, "_sendlock"):
            self._direct_ws = ws
        try:
            return websocket_handler(self, ws)
        finally:
            self._direct_ws = None

    return _websocket_handler


def _finish(ws, rest: bytes) -> None:
    """Write the rest of a frame (waiting for the reader), then free the lock."""
    try:
        ws.socket.sendall(rest)
    except OSError as exc:  # the reader sees the connection go and disconnects it
        log.debug("chat socket write failed: %s", exc)
    finally:
        ws._sendlock.release()


def _direct_send(queued_send, parts: dict):
    """``Socket.send`` writing a message frame straight to an idle WebSocket, and through
    Engine.IO's queue otherwise (order kept: direct only when nothing is queued or being
    written for that socket)."""
    message, spawn = parts["message"], parts["spawn"]

    def send(self, pkt):
        ws = self.__dict__.get("_direct_ws")
        if (ws is None or pkt.packet_type != message or not self.upgraded or self.upgrading
                or self.closing or self.closed or self.queue.qsize() or _busy(ws._sendlock)):
            stats["queued"] += 1
            return queued_send(self, pkt)
        if not self.check_ping_timeout():
            return None
        if ws.client or ws.extensions:  # compressed: each socket's compressor has state
            frame = ws._pack_message(pkt.encode(), masked=ws.client)
        else:  # a broadcast hands every socket the same packet: frame it once
            frame = pkt.__dict__.get("_direct_frame")
            if frame is None:
                frame = pkt._direct_frame = ws._pack_message(pkt.encode())
        ws._sendlock.acquire()  # free: checked above, and nothing since has switched
        try:
            sent = ws.socket.fd.send(frame)
        except OSError:  # BlockingIOError: nothing sent; others: _finish lets it go
            sent = 0
        if sent == len(frame):
            ws._sendlock.release()
            stats["direct"] += 1
        else:
            stats["deferred"] += 1
            spawn(_finish, ws, frame[sent:])
        return None

    return send
