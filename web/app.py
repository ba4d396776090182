"""SISO Partners core: app factory, models and the partner-program rules.

``create_app`` is the only place that wires ``portal``, ``admin`` and ``jobs`` in; the
rest of ``core`` imports none of them (DESIGN.md "Layout").
"""

import contextlib
import logging
import os
import secrets

from flask import Flask, g, jsonify, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import text

from core.base.config import Config, config_for_env, queue_url
from core.base.errors import DomainError
from core.base.extensions import JsonPacket, csrf, db, limiter, login_manager, migrate, socketio
from core.base.extensions import mail as mail_extension


def create_app(config: type[Config] | None = None, **overrides) -> Flask:
    """Build the Flask app.

    Args: ``config`` a ``Config`` class (default from ``SISO_ENV``); ``overrides`` extra
    settings (tests pass ``SQLALCHEMY_DATABASE_URI`` etc.). Raises ``RuntimeError`` in
    production without ``SECRET_KEY``.
    """
    config = config or config_for_env()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = Flask(__name__, template_folder=os.path.join(root, "templates"),
                static_folder=os.path.join(root, "static"), instance_path=os.path.join(root, "instance"))
    app.config.from_object(config)
    app.config.update(config.from_env())
    app.config.update(overrides)
    os.makedirs(app.config["STORAGE_DIR"], exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(root, "migrations"), compare_type=True,
                 render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "portal.login"
    login_manager.login_message = "Log in to continue."
    csrf.init_app(app)
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    limiter.init_app(app)
    mail_extension.init_app(app)
    mq = app.config.get("SOCKETIO_MESSAGE_QUEUE")
    if mq is None:
        mq = app.config["REDIS_URL"]
    mq = queue_url(mq, app.config["SOCKETIO_QUEUE_MAX_CONNECTIONS"]) if mq else None
    app.config["SOCKETIO_MESSAGE_QUEUE"] = mq
    socketio.init_app(app, async_mode=app.config["SOCKETIO_ASYNC_MODE"], message_queue=mq,
                      channel=app.config["SOCKETIO_CHANNEL"],
                      ping_interval=(app.config["SOCKETIO_PING_INTERVAL"],
                                     app.config["SOCKETIO_PING_GRACE"]),
                      ping_timeout=app.config["SOCKETIO_PING_TIMEOUT"],
                      serializer=JsonPacket,
                      cors_allowed_origins=app.config.get("SOCKETIO_CORS_ORIGINS"),
                      manage_session=False)
    if app.config["SOCKETIO_ASYNC_MODE"] == "eventlet" and app.config["SOCKETIO_DIRECT_WRITES"]:
        from web import fanout

        fanout.install()

    trust_proxies(app)

    import admin
    import jobs
    import portal
    from web import auth as auth_loader  # noqa: F401  (loaders, ledger guard)
    from web import cli

    portal.init_app(app)
    admin.init_app(app)
    jobs.init_app(app)
    cli.init_app(app)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        if request.path.startswith(("/api/", "/webhooks/")) or request.is_json:
            return jsonify(error={"code": exc.code, "message": exc.message}), exc.status
        from flask import render_template

        return render_template("portal/error.html", message=exc.message,
                               status=exc.status), exc.status

    register_database_outage_handler(app)

    from web.sessions import check_session

    app.before_request(check_session)

    @app.errorhandler(429)
    def too_many_attempts(exc):
        """Throttling (core/throttle.py): log-ins, and the e-mail pages (forgot password,
        resend verification): a sentence and ``Retry-After``."""
        from flask import render_template

        from web.throttle import THROTTLED, retry_after_seconds, too_many_message

        db.session.rollback()
        seconds = retry_after_seconds()
        message = too_many_message(seconds, request.endpoint)
        if request.path.startswith("/api/") or request.is_json:
            resp = jsonify(error={"code": "too_many_attempts", "message": message,
                                  "retry_after": seconds})
        elif request.endpoint in THROTTLED:
            from portal.account_views import throttled_page

            resp = app.make_response(throttled_page(request.endpoint, message))
        else:
            from portal.forms import LoginForm

            resp = app.make_response(render_template("portal/login.html", form=LoginForm(),
                                                     message=message))
        resp.status_code = 429
        resp.headers["Retry-After"] = str(seconds)
        return resp

    @app.before_request
    def refuse_bad_bodies():
        """JSON bodies over ``JSON_MAX_BYTES`` get 413 before they are read into memory
        or parsed, and bodies nested deeper than ``JSON_MAX_DEPTH`` get 400 before
        anything walks them (rules: "Bad input"); then NUL characters, which PostgreSQL
        text cannot hold, are refused in the path, query, form or JSON body with a 400
        instead of failing inside the database."""
        from web.bad_input import has_nul, json_depth_exceeds

        if request.is_json:
            limit = app.config["JSON_MAX_BYTES"]
            if (request.content_length or 0) > limit or len(request.get_data()) > limit:
                raise DomainError(f"JSON bodies are at most {limit:,} bytes.",
                                  code="payload_too_large", status=413)
            if json_depth_exceeds(request.get_data(), app.config["JSON_MAX_DEPTH"]):
                raise DomainError("JSON nested deeper than "
                                  f"{app.config['JSON_MAX_DEPTH']} levels is not accepted.",
                                  code="bad_json", status=400)
        if "\x00" in request.path or \
                any(has_nul(k) or has_nul(v) for k, v in request.args.items(multi=True)) or \
                any(has_nul(k) or has_nul(v) for k, v in request.form.items(multi=True)) or \
                (request.is_json and has_nul(request.get_json(silent=True))):
            raise DomainError("Text cannot contain NUL (0x00) characters.", code="bad_input",
                              status=400)

    @app.get("/healthz")
    def healthz():
        """Database and Redis state; 200 when both answer, 503 otherwise."""
        state = {"database": "ok", "redis": "ok"}
        try:
            db.session.execute(text("SELECT 1"))
        except Exception as exc:  # report, never crash the probe
            state["database"] = f"error: {exc.__class__.__name__}"
        try:
            from core.base.outbox import redis_connection

            redis_connection().ping()
        except Exception as exc:
            state["redis"] = f"error: {exc.__class__.__name__}"
        ok = all(v == "ok" for v in state.values())
        return jsonify(status="ok" if ok else "degraded", **state), 200 if ok else 503

    @app.get("/")
    def index():
        if current_user.is_authenticated and current_user.is_staff:
            return redirect("/admin/")
        return redirect(url_for("portal.dashboard"))

    @app.after_request
    def security_headers(resp):
        """Security headers on every response (issue 7): CSP without inline script (the
        back office gets a per-request nonce for Flask-Admin's own inline scripts), no
        sniffing, no framing, same-origin referrers, HSTS when ``HSTS_SECONDS`` is set."""
        resp.headers.setdefault("Content-Security-Policy",
                                content_security_policy(g.get("csp_nonce")))
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("HSTS_SECONDS"):
            resp.headers.setdefault("Strict-Transport-Security",
                                    f"max-age={app.config['HSTS_SECONDS']}; includeSubDomains")
        return resp

    return app


#: What a person is told when the database stops answering in the middle of a request.
DATABASE_OUTAGE_MESSAGE = ("The database stopped answering, so this request could not be "
                           "finished. Please try again in a moment.")


def freeze_startup_objects() -> None:
    """Exempt everything built so far (imports, the app) from the garbage collector's
    full passes (``gc.freeze``); for a long-lived web process, called once after
    ``create_app``. A chat process with 500 sockets spent up to 250-350 ms in one full
    collection (benchmark profile), a stall of every delivery in flight; most of what it
    traversed was import-time objects that live as long as the process anyway. Not for
    tests: frozen objects are never freed."""
    import gc

    gc.collect()
    gc.freeze()


def register_database_outage_handler(app: Flask) -> None:
    """Answer a lost database connection (PostgreSQL restarting, failing over, a network
    cut: SQLAlchemy's ``OperationalError``/``InterfaceError``) with a clean 503 and
    ``Retry-After`` instead of Werkzeug's bare 500 page (issue 7 "Faults": "that request
    fails cleanly"). API and JSON clients get the documented error shape, code
    ``database_unavailable``; pages get the error page, or a plain one when the page
    itself cannot be drawn without the database. The transaction is rolled back (nothing
    of it was committed); the dead connection was invalidated by SQLAlchemy and the next
    request gets a fresh one (``pool_pre_ping``). Logged with its traceback."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    def database_unavailable(exc):
        app.logger.error("database unavailable during %s %s", request.method, request.path,
                         exc_info=exc)
        # The connection is gone; should even the rollback fail, teardown discards it.
        with contextlib.suppress(Exception):
            db.session.rollback()
        if request.path.startswith("/api/") or request.is_json:
            resp = jsonify(error={"code": "database_unavailable",
                                  "message": DATABASE_OUTAGE_MESSAGE})
        else:
            from flask import render_template

            try:
                resp = app.make_response(render_template(
                    "portal/error.html", message=DATABASE_OUTAGE_MESSAGE, status=503))
            except Exception:  # the layout needs the database too (the user's name)
                with contextlib.suppress(Exception):
                    db.session.rollback()
                resp = app.make_response(
                    "<!doctype html><html lang=en><title>503 · SISO Partners</title>"
                    f"<h1>That did not work</h1><p>{DATABASE_OUTAGE_MESSAGE}</p></html>")
        resp.status_code = 503
        resp.headers["Retry-After"] = "5"
        return resp

    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(InterfaceError, database_unavailable)


def trust_proxies(app: Flask) -> None:
    """Behind ``PROXY_COUNT`` reverse proxies, take the client address and scheme from
    their ``X-Forwarded-For``/``-Proto`` headers (Werkzeug's ProxyFix), so per-IP log-in
    limits count clients, not the proxy. 0 (default) trusts no such header."""
    count = app.config.get("PROXY_COUNT", 0)
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0)


def csp_nonce() -> str:
    """A random nonce for this request's inline scripts (Flask-Admin's templates ask for it
    through ``Admin(csp_nonce_generator=...)``); the CSP header then allows it."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def content_security_policy(nonce: str | None = None) -> str:
    """The CSP header value: scripts, styles, fonts and connections from this site only;
    no inline script unless it carries ``nonce``; no plugins, no framing, no ``<base>``.

    Inline ``style=""`` attributes are allowed (progress rings and bars set a width or a
    CSS variable); ``<style>`` elements are not.
    """
    script = "script-src 'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return "; ".join([
        "default-src 'self'", script, "style-src 'self'", "style-src-attr 'unsafe-inline'",
        "img-src 'self' data: blob:", "font-src 'self'", "connect-src 'self'",
        "worker-src 'self'", "manifest-src 'self'", "object-src 'none'", "base-uri 'self'",
        "frame-ancestors 'none'",
    ])
