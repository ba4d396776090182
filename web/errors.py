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


#: What a person is told for an HTTP error with no message of its own, by status.
PAGE_MESSAGES = {
    400: "That request could not be read. Please go back and try again.",
    403: "You do not have access to this page.",
    404: "There is no page at this address. It may have moved, or the link may be mistyped.",
    405: "This page cannot be opened that way.",
    413: "What you sent is too large.",
    500: "Something went wrong on our side. It has been logged; please try again in a moment.",
}


#: The heading of the error page, by status.
PAGE_TITLES = {
    400: "That request could not be read", 403: "No access", 404: "Page not found",
    405: "Not allowed", 409: "That did not work", 413: "Too large",
    429: "Too many attempts", 500: "Something went wrong", 503: "Please try again in a moment",
}


def error_page(message: str, status: int):
    """The styled error page for people, with ``status``: the back office's own page
    (``errors/admin.html``) under ``/admin``, the portal's (``portal/error.html``, which
    also serves public pages) elsewhere. Both offer a way back."""
    template = "errors/admin.html" if request.path.startswith("/admin") else "portal/error.html"
    title = PAGE_TITLES.get(status, "That did not work")
    return render_template(template, message=message, status=status, title=title), status


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
            resp = make_response(error_page(DATABASE_OUTAGE_MESSAGE, 503)[0])
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
    on a 405; elsewhere the styled error page (redirects and other non-errors pass)."""
    if not request.path.startswith("/api/"):
        if (exc.code or 500) < 400 or wants_json():
            return exc
        return _styled_http_error(exc)
    code, message = _HTTP_ERRORS.get(exc.code or 500, ("http_error", exc.description))
    resp = jsonify(error={"code": code, "message": message})
    resp.status_code = exc.code or 500
    allowed = getattr(exc, "valid_methods", None)
    if exc.code == 405 and allowed:
        resp.headers["Allow"] = ", ".join(sorted(allowed))
    return resp


def _styled_http_error(exc):
    """An HTTP error on a page for people: the styled page with the error's status and
    its headers (``Allow``, ``WWW-Authenticate``...). The message is the view's own
    ``abort(code, description)`` when it gave one, else the status's sentence."""
    from flask import make_response
    from werkzeug.exceptions import HTTPException

    code = exc.code or 500
    default = type(exc).description if isinstance(exc, HTTPException) else None
    message = (exc.description if exc.description and exc.description != default
               else PAGE_MESSAGES.get(code, "That did not work."))
    resp = make_response(*error_page(message, code))
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            resp.headers[name] = value
    return resp


def _server_error(exc):
    """An unexpected error (500): the styled page with nothing of the error in it; a
    plain page when even the layout fails (the database gone with the request)."""
    from flask import make_response

    with contextlib.suppress(Exception):
        db.session.rollback()
    if wants_json():
        return jsonify(error={"code": "server_error", "message": PAGE_MESSAGES[500]}), 500
    try:
        return error_page(PAGE_MESSAGES[500], 500)
    except Exception:  # the layout needs the database too (the user's name)
        return make_response(
            "<!doctype html><html lang=en><title>500 · SISO Partners</title>"
            f"<h1>Something went wrong</h1><p>{PAGE_MESSAGES[500]}</p>"
            "<p><a href=\"/\">Home</a></p></html>", 500)


def init_app(app: Flask) -> None:
    """Register the handlers on ``app``."""
    from sqlalchemy.exc import InterfaceError, OperationalError
    from werkzeug.exceptions import HTTPException

    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(429, _too_many)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(InterfaceError, _database_unavailable)
    app.register_error_handler(HTTPException, _api_http_error)
    app.register_error_handler(500, _server_error)
