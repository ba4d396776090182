"""Web push from the real worker to a push service served by this test (rules: "Web
push"): the notice is sent after the commit by a job, signed with our VAPID key, and the
device decrypts it to the title, body and page to open; a subscription the push service
says is gone (410/404) is removed; subscribing an endpoint that is not a browser push
service is 422 with nothing stored, and the test service's http://127.0.0.1 passes only
because TestingConfig allows it."""

import base64
import json

import pytest
from conftest import api_token, login, make_partner
from push_service import Device, PushService, unb64

from core.base.extensions import db
from core.community.models import PushSubscription


@pytest.fixture
def service():
    s = PushService().start()
    yield s
    s.stop()


def _subscribe(client, email, device):
    headers = api_token(client, email)
    resp = client.post("/api/notifications/subscribe", json=device.subscription(),
                       headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return headers


def _verify_vapid(app, headers: dict, audience: str) -> dict:
    """The VAPID JWT in ``Authorization: vapid t=..., k=...``, checked with the public key
    it names (ours) and returned as claims."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    from core.community.push import vapid_keys

    auth = headers["authorization"]
    assert auth.startswith("vapid ")
    parts = dict(p.strip().split("=", 1) for p in auth[len("vapid "):].split(","))
    with app.app_context():
        assert parts["k"] == vapid_keys()[1]
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(parts["k"]))
    head, claims, sig = parts["t"].split(".")
    raw = unb64(sig)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    claims = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert claims["aud"] == audience
    assert claims["sub"] == app.config["VAPID_SUBJECT"]
    return claims


def test_a_notice_reaches_the_device_encrypted_and_signed(app, client, run_worker, service):
    """A follow-up notice for Pat goes out by push from the worker; the device decrypts
    the title, body and the lead's page, and the request carries a valid VAPID signature
    and a TTL."""
    from core.community.notifications import notify

    with app.app_context():
        pat = make_partner("Pat Push", email="pat@example.com")
        user_id = pat.user_id
    phone = Device(f"{service.base}/push/pat-phone")
    _subscribe(client, "pat@example.com", phone)
    with app.app_context():
        notify(user_id, "follow_up", "Follow up with Acme today", "Call about the quote",
               "/partner/leads/7")
        assert service.received == []  # nothing leaves before the commit
        db.session.commit()
    run_worker()
    assert len(service.received) == 1
    got = service.received[0]
    assert got["path"] == "/push/pat-phone"
    assert got["headers"]["content-encoding"] == "aes128gcm"
    assert int(got["headers"]["ttl"]) == 24 * 3600
    notice = phone.decrypt(got["body"])
    assert notice == {"title": "Follow up with Acme today", "body": "Call about the quote",
                      "url": "/partner/leads/7", "tag": notice["tag"], "kind": "follow_up"}
    assert notice["tag"].startswith("n")
    _verify_vapid(app, got["headers"], service.base)
    # Someone else's key cannot read it.
    with pytest.raises(Exception):
        Device(phone.endpoint).decrypt(got["body"])


def test_push_off_for_a_kind_sends_nothing_and_other_kinds_still_go(app, client, run_worker,
                                                                    service):
    """Pat unticks push for "Tier up": that notice stays in the portal; a payout notice
    still reaches the phone."""
    from core.community.notifications import notify

    with app.app_context():
        pat = make_partner("Pat Push", email="pat@example.com")
        user_id = pat.user_id
    phone = Device(f"{service.base}/push/pat")
    headers = _subscribe(client, "pat@example.com", phone)
    resp = client.put("/api/notifications/preferences", headers=headers,
                      json={"preferences": {"tier_up": {"push": False}}})
    assert resp.status_code == 200, resp.get_json()
    with app.app_context():
        notify(user_id, "tier_up", "You reached Active", "")
        notify(user_id, "payout", "Payout sent", "$120.00 is on its way", "/partner/earnings")
        db.session.commit()
    run_worker()
    titles = [phone.decrypt(r["body"])["title"] for r in service.received]
    assert titles == ["Payout sent"]


@pytest.mark.parametrize("status", [410, 404])
def test_an_expired_subscription_is_removed(app, client, run_worker, service, status):
    """The push service answers 410 Gone (or 404) for Pat's old laptop: its subscription
    is deleted; the phone still gets the notice and stays."""
    from core.community.notifications import notify

    with app.app_context():
        pat = make_partner("Pat Push", email="pat@example.com")
        user_id = pat.user_id
    laptop, phone = Device(f"{service.base}/push/old"), Device(f"{service.base}/push/new")
    _subscribe(client, "pat@example.com", laptop)
    _subscribe(client, "pat@example.com", phone)
    service.gone.add("/push/old")
    service.gone_status = status
    with app.app_context():
        notify(user_id, "payout", "Payout sent", "", "/partner/earnings")
        db.session.commit()
    run_worker()
    assert sorted(r["path"] for r in service.received) == ["/push/new", "/push/old"]
    with app.app_context():
        left = db.session.scalars(db.select(PushSubscription.endpoint)).all()
    assert left == [phone.endpoint]


def test_portal_toggle_route_refuses_private_and_plain_http_endpoints(app, client):
    """The profile's toggle posts the subscription: a private address, plain http on
    another host, or a look-alike host is 422 with nothing stored; the test push service
    on 127.0.0.1 is accepted (TestingConfig's PUSH_ALLOW_LOOPBACK)."""
    with app.app_context():
        make_partner("Pat Push", email="pat@example.com")
    login(client, "pat@example.com")
    page = client.get("/partner/profile/notifications")
    assert page.status_code == 200
    from conftest import csrf_from

    token = csrf_from(page.get_data(as_text=True))
    for endpoint in ("https://10.0.0.5/push", "https://192.168.1.20/wpush/v2/x",
                     "http://fcm.googleapis.com/fcm/send/x", "https://169.254.169.254/latest",
                     "http://127.0.0.2:8080/push", "https://fcm.googleapis.com.evil.example/x"):
        device = Device(endpoint)
        resp = client.post("/partner/profile/push", json=device.subscription(),
                           headers={"X-CSRFToken": token})
        assert resp.status_code == 422, endpoint
        assert resp.get_json()["error"]["code"] == "unknown_push_service"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(PushSubscription)) == 0
    ok = client.post("/partner/profile/push", json=Device("http://127.0.0.1:9/push/x")
                     .subscription(), headers={"X-CSRFToken": token})
    assert ok.status_code == 200 and ok.get_json()["devices"] == 1
    # Without the CSRF token the toggle's post is refused.
    assert client.post("/partner/profile/push", json=Device("http://127.0.0.1:9/push/y")
                       .subscription()).status_code == 400
    gone = client.post("/partner/profile/push/remove", json={"endpoint": "http://127.0.0.1:9/push/x"},
                       headers={"X-CSRFToken": token})
    assert gone.get_json() == {"removed": True, "devices": 0}


def test_loopback_push_endpoints_are_refused_outside_tests(app):
    """Production (and development) never accept http://127.0.0.1: the allowance is a
    TestingConfig setting, and ProductionConfig forces it off."""
    from core.base.config import Config, ProductionConfig
    from core.community.push import known_push_service

    assert Config.PUSH_ALLOW_LOOPBACK is False
    assert ProductionConfig.PUSH_ALLOW_LOOPBACK is False
    with app.app_context():
        assert known_push_service("http://127.0.0.1:8080/push")
        app.config["PUSH_ALLOW_LOOPBACK"] = False
        try:
            assert not known_push_service("http://127.0.0.1:8080/push")
        finally:
            app.config["PUSH_ALLOW_LOOPBACK"] = True


def test_vapid_public_key_matches_the_private_one_and_is_offered(app, client):
    """The preferences API hands the Push API's applicationServerKey: the public point
    of our private key (65 bytes, uncompressed)."""
    from core.base.config import new_vapid_private_key
    from core.community.push import public_key_of

    with app.app_context():
        make_partner("Pat Push", email="pat@example.com")
    body = client.get("/api/notifications/preferences",
                      headers=api_token(client, "pat@example.com")).get_json()
    assert body["push_available"] is True
    assert len(unb64(body["vapid_public_key"])) == 65
    assert body["vapid_public_key"] == public_key_of(app.config["VAPID_PRIVATE_KEY"])
    assert len(unb64(new_vapid_private_key())) == 32
