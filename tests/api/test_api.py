"""The JSON API under /api as a client (a mobile app, an integration) uses it: register,
log in with a bearer token, wait for approval, work leads through the pipeline, see the
commission staff confirmed, chat, and lose access when suspended. Real database, real
Redis, no mocks."""

from datetime import UTC, datetime

from conftest import PASSWORD, api_token, make_partner, make_staff

from core.base.extensions import db
from core.base.models import AuditLog
from core.money.models import Commission, Deal
from core.program.models import Lead, Partner

COMMISSION_FIELDS = {"id", "partner_id", "deal_id", "type", "amount_cents", "rate_bps",
                     "status", "created_at"}


def active_partner(app, client, name: str, **kw) -> tuple[int, dict]:
    """An approved partner (made in core) and their API Authorization header."""
    email = f"{name.lower().replace(' ', '.')}@example.com"
    with app.app_context():
        pid = make_partner(name, email=email, **kw).id
    return pid, api_token(client, email)


def staff_header(app, client, email: str, roles: tuple[str, ...]) -> dict:
    with app.app_context():
        make_staff(email, roles)
    return api_token(client, email, kind="staff")


def register(client, **body):
    data = {"email": "sarah@example.com", "password": PASSWORD, "name": "Sarah Thompson",
            "accept_terms": True}
    data.update(body)
    return client.post("/api/auth/partner/register", json=data)


def test_register_login_profile_and_tier_status_before_approval(app, client):
    """A new applicant registers, logs in, reads their profile and tier progress, and is
    told clearly that leads open only after approval."""
    resp = register(client, email="Sarah@Example.com", company_name="Thompson Digital")
    assert resp.status_code == 202, resp.get_json()
    assert resp.get_json()["status"] == "check_email"
    assert "sarah@example.com" in resp.get_json()["message"]
    token = api_token(client, "sarah@example.com")
    body = client.get("/api/partner/profile", headers=token).get_json()
    assert body["status"] == "applied"
    assert body["email"] == "sarah@example.com"
    assert body["company_name"] == "Thompson Digital"
    assert body["recruiter_id"] is None
    assert body["current_tier"] == "starter" and body["commission_rate_bps"] == 2000
    assert len(body["referral_code"]) == 8

    resp = client.post("/api/auth/partner/login",
                       json={"email": "sarah@example.com", "password": PASSWORD})
    assert resp.status_code == 200
    login = resp.get_json()
    assert login["token"] and isinstance(login["token"], str)
    expires = datetime.fromisoformat(login["expires_at"])
    assert expires.tzinfo is not None and expires > datetime.now(UTC)
    headers = {"Authorization": f"Bearer {login['token']}"}

    profile = client.get("/api/partner/profile", headers=headers)
    assert profile.status_code == 200
    assert profile.get_json()["id"] == body["id"]
    assert profile.get_json()["status"] == "applied"

    tier = client.get("/api/partner/tier-status", headers=headers)
    assert tier.status_code == 200
    tier = tier.get_json()
    assert tier["current_tier"]["key"] == "starter"
    assert tier["next_tier"]["key"] == "active"
    assert tier["deals_done"] == 0 and tier["deals_needed"] == 3
    assert tier["base_rate_bps"] == 2000
    reqs = {r["name"]: r for r in tier["requirements"]}
    assert reqs["Confirmed won deals"] == {"name": "Confirmed won deals", "done": 0,
                                           "target": 3, "met": False}
    training = reqs["Required training modules"]
    assert training["done"] == 0 and training["target"] >= 1 and training["met"] is False

    for method, url in (("get", "/api/partner/leads"), ("post", "/api/partner/leads"),
                        ("get", "/api/chat/channels"), ("post", "/api/partner/payout/request")):
        resp = getattr(client, method)(url, headers=headers, json={"company_name": "TechCorp"})
        assert resp.status_code == 403, url
        error = resp.get_json()["error"]
        assert error["code"] == "not_approved"
        assert "under review" in error["message"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Lead)) == 0

    # What is theirs to read stays readable.
    assert client.get("/api/partner/commissions", headers=headers).get_json() == {
        "items": [], "next_cursor": None}


