"""What every JSON endpoint shares: bearer authentication (tokens and staff API keys) and
the warning when a job could not be queued. Requests are read and answers written by
the operations' schemas (``api/spec.py``)."""

import functools
import inspect
import json

from flask import g, jsonify, request

from api import api
from core.base.audit import audit_key_use
from core.base.errors import Forbidden
from web.auth import bearer_user


@api.after_request
def tell_of_unqueued_jobs(resp):
    """A successful answer whose job could not be queued (Redis not answering) says so:
    ``"jobs_queued": false`` and a ``"warning"`` sentence in the JSON body, and a
    ``Warning`` header (``199 - "..."``), as the back office tells staff (rules: "Jobs
    and retries")."""
    from core.base.outbox import NOT_QUEUED_WARNING, jobs_not_queued

    if resp.status_code < 300 and resp.is_json and jobs_not_queued():
        body = resp.get_json()
        if isinstance(body, dict):
            body.update(jobs_queued=False, warning=NOT_QUEUED_WARNING)
            resp.set_data(json.dumps(body))
            resp.headers["Warning"] = f'199 - "{NOT_QUEUED_WARNING}"'
    return resp


def _token_user():
    """The user of the request's ``Authorization: Bearer`` token or staff API key (every
    use of a key is audited), or ``None``."""
    user = bearer_user(request)
    if user is not None and user.api_key is not None:
        g.api_key_id = user.api_key.id
        audit_key_use(user.api_key.id, user.id, user.api_key.name, request.method, request.path)
    return user


def _admit(user, kind: str, active: bool, roles: tuple[str, ...]) -> None:
    """Let ``user`` in as ``kind`` (and ``g.partner`` for partners), or raise
    ``Forbidden``: not that kind, an application under review where ``active`` is
    needed, or none of ``roles``. Kind ``person`` is any logged-in partner or staff
    member, never an API key (a key has no inbox)."""
    if kind == "person":
        if user.api_key is not None:
            raise Forbidden("API keys cannot use this endpoint: it is a person's own; log "
                            "in with /api/auth/staff/login.", code="api_key_refused")
        g.partner = user.partner
    elif kind == "partner":
        if user.partner is None:
            raise Forbidden("This endpoint is for partners.")
        g.partner = user.partner
        if active and g.partner.status != "active":
            raise Forbidden("Your application is under review; this opens once staff "
                            "approve it.", code="not_approved")
    elif not user.is_staff:
        raise Forbidden("This endpoint is for staff.")
    if roles and not user.has_role(*roles):
        raise Forbidden(f"This needs the {' or '.join(roles)} role.")


def bearer(kind: str = "partner", active: bool = True, roles: tuple[str, ...] = ()):
    """Authenticate ``Authorization: Bearer``; ``kind`` is ``partner``, ``staff`` or
    ``person`` (either, with a login token);
    ``roles`` (staff) lets in only staff (or keys) holding one of them. 401 without a
    valid token, 403 otherwise; both come before the request body is read.

    Session cookies are ignored here, so the API needs no CSRF token.
    """

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            user = _token_user()
            if user is None:
                return jsonify(error={"code": "unauthorized", "message":
                                      "Log in first: send Authorization: Bearer <token>."}), 401
            _admit(user, kind, active, roles)
            g.user = user
            return fn(*args, **kwargs)

        return wrapper

    return deco


def path_rows(**finders):
    """Look up the rows the path names before the request body is read, so a row that
    is not the caller's is a 404 whatever the body: ``path_rows(lead=finder)`` calls
    ``finder(lead_id=...)`` with the path's argument of the same name as the finder's
    parameter and passes the row to the view as ``lead``. Raises what the finder raises
    (``NotFound``)."""

    def deco(fn):
        params = {name: next(iter(inspect.signature(f).parameters))
                  for name, f in finders.items()}

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            for name, finder in finders.items():
                kwargs[name] = finder(kwargs.pop(params[name]))
            return fn(*args, **kwargs)

        return wrapper

    return deco
