"""Staff API keys and bearer credentials (SECURITY.md "API keys and scopes", "Bearer
credentials only on /api"): a key never mints a broader key, every key use is audited
with the key's name, and a token or key opens no page."""

import json

from conftest import api_token, make_partner, make_staff
from sqlalchemy import func, select

from core.accounts.models import ApiToken
from core.base.extensions import db
from core.base.models import AuditLog
from core.money.models import Commission


def _key(client, headers, name, roles):
    return client.post("/api/staff/api-keys", json={"name": name, "roles": roles},
                       headers=headers)


def _bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def _key_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ApiToken).where(
            ApiToken.kind == "key"))


def test_a_support_scoped_key_cannot_mint_an_admin_finance_key(app, client):
    """An admin's key scoped to support asks for an admin,finance key: refused with 403,
    no key is made, and the support key can still do what support does."""
    with app.app_context():
        make_staff("boss@example.com", ("admin", "finance"))
        pid = make_partner("Pat Keyholder").id
    h = api_token(client, "boss@example.com", kind="staff")
    support = _key(client, h, "Helpdesk sync", ["support"]).get_json()["key"]
    before = _key_count(app)
    minted = _key(client, _bearer(support), "escalate", ["admin", "finance"])
    assert minted.status_code == 403
    assert minted.get_json()["error"]["code"] == "key_scope"
    assert _key_count(app) == before
    # Nor a key of its own scope: keys are managed only by an admin-scoped key.
    assert _key(client, _bearer(support), "same scope", ["support"]).status_code == 403
    assert client.post(f"/api/staff/partners/{pid}/bonus", headers=_bearer(support),
                       json={"amount_cents": 500000, "note": "x"}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Commission)) == 0
    assert client.get(f"/api/staff/partners/{pid}/balance",
                      headers=_bearer(support)).status_code == 200


def test_an_admin_scoped_key_creates_keys_only_within_the_owners_roles(app, client):
    """A key holding admin may create keys (admin manages keys), never revoke or create
    beyond what its owner and its scope allow; a finance-only owner's login cannot give
    a key the admin role."""
    with app.app_context():
        make_staff("boss@example.com", ("admin", "finance"))
        make_staff("money@example.com", ("finance",))
    h = api_token(client, "boss@example.com", kind="staff")
    admin_key = _key(client, h, "Ops automation", ["admin"]).get_json()["key"]
    made = _key(client, _bearer(admin_key), "CRM", ["finance"])
    assert made.status_code == 201 and made.get_json()["roles"] == ["finance"]
    fh = api_token(client, "money@example.com", kind="staff")
    over = _key(client, fh, "too much", ["admin"])
    assert over.status_code == 422 and "admin" in over.get_json()["error"]["message"]
    finance_key = _key(client, fh, "Ledger export", ["finance"]).get_json()["key"]
    assert _key(client, _bearer(finance_key), "again", ["finance"]).status_code == 403
    kid = made.get_json()["id"]
    assert client.delete(f"/api/staff/api-keys/{kid}",
                         headers=_bearer(finance_key)).status_code in (403, 404)
    with app.app_context():
        assert db.session.get(ApiToken, kid).revoked_at is None


def test_every_key_use_is_audited_with_the_keys_name(app, client):
    """A read and a change made with a key each leave an audit row naming the key; the
    change's own audit row points at the key too."""
    with app.app_context():
        make_staff("boss@example.com", ("admin", "finance"))
        pid = make_partner("Pat Bonus").id
    h = api_token(client, "boss@example.com", kind="staff")
    key = _key(client, h, "Bonus robot", ["finance"]).get_json()
    kh = _bearer(key["key"])
    assert client.get(f"/api/staff/partners/{pid}/balance", headers=kh).status_code == 200
    assert client.post(f"/api/staff/partners/{pid}/bonus", headers=kh,
                       json={"amount_cents": 2500, "note": "Spring push"}).status_code == 201
    with app.app_context():
        uses = list(db.session.scalars(select(AuditLog).where(AuditLog.action == "api_key.use")
                                       .order_by(AuditLog.id)))
        assert [json.loads(u.after)["key"] for u in uses] == ["Bonus robot", "Bonus robot"]
        assert [json.loads(u.after)["method"] for u in uses] == ["GET", "POST"]
        assert all(u.object_id == key["id"] for u in uses)
        bonus = db.session.scalar(select(AuditLog).where(AuditLog.action == "commission.create"))
        assert bonus is not None and bonus.api_key_id == key["id"]
        assert bonus.api_key.name == "Bonus robot"


def test_bearer_credentials_open_no_page(app, client):
    """``Authorization: Bearer`` with a staff login token, a staff API key or a partner
    token opens neither the back office nor the portal: pages ask to log in."""
    with app.app_context():
        make_staff("boss@example.com", ("admin", "finance"))
        make_partner("Pat Page", email="pat@example.com")
    staff = api_token(client, "boss@example.com", kind="staff")
    key = _key(client, staff, "Everything", ["admin"]).get_json()["key"]
    partner = api_token(client, "pat@example.com")
    fresh = app.test_client()
    for headers, url in ((staff, "/admin/"), (_bearer(key), "/admin/partners/"),
                         (_bearer(key), "/admin/staff/"), (partner, "/partner/dashboard"),
                         (partner, "/partner/earnings")):
        resp = fresh.get(url, headers=headers)
        assert resp.status_code in (302, 403), (url, resp.status_code)
        if resp.status_code == 302:
            assert "/login" in resp.headers["Location"], url
    # The same credentials still work on the API.
    assert fresh.get("/api/staff/api-keys", headers=_bearer(key)).status_code == 200
    assert fresh.get("/api/partner/profile", headers=partner).status_code == 200


def test_an_api_key_cannot_open_a_chat_socket(app, client, live_server):
    """Chat acts with its user's full roles, so a staff API key (scoped or not) is refused
    at the socket's door; the same staff member's login token connects."""
    import pytest
    import socketio as sio_client

    with app.app_context():
        make_staff("mod@example.com", ("admin", "support"))
    h = api_token(client, "mod@example.com", kind="staff")
    key = _key(client, h, "Finance only", ["finance"]).get_json()["key"]
    sock = sio_client.Client(reconnection=False)
    with pytest.raises(sio_client.exceptions.ConnectionError):
        sock.connect(live_server, auth={"token": key}, transports=["polling"], wait_timeout=5)
    ok = sio_client.Client(reconnection=False)
    ok.connect(live_server, auth={"token": h["Authorization"][7:]}, transports=["polling"],
               wait_timeout=5)
    assert ok.connected
    ok.disconnect()