def test_register_with_referral_code_sets_recruiter(app, client):
    """Someone who signs up with a partner's referral code is recorded as recruited by
    that partner (the code is forgiving about case and spaces)."""
    with app.app_context():
        recruiter = make_partner("Rita Recruiter", email="rita@example.com")
        rid, code = recruiter.id, recruiter.referral_code

    resp = register(client, referral_code=f"  {code.lower()} ")
    assert resp.status_code == 202, resp.get_json()
    profile = client.get("/api/partner/profile",
                         headers=api_token(client, "sarah@example.com")).get_json()
    assert profile["recruiter_id"] == rid
    with app.app_context():
        new = db.session.get(Partner, profile["id"])
        assert new.recruiter_id == rid and new.status == "applied"
        assert db.session.scalar(db.select(AuditLog).where(
            AuditLog.action == "partner.register", AuditLog.object_id == new.id)) is not None


def test_staff_api_approves_an_application(app, client):
    """Support staff are refused (403) when approving an application over the API and
    nothing changes; an admin approves it; the partner's token then opens the lead
    endpoints without logging in again."""
    assert register(client).status_code == 202
    partner = api_token(client, "sarah@example.com")
    pid = client.get("/api/partner/profile", headers=partner).get_json()["id"]
    assert client.get("/api/partner/leads", headers=partner).status_code == 403

    support = staff_header(app, client, "support@example.com", ("support",))
    resp = client.post(f"/api/staff/partners/{pid}/approve", headers=support)
    assert resp.status_code == 403 and "admin" in resp.get_json()["error"]["message"]
    with app.app_context():
        assert db.session.get(Partner, pid).status == "applied"
    assert client.get("/api/partner/leads", headers=partner).status_code == 403

    staff = staff_header(app, client, "admin@example.com", ("admin",))
    resp = client.post(f"/api/staff/partners/{pid}/approve", headers=staff)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "active"

    assert client.get("/api/partner/leads", headers=partner).status_code == 200
    with app.app_context():
        p = db.session.get(Partner, pid)
        assert p.status == "active" and p.approved_at is not None
        assert db.session.scalar(db.select(AuditLog).where(
            AuditLog.action == "partner.approve", AuditLog.object_id == pid)) is not None


