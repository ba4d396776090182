"""Notifications and web push subscriptions over the API, as the mobile app uses them
(rules: "Notifications", "Web push subscriptions"): newest first with cursor paging and
the unread count, mark one or all read, register and forget a device's push endpoint.
Someone else's notification or subscription is never touched, and a push endpoint that
is not a browser push service is refused with nothing stored."""

import base64
import os

from conftest import api_token, make_partner, make_staff
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from core.base.extensions import db
from core.community.models import Notification, PushSubscription
from core.community.notifications import notify

FCM = "https://fcm.googleapis.com/fcm/send/"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def browser_keys() -> dict:
    """Keys as a real browser makes them: a P-256 public point and a 16-byte secret."""
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"p256dh": b64url(point), "auth": b64url(os.urandom(16))}


def _people(app, client):
    with app.app_context():
        maya = make_partner("Maya Chen", email="maya@example.com")
        omar = make_partner("Omar Reyes", email="omar@example.com")
        for i in range(25):
            notify(maya.user_id, "commission", f"Commission {i}", "body", "/partner/earnings")
        notify(omar.user_id, "payout", "Omar's payout")
        db.session.commit()
        ids = {"maya": maya.user_id, "omar": omar.user_id}
    return ids, api_token(client, "maya@example.com"), api_token(client, "omar@example.com")


def test_list_pages_newest_first_with_the_unread_count(app, client):
    _ids, maya, _omar = _people(app, client)
    first = client.get("/api/notifications", headers=maya).get_json()
    assert [n["title"] for n in first["items"]] == [f"Commission {i}" for i in range(24, 4, -1)]
    assert first["unread"] == 25 and first["next_cursor"] == first["items"][-1]["id"]
    item = first["items"][0]
    assert item["read"] is False and item["read_at"] is None
    assert item["kind"] == "commission" and item["url"] == "/partner/earnings"

    rest = client.get("/api/notifications", headers=maya,
                      query_string={"cursor": first["next_cursor"], "limit": 100}).get_json()
    assert [n["title"] for n in rest["items"]] == [f"Commission {i}" for i in range(4, -1, -1)]
    assert rest["next_cursor"] is None
    assert "Omar's payout" not in str(first) + str(rest)

    resp = client.get("/api/notifications", headers=maya, query_string={"limit": 101})
    assert resp.status_code == 422
    assert resp.get_json()["error"]["message"] == "limit must be at most 100."


def test_mark_one_and_all_read_touches_only_your_own(app, client):
    ids, maya, omar = _people(app, client)
    items = client.get("/api/notifications", headers=maya).get_json()["items"]
    newest = items[0]["id"]

    resp = client.put(f"/api/notifications/{newest}/read", headers=maya)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["id"] == newest and body["unread"] == 24
    again = client.put(f"/api/notifications/{newest}/read", headers=maya).get_json()
    assert again["read_at"] == body["read_at"] and again["unread"] == 24

    # Omar cannot mark Maya's notification, and learns nothing about it
    resp = client.put(f"/api/notifications/{items[1]['id']}/read", headers=omar)
    assert resp.status_code == 404
    assert resp.get_json()["error"]["message"] == "No such notification."

    resp = client.post("/api/notifications/read-all", headers=maya)
    assert resp.get_json() == {"marked": 24, "unread": 0}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == ids["omar"], Notification.read_at.is_(None))) == 1
    listed = client.get("/api/notifications", headers=maya).get_json()
    assert listed["unread"] == 0 and all(n["read"] for n in listed["items"])


