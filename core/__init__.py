"""SISO Partners core: app factory, models and the partner-program rules.

``create_app`` is the only place that wires ``portal``, ``admin`` and ``jobs`` in; the
rest of ``core`` imports none of them (DESIGN.md "Layout").
"""

import logging
import os

from flask import Flask, jsonify, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import text

from core.config import Config, config_for_env
from core.errors import DomainError
from core.extensions import csrf, db, login_manager, migrate, socketio


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
    mq = app.config.get("SOCKETIO_MESSAGE_QUEUE")
    if mq is None:
        mq = app.config["REDIS_URL"]
    app.config["SOCKETIO_MESSAGE_QUEUE"] = mq or None
    mq = mq or None
    socketio.init_app(app, async_mode=app.config["SOCKETIO_ASYNC_MODE"], message_queue=mq,
                      cors_allowed_origins=app.config.get("SOCKETIO_CORS_ORIGINS"),
                      manage_session=False)

    import admin
    import jobs
    import portal
    from core import auth_loader, cli, ledger_guard  # noqa: F401  (loaders, ledger guard)

    portal.init_app(app)
    admin.init_app(app)
    jobs.init_app(app)
    cli.init_app(app)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        if request.path.startswith("/api/") or request.is_json:
            return jsonify(error={"code": exc.code, "message": exc.message}), exc.status
        from flask import render_template

        return render_template("portal/error.html", message=exc.message,
                               status=exc.status), exc.status

    @app.before_request
    def refuse_nul_bytes():
        """PostgreSQL text cannot hold NUL (0x00): refuse it in the path, query, form or
        JSON body with a 400 instead of failing inside the database."""

        def has_nul(value) -> bool:
            if isinstance(value, str):
                return "\x00" in value
            if isinstance(value, dict):
                return any(has_nul(k) or has_nul(v) for k, v in value.items())
            if isinstance(value, list):
                return any(has_nul(v) for v in value)
            return False

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
            from core.tasks import redis_connection

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
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        return resp

    return app
