"""Log lines every process writes (rules: "Logs, metrics and errors").

One handler on the root logger, JSON (python-json-logger, ``LOG_FORMAT=json``, the
production default) or text. Every line carries the context of what the process is doing
when it writes it: ``request_id`` (taken from ``X-Request-ID`` or made, and carried into
the jobs a request queues and the socket's events), ``user_id``, ``route`` (the URL rule,
never the path: some paths hold tokens) and ``job_id``. A filter blanks what looks like a
secret (bearer tokens, ``password=``/``token=`` pairs, Stripe keys) in every message
before any handler sees it.
"""

import logging
import re
import secrets
import sys
from contextvars import ContextVar

#: What the current request, job or socket event is: ``request_id``, ``user_id``,
#: ``route``, ``job_id`` (missing keys log as null).
_context: ContextVar[dict | None] = ContextVar("siso_log_context", default=None)

FIELDS = ("request_id", "user_id", "route", "job_id")

#: A request id a client may choose: 1–128 letters, digits, ``-``, ``_``, ``.``, ``:``.
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def new_request_id() -> str:
    """A fresh request id (32 hex characters)."""
    return secrets.token_hex(16)


def accept_request_id(value: str | None) -> str:
    """``value`` when it is a well-formed request id (``X-Request-ID``), else a new one:
    a client must not write arbitrary text (line breaks, megabytes) into the logs."""
    if value and REQUEST_ID_RE.match(value):
        return value
    return new_request_id()


def bind(**fields) -> object:
    """Start a context (request, job, socket event) with ``fields``; returns the token
    for :func:`unbind`."""
    return _context.set({k: v for k, v in fields.items() if v is not None})


def update(**fields) -> None:
    """Add ``fields`` to the current context (e.g. ``user_id`` once known)."""
    ctx = dict(_context.get() or {})
    ctx.update({k: v for k, v in fields.items() if v is not None})
    _context.set(ctx)


def unbind(token) -> None:
    """End the context started by :func:`bind`."""
    try:
        _context.reset(token)
    except ValueError:  # reset from another context (a greenlet handing over)
        _context.set(None)


def current(name: str):
    """The current context's ``name`` (``request_id``...), or None."""
    return (_context.get() or {}).get(name)


#: Patterns whose value part is blanked in every log message (rules: "Logs, metrics and
#: errors"): bearer credentials, key=value pairs naming secrets, Stripe keys and secrets.
SECRET_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)((?:password|passwd|secret|token|api_key|apikey|authorization|tin|"
               r"ssn|csrf_token)[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,;}]+"),
    re.compile(r"\b((?:sk|rk|pk)_(?:live|test)_)[A-Za-z0-9]+"),
    re.compile(r"\b(whsec_)[A-Za-z0-9+/=]+"),
    re.compile(r"(/password/reset/|/verify-email/|/email/verify/)[A-Za-z0-9._-]+"),
)


def redact(text: str) -> str:
    """``text`` with the value of anything that looks like a secret replaced by
    ``[redacted]``."""
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(r"\1[redacted]", text)
    return text


class ContextFilter(logging.Filter):
    """Adds the context fields to every record and blanks secrets in its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _context.get() or {}
        for name in FIELDS:
            if not hasattr(record, name):
                setattr(record, name, ctx.get(name))
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the record as logging would
            return True
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


def json_formatter() -> logging.Formatter:
    """python-json-logger's formatter: ``time``, ``level``, ``logger``, ``message``, the
    context fields and any ``extra=`` fields; tracebacks redacted too."""
    from pythonjsonlogger.json import JsonFormatter

    class Formatter(JsonFormatter):
        def formatException(self, ei):  # noqa: N802 (logging's name)
            return redact(super().formatException(ei))

    return Formatter("{asctime}{levelname}{name}{message}" + "".join(
        "{" + f + "}" for f in FIELDS), style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})


class TextFormatter(logging.Formatter):
    """``time level logger [request_id]: message``; tracebacks redacted."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")

    def formatException(self, ei):  # noqa: N802 (logging's name)
        return redact(super().formatException(ei))


def make_handler(stream=None, fmt: str = "text") -> logging.Handler:
    """A stream handler (default stderr) with the filter and the ``fmt`` formatter."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(json_formatter() if fmt == "json" else TextFormatter())
    return handler


def configure_logging(app) -> None:
    """Install this process's root handler once (``LOG_FORMAT``), at INFO; quiet noisy
    libraries. A second app in the same process changes nothing."""
    root = logging.getLogger()
    if not any(getattr(h, "siso", False) for h in root.handlers):
        handler = make_handler(fmt=app.config.get("LOG_FORMAT", "text"))
        handler.siso = True
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    # records made by any logger pass the filter, whatever handler catches them
    for h in root.handlers:
        if not any(isinstance(f, ContextFilter) for f in h.filters):
            h.addFilter(ContextFilter())
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    logging.getLogger("botocore").setLevel(logging.WARNING)
