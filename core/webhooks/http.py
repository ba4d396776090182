"""One signed POST to a webhook endpoint (rules: "Webhook deliveries").

The body is signed as the Standard Webhooks specification says (``webhook-id``,
``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256 of
"id.timestamp.body">``), with the reference library ``standardwebhooks``. The connection
goes to the very address :func:`core.webhooks.targets.resolve` checked (the TLS name is
still the URL's host), so a second DNS answer cannot send it elsewhere; redirects are not
followed; the whole exchange has ``WEBHOOK_TIMEOUT_SECONDS``; at most
``WEBHOOK_MAX_RESPONSE_BYTES`` of the answer are read.
"""

import time
from dataclasses import dataclass
from datetime import datetime

import certifi
import urllib3
from flask import current_app
from standardwebhooks.webhooks import Webhook

from core.webhooks.targets import TargetRefused, resolve

#: Bytes of the answer kept in the delivery log.
EXCERPT_BYTES = 1024
USER_AGENT = "SISO-Partners-Webhooks/1"


@dataclass
class Result:
    """What one attempt got: ``status_code`` (``None`` without an answer), the first KB
    of the answer, the time taken (ms) and the error (empty when an answer came)."""

    status_code: int | None
    excerpt: str
    duration_ms: int
    error: str = ""


def signature(secrets: list[str], msg_id: str, at: datetime, body: str) -> str:
    """The ``webhook-signature`` header: one ``v1,<sig>`` per secret, space-separated
    (the current secret first, then the previous one while it still signs)."""
    return " ".join(Webhook(s).sign(msg_id, at, body) for s in secrets)


def post(url: str, secrets: list[str], msg_id: str, body: str, at: datetime) -> Result:
    """Send ``body`` (JSON text) to ``url`` signed with ``secrets`` at time ``at``.
    Never raises for the network or the target: an SSRF refusal, a timeout or a
    connection error is a :class:`Result` without a status code."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        scheme, host, port, path, address = resolve(url)
    except TargetRefused as exc:
        return Result(None, "", took(), f"refused: {exc.message}"[:300])
    timeout = float(current_app.config["WEBHOOK_TIMEOUT_SECONDS"])
    limit = int(current_app.config["WEBHOOK_MAX_RESPONSE_BYTES"])
    default_port = 443 if scheme == "https" else 80
    headers = {
        "Host": host if port == default_port else f"{host}:{port}",
        "Content-Type": "application/json", "User-Agent": USER_AGENT,
        "webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature(secrets, msg_id, at, body),
    }
    tm = urllib3.Timeout(total=timeout)
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(address, port, timeout=tm, maxsize=1, retries=False,
                                           server_hostname=host, assert_hostname=host,
                                           cert_reqs="CERT_REQUIRED", ca_certs=certifi.where())
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=tm, maxsize=1, retries=False)
    try:
        resp = pool.urlopen("POST", path, body=body.encode(), headers=headers,
                            redirect=False, retries=False, preload_content=False,
                            assert_same_host=False)
        try:
            data = _read_capped(resp, limit, started + timeout)
        finally:
            resp.release_conn()
            resp.close()
        return Result(resp.status, data[:EXCERPT_BYTES].decode("utf-8", "replace"), took())
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return Result(None, "", took(), f"{type(exc).__name__}: {exc}"[:300])
    finally:
        pool.close()


def _read_capped(resp, limit: int, deadline: float) -> bytes:
    """At most ``limit`` bytes of the answer, before the monotonic ``deadline``
    (a slow answer past it is cut where it stands)."""
    out = bytearray()
    while len(out) < limit and time.monotonic() < deadline:
        chunk = resp.read(min(8192, limit - len(out)))
        if not chunk:
            break
        out += chunk
    return bytes(out)
