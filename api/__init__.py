"""The JSON API face: ``/api/...`` for the partner app, staff tools and CRMs (bearer
tokens and staff API keys, never cookies, so no CSRF), its OpenAPI document, and the
webhook receivers under ``/webhooks``."""

from flask import Blueprint, Flask

api = Blueprint("api", __name__, url_prefix="/api")


def init_app(app: Flask) -> None:
    """Register the API's routes and the webhook receivers."""
    from api import (  # noqa: F401  (routes register on import)
        asyncapi,
        auth,
        chat,
        common,
        events,
        fraud,
        learning,
        links,
        notifications,
        openapi,
        partner,
        payments,
        playbooks,
        recurring,
        resources,
        staff,
        staff_sync,
        staff_webhooks,
        team,
        training,
    )
    from api.spec import spec
    from api.webhooks import bp as webhooks
    from web.extensions import csrf

    spec.app = app  # the routes the document lists (the same in every app)

    csrf.exempt(api)
    csrf.exempt(webhooks)
    app.register_blueprint(api)
    app.register_blueprint(webhooks)
