"""The Flask app every process starts from: configuration, database, migrations, e-mail,
logging and every package's models. The web processes add their faces and request glue
(``web.app.create_app``); the worker uses it as it is."""

import os

from flask import Flask

from core import load_models
from core.base.config import ROOT, Config, config_for_env
from core.base.extensions import db, mail, migrate
from core.ops.errors import init_error_reporting
from core.ops.logs import configure_logging


def create_core_app(config: type[Config] | None = None, **overrides) -> Flask:
    """Build the app without any face.

    Args: ``config`` a ``Config`` class (default from ``SISO_ENV``); ``overrides`` extra
    settings (tests pass ``SQLALCHEMY_DATABASE_URI`` etc.). Raises ``RuntimeError`` in
    production without ``SECRET_KEY`` (``ProductionConfig``)."""
    config = config or config_for_env()
    app = Flask("siso", root_path=str(ROOT), template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"), instance_path=str(ROOT / "instance"))
    app.config.from_object(config)
    app.config.update(config.from_env())
    app.config.update(overrides)
    os.makedirs(app.config["STORAGE_DIR"], exist_ok=True)
    configure_logging(app)
    init_error_reporting(app)
    load_models()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), compare_type=True,
                     render_as_batch=True)
    mail.init_app(app)
    return app
