"""The partner's profile page and PUT /api/partner/profile: the editable fields with
their limits, and nothing that staff own (tier, rate, status, ids) can be set."""

import re

from conftest import api_token, login, make_partner, submit

from core.base.extensions import db
from core.base.models import AuditLog
from core.program.models import Partner


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def state(app, pid):
    with app.app_context():
        p = db.session.get(Partner, pid)
        return {"name": p.user.name, "company_name": p.company_name, "phone": p.phone,
                "industry": p.industry, "timezone": p.timezone, "notify_email": p.notify_email,
                "notify_portal": p.notify_portal, "status": p.status, "tier_id": p.tier_id,
                "won": p.won_deals_count, "code": p.referral_code, "id": p.id,
                "email": p.user.email}


FORM = {"name": "Sarah T. Thompson", "company_name": "Thompson Digital LLC",
        "phone": "+1 (555) 0199", "industry": "Real estate", "timezone": "America/New_York",
        "notify_portal": "y"}


def test_partner_edits_profile_on_the_page(app, client):
    with app.app_context():
        pid = make_partner("Sarah Thompson", email="sarah@example.com").id
    login(client, "sarah@example.com")
    page = client.get("/partner/profile").get_data(as_text=True)
    assert 'value="Sarah Thompson"' in page and '<option selected value="UTC">' in page
    assert re.search(r'<input[^>]*\bchecked\b[^>]*name="notify_email"', page)
    resp = submit(client, "/partner/profile", FORM)
    assert resp.status_code == 303
    after = state(app, pid)
    assert (after["name"], after["company_name"], after["phone"], after["industry"],
            after["timezone"], after["notify_email"], after["notify_portal"]) == (
        "Sarah T. Thompson", "Thompson Digital LLC", "+1 (555) 0199", "Real estate",
        "America/New_York", False, True)
    shown = client.get("/partner/profile").get_data(as_text=True)
    assert "Profile saved." in shown and '<option selected value="America/New_York">' in shown
    assert re.search(r'<a class="topbar-link" href="/partner/profile" aria-label="Your profile"'
                     r' aria-current="page"><svg .*?</svg><span class="who">Sarah</span></a>', shown)
    assert not re.search(r'<input[^>]*\bchecked\b[^>]*name="notify_email"', shown)
    with app.app_context():
        row = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "partner.profile"))
        assert row is not None and "America/New_York" in row.after


def test_page_ignores_fields_staff_own_and_checks_limits(app, client):
    with app.app_context():
        p = make_partner("Sarah Thompson", email="sarah@example.com")
        other = make_partner("Oscar Other")
        pid, oid = p.id, other.id
    before = state(app, pid)
    login(client, "sarah@example.com")
    sneaky = dict(FORM, tier="elite", tier_id="4", status="active", partner_id=str(oid),
                  commission_rate_bps="9000", referral_code="HACKED12", won_deals_count="99",
                  email="x@example.com")
    assert submit(client, "/partner/profile", sneaky).status_code == 303
    after = state(app, pid)
    for key in ("status", "tier_id", "won", "code", "id", "email"):
        assert after[key] == before[key], key
    assert state(app, oid)["name"] == "Oscar Other"
    for field, value, message in (("company_name", "x" * 201, "200 characters"),
                                  ("phone", "call me maybe", "digits"),
                                  ("timezone", "Mars/Olympus_Mons", "time zone from the list"),
                                  ("name", "", "")):
        resp = submit(client, "/partner/profile", dict(FORM, **{field: value}))
        assert resp.status_code == 422, field
        assert 'aria-invalid="true"' in resp.get_data(as_text=True)
        assert message in text_of(resp.get_data(as_text=True))
    assert state(app, pid) == after


def test_api_profile_accepts_the_same_fields_and_refuses_staff_fields(app, client):
    with app.app_context():
        p = make_partner("Sarah Thompson", email="sarah@example.com")
        pid = p.id
    h = api_token(client, "sarah@example.com")
    resp = client.put("/api/partner/profile", headers=h, json={
        "timezone": "Europe/London", "notify_email": False, "industry": "Health & dental"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["timezone"], body["notify_email"], body["notify_portal"], body["industry"]) == (
        "Europe/London", False, True, "Health & dental")
    before = state(app, pid)
    for bad in ({"tier": "elite"}, {"current_tier": "elite"}, {"commission_rate_bps": 5000},
                {"rate_bps": 5000}, {"status": "active"}, {"partner_id": pid + 1},
                {"timezone": "Europe/London", "tier": "elite"}):
        r = client.put("/api/partner/profile", headers=h, json=bad)
        assert r.status_code == 422 and "cannot be changed" in r.get_json()["error"]["message"]
    for bad in ({"timezone": "Nowhere/Land"}, {"notify_email": "yes"}, {"notify_portal": 1},
                {"phone": "<script>"}, {"industry": "x" * 81}, {"timezone": None}):
        assert client.put("/api/partner/profile", headers=h, json=bad).status_code == 422, bad
    assert state(app, pid) == before


def test_profile_is_open_to_applicants(app, client):
    with app.app_context():
        make_partner("Ann Applied", email="ann@example.com", status="applied")
    login(client, "ann@example.com")
    resp = client.get("/partner/profile")
    assert resp.status_code == 200 and "Applied" in resp.get_data(as_text=True)


def test_times_show_in_the_partners_time_zone(app, client):
    """After choosing a time zone, the partner reads notice times in it (stored UTC)."""
    from datetime import UTC, datetime

    from core.community.models import Notification

    with app.app_context():
        p = make_partner("Sarah Thompson", email="sarah@example.com")
        db.session.add(Notification(user_id=p.user_id, kind="commission", title="Paid",
                                    created_at=datetime(2026, 7, 1, 23, 30, tzinfo=UTC)))
        db.session.commit()
    login(client, "sarah@example.com")
    assert "01 Jul 23:30 UTC" in client.get("/partner/notifications").get_data(as_text=True)
    h = api_token(client, "sarah@example.com")
    client.put("/api/partner/profile", headers=h, json={"timezone": "Asia/Tokyo"})
    assert "02 Jul 08:30 JST" in client.get("/partner/notifications").get_data(as_text=True)
