"""A small, stateful fake of PayPal's REST API for PayPal Payouts tests.

Why this exists
---------------
PayPal's sandbox (``api-m.sandbox.paypal.com``) cannot be reached from this machine, and
no offline substitute fakes Payouts. This module is a real HTTP server (stdlib
``http.server``) that our client (``core/payments/paypal.py``, plain ``requests``) talks
to exactly as it talks to PayPal.

What it fakes
-------------
* ``POST /v1/oauth2/token`` -- OAuth2 client credentials (HTTP Basic ``client:secret``,
  ``grant_type=client_credentials``); tokens expire after ``token_ttl`` seconds of the
  fake's clock (default 32,400 as PayPal's). A request with an unknown or expired token
  gets 401 ``invalid_token``, as PayPal answers.
* ``POST /v1/payments/payouts`` -- a batch: ``sender_batch_header.sender_batch_id`` and
  ``items`` (1..15,000; ``recipient_type`` EMAIL | PAYPAL_ID, ``amount.value`` as a
  decimal string, ``amount.currency``, ``receiver``, ``sender_item_id``). Answers 201
  with ``batch_header.payout_batch_id`` and ``batch_status`` PENDING. The same
  ``PayPal-Request-Id`` with the same body replays the stored answer; a second batch
  with a ``sender_batch_id`` already used is refused with 400 ``USER_BUSINESS_ERROR``
  (``SENDER_BATCH_ID`` "Batch with given sender_batch_id already exists"), as PayPal
  refuses it.
* ``GET /v1/payments/payouts/<batch id>`` -- the batch and its items with their
  ``transaction_status`` at the fake's clock.
* ``POST /v1/notifications/verify-webhook-signature`` -- ``verification_status``
  SUCCESS when the transmission headers' signature matches the fake's own signing of
  ``transmission_id|transmission_time|webhook_id|crc32(body)`` (PayPal signs the same
  string with RSA; here HMAC-SHA256 with the fake's secret), else FAILURE.

Items over time
---------------
Each item is PENDING for ``pending_seconds`` (default 5), then takes its receiver's
outcome (default SUCCESS): SUCCESS, FAILED, BLOCKED, or UNCLAIMED, which turns RETURNED
``unclaimed_seconds`` later (default 30 days, PayPal's). The fake's clock is real time
plus an offset that ``/_control/advance`` moves, so a test jumps 30 days in a call.

Webhooks
--------
Every item status change (seen when the clock moves or a batch is read) becomes a signed
``PAYMENT.PAYOUTS-ITEM.<EVENT>`` event queued for delivery; ``GET /_control/events``
hands the queued deliveries (headers and raw body) to the test, which posts them to the
app, as PayPal would.

Test controls (no auth; JSON)
-----------------------------
* ``POST /_control/reset`` -- forget everything.
* ``POST /_control/config`` ``{"client_id", "client_secret", "token_ttl",
  "pending_seconds", "unclaimed_seconds", "webhook_id"}``.
* ``POST /_control/outcome`` ``{"receiver": ..., "outcome": "SUCCESS"|"FAILED"|
  "BLOCKED"|"UNCLAIMED"}``.
* ``POST /_control/advance`` ``{"seconds": N}``.
* ``POST /_control/forget_request_ids`` ``{}`` -- PayPal keeps ``PayPal-Request-Id``
  answers for a limited time; after this a resend meets the ``sender_batch_id`` check.
* ``POST /_control/fail`` ``{"mode": "500"|"429"|"timeout", "count": N,
  "path_prefix": "/v1/payments/payouts", "method": "POST", "delay": 3,
  "after_commit": false}`` -- the next N matching requests fail (``after_commit``: the
  batch is made first and then the answer is lost, the "PayPal did it but the client
  gave up" case).
* ``GET /_control/state`` -- batches, items, tokens issued, requests counted.
* ``GET /_control/events`` -- queued webhook deliveries ``[{"headers", "body"}]``.

``python tests/paypal_fake.py --port 0`` prints ``READY <port>``; tests use
:func:`start_fake_paypal` / :func:`stop_fake_paypal`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import string
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_ALPHA = string.ascii_uppercase + string.digits
MAX_ITEMS = 15_000
EVENT_OF_STATUS = {"SUCCESS": "SUCCEEDED", "FAILED": "FAILED", "BLOCKED": "BLOCKED",
                   "UNCLAIMED": "UNCLAIMED", "RETURNED": "RETURNED"}


def _rid(n: int = 13) -> str:
    return "".join(secrets.choice(_ALPHA) for _ in range(n))


class State:
    """Everything the fake remembers, under one lock."""

    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        self.client_id, self.client_secret = "client", "secret"
        self.token_ttl, self.pending_seconds = 32_400, 5
        self.unclaimed_seconds = 30 * 24 * 3600
        self.webhook_id = "WH-FAKE"
        self.sign_key = secrets.token_bytes(32)
        self.offset = 0.0
        self.tokens: dict[str, float] = {}
        self.batches: dict[str, dict] = {}
        self.sender_ids: dict[str, str] = {}
        self.request_ids: dict[str, tuple[str, int, dict]] = {}
        self.outcomes: dict[str, str] = {}
        self.failures: list[dict] = []
        self.events: list[dict] = []
        self.counts: dict[str, int] = {}
        self.tokens_issued = 0

    def now(self) -> float:
        return time.time() + self.offset

    # items ---------------------------------------------------------------------------
    def status_at(self, item: dict, t: float) -> str:
        age = t - item["created"]
        if age < self.pending_seconds:
            return "PENDING"
        outcome = item["outcome"]
        if outcome == "UNCLAIMED" and age >= self.pending_seconds + self.unclaimed_seconds:
            return "RETURNED"
        return outcome

    def refresh(self):
        """Move every item to its status now; queue a webhook for each change."""
        t = self.now()
        for batch in self.batches.values():
            for item in batch["items"]:
                status = self.status_at(item, t)
                if status != item["status"]:
                    item["status"] = status
                    if status in EVENT_OF_STATUS:
                        self.queue_event(batch, item)
            statuses = {i["status"] for i in batch["items"]}
            batch["batch_status"] = "PENDING" if "PENDING" in statuses else "SUCCESS"

    def item_json(self, batch: dict, item: dict) -> dict:
        out = {"payout_item_id": item["payout_item_id"],
               "transaction_id": item["transaction_id"] if item["status"] == "SUCCESS"
               else "", "transaction_status": item["status"],
               "payout_batch_id": batch["payout_batch_id"],
               "payout_item_fee": {"currency": item["amount"]["currency"], "value": "0.25"},
               "payout_item": {"recipient_type": item["recipient_type"],
                               "amount": item["amount"], "receiver": item["receiver"],
                               "sender_item_id": item["sender_item_id"]},
               "time_processed": datetime.fromtimestamp(self.now(), UTC).isoformat()}
        if item["status"] in ("FAILED", "BLOCKED", "RETURNED"):
            out["errors"] = {"name": {"FAILED": "RECEIVER_UNREGISTERED",
                                      "BLOCKED": "RISK_DECLINE",
                                      "RETURNED": "RECEIVER_UNCONFIRMED"}[item["status"]],
                             "message": {"FAILED": "Receiver is unregistered",
                                         "BLOCKED": "Transaction was blocked for risk",
                                         "RETURNED": "Unclaimed payment returned to "
                                                     "sender"}[item["status"]]}
        return out

    def queue_event(self, batch: dict, item: dict):
        event = {"id": "WH-" + _rid(17), "event_version": "1.0",
                 "create_time": datetime.fromtimestamp(self.now(), UTC).isoformat(),
                 "resource_type": "payouts_item",
                 "event_type": f"PAYMENT.PAYOUTS-ITEM.{EVENT_OF_STATUS[item['status']]}",
                 "summary": f"A payout item is {item['status'].lower()}",
                 "resource": self.item_json(batch, item)}
        body = json.dumps(event)
        self.events.append({"headers": self.sign(body), "body": body})

    def signature(self, transmission_id: str, when: str, webhook_id: str, body: str) -> str:
        message = f"{transmission_id}|{when}|{webhook_id}|{zlib.crc32(body.encode())}"
        return base64.b64encode(hmac.new(self.sign_key, message.encode(),
                                         hashlib.sha256).digest()).decode()

    def sign(self, body: str) -> dict:
        tid = secrets.token_hex(16)
        when = datetime.fromtimestamp(self.now(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"Content-Type": "application/json", "PAYPAL-TRANSMISSION-ID": tid,
                "PAYPAL-TRANSMISSION-TIME": when, "PAYPAL-AUTH-ALGO": "SHA256withRSA",
                "PAYPAL-CERT-URL": "https://api.sandbox.paypal.com/v1/notifications/certs/"
                                   "CERT-fake",
                "PAYPAL-TRANSMISSION-SIG": self.signature(tid, when, self.webhook_id, body)}


class Handler(BaseHTTPRequestHandler):
    """PayPal's endpoints and the test controls."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    @property
    def state(self) -> State:
        return self.server.state  # type: ignore[attr-defined]

    def _send(self, status: int, body, headers: dict | None = None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Paypal-Debug-Id", secrets.token_hex(6))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _json(self, raw: bytes):
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return None

    def do_GET(self):  # noqa: N802
        self._route("GET")

    def do_POST(self):  # noqa: N802
        self._route("POST")

    # routing ------------------------------------------------------------------------
    def _route(self, method: str):
        path = urlsplit(self.path).path
        raw = self._body()
        st = self.state
        if path.startswith("/_control/"):
            return self._control(method, path[len("/_control/"):], raw)
        with st.lock:
            key = f"{method} {path}"
            st.counts[key] = st.counts.get(key, 0) + 1
            failure = self._take_failure(method, path)
        if failure and not failure.get("after_commit"):
            return self._fail(failure)
        if path == "/v1/oauth2/token" and method == "POST":
            return self._token(raw)
        if not self._authorized():
            return self._send(401, {"error": "invalid_token",
                                    "error_description": "Access Token not found in cache"})
        if path == "/v1/payments/payouts" and method == "POST":
            status, body = self._create_batch(raw)
            if failure:  # made, then the answer is lost
                return self._fail(failure)
            return self._send(status, body)
        if path.startswith("/v1/payments/payouts/") and method == "GET":
            return self._get_batch(path.rsplit("/", 1)[1])
        if path == "/v1/notifications/verify-webhook-signature" and method == "POST":
            return self._verify(raw)
        return self._send(404, {"name": "RESOURCE_NOT_FOUND", "message": "Not found."})

    def _take_failure(self, method: str, path: str) -> dict | None:
        for f in self.state.failures:
            if f["count"] > 0 and path.startswith(f.get("path_prefix", "/v1/")) and \
                    f.get("method", method) == method:
                f["count"] -= 1
                return f
        return None

    def _fail(self, f: dict):
        if f["mode"] == "429":
            return self._send(429, {"name": "RATE_LIMIT_REACHED",
                                    "message": "Too many requests. Blocked due to rate "
                                               "limiting."})
        if f["mode"] == "500":
            return self._send(500, {"name": "INTERNAL_SERVICE_ERROR",
                                    "message": "An internal service error has occurred."})
        time.sleep(f.get("delay", 3))
        self.close_connection = True

    def _authorized(self) -> bool:
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return False
        with self.state.lock:
            expires = self.state.tokens.get(auth[7:])
            return expires is not None and expires > self.state.now()

    # endpoints ----------------------------------------------------------------------
    def _token(self, raw: bytes):
        st = self.state
        auth = self.headers.get("Authorization", "")
        try:
            user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            user = pw = ""
        if not auth.startswith("Basic ") or (user, pw) != (st.client_id, st.client_secret):
            return self._send(401, {"error": "invalid_client",
                                    "error_description": "Client Authentication failed"})
        if parse_qs(raw.decode()).get("grant_type") != ["client_credentials"]:
            return self._send(400, {"error": "unsupported_grant_type",
                                    "error_description": "Grant Type is NULL"})
        token = "A21AA" + secrets.token_urlsafe(30)
        with st.lock:
            st.tokens[token] = st.now() + st.token_ttl
            st.tokens_issued += 1
        return self._send(200, {"scope": "https://uri.paypal.com/services/payments/payouts",
                                "access_token": token, "token_type": "Bearer",
                                "app_id": "APP-FAKE", "expires_in": st.token_ttl,
                                "nonce": secrets.token_hex(8)})

    def _create_batch(self, raw: bytes) -> tuple[int, dict]:
        st = self.state
        body = self._json(raw)
        request_id = self.headers.get("PayPal-Request-Id")
        with st.lock:
            if request_id and request_id in st.request_ids:
                stored_raw, status, answer = st.request_ids[request_id]
                if stored_raw == raw.decode():
                    return status, answer
            header = (body or {}).get("sender_batch_header") or {}
            items = (body or {}).get("items")
            sender_batch_id = header.get("sender_batch_id")
            problems = []
            if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
                problems.append({"field": "items", "issue": "Items must be 1 to 15000."})
            else:
                for n, it in enumerate(items):
                    amount = (it or {}).get("amount") or {}
                    value = amount.get("value")
                    if it.get("recipient_type") not in ("EMAIL", "PAYPAL_ID", "PHONE") or \
                            not it.get("receiver") or not isinstance(value, str) or \
                            not value.replace(".", "", 1).isdigit() or \
                            not amount.get("currency"):
                        problems.append({"field": f"items[{n}]", "issue": "Invalid item."})
            if problems:
                return 400, {"name": "VALIDATION_ERROR", "message": "Invalid request - see "
                             "details.", "details": problems}
            if sender_batch_id and sender_batch_id in st.sender_ids:
                return 400, {"name": "USER_BUSINESS_ERROR", "message": "User business error.",
                             "debug_id": secrets.token_hex(6),
                             "details": [{"field": "SENDER_BATCH_ID", "location": "body",
                                          "issue": "Batch with given sender_batch_id already "
                                                   "exists"}]}
            batch_id = _rid()
            now = st.now()
            batch = {"payout_batch_id": batch_id, "batch_status": "PENDING",
                     "sender_batch_header": header, "items": []}
            for it in items:
                batch["items"].append({
                    "payout_item_id": _rid(), "transaction_id": _rid(17),
                    "recipient_type": it["recipient_type"], "amount": it["amount"],
                    "receiver": it["receiver"], "sender_item_id": it.get("sender_item_id"),
                    "created": now, "status": "PENDING",
                    "outcome": st.outcomes.get(it["receiver"], "SUCCESS")})
            st.batches[batch_id] = batch
            if sender_batch_id:
                st.sender_ids[sender_batch_id] = batch_id
            answer = {"batch_header": {"payout_batch_id": batch_id, "batch_status": "PENDING",
                                       "sender_batch_header": header},
                      "links": [{"href": f"/v1/payments/payouts/{batch_id}", "rel": "self",
                                 "method": "GET"}]}
            if request_id:
                st.request_ids[request_id] = (raw.decode(), 201, answer)
            return 201, answer

    def _get_batch(self, batch_id: str):
        st = self.state
        with st.lock:
            st.refresh()
            batch = st.batches.get(batch_id)
            if batch is None:
                return self._send(404, {"name": "INVALID_RESOURCE_ID",
                                        "message": "Requested resource ID was not found."})
            answer = {"batch_header": {"payout_batch_id": batch_id,
                                       "batch_status": batch["batch_status"],
                                       "sender_batch_header": batch["sender_batch_header"]},
                      "items": [st.item_json(batch, i) for i in batch["items"]]}
        return self._send(200, answer)

    def _verify(self, raw: bytes):
        st = self.state
        body = self._json(raw) or {}
        need = ("auth_algo", "cert_url", "transmission_id", "transmission_sig",
                "transmission_time", "webhook_id", "webhook_event")
        missing = [k for k in need if not body.get(k)]
        if missing:
            return self._send(400, {"name": "VALIDATION_ERROR", "message": "Invalid request",
                                    "details": [{"field": k, "issue": "MISSING_REQUIRED_PARAMETER"}
                                                for k in missing]})
        event_body = json.dumps(body["webhook_event"])
        expected = st.signature(body["transmission_id"], body["transmission_time"],
                                body["webhook_id"], event_body)
        ok = hmac.compare_digest(expected, body["transmission_sig"]) and \
            body["webhook_id"] == st.webhook_id
        return self._send(200, {"verification_status": "SUCCESS" if ok else "FAILURE"})

    # controls -----------------------------------------------------------------------
    def _control(self, method: str, what: str, raw: bytes):
        st = self.state
        body = self._json(raw) or {}
        with st.lock:
            if what == "reset":
                st.reset()
            elif what == "config":
                for k in ("client_id", "client_secret", "token_ttl", "pending_seconds",
                          "unclaimed_seconds", "webhook_id"):
                    if k in body:
                        setattr(st, k, body[k])
            elif what == "forget_request_ids":  # PayPal keeps them for a limited time
                st.request_ids.clear()
            elif what == "outcome":
                st.outcomes[body["receiver"]] = body["outcome"]
            elif what == "advance":
                st.offset += float(body.get("seconds", 0))
                st.refresh()
            elif what == "fail":
                st.failures.append({"mode": body.get("mode", "500"),
                                    "count": int(body.get("count", 1)),
                                    "path_prefix": body.get("path_prefix", "/v1/"),
                                    **({"method": body["method"]} if "method" in body else {}),
                                    "delay": float(body.get("delay", 3)),
                                    "after_commit": bool(body.get("after_commit"))})
            elif what == "events":
                st.refresh()
                out, st.events = st.events, []
                return self._send(200, {"events": out})
            elif what == "state":
                st.refresh()
                return self._send(200, {
                    "batches": [{"payout_batch_id": b["payout_batch_id"],
                                 "sender_batch_id": b["sender_batch_header"].get(
                                     "sender_batch_id"),
                                 "items": [{"status": i["status"], "receiver": i["receiver"],
                                            "amount": i["amount"],
                                            "sender_item_id": i["sender_item_id"]}
                                           for i in b["items"]]}
                                for b in st.batches.values()],
                    "tokens_issued": st.tokens_issued, "counts": st.counts})
            else:
                return self._send(404, {"error": "no such control"})
        return self._send(200, {"ok": True})


def make_server(port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.state = State()  # type: ignore[attr-defined]
    return server


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Stateful fake of PayPal Payouts.")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = make_server(args.port)
    sys.stdout.write(f"READY {server.server_address[1]}\n")
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def start_fake_paypal(timeout: float = 10.0) -> tuple[subprocess.Popen, str]:
    """Start the fake in a subprocess; return ``(process, base_url)`` once it answers."""
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--port", "0"],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if not line.startswith("READY "):
        stop_fake_paypal(proc)
        raise RuntimeError(f"fake PayPal failed to start: {line!r}")
    base = f"http://127.0.0.1:{int(line.split()[1])}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_control/state", timeout=1):
                return proc, base
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                stop_fake_paypal(proc)
                raise RuntimeError("fake PayPal did not answer in time") from None
            time.sleep(0.05)


def stop_fake_paypal(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """Terminate and reap a process started by :func:`start_fake_paypal`."""
    from stripe_fake import stop_fake_stripe  # the same terminate, wait, kill, reap

    stop_fake_stripe(proc, timeout)


def control(base: str, what: str, body: dict | None = None) -> dict:
    """Call a test control: POST with ``body``, GET without."""
    req = urllib.request.Request(f"{base}/_control/{what}",
                                 data=None if body is None else json.dumps(body).encode(),
                                 method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"{}")


if __name__ == "__main__":
    sys.exit(main())
