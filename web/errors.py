"""Error answers for every face: a refusal of the rules (``DomainError``), a throttled
request (429), a database that stopped answering (503), and routing errors under
``/api`` — JSON in the documented shape ``{"error": {"code", "message"}}`` for API,
webhook and JSON requests, a page for people otherwise."""

import contextlib
from collections.abc import Callable

from flask import Flask, jsonify, render_template, request

from core.base.errors import DomainError
from core.base.extensions import db

#: What a person is told when the database stops answering in the middle of a request.
DATABASE_OUTAGE_MESSAGE = ("The database stopped answering, so this request could not be "
                           "finished. Please try again in a moment.")

#: Pages a face shows for a throttled form, by endpoint: ``render(message) -> body``
#: (``register_throttled_page``); others get the error page.
THROTTLED_PAGES: dict[str, Callable[[str], str]] = {}


def register_throttled_page(endpoint: str, render: Callable[[str], str]) -> None:
    """Show ``render(message)`` (a page body) when a request to ``endpoint`` is throttled."""
    THROTTLED_PAGES[endpoint] = render


def wants_json() -> bool:
    """True for API, webhook and JSON requests: they get JSON errors."""
    return request.path.startswith(("/api/", "/webhooks/")) or request.is_json


def error_page(message: str, status: int):
    """The error page for people (``portal/error.html``), with ``status``."""
    return render_template("portal/error.html", message=message, status=status), status


def _domain_error(exc: DomainError):
    db.session.rollback()
    if wants_json():
        return jsonify(error={"code": exc.code, "message": exc.message}), exc.status
    return error_page(exc.message, exc.status)


def _too_many(exc):
    """A throttled request (``web.throttle``): a sentence with the wait and
    ``Retry-After``; the face's own page for its throttled forms."""
    from web.throttle import retry_after_seconds, too_many_message

    db.session.rollback()
    seconds = retry_after_seconds()
    message = too_many_message(seconds, request.endpoint)
    if wants_json():
        resp = jsonify(error={"code": "too_many_attempts", "message": message,
                              "retry_after": seconds})
    elif request.endpoint in THROTTLED_PAGES:
        resp = THROTTLED_PAGES[request.endpoint](message)
    else:
        resp = error_page(message, 429)[0]
    from flask import make_response

    resp = make_response(resp)
    resp.status_code = 429
    resp.headers["Retry-After"] = str(seconds)
    return resp


def _database_unavailable(exc):
    """A lost database connection (PostgreSQL restarting, failing over, a network cut):
    a clean 503 with ``Retry-After`` (code ``database_unavailable`` for JSON clients),
    the transaction rolled back, the traceback logged; a plain page when even the error
    page needs the database."""
    from flask import current_app, make_response

    current_app.logger.error("database unavailable during %s %s", request.method,
                             request.path, exc_info=exc)
    with contextlib.suppress(Exception):
        db.session.rollback()
    if wants_json():
        resp = jsonify(error={"code": "database_unavailable",
                              "message": DATABASE_OUTAGE_MESSAGE})
    else:
        try:
            resp = make_response(render_template("portal/error.html",
                                                 message=DATABASE_OUTAGE_MESSAGE, status=503))
        except Exception:  # the layout needs the database too (the user's name)
            with contextlib.suppress(Exception):
                db.session.rollback()
            resp = make_response(
                "<!doctype html><html lang=en><title>503 · SISO Partners</title>"
                f"<h1>That did not work</h1><p>{DATABASE_OUTAGE_MESSAGE}</p></html>")
    resp.status_code = 503
    resp.headers["Retry-After"] = "5"
    return resp


#: What a routing or protocol refusal under ``/api`` says, by status.
_HTTP_ERRORS = {
    400: ("bad_request", "The request could not be read."),
    404: ("not_found", "No such endpoint."),
    405: ("method_not_allowed", "This endpoint does not accept that method."),
    413: ("payload_too_large", "The request body is too large."),
}


def _api_http_error(exc):
    """A routing or protocol error (unknown path, wrong method, body over
    ``MAX_CONTENT_LENGTH``...) under ``/api``: JSON in the error shape, with ``Allow``
    on a 405; other paths keep the default page."""
    if not request.path.startswith("/api/"):
        return exc
    code, message = _HTTP_ERRORS.get(exc.code or 500, ("http_error", exc.description))
    resp = jsonify(error={"code": code, "message": message})
    resp.status_code = exc.code or 500
    allowed = getattr(exc, "valid_methods", None)
    if exc.code == 405 and allowed:
        resp.headers["Allow"] = ", ".join(sorted(allowed))
    return resp


def init_app(app: Flask) -> None:
    """Register the handlers on ``app``."""
    from sqlalchemy.exc import InterfaceError, OperationalError
    from werkzeug.exceptions import HTTPException

    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(429, _too_many)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(InterfaceError, _database_unavailable)
    app.register_error_handler(HTTPException, _api_http_error)
