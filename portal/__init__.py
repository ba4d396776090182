"""The partner face: pages under ``/partner`` (and the public referral landing pages),
and the live chat's Socket.IO events."""

from flask import Blueprint, Flask

bp = Blueprint("portal", __name__)


def init_app(app: Flask) -> None:
    """Register the portal's pages and chat events, and its pages for throttled forms."""
    from portal import (  # noqa: F401  (routes register on import)
        account_views,
        alert_views,
        chat_events,
        chat_views,
        engagement_views,
        event_views,
        materials,
        payments,
        playbook_views,
        program_views,
        referral_views,
        resources,
        spotlight_views,
        views,
    )

    app.register_blueprint(bp)
    views.register_filters(app)
    account_views.register_throttled_pages(app)