def test_lead_pipeline_to_confirmed_commission(app, client):
    """A partner logs a lead, edits it, moves it to won with the deal value; finance
    confirms it and the $1,500 deal pays a starter $300.00 (20%), visible in the
    commission list and earnings summary with the same figures."""
    pid, headers = active_partner(app, client, "Pat Pipeline")
    finance = staff_header(app, client, "finance@example.com", ("finance",))

    resp = client.post("/api/partner/leads", headers=headers, json={
        "company_name": "TechCorp", "contact_name": "John Smith",
        "contact_email": "john@techcorp.example", "estimated_value_cents": 250000})
    assert resp.status_code == 201, resp.get_json()
    lead = resp.get_json()
    assert (lead["partner_id"], lead["status"], lead["source"]) == (pid, "new", "api")
    assert lead["estimated_value_cents"] == 250000 and lead["deal_id"] is None
    lid = lead["id"]

    got = client.get(f"/api/partner/leads/{lid}", headers=headers)
    assert got.status_code == 200 and got.get_json()["company_name"] == "TechCorp"

    resp = client.put(f"/api/partner/leads/{lid}", headers=headers, json={
        "contact_phone": "+1 555 0100", "next_action": "Send proposal",
        "estimated_value_cents": 180000})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["contact_phone"] == "+1 555 0100"
    assert resp.get_json()["estimated_value_cents"] == 180000
    assert client.get(f"/api/partner/leads/{lid}", headers=headers).get_json()[
        "next_action"] == "Send proposal"

    for stage in ("contacted", "qualified", "proposal"):
        resp = client.post(f"/api/partner/leads/{lid}/move", headers=headers,
                           json={"status": stage})
        assert resp.status_code == 200 and resp.get_json()["status"] == stage
    resp = client.post(f"/api/partner/leads/{lid}/move", headers=headers,
                       json={"status": "won", "deal_value_cents": 150000})
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["status"], resp.get_json()["deal_value_cents"]) == ("won", 150000)

    resp = client.post(f"/api/staff/leads/{lid}/confirm", headers=finance)
    assert resp.status_code == 201, resp.get_json()
    out = resp.get_json()
    deal = out["deal"]
    assert (deal["lead_id"], deal["partner_id"], deal["value_cents"], deal["status"]) == (
        lid, pid, 150000, "won")
    assert len(out["commissions"]) == 1
    base = out["commissions"][0]
    assert (base["type"], base["amount_cents"], base["rate_bps"], base["status"]) == (
        "base", 30000, 2000, "pending")
    assert (base["partner_id"], base["deal_id"]) == (pid, deal["id"])
    assert client.get(f"/api/partner/leads/{lid}", headers=headers).get_json()[
        "deal_id"] == deal["id"]

    listed = client.get("/api/partner/commissions", headers=headers)
    assert listed.status_code == 200
    items = listed.get_json()["items"]
    assert len(items) == 1 and listed.get_json()["next_cursor"] is None
    item = items[0]
    assert COMMISSION_FIELDS <= set(item), set(item)
    assert set(item) - COMMISSION_FIELDS <= {"payout_id", "note", "updated_at"}, set(item)
    assert item == base
    assert type(item["amount_cents"]) is int and type(item["rate_bps"]) is int
    assert datetime.fromisoformat(item["created_at"]).tzinfo is not None
    assert client.get("/api/partner/commissions?status=pending&type=base",
                      headers=headers).get_json()["items"] == [item]
    assert client.get("/api/partner/commissions?status=paid",
                      headers=headers).get_json()["items"] == []

    summary = client.get("/api/partner/earnings/summary", headers=headers)
    assert summary.status_code == 200
    summary = summary.get_json()
    assert summary["pending_cents"] == 30000
    assert summary["approved_cents"] == 0 and summary["paid_total_cents"] == 0
    assert summary["by_type"] == {"base": 30000}
    assert summary["this_month"]["earned_cents"] == 30000
    assert summary["this_month"]["closing_cents"] == summary["balance_cents"] == 30000
    assert summary["payout_minimum_cents"] == 5000

    with app.app_context():
        row = db.session.scalar(db.select(Commission))
        assert (row.partner_id, row.amount_cents, row.rate_bps) == (pid, 30000, 2000)
        assert db.session.get(Partner, pid).won_deals_count == 1
        assert db.session.scalar(db.select(db.func.count()).select_from(Deal)) == 1


def test_lead_list_pages_with_cursor_and_filters_by_stage(app, client):
    """A partner with five leads pages through them two at a time, newest first, with
    next_cursor, sees each lead exactly once, and can filter by stage."""
    _pid, headers = active_partner(app, client, "Paula Pager")
    ids = []
    for i in range(5):
        resp = client.post("/api/partner/leads", headers=headers,
                           json={"company_name": f"Company {i}"})
        assert resp.status_code == 201
        ids.append(resp.get_json()["id"])

    seen, pages, cursor = [], [], None
    while True:
        url = "/api/partner/leads?limit=2" + (f"&cursor={cursor}" if cursor else "")
        resp = client.get(url, headers=headers)
        assert resp.status_code == 200
        page = resp.get_json()
        pages.append([x["id"] for x in page["items"]])
        seen += pages[-1]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 10
    assert pages == [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]]
    assert seen == sorted(ids, reverse=True)

    client.post(f"/api/partner/leads/{ids[1]}/move", headers=headers, json={"status": "lost"})
    lost = client.get("/api/partner/leads?status=lost", headers=headers).get_json()
    assert [x["id"] for x in lost["items"]] == [ids[1]] and lost["next_cursor"] is None
    default = client.get("/api/partner/leads", headers=headers).get_json()
    assert len(default["items"]) == 5 and default["next_cursor"] is None


