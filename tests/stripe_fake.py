"""A small, stateful fake of the Stripe HTTP API for Connect payouts tests.

Why this exists
---------------
The real Stripe API (``api.stripe.com``) cannot be reached from this machine,
and the usual offline substitute, ``localstripe``, has no Connect accounts,
no account links and no transfers, and it ignores ``Idempotency-Key``
headers.  Payout code depends on exactly those things, so this module fakes
them with a real HTTP server (stdlib ``http.server``, no dependencies) that the
official ``stripe`` Python library can talk to unchanged::

    client = stripe.StripeClient(
        "sk_test_123",
        base_addresses={"api": "http://127.0.0.1:PORT"},
        max_network_retries=0,
    )
    client.v1.transfers.create(
        params={"amount": 500, "currency": "usd", "destination": "acct_..."},
        options={"idempotency_key": "payout-1"},
    )

What it fakes (``/v1`` endpoints, form-encoded bodies, Stripe-shaped JSON)
--------------------------------------------------------------------------
* ``POST /v1/accounts``, ``GET /v1/accounts``, ``GET /v1/accounts/<id>`` --
  Express (or other ``type``) connected accounts, ``acct_...`` ids, with
  ``charges_enabled`` / ``payouts_enabled`` / ``details_submitted`` false
  until onboarded.
* ``POST /v1/account_links`` -- returns an ``account_link`` whose ``url`` is
  ``http://127.0.0.1:PORT/fake-onboarding/<acct>``.
* ``GET /fake-onboarding/<acct>`` -- "completes" onboarding: marks the account
  ``details_submitted``, ``charges_enabled`` and ``payouts_enabled``.  It
  answers 200 with a tiny HTML page linking to the link's ``return_url``
  (add ``?redirect=1`` to get a 302 to ``return_url`` instead).
* ``POST /v1/transfers``, ``GET /v1/transfers/<id>``, ``GET /v1/transfers``
  (list; ``limit``, ``destination``, ``starting_after`` supported) and
  ``POST /v1/transfers/<id>/reversals``.  A transfer needs ``amount`` (int > 0),
  ``currency`` and a ``destination`` account that exists and has
  ``payouts_enabled``; otherwise a 400 ``invalid_request_error``.

Behaviour that mirrors Stripe
-----------------------------
* Auth: every ``/v1`` request needs ``Authorization: Bearer sk_test_...``,
  otherwise 401 ``authentication_error``.
* Idempotency: keys are scoped per API key.  A POST whose key was seen
  before with the same method, path and parameters gets the stored response
  (same status and body) plus the header ``Idempotent-Replayed: true``.  The
  same key with different parameters or on another endpoint gives 400
  ``idempotency_error``.  As documented by Stripe, no result is saved when
  the request failed parameter validation (4xx) or never started executing
  (injected failures), so a retry with the same key can still succeed.
  Requests are executed under one lock, so concurrent requests with the same
  key cannot both create an object.  Keys never expire here (Stripe: 24 h).
* Every response carries a ``Request-Id: req_...`` header.

Not faked: sending webhooks, balances, ``Stripe-Account`` scoping, pagination
beyond ``starting_after``, live mode. The events Stripe would send about billing are
built, in Stripe's shape and signed as Stripe signs them, by :func:`invoice_paid_event`,
:func:`charge_refunded_event` and :func:`signed_webhook`, for a test to post to the app's
receiver.

Test controls (no auth; JSON in and out)
----------------------------------------
* ``POST /_control/fail`` with ``{"mode": "500"|"429"|"timeout", "count": N,
  "path_prefix": "/v1/transfers", "method": "POST", "delay": 5,
  "after_commit": false}`` -- the next ``N`` ``/v1`` requests whose path starts
  with ``path_prefix`` (and whose method matches, if given) fail that way.
  ``timeout`` sleeps ``delay`` seconds and then closes the connection without
  an answer.  Injected failures create nothing and store no idempotent
  response.  With ``"after_commit": true`` (timeout mode only) the request is
  executed and stored first, then the answer is delayed -- the "Stripe did
  it but the client gave up" case, where a retry must replay.
* ``POST /_control/fail`` with ``{"mode": "delay", "count": N, "delay": 30,
  "execute": "before"|"after", "path_prefix": ..., "method": ...}`` -- a slow
  Stripe: the next ``N`` matching requests wait ``delay`` seconds and are then
  answered normally.  ``"before"``: the request is executed (and stored for
  idempotency) first, then the answer waits -- Stripe received it.
  ``"after"``: the wait comes first, and if the client hangs up during it
  (a killed process) nothing is executed -- Stripe never received it.  The
  state's ``delayed_waiting`` counts requests waiting right now (so a test
  can act while one is in flight), ``dropped_count`` the "after" requests
  given up, ``abandoned_count`` the "before" ones whose answer went unheard.
* ``POST /_control/reset`` -- forget all accounts, transfers, keys and rules.
* ``GET /_control/state`` -- counts and lists of accounts and transfers
  (id, amount, destination, idempotency key, ...) for assertions like
  "exactly one transfer was created".

Running it
----------
``python tests/stripe_fake.py --port 0`` binds 127.0.0.1 on a free port and
prints ``READY <port>`` on stdout.  From tests, use :func:`start_fake_stripe`
and :func:`stop_fake_stripe`.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import queue
import re
import secrets
import select
import socket
import string
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlsplit

__all__ = [
    "FakeStripeState",
    "FakeStripeHandler",
    "make_server",
    "main",
    "start_fake_stripe",
    "stop_fake_stripe",
]

_ALPHABET = string.ascii_letters + string.digits
MAX_IDEMPOTENCY_KEY_LENGTH = 255


def _rand_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _now() -> int:
    return int(time.time())


# --------------------------------------------------------------------------
# Errors and form decoding
# --------------------------------------------------------------------------


class StripeHTTPError(Exception):
    """A Stripe-style API error: HTTP status plus the ``error`` object."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict = {"type": type_, "message": message}
        if code is not None:
            self.body["code"] = code
            self.body["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param is not None:
            self.body["param"] = param

    def payload(self) -> dict:
        """Return the JSON body Stripe would send: ``{"error": {...}}``."""
        return {"error": dict(self.body)}


def _invalid(message: str, param: str | None = None, code: str | None = "parameter_invalid") -> StripeHTTPError:
    return StripeHTTPError(400, message, "invalid_request_error", code, param)


def _missing(param: str) -> StripeHTTPError:
    return StripeHTTPError(
        400, f"Missing required param: {param}.", "invalid_request_error", "parameter_missing", param
    )


def _not_found(kind: str, ident: str, param: str = "id") -> StripeHTTPError:
    return StripeHTTPError(
        404, f"No such {kind}: '{ident}'", "invalid_request_error", "resource_missing", param
    )


def _split_key(key: str) -> list[str]:
    """``metadata[a][b]`` -> ``["metadata", "a", "b"]``."""
    head, _, rest = key.partition("[")
    return [head] + re.findall(r"([^\[\]]*)\]", "[" + rest) if rest else [head]


def decode_form(pairs: list[tuple[str, str]]) -> dict:
    """Decode Stripe's bracketed form encoding into nested dicts/lists.

    ``metadata[order]=7&expand[0]=x`` -> ``{"metadata": {"order": "7"},
    "expand": ["x"]}``.  Values stay strings, like Stripe receives them.
    """
    root: dict = {}
    for key, value in pairs:
        parts = _split_key(key)
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise _invalid(f"Invalid parameter structure for {key}.", parts[0])

    def listify(obj):
        if isinstance(obj, dict):
            obj = {k: listify(v) for k, v in obj.items()}
            if obj and all(k.isdigit() for k in obj):
                return [obj[k] for k in sorted(obj, key=int)]
            return obj
        return obj

    return listify(root)


def _parse_bool(value, param: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "True", "1"):
        return True
    if value in ("false", "False", "0", ""):
        return False
    raise _invalid(f"Invalid boolean: {value}", param)


def _parse_positive_int(value, param: str) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise _invalid(f"Invalid integer: {value}", param, "parameter_invalid_integer") from None
    if number <= 0:
        raise _invalid(
            f"Invalid {param}: must be a positive integer (in the smallest currency unit).",
            param,
            "parameter_invalid_integer",
        )
    return number


def _metadata(params: dict) -> dict:
    meta = params.get("metadata", {})
    if meta == "":
        return {}
    if not isinstance(meta, dict):
        raise _invalid("Invalid metadata: must be a hash.", "metadata")
    return {str(k): str(v) for k, v in meta.items()}


# --------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------


class FakeStripeState:
    """All fake Stripe data plus failure-injection rules, guarded by one lock.

    Business operations (creating/retrieving objects, idempotency bookkeeping)
    run entirely under :attr:`lock`, so the server is safe under
    ``ThreadingHTTPServer`` and concurrent duplicate requests cannot create
    duplicate objects.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget every object, idempotency key and failure rule."""
        with self.lock:
            self.accounts: dict[str, dict] = {}
            self.transfers: dict[str, dict] = {}
            self.reversals: dict[str, dict] = {}
            self.account_links: list[dict] = []
            # (api_key, idempotency_key) -> {"method","path","params","status","body"}
            self.idempotency: dict[tuple[str, str], dict] = {}
            # transfer id -> idempotency key used to create it (for /_control/state)
            self.transfer_keys: dict[str, str | None] = {}
            self.fail_rules: list[dict] = []
            self.failures_injected = 0
            self.request_count = 0
            self.replay_count = 0
            # "delay" rule: requests sleeping right now, and those whose client hung up
            self.delayed_waiting = 0
            self.dropped_count = 0
            self.abandoned_count = 0

    # -- failure injection --------------------------------------------------

    def add_fail_rule(self, spec: dict) -> dict:
        """Validate and append a failure-injection rule; return it."""
        mode = str(spec.get("mode", ""))
        if mode not in ("500", "429", "timeout", "delay"):
            raise ValueError("mode must be one of '500', '429', 'timeout', 'delay'")
        execute = str(spec.get("execute", "after"))
        if execute not in ("before", "after"):
            raise ValueError("execute must be 'before' or 'after'")
        try:
            count = int(spec.get("count", 1))
            delay = float(spec.get("delay", 5))
        except (TypeError, ValueError):
            raise ValueError("count must be an int and delay a number") from None
        if count < 0 or delay < 0:
            raise ValueError("count and delay must not be negative")
        method = spec.get("method")
        rule = {
            "mode": mode,
            "count": count,
            "path_prefix": str(spec.get("path_prefix") or "/v1/"),
            "method": str(method).upper() if method else None,
            "delay": delay,
            "after_commit": bool(spec.get("after_commit", False)),
            "execute": execute,
        }
        with self.lock:
            self.fail_rules.append(rule)
        return dict(rule)

    def take_failure(self, method: str, path: str) -> dict | None:
        """Consume one matching failure rule for this request, if any."""
        with self.lock:
            for rule in self.fail_rules:
                if rule["count"] <= 0:
                    continue
                if not path.startswith(rule["path_prefix"]):
                    continue
                if rule["method"] and rule["method"] != method:
                    continue
                rule["count"] -= 1
                self.failures_injected += 1
                self.fail_rules = [r for r in self.fail_rules if r["count"] > 0]
                return dict(rule)
        return None

    # -- snapshot -----------------------------------------------------------

    def snapshot(self) -> dict:
        """Return a JSON-able summary for ``GET /_control/state``."""
        with self.lock:
            transfers = [
                {
                    "id": t["id"],
                    "amount": t["amount"],
                    "amount_reversed": t["amount_reversed"],
                    "currency": t["currency"],
                    "destination": t["destination"],
                    "reversed": t["reversed"],
                    "metadata": dict(t["metadata"]),
                    "transfer_group": t["transfer_group"],
                    "idempotency_key": self.transfer_keys.get(t["id"]),
                    "created": t["created"],
                }
                for t in self.transfers.values()
            ]
            accounts = [
                {
                    "id": a["id"],
                    "type": a["type"],
                    "email": a["email"],
                    "details_submitted": a["details_submitted"],
                    "charges_enabled": a["charges_enabled"],
                    "payouts_enabled": a["payouts_enabled"],
                }
                for a in self.accounts.values()
            ]
            return {
                "accounts_count": len(self.accounts),
                "transfers_count": len(self.transfers),
                "reversals_count": len(self.reversals),
                "account_links_count": len(self.account_links),
                "idempotency_keys_count": len(self.idempotency),
                "requests_count": self.request_count,
                "replays_count": self.replay_count,
                "failures_injected": self.failures_injected,
                "delayed_waiting": self.delayed_waiting,
                "dropped_count": self.dropped_count,
                "abandoned_count": self.abandoned_count,
                "pending_failures": [dict(r) for r in self.fail_rules],
                "accounts": accounts,
                "transfers": transfers,
            }


# --------------------------------------------------------------------------
# API operations (called with state.lock held)
# --------------------------------------------------------------------------


def _account_requirements(acct: dict) -> dict:
    due = [] if acct["details_submitted"] else [
        "business_profile.url",
        "external_account",
        "tos_acceptance.date",
        "tos_acceptance.ip",
    ]
    return {
        "currently_due": list(due),
        "eventually_due": list(due),
        "past_due": list(due),
        "pending_verification": [],
        "disabled_reason": None if acct["details_submitted"] else "requirements.past_due",
        "current_deadline": None,
        "errors": [],
    }


def _render_account(acct: dict) -> dict:
    out = dict(acct)
    out["metadata"] = dict(acct["metadata"])
    out["capabilities"] = dict(acct["capabilities"])
    out["requirements"] = _account_requirements(acct)
    return out


def op_create_account(state: FakeStripeState, params: dict, ctx: dict) -> tuple[int, dict]:
    acct_type = params.get("type") or "express"
    if acct_type not in ("express", "standard", "custom"):
        raise _invalid("Invalid type: must be one of express, standard, or custom", "type")
    capabilities = {}
    for name, spec in (params.get("capabilities") or {}).items():
        if isinstance(spec, dict) and _parse_bool(spec.get("requested", "false"), f"capabilities[{name}][requested]"):
            capabilities[name] = "inactive"
    acct = {
        "id": _rand_id("acct_", 16),
        "object": "account",
        "type": acct_type,
        "email": params.get("email"),
        "country": params.get("country") or "US",
        "default_currency": (params.get("default_currency") or "usd").lower(),
        "business_type": params.get("business_type"),
        "charges_enabled": False,
        "payouts_enabled": False,
        "details_submitted": False,
        "capabilities": capabilities,
        "metadata": _metadata(params),
        "created": _now(),
        "livemode": False,
    }
    state.accounts[acct["id"]] = acct
    return 200, _render_account(acct)


def op_retrieve_account(state: FakeStripeState, acct_id: str) -> tuple[int, dict]:
    acct = state.accounts.get(acct_id)
    if acct is None:
        raise _not_found("account", acct_id)
    return 200, _render_account(acct)


def _list_response(url: str, items: list[dict], query: dict) -> dict:
    try:
        limit = int(query.get("limit", 10))
    except (TypeError, ValueError):
        raise _invalid("Invalid integer: limit", "limit", "parameter_invalid_integer") from None
    if not 1 <= limit <= 100:
        raise _invalid("Invalid limit: must be between 1 and 100", "limit")
    items = sorted(items, key=lambda o: (o["created"], o.get("_seq", 0)), reverse=True)
    after = query.get("starting_after")
    if after:
        ids = [o["id"] for o in items]
        if after not in ids:
            raise _not_found("object", after, "starting_after")
        items = items[ids.index(after) + 1:]
    page = items[:limit]
    return {
        "object": "list",
        "url": url,
        "has_more": len(items) > limit,
        "data": [{k: v for k, v in o.items() if not k.startswith("_")} for o in page],
    }


def op_list_accounts(state: FakeStripeState, query: dict) -> tuple[int, dict]:
    items = [dict(_render_account(a), _seq=i) for i, a in enumerate(state.accounts.values())]
    return 200, _list_response("/v1/accounts", items, query)


def op_create_account_link(state: FakeStripeState, params: dict, ctx: dict) -> tuple[int, dict]:
    acct_id = params.get("account")
    if not acct_id:
        raise _missing("account")
    link_type = params.get("type")
    if not link_type:
        raise _missing("type")
    if link_type not in ("account_onboarding", "account_update"):
        raise _invalid("Invalid type: must be one of account_onboarding or account_update", "type")
    if acct_id not in state.accounts:
        raise _not_found("account", acct_id, "account")
    created = _now()
    link = {
        "object": "account_link",
        "created": created,
        "expires_at": created + 300,
        "url": f"{ctx['base_url']}/fake-onboarding/{acct_id}",
    }
    state.account_links.append(
        {
            "account": acct_id,
            "type": link_type,
            "refresh_url": params.get("refresh_url"),
            "return_url": params.get("return_url"),
            **link,
        }
    )
    return 200, link


def op_onboard(state: FakeStripeState, acct_id: str) -> str | None:
    """Mark the account onboarded; return the latest link's return_url."""
    acct = state.accounts.get(acct_id)
    if acct is None:
        raise _not_found("account", acct_id)
    acct["details_submitted"] = True
    acct["charges_enabled"] = True
    acct["payouts_enabled"] = True
    for cap in acct["capabilities"]:
        acct["capabilities"][cap] = "active"
    for link in reversed(state.account_links):
        if link["account"] == acct_id:
            return link.get("return_url")
    return None


def _render_transfer(state: FakeStripeState, tr: dict) -> dict:
    out = {k: v for k, v in tr.items() if not k.startswith("_")}
    out["metadata"] = dict(tr["metadata"])
    revs = [dict(state.reversals[r]) for r in tr["_reversal_ids"]]
    revs.reverse()
    out["reversals"] = {
        "object": "list",
        "url": f"/v1/transfers/{tr['id']}/reversals",
        "has_more": False,
        "total_count": len(revs),
        "data": revs,
    }
    return out


def op_create_transfer(state: FakeStripeState, params: dict, ctx: dict) -> tuple[int, dict]:
    if "amount" not in params:
        raise _missing("amount")
    amount = _parse_positive_int(params["amount"], "amount")
    currency = params.get("currency")
    if not currency:
        raise _missing("currency")
    currency = str(currency).lower()
    if len(currency) != 3 or not currency.isalpha():
        raise _invalid(f"Invalid currency: {currency}", "currency", "invalid_currency")
    destination = params.get("destination")
    if not destination:
        raise _missing("destination")
    acct = state.accounts.get(destination)
    if acct is None:
        raise _invalid(
            f"No such destination: '{destination}'", "destination", "resource_missing"
        )
    if not acct["payouts_enabled"]:
        raise _invalid(
            "Your destination account needs to have at least one of the following capabilities "
            "enabled: transfers, crypto_transfers, legacy_payments",
            "destination",
            "insufficient_capabilities_for_transfer",
        )
    tr = {
        "id": _rand_id("tr_"),
        "object": "transfer",
        "amount": amount,
        "amount_reversed": 0,
        "balance_transaction": _rand_id("txn_"),
        "created": _now(),
        "currency": currency,
        "description": params.get("description"),
        "destination": destination,
        "destination_payment": _rand_id("py_"),
        "livemode": False,
        "metadata": _metadata(params),
        "reversed": False,
        "source_transaction": params.get("source_transaction"),
        "source_type": params.get("source_type") or "card",
        "transfer_group": params.get("transfer_group"),
        "_reversal_ids": [],
        "_seq": len(state.transfers),
    }
    state.transfers[tr["id"]] = tr
    state.transfer_keys[tr["id"]] = ctx.get("idempotency_key_user")
    return 200, _render_transfer(state, tr)


def op_retrieve_transfer(state: FakeStripeState, tr_id: str) -> tuple[int, dict]:
    tr = state.transfers.get(tr_id)
    if tr is None:
        raise _not_found("transfer", tr_id)
    return 200, _render_transfer(state, tr)


def op_list_transfers(state: FakeStripeState, query: dict) -> tuple[int, dict]:
    items = list(state.transfers.values())
    dest = query.get("destination")
    if dest:
        items = [t for t in items if t["destination"] == dest]
    group = query.get("transfer_group")
    if group:
        items = [t for t in items if t["transfer_group"] == group]
    rendered = [dict(_render_transfer(state, t), _seq=t["_seq"]) for t in items]
    return 200, _list_response("/v1/transfers", rendered, query)


def op_create_reversal(state: FakeStripeState, tr_id: str, params: dict, ctx: dict) -> tuple[int, dict]:
    tr = state.transfers.get(tr_id)
    if tr is None:
        raise _not_found("transfer", tr_id)
    remaining = tr["amount"] - tr["amount_reversed"]
    if "amount" in params and params["amount"] != "":
        amount = _parse_positive_int(params["amount"], "amount")
    else:
        amount = remaining
    if remaining <= 0:
        raise _invalid(f"Transfer {tr_id} has already been fully reversed.", None, "transfer_already_reversed")
    if amount > remaining:
        raise _invalid(
            f"Amount ({amount}) is greater than the unreversed amount remaining on the transfer ({remaining}).",
            "amount",
            "amount_too_large",
        )
    rev = {
        "id": _rand_id("trr_"),
        "object": "transfer_reversal",
        "amount": amount,
        "balance_transaction": _rand_id("txn_"),
        "created": _now(),
        "currency": tr["currency"],
        "destination_payment_refund": _rand_id("pyr_"),
        "metadata": _metadata(params),
        "source_refund": None,
        "transfer": tr_id,
    }
    state.reversals[rev["id"]] = rev
    tr["_reversal_ids"].append(rev["id"])
    tr["amount_reversed"] += amount
    tr["reversed"] = tr["amount_reversed"] >= tr["amount"]
    return 200, dict(rev)


# --------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------


class FakeStripeHandler(BaseHTTPRequestHandler):
    """Request handler routing Stripe API, onboarding and control requests."""

    server_version = "FakeStripe/1.0"
    sys_version = ""
    protocol_version = "HTTP/1.0"

    # -- plumbing -----------------------------------------------------------

    @property
    def state(self) -> FakeStripeState:
        """The shared :class:`FakeStripeState` of the server."""
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        """Log to stderr only when the server was started with ``--verbose``."""
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)

    def _base_url(self) -> str:
        host, port = self.server.server_address[:2]  # type: ignore[attr-defined]
        return f"http://{host}:{port}"

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Request-Id", _rand_id("req_", 14))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, payload: dict, extra: dict | None = None) -> None:
        body = json.dumps(payload, indent=2, sort_keys=True).encode()
        headers = {"Stripe-Version": self.headers.get("Stripe-Version") or "2025-01-01.fake"}
        headers.update(extra or {})
        self._send(status, body, "application/json", headers)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        """Handle GET requests."""
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        """Handle POST requests."""
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802 - stdlib naming
        """Handle DELETE requests (none are supported; answers 404)."""
        self._dispatch("DELETE")

    # -- routing ------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        path = split.path.rstrip("/") or "/"
        raw_body = self._read_body()
        try:
            if path.startswith("/_control/"):
                self._handle_control(method, path, raw_body)
            elif path.startswith("/fake-onboarding/"):
                self._handle_onboarding(method, path, split.query)
            elif path.startswith("/v1/") or path == "/v1":
                self._handle_api(method, path, split.query, raw_body)
            else:
                raise StripeHTTPError(404, f"Unrecognized request URL ({method}: {path}).")
        except StripeHTTPError as exc:
            self._send_json(exc.status, exc.payload())
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # pragma: no cover - defensive
            self._send_json(500, {"error": {"type": "api_error", "message": f"Fake Stripe crashed: {exc!r}"}})

    # -- control ------------------------------------------------------------

    def _handle_control(self, method: str, path: str, raw_body: bytes) -> None:
        if path == "/_control/state" and method == "GET":
            self._send_json(200, self.state.snapshot())
        elif path == "/_control/reset" and method == "POST":
            self.state.reset()
            self._send_json(200, {"ok": True})
        elif path == "/_control/fail" and method == "POST":
            try:
                spec = json.loads(raw_body or b"{}")
                if not isinstance(spec, dict):
                    raise ValueError("body must be a JSON object")
                rule = self.state.add_fail_rule(spec)
            except ValueError as exc:
                self._send_json(400, {"error": {"type": "invalid_request_error", "message": str(exc)}})
                return
            self._send_json(200, {"ok": True, "rule": rule})
        else:
            raise StripeHTTPError(404, f"Unrecognized control URL ({method}: {path}).")

    # -- onboarding ---------------------------------------------------------

    def _handle_onboarding(self, method: str, path: str, query: str) -> None:
        if method != "GET":
            raise StripeHTTPError(405, "Use GET for fake onboarding.")
        acct_id = path[len("/fake-onboarding/"):]
        with self.state.lock:
            return_url = op_onboard(self.state, acct_id)
        if return_url and parse_qs(query).get("redirect", ["0"])[0] in ("1", "true"):
            self._send(302, b"", "text/plain", {"Location": return_url})
            return
        link = (
            f'<p><a id="return" href="{html.escape(return_url, quote=True)}">Return to platform</a></p>'
            if return_url
            else ""
        )
        page = (
            "<!doctype html><html><head><title>Fake Stripe onboarding</title></head><body>"
            f"<h1>Onboarding complete</h1><p>Account {html.escape(acct_id)} can now receive payouts.</p>"
            f"{link}</body></html>"
        ).encode()
        self._send(200, page, "text/html; charset=utf-8")

    # -- API ----------------------------------------------------------------

    def _authenticate(self) -> str:
        auth = self.headers.get("Authorization") or ""
        scheme, _, key = auth.partition(" ")
        key = key.strip()
        if not auth:
            raise StripeHTTPError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
                "authentication_error",
            )
        if scheme.lower() != "bearer" or not key.startswith("sk_test_") or len(key) <= len("sk_test_"):
            shown = key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if len(key) > 12 else key
            raise StripeHTTPError(
                401, f"Invalid API Key provided: {shown}", "authentication_error", "api_key_invalid"
            )
        return key

    def _route(self, method: str, path: str, query: dict, params: dict, ctx: dict):
        """Return a zero-argument callable executing the operation (lock held)."""
        st = self.state
        parts = path.strip("/").split("/")  # ["v1", ...]
        res = parts[1:] if parts and parts[0] == "v1" else []
        if method == "POST":
            if res == ["accounts"]:
                return lambda: op_create_account(st, params, ctx)
            if res == ["account_links"]:
                return lambda: op_create_account_link(st, params, ctx)
            if res == ["transfers"]:
                return lambda: op_create_transfer(st, params, ctx)
            if len(res) == 3 and res[0] == "transfers" and res[2] == "reversals":
                return lambda: op_create_reversal(st, res[1], params, ctx)
        elif method == "GET":
            if res == ["accounts"]:
                return lambda: op_list_accounts(st, query)
            if len(res) == 2 and res[0] == "accounts":
                return lambda: op_retrieve_account(st, res[1])
            if res == ["transfers"]:
                return lambda: op_list_transfers(st, query)
            if len(res) == 2 and res[0] == "transfers":
                return lambda: op_retrieve_transfer(st, res[1])
        raise StripeHTTPError(404, f"Unrecognized request URL ({method}: {path}).")

    def _handle_api(self, method: str, path: str, raw_query: str, raw_body: bytes) -> None:
        with self.state.lock:
            self.state.request_count += 1
        api_key = self._authenticate()
        query = decode_form(parse_qsl(raw_query, keep_blank_values=True))
        params = (
            decode_form(parse_qsl(raw_body.decode("utf-8"), keep_blank_values=True))
            if method == "POST"
            else {}
        )
        idem_key = self.headers.get("Idempotency-Key") if method == "POST" else None
        if idem_key is not None and len(idem_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise _invalid(
                f"Invalid idempotency key: must be at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters.",
                None,
                "idempotency_key_too_long",
            )
        ctx = {"base_url": self._base_url(), "idempotency_key_user": idem_key}
        operation = self._route(method, path, query, params, ctx)

        failure = self.state.take_failure(method, path)
        if failure is not None and failure["mode"] == "delay":
            self._delayed(failure, api_key, method, path, params, idem_key, operation)
            return
        if failure is not None and not (failure["mode"] == "timeout" and failure["after_commit"]):
            self._inject_failure(failure)
            return

        status, payload, extra = self._execute(api_key, method, path, params, idem_key, operation)
        if failure is not None:  # timeout after commit: the work is done, answer late
            time.sleep(failure["delay"])
        self._send_json(status, payload, extra)

    def _execute(self, api_key, method, path, params, idem_key, operation):
        """Run ``operation`` with Stripe idempotency semantics; return (status, body, headers)."""
        st = self.state
        with st.lock:
            if idem_key:
                scope = (api_key, idem_key)
                stored = st.idempotency.get(scope)
                if stored is not None:
                    if stored["method"] != method or stored["path"] != path:
                        raise StripeHTTPError(
                            400,
                            "Keys for idempotent requests can only be used for the same endpoint they "
                            f"were first used for ('{stored['method']} {stored['path']}' vs "
                            f"'{method} {path}'). Try using a key other than '{idem_key}' if you meant "
                            "to execute a different request.",
                            "idempotency_error",
                        )
                    if stored["params"] != params:
                        raise StripeHTTPError(
                            400,
                            "Keys for idempotent requests can only be used with the same parameters they "
                            f"were first used with. Try using a key other than '{idem_key}' if you meant "
                            "to execute a different request.",
                            "idempotency_error",
                        )
                    st.replay_count += 1
                    return (
                        stored["status"],
                        json.loads(stored["body"]),
                        {"Idempotent-Replayed": "true", "Original-Request": stored["request_id"]},
                    )
            status, payload = operation()
            extra: dict = {}
            if idem_key and 200 <= status < 300:
                request_id = _rand_id("req_", 14)
                st.idempotency[(api_key, idem_key)] = {
                    "method": method,
                    "path": path,
                    "params": params,
                    "status": status,
                    "body": json.dumps(payload),
                    "request_id": request_id,
                }
                extra["Original-Request"] = request_id
                extra["Idempotency-Key"] = idem_key
            return status, payload, extra

    def _client_gone(self) -> bool:
        """True when the client closed its end (a killed process: the kernel sends FIN)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _sleep_unless_gone(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; return False as soon as the client hangs up."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._client_gone():
                return False
            time.sleep(0.05)
        return True

    def _delayed(self, rule, api_key, method, path, params, idem_key, operation) -> None:
        """A slow Stripe: the request waits ``delay`` seconds, then is answered normally.

        ``execute: "before"``: the transfer is made (and its idempotent answer stored)
        first, then the answer waits -- Stripe did receive it; a client that hangs up
        meanwhile never hears back (``abandoned_count``). ``execute: "after"``: the wait
        comes first and a client that hangs up during it leaves nothing done
        (``dropped_count``) -- the request never reached Stripe.
        """
        st = self.state
        with st.lock:
            st.delayed_waiting += 1
        try:
            if rule["execute"] == "before":
                result = self._execute(api_key, method, path, params, idem_key, operation)
                if not self._sleep_unless_gone(rule["delay"]):
                    with st.lock:
                        st.abandoned_count += 1
                    return
            else:
                if not self._sleep_unless_gone(rule["delay"]):
                    with st.lock:
                        st.dropped_count += 1
                    return
                result = self._execute(api_key, method, path, params, idem_key, operation)
        finally:
            with st.lock:
                st.delayed_waiting -= 1
        self._send_json(*result)

    def _inject_failure(self, failure: dict) -> None:
        mode = failure["mode"]
        if mode == "500":
            self._send_json(
                500,
                {
                    "error": {
                        "type": "api_error",
                        "message": "An unknown error occurred (injected by fake Stripe).",
                    }
                },
            )
        elif mode == "429":
            self._send_json(
                429,
                {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "rate_limit",
                        "message": "Too many requests hit the API too quickly (injected by fake Stripe).",
                    }
                },
                {"Stripe-Should-Retry": "true"},
            )
        else:  # timeout: stall, then hang up without answering
            time.sleep(failure["delay"])
            self.close_connection = True
            try:
                self.wfile.flush()
            except OSError:
                pass


def make_server(port: int = 0, host: str = "127.0.0.1", verbose: bool = False) -> ThreadingHTTPServer:
    """Create (but do not start) a fake Stripe server bound to ``host:port``."""
    server = ThreadingHTTPServer((host, port), FakeStripeHandler)
    server.daemon_threads = True
    server.state = FakeStripeState()  # type: ignore[attr-defined]
    server.verbose = verbose  # type: ignore[attr-defined]
    return server


def main(argv: list[str] | None = None) -> int:
    """Run the fake Stripe server until killed; print ``READY <port>`` once listening."""
    parser = argparse.ArgumentParser(description="Stateful fake of the Stripe Connect HTTP API.")
    parser.add_argument("--port", type=int, default=0, help="port to bind (0 = pick a free port)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)

    server = make_server(args.port, args.host, args.verbose)
    port = server.server_address[1]
    sys.stdout.write(f"READY {port}\n")
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


# --------------------------------------------------------------------------
# Helpers for tests
# --------------------------------------------------------------------------


def start_fake_stripe(port: int = 0, timeout: float = 10.0) -> tuple[subprocess.Popen, str]:
    """Start the fake in a subprocess; return ``(process, base_url)`` once it answers.

    The child runs ``python tests/stripe_fake.py --port <port>``; the port is
    read from its ``READY <port>`` line.  Raises ``RuntimeError`` (after
    killing the child) if it does not come up within ``timeout`` seconds.
    """
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--port", str(port)],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue = queue.Queue()

    def _reader() -> None:
        assert proc.stdout is not None
        lines.put(proc.stdout.readline())

    threading.Thread(target=_reader, daemon=True).start()
    deadline = time.monotonic() + timeout
    try:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError("fake Stripe did not print READY in time") from None
        if not line.startswith("READY "):
            raise RuntimeError(f"fake Stripe failed to start (exit={proc.poll()}, output={line!r})")
        base_url = f"http://127.0.0.1:{int(line.split()[1])}"
        while True:
            try:
                with urllib.request.urlopen(f"{base_url}/_control/state", timeout=1) as resp:
                    if resp.status == 200:
                        return proc, base_url
            except (urllib.error.URLError, OSError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("fake Stripe did not answer on its port in time")
            time.sleep(0.05)
    except BaseException:
        stop_fake_stripe(proc)
        raise


def stop_fake_stripe(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """Terminate a process started by :func:`start_fake_stripe` and reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    if proc.stdout is not None:
        proc.stdout.close()



# --- billing events (what Stripe posts to a webhook endpoint) ----------------------------

def billing_event(event_type: str, obj: dict, event_id: str | None = None) -> dict:
    """A Stripe event envelope around ``obj``."""
    return {"id": event_id or _rand_id("evt"), "object": "event", "type": event_type,
            "api_version": "2024-06-20", "created": _now(), "livemode": False,
            "data": {"object": obj}}


def invoice_paid_event(invoice_id: str, subscription: str, amount_paid: int,
                       period_start: int, period_end: int, paid_at: int | None = None,
                       event_id: str | None = None) -> dict:
    """``invoice.paid`` for a subscription invoice (times are Unix seconds): the billed
    period is on its line, as Stripe puts it."""
    return billing_event("invoice.paid", {
        "id": invoice_id, "object": "invoice", "subscription": subscription,
        "amount_paid": amount_paid, "amount_due": amount_paid, "currency": "usd",
        "status": "paid", "paid": True, "billing_reason": "subscription_cycle",
        "period_start": period_start, "period_end": period_end,
        "status_transitions": {"paid_at": paid_at or _now()},
        "lines": {"object": "list", "data": [{
            "object": "line_item", "amount": amount_paid,
            "period": {"start": period_start, "end": period_end}}]},
    }, event_id)


def charge_refunded_event(invoice_id: str, amount: int, amount_refunded: int | None = None,
                          event_id: str | None = None) -> dict:
    """``charge.refunded`` for the charge of ``invoice_id`` (fully refunded unless
    ``amount_refunded`` is less than ``amount``)."""
    refunded = amount if amount_refunded is None else amount_refunded
    return billing_event("charge.refunded", {
        "id": _rand_id("ch"), "object": "charge", "invoice": invoice_id, "amount": amount,
        "amount_refunded": refunded, "refunded": refunded >= amount, "currency": "usd",
    }, event_id)


def signed_webhook(event: dict, secret: str, at: int | None = None) -> tuple[bytes, str]:
    """The body and ``Stripe-Signature`` header Stripe sends for ``event``."""
    import hashlib
    import hmac

    body = json.dumps(event).encode()
    ts = at or _now()
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={ts},v1={sig}"

if __name__ == "__main__":
    sys.exit(main())
