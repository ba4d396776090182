"""WSGI entry point: ``gunicorn -k eventlet -w 1 wsgi:app`` (see README "Production")."""

import os

if os.environ.get("SOCKETIO_ASYNC_MODE", "").strip() == "eventlet":  # pragma: no cover
    import eventlet

    eventlet.monkey_patch()

from web.app import create_app, freeze_startup_objects  # noqa: E402

app = create_app()
freeze_startup_objects()

if __name__ == "__main__":  # pragma: no cover
    from core.base.extensions import socketio

    socketio.run(app, host="127.0.0.1", port=app.config["PORT"],
                 allow_unsafe_werkzeug=True)