def test_confirmed_lead_is_locked(app, client):
    """Once staff confirm a won deal, the partner can no longer move the lead (409) and
    the deal stays as confirmed."""
    _pid, headers = active_partner(app, client, "Lou Locked")
    finance = staff_header(app, client, "finance@example.com", ("finance",))
    lid = client.post("/api/partner/leads", headers=headers,
                      json={"company_name": "Acme"}).get_json()["id"]
    client.post(f"/api/partner/leads/{lid}/move", headers=headers,
                json={"status": "won", "deal_value_cents": 120000})
    # Finance may confirm at a corrected value.
    resp = client.post(f"/api/staff/leads/{lid}/confirm", headers=finance,
                       json={"deal_value_cents": 100000})
    assert resp.status_code == 201
    assert resp.get_json()["deal"]["value_cents"] == 100000
    assert resp.get_json()["commissions"][0]["amount_cents"] == 20000

    resp = client.post(f"/api/partner/leads/{lid}/move", headers=headers,
                       json={"status": "lost"})
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "locked"
    with app.app_context():
        assert db.session.get(Lead, lid).status == "won"


def test_profile_update(app, client):
    """A partner (even before approval) can correct their name, company, industry and
    phone, and reads the change back."""
    register(client)
    headers = api_token(client, "sarah@example.com")
    resp = client.put("/api/partner/profile", headers=headers, json={
        "name": "Sarah T. Thompson", "company_name": "Thompson Digital LLC",
        "industry": "Agencies", "phone": "+1 555 0199"})
    assert resp.status_code == 200, resp.get_json()
    profile = client.get("/api/partner/profile", headers=headers).get_json()
    assert (profile["name"], profile["company_name"], profile["industry"], profile["phone"]) == (
        "Sarah T. Thompson", "Thompson Digital LLC", "Agencies", "+1 555 0199")


def test_chat_channels_and_message_round_trip(app, client):
    """An active starter partner sees the open channels (not the Active+ lounge), posts a
    message in general-chat and reads it back; the read-only announcements channel
    refuses partner posts."""
    _pid, headers = active_partner(app, client, "Chad Chatter")
    resp = client.get("/api/chat/channels", headers=headers)
    assert resp.status_code == 200
    channels = {c["slug"]: c for c in resp.get_json()["items"]}
    assert {"general", "daily-wins", "announcements"} <= set(channels)
    assert "active-lounge" not in channels and "elite-council" not in channels
    assert channels["announcements"]["read_only"] is True

    general = channels["general"]["id"]
    resp = client.post(f"/api/chat/{general}/messages", headers=headers,
                       json={"body": "  Closed my first website deal!  "})
    assert resp.status_code == 201, resp.get_json()
    sent = resp.get_json()
    assert sent["body"] == "Closed my first website deal!"
    assert sent["author"] == "Chad Chatter" and sent["channel_id"] == general

    history = client.get(f"/api/chat/{general}/messages", headers=headers)
    assert history.status_code == 200
    assert [m["id"] for m in history.get_json()["items"]] == [sent["id"]]
    assert history.get_json()["items"][0]["body"] == "Closed my first website deal!"

    resp = client.post(f"/api/chat/{channels['announcements']['id']}/messages",
                       headers=headers, json={"body": "hello"})
    assert resp.status_code == 403
    assert "staff" in resp.get_json()["error"]["message"]


def test_token_stops_working_after_suspension(app, client):
    """When staff suspend a partner, the partner's existing API token is refused (401) and
    they cannot log in for a new one."""
    from core.program.partners import suspend_partner

    pid, headers = active_partner(app, client, "Sam Suspended")
    assert client.get("/api/partner/profile", headers=headers).status_code == 200
    with app.app_context():
        suspend_partner(pid, None, "test: chargebacks")
        db.session.commit()

    for url in ("/api/partner/profile", "/api/partner/leads", "/api/partner/commissions"):
        resp = client.get(url, headers=headers)
        assert resp.status_code == 401, url
        assert resp.get_json()["error"]["code"] == "unauthorized"
    resp = client.post("/api/auth/partner/login",
                       json={"email": "sam.suspended@example.com", "password": PASSWORD})
    assert resp.status_code == 401
