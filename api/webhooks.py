"""``POST /webhooks/stripe`` and ``POST /webhooks/paypal``: each verified (Stripe: the
signature on the raw body; PayPal: its verify-webhook-signature call) and each event
handled once."""

from flask import Blueprint, jsonify, request

from core.base.extensions import db
from core.money.stripe_connect import handle_event, verify_event
from core.payments import paypal

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.post("/stripe")
def stripe_webhook():
    """Stripe webhook receiver: 200 ``{"result": ...}`` or 400 for a bad signature."""
    event = verify_event(request.get_data(cache=False), request.headers.get("Stripe-Signature"),
                         request.remote_addr)
    result = handle_event(event)
    db.session.commit()
    return jsonify(received=True, result=result)


@bp.post("/paypal")
def paypal_webhook():
    """PayPal webhook receiver: 200 ``{"result": ...}``, 400 for a bad signature, 503
    when PayPal cannot verify it now (PayPal delivers again)."""
    event = paypal.verify_webhook(request.get_data(cache=False), request.headers,
                                  request.remote_addr)
    result = paypal.handle_webhook(event)
    db.session.commit()
    return jsonify(received=True, result=result)
