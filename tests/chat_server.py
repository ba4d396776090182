"""Run one chat web process for the cross-process tests and the benchmark.

Environment: ``DATABASE_URL``, ``REDIS_URL``, ``SOCKETIO_MESSAGE_QUEUE``, ``SOCKETIO_CHANNEL``, ``PORT``,
``STORAGE_DIR``, ``SOCKETIO_ASYNC_MODE`` (``threading`` or ``eventlet``). Uses the testing
config (same secret key as the test process) so tokens and cookies work in both.
"""

import os
import sys

if os.environ.get("SOCKETIO_ASYNC_MODE") == "eventlet":
    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)
    import eventlet

    eventlet.monkey_patch()

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core import create_app  # noqa: E402
from core.config import TestingConfig  # noqa: E402
from core.extensions import socketio  # noqa: E402


def main() -> None:
    mode = os.environ.get("SOCKETIO_ASYNC_MODE", "threading")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=os.environ["DATABASE_URL"],
                     REDIS_URL=os.environ["REDIS_URL"],
                     SOCKETIO_MESSAGE_QUEUE=os.environ["SOCKETIO_MESSAGE_QUEUE"],
                     STORAGE_DIR=os.environ.get("STORAGE_DIR", "/tmp/siso-chat-files"),
                     SOCKETIO_ASYNC_MODE=mode)
    port = int(os.environ["PORT"])
    if mode == "eventlet":
        socketio.run(app, host="127.0.0.1", port=port, log_output=False)
    else:
        socketio.run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True,
                     use_reloader=False, log_output=False)


if __name__ == "__main__":
    main()
