"""Run untrusted work (a staff-written template's trial render) in a short-lived child
process under a memory and a time cap, so that nothing it does can grow or stall the
process that asked (rules: "Template sandbox").

The child is a ``fork`` of the caller: it inherits what is already imported and needs no
start-up, caps its own address space (``RLIMIT_AS``) and CPU time (``RLIMIT_CPU``), runs
the function, sends back one line of JSON (the result, or the error's sentence) and exits
with ``os._exit``. The parent waits at most ``seconds`` and kills the child after that.
"""

import contextlib
import json
import os
import resource
import select
import signal
import time
from collections.abc import Callable

#: Most bytes of the child's answer read back (a sentence or a small result).
MAX_ANSWER = 64 * 1024


class CapExceeded(Exception):
    """The child hit its time or memory cap, or died; ``message`` says which, for people."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ChildError(Exception):
    """The function raised in the child; ``message`` is the exception's text."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


def _vm_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _child(write_fd: int, fn: Callable, args: tuple, memory_mb: int, seconds: float) -> None:
    code = 0
    try:
        cpu = max(1, int(seconds + 1))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        cap = _vm_bytes() + memory_mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        try:
            answer = {"ok": True, "result": fn(*args)}
        except MemoryError:
            answer = {"ok": False, "kind": "MemoryError", "message": ""}
        except Exception as exc:  # noqa: BLE001  (every error goes back as a sentence)
            answer = {"ok": False, "kind": type(exc).__name__, "message": str(exc)[:2000]}
        data = json.dumps(answer).encode()[:MAX_ANSWER]
        while data:
            data = data[os.write(write_fd, data):]
    except BaseException:  # noqa: BLE001  (never unwind into the parent's code)
        code = 1
    finally:
        os._exit(code)


def run_capped(fn: Callable, *args, seconds: float = 5.0, memory_mb: int = 256):
    """Return ``fn(*args)`` computed in a forked child under the caps.

    Args: ``fn`` a function whose result is JSON-able; ``seconds`` wall-clock limit;
    ``memory_mb`` address space the child may add to what it inherited (MB).
    Raises ``CapExceeded`` (time or memory cap hit, child killed or crashed) or
    ``ChildError`` (``fn`` raised; its type name and text).
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover  (the child exits inside _child)
        os.close(read_fd)
        _child(write_fd, fn, args, memory_mb, seconds)
    os.close(write_fd)
    chunks, deadline, timed_out = [], time.monotonic() + seconds, False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        if timed_out:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if timed_out or (os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU,
                                                                          signal.SIGKILL)):
        raise CapExceeded(f"it took longer than the {seconds:g} s limit")
    try:
        answer = json.loads(b"".join(chunks) or b"null")
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise CapExceeded("the process doing it ended unexpectedly (out of memory?)")
    if answer["ok"]:
        return answer["result"]
    if answer["kind"] == "MemoryError":
        raise CapExceeded(f"it needed more than the {memory_mb} MB memory limit")
    raise ChildError(answer["kind"], answer["message"])
