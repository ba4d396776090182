"""The web app factory: the core app (``core.base.app``) with the web glue and the three
faces: the partner portal, the back office and the JSON API."""

from flask import Flask, jsonify, redirect, url_for
from flask_login import current_user
from sqlalchemy import text

from core.base.app import create_core_app
from core.base.config import Config, queue_url
from core.base.extensions import JsonPacket, db, socketio
from web.extensions import csrf, limiter, login_manager

# Kept where tests and the admin face import them from.
from web.security import content_security_policy, csp_nonce, trust_proxies  # noqa: F401


def create_app(config: type[Config] | None = None, **overrides) -> Flask:
    """Build the web app: the core app, the web glue (log-in, CSRF, limits, Socket.IO,
    sessions, input checks, error answers, security headers) and the faces.

    Args: ``config`` a ``Config`` class (default from ``SISO_ENV``); ``overrides`` extra
    settings. Raises ``RuntimeError`` in production without ``SECRET_KEY``."""
    import admin
    import api
    import portal
    from web import assets, auth, bad_input, cli, errors, observability, security
    from web.sessions import check_session

    app = create_core_app(config, **overrides)
    login_manager.init_app(app)
    login_manager.login_view = "portal.login"
    login_manager.login_message = "Log in to continue."
    auth.init_app(app)
    csrf.init_app(app)
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    limiter.init_app(app)
    init_socketio(app)
    trust_proxies(app)
    app.before_request(check_session)
    observability.init_app(app)
    bad_input.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    portal.init_app(app)
    admin.init_app(app)
    api.init_app(app)
    cli.init_app(app)
    _add_home_and_health(app)
    assets.init_app(app)
    return app


def init_socketio(app: Flask) -> None:
    """Bind Socket.IO to ``app`` in the configured async mode, with the Redis message
    queue shared by every web process and worker (``SOCKETIO_MESSAGE_QUEUE``), and the
    direct WebSocket writes of ``web.fanout`` under eventlet."""
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


def _add_home_and_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        """Database and Redis state; 200 when both answer, 503 otherwise. Kept for old
        monitors; load balancers use ``/readyz``, which does not fail on Redis."""
        state = {"database": "ok", "redis": "ok"}
        try:
            db.session.execute(text("SELECT 1"))
        except Exception as exc:  # report, never crash the probe
            state["database"] = f"error: {exc.__class__.__name__}"
        try:
            from core.base.jobs import redis_connection

            redis_connection().ping()
        except Exception as exc:
            state["redis"] = f"error: {exc.__class__.__name__}"
        ok = all(v == "ok" for v in state.values())
        return jsonify(status="ok" if ok else "degraded", **state), 200 if ok else 503

    @app.get("/livez")
    def livez():
        """The process answers (rules: "Health checks"); touches nothing else."""
        return jsonify(status="alive")

    @app.get("/readyz")
    def readyz():
        """Whether this node should get traffic: 200 when the database answers at the
        migration head and storage answers, 503 otherwise; Redis is reported, not fatal
        (rules: "Health checks")."""
        from core.ops.health import readiness

        ready, body = readiness()
        resp = jsonify(body)
        resp.status_code = 200 if ready else 503
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.get("/")
    def index():
        if current_user.is_authenticated and current_user.is_staff:
            return redirect("/admin/")
        return redirect(url_for("portal.dashboard"))


def freeze_startup_objects() -> None:
    """Exempt everything built so far (imports, the app) from the garbage collector's
    full passes (``gc.freeze``); for a long-lived web process, called once after
    ``create_app`` (a full collection in a busy chat process stalls every delivery in
    flight: BENCHMARKS.md). Not for tests: frozen objects are never freed."""
    import gc

    gc.collect()
    gc.freeze()
