"""WSGI entry point: the app that `web.serve` (deploy/Procfile ``web``; docs/deploy.md) serves;
``python wsgi.py`` runs the development server of `make run`."""

import os

_mode = os.environ.get("SOCKETIO_ASYNC_MODE", "").strip()
if _mode == "eventlet":  # pragma: no cover
    import eventlet

    eventlet.monkey_patch()
elif _mode == "gevent":  # pragma: no cover
    from gevent import monkey

    monkey.patch_all()

from web.app import create_app, freeze_startup_objects  # noqa: E402

app = create_app()
freeze_startup_objects()

if __name__ == "__main__":  # pragma: no cover
    from core.base.extensions import socketio

    socketio.run(app, host="127.0.0.1", port=app.config["PORT"],
                 allow_unsafe_werkzeug=True)
