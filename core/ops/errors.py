"""Error reporting to Sentry (sentry-sdk, Flask and RQ integrations) when ``SENTRY_DSN``
is set (rules: "Logs, metrics and errors"). Personal data never leaves: no cookies,
headers that carry credentials, request bodies, query strings, e-mail addresses or client
addresses; the user is sent as an id only, and every string left is passed through the
log redaction."""

import re

from core.ops.logs import current, redact

#: E-mail addresses (in exception messages, log breadcrumbs) are personal data.
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

#: Request headers kept on an event (all others are dropped: cookies, authorization...).
KEPT_HEADERS = {"user-agent", "x-request-id", "content-type", "content-length", "accept"}


def _scrub_value(value):
    if isinstance(value, str):
        return EMAIL_RE.sub("[email]", redact(value))
    if isinstance(value, dict):
        return {k: _scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(v) for v in value]
    return value


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """``before_send``: strip personal data from a Sentry event (dict); returns it."""
    req = event.get("request")
    if isinstance(req, dict):
        headers = req.get("headers") or {}
        req["headers"] = {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
        for key in ("cookies", "data", "query_string", "env"):
            req.pop(key, None)
        if "url" in req:
            req["url"] = _scrub_value(req["url"].split("?")[0])
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    rid = current("request_id")
    if rid:
        event.setdefault("tags", {})["request_id"] = rid
    for key in ("exception", "logentry", "message", "breadcrumbs", "extra", "contexts"):
        if key in event:
            event[key] = _scrub_value(event[key])
    return event


def init_error_reporting(app) -> bool:
    """Start sentry-sdk for this process when ``SENTRY_DSN`` is set; returns whether it
    did. Collection of user data, bodies, cookies, query strings and frame variables is
    off and :func:`scrub_event` runs on every event."""
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    # sentry-sdk 3 replaced send_default_pii with data_collection, whose defaults collect
    # more: every category that can hold personal data is turned off here.
    sentry_sdk.init(dsn=dsn, environment=app.config.get("ENV_NAME", "production"),
                    integrations=[FlaskIntegration(), RqIntegration()],
                    data_collection={
                        "user_info": False, "http_bodies": [],
                        "cookies": {"mode": "off"}, "url_query_params": {"mode": "off"},
                        "http_headers": {"request": {"mode": "allowlist",
                                                     "terms": sorted(KEPT_HEADERS)}},
                        "database_query_data": False, "stack_frame_variables": False},
                    max_request_body_size="never", before_send=scrub_event,
                    traces_sample_rate=0.0)
    return True
