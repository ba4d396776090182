"""The staff API of outbound webhooks (admin): register, list, change, pause, rotate the
secret, delete; the delivery log, replay and test events."""

from flask import g

from api import api
from api.common import bearer
from api.spec import operation
from core.base.extensions import db
from core.webhooks import deliveries, endpoints
from core.webhooks.schemas import (
    DeliveryQuery,
    NewWebhookEndpoint,
    WebhookDelivery,
    WebhookDeliveryPage,
    WebhookEndpoint,
    WebhookEndpointChange,
    WebhookEndpointPage,
)

ADMIN = ("admin",)


@api.post("/staff/webhooks")
@bearer("staff", roles=ADMIN)
@operation(201, WebhookEndpoint, errors=(422,))
def api_staff_webhook_create(json: NewWebhookEndpoint):
    """Register a webhook endpoint

    The answer holds the signing secret (whsec_...), shown this once. The URL must be
    https and resolve to public addresses; unknown events are a 422 listing the valid
    ones."""
    ep = endpoints.create_endpoint(g.user.id, json.url, json.events, json.description)
    db.session.commit()
    return WebhookEndpoint.of(ep, show_secret=True), 201


@api.get("/staff/webhooks")
@bearer("staff", roles=ADMIN)
@operation(200, WebhookEndpointPage)
def api_staff_webhooks():
    """Every webhook endpoint (without secrets)"""
    return WebhookEndpointPage(items=[WebhookEndpoint.of(e) for e in endpoints.list_endpoints()])


@api.get("/staff/webhooks/<int:endpoint_id>")
@bearer("staff", roles=ADMIN)
@operation(200, WebhookEndpoint)
def api_staff_webhook(endpoint_id: int):
    """One webhook endpoint (without its secret)"""
    return WebhookEndpoint.of(endpoints.get_endpoint(endpoint_id))


@api.patch("/staff/webhooks/<int:endpoint_id>")
@bearer("staff", roles=ADMIN)
@operation(200, WebhookEndpoint, errors=(422,))
def api_staff_webhook_update(endpoint_id: int, json: WebhookEndpointChange):
    """Change a webhook endpoint; pause or resume it

    status paused keeps its deliveries waiting; active resumes it (or enables it again
    after it was disabled) and sends what waited."""
    ep = endpoints.update_endpoint(endpoint_id, g.user.id, json.sent())
    db.session.commit()
    return WebhookEndpoint.of(ep)


@api.post("/staff/webhooks/<int:endpoint_id>/pause")
@bearer("staff", roles=ADMIN)
@operation(200, WebhookEndpoint)
def api_staff_webhook_pause(endpoint_id: int):
    """Pause a webhook endpoint (its deliveries wait until it is resumed)"""
    ep = endpoints.pause_endpoint(endpoint_id, g.user.id)
    db.session.commit()
    return WebhookEndpoint.of(ep)


@api.post("/staff/webhooks/<int:endpoint_id>/rotate-secret")
@bearer("staff", roles=ADMIN)
@operation(200, WebhookEndpoint)
def api_staff_webhook_rotate(endpoint_id: int):
    """Rotate an endpoint's signing secret

    The answer holds the new secret, shown this once; the old one keeps signing beside
    it for 24 hours."""
    ep = endpoints.rotate_secret(endpoint_id, g.user.id)
    db.session.commit()
    return WebhookEndpoint.of(ep, show_secret=True)


@api.delete("/staff/webhooks/<int:endpoint_id>")
@bearer("staff", roles=ADMIN)
@operation(200, WebhookEndpoint)
def api_staff_webhook_delete(endpoint_id: int):
    """Delete a webhook endpoint and its delivery log"""
    ep = endpoints.delete_endpoint(endpoint_id, g.user.id)
    answer = WebhookEndpoint.of(ep)
    db.session.commit()
    return answer


@api.get("/staff/webhooks/<int:endpoint_id>/deliveries")
@bearer("staff", roles=ADMIN)
@operation(200, WebhookDeliveryPage)
def api_staff_webhook_deliveries(endpoint_id: int, query: DeliveryQuery):
    """An endpoint's delivery log, newest first

    Each delivery with its attempts: time, status code, duration, the first KB of the
    answer."""
    endpoints.get_endpoint(endpoint_id)
    rows = deliveries.delivery_log(endpoint_id, query.sent().get("cursor"), query.limit)
    nxt = rows[-1].id if len(rows) == query.limit else None
    return WebhookDeliveryPage(items=[WebhookDelivery.of(d) for d in rows], next_cursor=nxt)


@api.post("/staff/webhooks/deliveries/<int:delivery_id>/replay")
@bearer("staff", roles=ADMIN)
@operation(202, WebhookDelivery, errors=(409,))
def api_staff_webhook_replay(delivery_id: int):
    """Send a delivery's event again (same webhook-id and body)

    409 when its endpoint is paused or disabled."""
    row = deliveries.replay(delivery_id, g.user.id)
    db.session.commit()
    return WebhookDelivery.of(row), 202


@api.post("/staff/webhooks/<int:endpoint_id>/test")
@bearer("staff", roles=ADMIN)
@operation(202, WebhookDelivery, errors=(409,))
def api_staff_webhook_test(endpoint_id: int):
    """Send a test event (webhook.test) to an endpoint

    409 when the endpoint is paused or disabled."""
    row = deliveries.send_test(endpoint_id, g.user.id)
    db.session.commit()
    return WebhookDelivery.of(row), 202
