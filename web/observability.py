"""Request ids, one log line and one latency observation per request, and ``/metrics``
(rules: "Logs, metrics and errors")."""

import hmac
import logging
import time

from flask import Flask, Response, abort, current_app, g, request
from flask_login import current_user

from core.ops import logs
from core.ops.metrics import REQUEST_SECONDS, render

log = logging.getLogger("siso.request")


def _route() -> str:
    """The URL rule of this request (``/partner/leads/<int:lead_id>``); never the path,
    which can hold a token; ``<unmatched>`` for a 404 on no rule."""
    rule = request.url_rule
    return rule.rule if rule is not None else "<unmatched>"


def _user_id():
    try:
        return current_user.id if current_user.is_authenticated else None
    except Exception:  # database away: the log line must still be written
        return None


def start_request() -> None:
    """Take the request id (``X-Request-ID`` if well formed, else a new one) and start
    the log context."""
    g.request_id = logs.accept_request_id(request.headers.get("X-Request-ID"))
    g.request_started = time.perf_counter()
    g.log_token = logs.bind(request_id=g.request_id, route=_route())


def finish_request(response: Response) -> Response:
    """Echo the request id, observe the latency, write the request's log line."""
    rid = g.get("request_id")
    if rid is None:
        return response
    response.headers["X-Request-ID"] = rid
    seconds = time.perf_counter() - g.get("request_started", time.perf_counter())
    route = _route()
    if route != "/metrics":
        REQUEST_SECONDS.labels(route, request.method, str(response.status_code)).observe(seconds)
    uid = _user_id()
    logs.update(user_id=uid)
    log.info("%s %s %s", request.method, route, response.status_code,
             extra={"method": request.method, "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 1)})
    return response


def end_request(exc=None) -> None:
    token = g.pop("log_token", None)
    if token is not None:
        logs.unbind(token)


def metrics() -> Response:
    """Prometheus exposition of every process's metrics. Only with ``Authorization:
    Bearer <METRICS_TOKEN>``; 404 when the token is unset or the header does not match
    (the route does not admit it exists)."""
    expected = current_app.config.get("METRICS_TOKEN")
    given = request.headers.get("Authorization", "")
    if not expected or not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
        abort(404)
    body, content_type = render()
    resp = Response(body, content_type=content_type)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def init_app(app: Flask) -> None:
    """Install the request hooks (first, so every other hook's log lines carry the id)
    and ``/metrics``."""
    app.before_request_funcs.setdefault(None, []).insert(0, start_request)
    app.after_request(finish_request)
    app.teardown_request(end_request)
    app.add_url_rule("/metrics", "metrics", metrics)
