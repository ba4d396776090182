"""Partner-facing face: pages under /partner, JSON API under /api, Socket.IO chat."""

from flask import Blueprint, Flask

bp = Blueprint("portal", __name__)
api = Blueprint("api", __name__, url_prefix="/api")


def init_app(app: Flask) -> None:
    """Register the portal pages, the API (bearer auth, so no CSRF) and chat events."""
    from core.base.extensions import csrf
    from portal import (  # noqa: F401  (routes register on import)  # noqa: F401  (training, support, /r/)
        account_views,  # noqa: F401  (verify e-mail, forgot and reset password)
        api_views,
        chat_events,
        chat_views,
        documents,  # noqa: F401  (materials and branding pages)
        openapi,
        playbook_views,  # noqa: F401  (the playbook library, page and API)
        program_views,
        referral_views,
        resources,  # noqa: F401  (marketing assets, page and API)
        views,
    )
    from portal.webhooks import bp as webhooks

    csrf.exempt(api)
    csrf.exempt(webhooks)
    app.register_blueprint(bp)
    app.register_blueprint(api)
    app.register_blueprint(webhooks)
    views.register_filters(app)