def test_staff_read_theirs_but_api_keys_have_no_inbox(app, client):
    from core.accounts.users import create_api_key

    with app.app_context():
        staff = make_staff("finance@example.com", ("finance",))
        notify(staff.id, "statement", "Statement 2026-11 for partner #3 failed")
        key, _row = create_api_key(staff, "books", ["finance"])
        db.session.commit()
    token = api_token(client, "finance@example.com", kind="staff")
    body = client.get("/api/notifications", headers=token).get_json()
    assert [n["title"] for n in body["items"]] == ["Statement 2026-11 for partner #3 failed"]

    resp = client.get("/api/notifications", headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "api_key_refused"
    assert client.get("/api/notifications").status_code == 401


def test_a_device_subscribes_updates_and_unsubscribes(app, client):
    ids, maya, omar = _people(app, client)
    endpoint = FCM + "device-one"
    keys = browser_keys()
    resp = client.post("/api/notifications/subscribe", headers=maya,
                       json={"endpoint": endpoint, "expirationTime": None, "keys": keys})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["endpoint"] == endpoint and "keys" not in resp.get_json()

    # the same browser, now logged in as Omar, subscribes again: it is Omar's now
    new_keys = browser_keys()
    assert client.post("/api/notifications/subscribe", headers=omar,
                       json={"endpoint": endpoint, "keys": new_keys}).status_code == 200
    with app.app_context():
        rows = db.session.scalars(select(PushSubscription)).all()
        assert [(r.user_id, r.endpoint, r.p256dh) for r in rows] == [
            (ids["omar"], endpoint, new_keys["p256dh"])]

    # Maya cannot remove Omar's
    resp = client.delete("/api/notifications/subscribe", headers=maya,
                         json={"endpoint": endpoint})
    assert resp.get_json() == {"removed": False}
    resp = client.delete("/api/notifications/subscribe", headers=omar,
                         json={"endpoint": endpoint})
    assert resp.get_json() == {"removed": True}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PushSubscription)) == 0


def test_the_oldest_of_more_than_ten_devices_is_dropped(app, client):
    ids, maya, _omar = _people(app, client)
    for i in range(11):
        resp = client.post("/api/notifications/subscribe", headers=maya,
                           json={"endpoint": f"{FCM}device-{i}", "keys": browser_keys()})
        assert resp.status_code == 200
    with app.app_context():
        kept = set(db.session.scalars(select(PushSubscription.endpoint).where(
            PushSubscription.user_id == ids["maya"])))
    assert kept == {f"{FCM}device-{i}" for i in range(1, 11)}


def test_endpoints_off_the_push_services_and_bad_keys_are_refused(app, client):
    """The server will call the endpoint itself: only https on a push service passes."""
    _ids, maya, _omar = _people(app, client)
    good = browser_keys()
    for endpoint in ("http://fcm.googleapis.com/fcm/send/x",
                     "https://169.254.169.254/latest/meta-data",
                     "https://localhost/push", "https://evil.example/fcm.googleapis.com",
                     "https://fcm.googleapis.com.evil.example/x",
                     "https://user@fcm.googleapis.com/x", "https://fcm.googleapis.com:8443/x",
                     "javascript:alert(1)", "https://[::1]/x"):
        resp = client.post("/api/notifications/subscribe", headers=maya,
                           json={"endpoint": endpoint, "keys": good})
        assert resp.status_code == 422, endpoint
        assert resp.get_json()["error"]["code"] == "unknown_push_service", endpoint
    for keys, field in (({**good, "p256dh": b64url(os.urandom(65))}, "p256dh"),
                        ({**good, "p256dh": good["p256dh"][:-4]}, "p256dh"),
                        ({**good, "auth": b64url(os.urandom(15))}, "auth"),
                        ({**good, "auth": "not base64!!"}, "auth")):
        resp = client.post("/api/notifications/subscribe", headers=maya,
                           json={"endpoint": FCM + "x", "keys": keys})
        assert resp.status_code == 422
        assert resp.get_json()["error"]["message"].startswith(f"keys.{field} must be")
    resp = client.post("/api/notifications/subscribe", headers=maya,
                       json={"endpoint": FCM + "x"})
    assert resp.status_code == 422 and resp.get_json()["error"]["message"] == "keys is required."
    # Mozilla's and Apple's services pass
    for endpoint in ("https://updates.push.services.mozilla.com/wpush/v2/abc",
                     "https://web.push.apple.com/QGx"):
        assert client.post("/api/notifications/subscribe", headers=maya,
                           json={"endpoint": endpoint, "keys": browser_keys()}).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PushSubscription)) == 2
