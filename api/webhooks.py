"""``POST /webhooks/stripe``: verified on the raw body, each event handled once."""

from flask import Blueprint, jsonify, request

from core.base.extensions import db
from core.money.stripe_connect import handle_event, verify_event

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.post("/stripe")
def stripe_webhook():
    """Stripe webhook receiver: 200 ``{"result": ...}`` or 400 for a bad signature."""
    event = verify_event(request.get_data(cache=False), request.headers.get("Stripe-Signature"),
                         request.remote_addr)
    result = handle_event(event)
    db.session.commit()
    return jsonify(received=True, result=result)
