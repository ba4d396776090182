"""Bad input, over the API and through the portal forms: every refusal is a 4xx with a
message a person can act on, and nothing in the database changes (rows are counted
before and after). Real database, real Redis, real RQ worker; no mocks."""

from conftest import PASSWORD, api_token, login, make_partner, make_staff, submit
from sqlalchemy import func, select

from core.accounts.models import ApiToken, User
from core.base.extensions import db
from core.base.models import AuditLog
from core.community.models import Message
from core.money.models import Commission, Deal, Payout, Statement
from core.program.models import Lead, LeadActivity, Partner

TABLES = (User, Partner, ApiToken, Lead, LeadActivity, Deal, Commission, Payout, Statement,
          Message, AuditLog)
HUGE = 10**20  # bigger than any database integer


def snapshot(app) -> dict:
    """Row counts of every table a request could touch."""
    with app.app_context():
        return {m.__tablename__: db.session.scalar(select(func.count()).select_from(m))
                for m in TABLES}


def email_of(name: str) -> str:
    return f"{name.lower().replace(' ', '.')}@example.com"


def active_partner(app, client, name: str, **kw) -> tuple[int, dict]:
    """An approved partner (made in core) and their API Authorization header."""
    with app.app_context():
        pid = make_partner(name, email=email_of(name), **kw).id
    return pid, api_token(client, email_of(name))


def staff_header(app, client, email: str, roles: tuple[str, ...]) -> dict:
    with app.app_context():
        make_staff(email, roles)
    return api_token(client, email, kind="staff")


def new_lead(client, headers, **fields) -> int:
    resp = client.post("/api/partner/leads", headers=headers,
                       json={"company_name": "TechCorp", **fields})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def refused(resp, status: int, code: str | None = None, contains: str | None = None) -> dict:
    """Assert a JSON error of the documented shape; return the error object."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.is_json, resp.get_data(as_text=True)[:300]
    error = resp.get_json()["error"]
    assert set(error) == {"code", "message"}
    assert isinstance(error["message"], str) and len(error["message"]) > 10
    if code:
        assert error["code"] == code, error
    if contains:
        assert contains in error["message"], error
    return error


def without_audit(counts: dict) -> dict:
    """A snapshot without the audit log (refused attempts on money add rows there)."""
    return {k: v for k, v in counts.items() if k != "audit_log"}


def refusals(app, action: str) -> list[dict]:
    """The ``after`` details of the audit rows of refused ``action`` attempts, oldest first."""
    import json

    with app.app_context():
        return [json.loads(a) for a in db.session.scalars(
            select(AuditLog.after).where(AuditLog.action == action).order_by(AuditLog.id))]


def lead_state(app, lead_id: int) -> dict:
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        return {c.name: getattr(lead, c.name) for c in Lead.__table__.columns}


# --- API: bodies and types -----------------------------------------------------------

def test_non_json_and_malformed_json_bodies_are_400(app, client):
    """Every API endpoint that takes a body answers 400 "send a JSON object" to a form
    post, to truncated JSON and to a JSON array, and changes nothing."""
    pid, headers = active_partner(app, client, "Jay Son")
    finance = staff_header(app, client, "finance@example.com", ("admin", "finance"))
    lid = new_lead(client, headers)
    client.post(f"/api/partner/leads/{lid}/move", headers=headers,
                json={"status": "won", "deal_value_cents": 150000})
    calls = [
        ("post", "/api/auth/partner/register", {}),
        ("post", "/api/auth/partner/login", {}),
        ("post", "/api/auth/staff/login", {}),
        ("put", "/api/partner/profile", headers),
        ("post", "/api/partner/leads", headers),
        ("put", f"/api/partner/leads/{lid}", headers),
        ("post", f"/api/partner/leads/{lid}/move", headers),
        ("post", f"/api/partner/leads/{lid}/activity", headers),
        ("post", "/api/chat/1/messages", headers),
        ("post", f"/api/staff/leads/{lid}/confirm", finance),
        ("post", "/api/staff/commissions/approve", finance),
        ("post", "/api/staff/payouts", finance),
        ("post", "/api/staff/statements", finance),
    ]
    before = snapshot(app)
    for method, url, hdrs in calls:
        send = getattr(client, method)
        for kwargs in ({"data": {"company_name": "X", "email": "a@b.co"}},
                       {"data": '{"company_name": "X", ', "content_type": "application/json"},
                       {"data": "not json at all", "content_type": "application/json"},
                       {"json": ["company_name", "X"]}):
            resp = send(url, headers=hdrs, **kwargs)
            err = refused(resp, 400, "bad_json")
            assert "JSON object" in err["message"], (url, kwargs)
    assert snapshot(app) == before
    assert lead_state(app, lid)["status"] == "won"


def test_lead_create_rejects_missing_and_wrong_fields(app, client):
    """Creating a lead without a company, with text where cents belong, with true/false,
    fractional, negative or absurd amounts, a bad e-mail or over-long text is refused
    with a message naming the field; no lead is created."""
    _pid, headers = active_partner(app, client, "Lee Dee")
    cases = [
        ({}, "company_name"),
        ({"company_name": "   "}, "company_name"),
        ({"company_name": 42}, "company_name"),
        ({"company_name": ["TechCorp"]}, "company_name"),
        ({"company_name": "x" * 201}, "company_name"),
        ({"company_name": "A", "contact_email": "not-an-email"}, "contact_email"),
        ({"company_name": "A", "contact_name": 7}, "contact_name"),
        ({"company_name": "A", "estimated_value_cents": "150000"}, "estimated_value_cents"),
        ({"company_name": "A", "estimated_value_cents": True}, "estimated_value_cents"),
        ({"company_name": "A", "estimated_value_cents": 1500.0}, "estimated_value_cents"),
        ({"company_name": "A", "estimated_value_cents": 1500.5}, "estimated_value_cents"),
        ({"company_name": "A", "estimated_value_cents": -1}, "estimated_value_cents"),
        ({"company_name": "A", "estimated_value_cents": 100_000_001}, "$1,000,000"),
        ({"company_name": "A", "estimated_value_cents": HUGE}, "$1,000,000"),
    ]
    before = snapshot(app)
    for body, named in cases:
        resp = client.post("/api/partner/leads", headers=headers, json=body)
        refused(resp, 422, "validation_error", named)
    assert snapshot(app) == before
    # The same request with good values goes through (the refusals were about the values).
    assert client.post("/api/partner/leads", headers=headers, json={
        "company_name": "A", "estimated_value_cents": 0}).status_code == 201


def test_move_to_won_rejects_bad_deal_values(app, client):
    """Marking a lead won needs a whole, positive number of cents up to $1,000,000; text,
    booleans, floats, zero, negatives, absurd values, a missing value, an unknown stage
    or a value on a non-won stage are refused and the lead stays as it was."""
    _pid, headers = active_partner(app, client, "Wendy Won")
    lid = new_lead(client, headers)
    url = f"/api/partner/leads/{lid}/move"
    cases = [
        ({"status": "won"}, "deal_value_cents is required"),
        ({"status": "won", "deal_value_cents": None}, "deal_value_cents is required"),
        ({"status": "won", "deal_value_cents": "150000"}, "whole number of cents"),
        ({"status": "won", "deal_value_cents": "1,500"}, "whole number of cents"),
        ({"status": "won", "deal_value_cents": True}, "whole number of cents"),
        ({"status": "won", "deal_value_cents": 1500.0}, "whole number of cents"),
        ({"status": "won", "deal_value_cents": 0}, "more than zero"),
        ({"status": "won", "deal_value_cents": -150000}, "more than zero"),
        ({"status": "won", "deal_value_cents": 100_000_001}, "$1,000,000"),
        ({"status": "won", "deal_value_cents": HUGE}, "$1,000,000"),
        ({"status": "closed"}, "status must be one of"),
        ({"status": None}, "status must be one of"),
        ({"status": ["won"]}, "status must be one of"),
        ({}, "status must be one of"),
        ({"status": "proposal", "deal_value_cents": 150000}, "only accepted with status 'won'"),
    ]
    before, state = snapshot(app), lead_state(app, lid)
    for body, message in cases:
        refused(client.post(url, headers=headers, json=body), 422, contains=message)
    assert snapshot(app) == before
    assert lead_state(app, lid) == state
    # The ceiling itself is allowed.
    resp = client.post(url, headers=headers, json={"status": "won",
                                                   "deal_value_cents": 100_000_000})
    assert resp.status_code == 200 and resp.get_json()["deal_value_cents"] == 100_000_000


def test_lead_activity_and_list_parameters_are_checked(app, client):
    """Logging an activity needs a known type and text notes, and the lead list's status,
    limit and cursor parameters must make sense; refusals are 422 and change nothing."""
    _pid, headers = active_partner(app, client, "Al Activity")
    lid = new_lead(client, headers)
    url = f"/api/partner/leads/{lid}/activity"
    before = snapshot(app)
    for body in ({"activity_type": "status_change", "notes": "x"},
                 {"activity_type": "fax", "notes": "x"}, {"notes": "x"},
                 {"activity_type": "call", "notes": 5},
                 {"activity_type": "call", "notes": "x" * 5001}):
        refused(client.post(url, headers=headers, json=body), 422, "validation_error")
    for query, named in (("status=bogus", "status"), ("limit=0", "limit"),
                         ("limit=101", "limit"), ("limit=abc", "limit"),
                         ("limit=1.5", "limit"), ("cursor=-1", "cursor"),
                         ("cursor=x", "cursor")):
        refused(client.get(f"/api/partner/leads?{query}", headers=headers), 422, contains=named)
    for query in ("status=bogus", "type=bogus", "limit=0", "limit=201", "cursor=abc"):
        refused(client.get(f"/api/partner/commissions?{query}", headers=headers), 422)
    assert snapshot(app) == before
    assert client.post(url, headers=headers, json={"activity_type": "call",
                                                   "notes": "Left a voicemail"}).status_code == 201


def test_chat_rejects_empty_oversized_and_locked_channels(app, client):
    """A chat message must be 1–2,000 characters of text; the Active+ lounge is invisible
    to a starter (404) and unknown channels are 404; nothing is stored."""
    _pid, headers = active_partner(app, client, "Cass Chat")
    channels = {c["slug"]: c["id"] for c in
                client.get("/api/chat/channels", headers=headers).get_json()["items"]}
    general = channels["general"]
    before = snapshot(app)
    for body in ({}, {"body": ""}, {"body": "   "}, {"body": 12}, {"body": None},
                 {"body": "x" * 2001}):
        refused(client.post(f"/api/chat/{general}/messages", headers=headers, json=body), 422)
    with app.app_context():
        from core.community.models import Channel

        lounge = db.session.scalar(select(Channel.id).where(Channel.slug == "active-lounge"))
    for cid in (lounge, 999999, HUGE):
        refused(client.post(f"/api/chat/{cid}/messages", headers=headers, json={"body": "hi"}),
                404, "not_found")
        refused(client.get(f"/api/chat/{cid}/messages", headers=headers), 404, "not_found")
    refused(client.get(f"/api/chat/{general}/messages?before=abc", headers=headers), 422)
    assert snapshot(app) == before


def test_text_with_nul_bytes_is_refused(app, client):
    """Text containing a NUL character (which PostgreSQL cannot store) is refused with a
    400 on the API and in the portal, never a server error."""
    _pid, headers = active_partner(app, client, "Nola Null")
    before = snapshot(app)
    refused(client.post("/api/partner/leads", headers=headers,
                        json={"company_name": "Ac\x00me"}), 400, "bad_input", "NUL")
    refused(client.put("/api/partner/profile", headers=headers,
                       json={"company_name": "Ac\x00me"}), 400, "bad_input")
    refused(client.post("/api/auth/partner/login",
                        json={"email": "x\x00@example.com", "password": PASSWORD}), 400)
    refused(client.post("/api/chat/1/messages", headers=headers, json={"body": "hi\x00"}), 400)
    refused(client.get("/api/partner/leads?status=new%00", headers=headers), 400)
    browser = app.test_client()
    assert login(browser, email_of("Nola Null")).status_code == 302
    resp = submit(browser, "/partner/leads", {"company_name": "Ac\x00me"})
    assert resp.status_code == 400 and "NUL" in resp.get_data(as_text=True)
    assert snapshot(app) == before


def test_deeply_nested_json_is_refused_before_it_is_walked(app, client):
    """``[`` × 500 (and objects nested as deep) on any JSON endpoint, logged in or not, is
    a 400 saying why, never a server error; a body over the JSON size limit is a 413
    before it is parsed; nesting within the limit reaches the endpoint's own checks."""
    _pid, headers = active_partner(app, client, "Nesta Deep")
    before = snapshot(app)
    for body in ("[" * 500, "[" * 100_000 + "]" * 100_000, '{"a":' * 400 + "1" + "}" * 400):
        for url, h in (("/api/auth/partner/login", {}), ("/api/partner/leads", headers),
                       ("/api/auth/partner/register", {})):
            refused(client.post(url, data=body, headers=h, content_type="application/json"),
                    400, "bad_json", "nested deeper")
    # Brackets inside strings do not count.
    quoted = '{"company_name": "' + "[" * 500 + '"}'
    assert client.post("/api/partner/leads", data=quoted, headers=headers,
                       content_type="application/json").status_code == 422
    within = "[" * 30 + "]" * 30
    refused(client.post("/api/partner/leads", data=within, headers=headers,
                        content_type="application/json"), 400, "bad_json")
    big = '{"company_name": "Acme", "notes": "' + "x" * (1024 * 1024) + '"}'
    refused(client.post("/api/partner/leads", data=big, headers=headers,
                        content_type="application/json"), 413, "payload_too_large")
    assert snapshot(app) == before


# --- API: ids and ownership ----------------------------------------------------------

def test_unknown_ids_and_endpoints_are_404_json(app, client):
    """Unknown ids, impossible ids (text, 10**20, true) and unknown endpoints answer a JSON
    404 {"error": {"code", "message"}}; a wrong method is a JSON 405."""
    _pid, headers = active_partner(app, client, "Una Known")
    admin = staff_header(app, client, "admin@example.com", ("admin", "finance"))
    before = snapshot(app)
    for lead_id in (999999, HUGE):
        for method, suffix, body in (("get", "", None), ("put", "", {"contact_name": "x"}),
                                     ("post", "/move", {"status": "contacted"}),
                                     ("post", "/activity", {"activity_type": "call",
                                                            "notes": "x"})):
            resp = getattr(client, method)(f"/api/partner/leads/{lead_id}{suffix}",
                                           headers=headers, json=body)
            refused(resp, 404, "not_found", "No such lead")
    for method, url, body, message in (
            ("post", "/api/staff/partners/999999/approve", None, "No such partner"),
            ("post", f"/api/staff/partners/{HUGE}/approve", None, "No such partner"),
            ("get", "/api/staff/partners/999999/balance", None, "No such partner"),
            ("post", "/api/staff/leads/999999/confirm", None, "No such lead"),
            ("post", f"/api/staff/leads/{HUGE}/confirm", None, "No such lead"),
            ("post", "/api/staff/deals/999999/cancel", {"reason": "x"}, "No such deal"),
            ("post", "/api/staff/payouts/999999/approve", None, "No such payout"),
            ("post", f"/api/staff/payouts/{HUGE}/approve", None, "No such payout"),
            ("get", "/api/staff/statements/999999", None, "No such statement"),
            ("post", "/api/staff/payouts", {"partner_id": 999999}, "No such partner"),
            ("post", "/api/staff/payouts", {"partner_id": HUGE}, "No such partner"),
            ("post", "/api/staff/payouts", {"partner_id": "1"}, "No such partner"),
            ("post", "/api/staff/payouts", {"partner_id": True}, "No such partner"),
            ("post", "/api/staff/payouts", {}, "No such partner"),
            ("post", "/api/staff/statements", {"partner_id": 999999, "period": "2026-01"},
             "No such partner"),
            ("post", "/api/staff/commissions/approve", {"ids": [999999]}, "do not exist"),
            ("post", "/api/staff/commissions/approve", {"ids": [HUGE]}, "do not exist")):
        resp = getattr(client, method)(url, headers=admin, json=body)
        refused(resp, 404, "not_found", message)
    for url in ("/api/partner/nope", "/api/partner/leads/abc", "/api/nothing/here"):
        refused(client.get(url, headers=headers), 404, "not_found")
    refused(client.delete("/api/partner/leads", headers=headers), 405, "method_not_allowed")
    refused(client.get("/api/auth/partner/login"), 405, "method_not_allowed")
    assert snapshot(app) == before


def test_partner_cannot_reach_another_partners_lead(app, client):
    """A partner asking for, editing, moving or logging activity on another partner's
    lead gets 404 (as if it did not exist) and the lead is untouched."""
    _a, alice = active_partner(app, client, "Alice Owner")
    _b, bob = active_partner(app, client, "Bob Other")
    lid = new_lead(client, alice, contact_name="Jane")
    state, before = lead_state(app, lid), snapshot(app)

    refused(client.get(f"/api/partner/leads/{lid}", headers=bob), 404, "not_found")
    refused(client.put(f"/api/partner/leads/{lid}", headers=bob,
                       json={"contact_name": "Mallory"}), 404, "not_found")
    refused(client.post(f"/api/partner/leads/{lid}/move", headers=bob,
                        json={"status": "won", "deal_value_cents": 150000}), 404, "not_found")
    refused(client.post(f"/api/partner/leads/{lid}/activity", headers=bob,
                        json={"activity_type": "note", "notes": "mine now"}), 404, "not_found")
    assert client.get("/api/partner/leads", headers=bob).get_json()["items"] == []
    # The same answer as for a lead that does not exist: nothing tells Bob it is there.
    assert client.get(f"/api/partner/leads/{lid}", headers=bob).get_json() == \
        client.get("/api/partner/leads/999999", headers=bob).get_json()
    assert snapshot(app) == before and lead_state(app, lid) == state

    browser = app.test_client()
    assert login(browser, email_of("Bob Other")).status_code == 302
    assert browser.get(f"/partner/leads/{lid}").status_code == 404


def test_commission_list_shows_only_own(app, client):
    """A partner's commission list and earnings summary show only their own commissions,
    never another partner's."""
    a, alice = active_partner(app, client, "Alice Earner", deals=1)
    _b, bob = active_partner(app, client, "Bob Nothing")
    mine = client.get("/api/partner/commissions", headers=alice).get_json()["items"]
    assert [(c["partner_id"], c["amount_cents"]) for c in mine] == [(a, 20000)]
    assert client.get("/api/partner/commissions", headers=bob).get_json() == {
        "items": [], "next_cursor": None}
    # A cursor above Alice's commission id does not leak it either.
    assert client.get(f"/api/partner/commissions?cursor={mine[0]['id'] + 1}",
                      headers=bob).get_json()["items"] == []
    summary = client.get("/api/partner/earnings/summary", headers=bob).get_json()
    assert summary["pending_cents"] == 0 and summary["this_month"]["earned_cents"] == 0


def test_statement_of_another_partner_is_404(app, client, run_worker):
    """A partner can download their own statement PDF but gets 404 for another partner's,
    on the page and in the API; a partner token cannot use the staff statement API."""
    from core.base.timeutil import now_utc
    from core.money.statements import issue_statement

    now = now_utc()
    with app.app_context():
        alice = make_partner("Alice Statement", email=email_of("Alice Statement"), deals=1)
        make_partner("Bob Snoop", email=email_of("Bob Snoop"))
        actor = make_staff("finance@example.com", ("finance",))
        st = issue_statement(alice.id, now.year, now.month, actor.id)
        db.session.commit()
        sid = st.id
    run_worker()
    with app.app_context():
        st = db.session.get(Statement, sid)
        assert st.status == "ready", st.error

    owner = app.test_client()
    assert login(owner, email_of("Alice Statement")).status_code == 302
    pdf = owner.get(f"/partner/statements/{sid}/download")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"

    snoop = app.test_client()
    assert login(snoop, email_of("Bob Snoop")).status_code == 302
    for url in (f"/partner/statements/{sid}/download", "/partner/statements/999999/download",
                f"/partner/statements/{HUGE}/download"):
        resp = snoop.get(url)
        assert resp.status_code == 404, url
        assert resp.mimetype == "text/html" and "No such statement" in resp.get_data(
            as_text=True)
    bob = api_token(client, email_of("Bob Snoop"))
    assert client.get("/api/partner/statements", headers=bob).get_json()["items"] == []
    refused(client.get(f"/api/staff/statements/{sid}", headers=bob), 403, "forbidden")
    alice_api = api_token(client, email_of("Alice Statement"))
    items = client.get("/api/partner/statements", headers=alice_api).get_json()["items"]
    assert [s["id"] for s in items] == [sid]


# --- API: accounts -------------------------------------------------------------------

def test_register_refusals(app, client):
    """Registration refuses a short password, a missing or non-true accept_terms, an
    unknown referral code and missing or mistyped fields, each with a readable message;
    no account is created. A taken e-mail (any case) gets the same 202 as a new one and
    changes nothing (its owner is e-mailed instead)."""
    with app.app_context():
        make_partner("Pat Taken", email="taken@example.com")
    good = {"email": "new@example.com", "password": PASSWORD, "name": "New Person",
            "accept_terms": True}
    before = snapshot(app)

    def attempt(**changes):
        body = {k: v for k, v in {**good, **changes}.items() if v is not ...}
        return client.post("/api/auth/partner/register", json=body)

    for email in ("taken@example.com", "  TAKEN@Example.COM "):
        resp = attempt(email=email)
        assert resp.status_code == 202 and resp.get_json()["status"] == "check_email"
        assert "taken@example.com" in resp.get_json()["message"]
    refused(attempt(password="short"), 422, "validation_error", "at least 10 characters")
    refused(attempt(password="x" * 9), 422, "validation_error", "10")
    refused(attempt(password="x" * 201), 422, "validation_error", "200")
    refused(attempt(password=1234567890123), 422, "validation_error")
    refused(attempt(password=...), 422, "validation_error")
    for terms in (False, ..., None, "true", "yes", 1):
        refused(attempt(accept_terms=terms), 422, "validation_error", "accept")
    refused(attempt(referral_code="NOSUCH99"), 422, "validation_error", "referral code")
    refused(attempt(referral_code=12345), 422, "validation_error")
    for email in (..., "", "not-an-email", "a@b", 42, ["new@example.com"],
                  "x" * 250 + "@example.com"):
        refused(attempt(email=email), 422, "validation_error", "e-mail")
    for name in (..., "", "   ", 7, "x" * 121):
        refused(attempt(name=name), 422, "validation_error")
    refused(attempt(company_name="x" * 201), 422, "validation_error", "200")
    assert snapshot(app) == before
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.email == "new@example.com")) is None


def test_login_and_token_refusals(app, client):
    """Wrong passwords, unknown e-mails, partner credentials on the staff login (and the
    reverse), missing or forged tokens all get 401 without issuing a token."""
    _pid, _headers = active_partner(app, client, "Lou Login")
    with app.app_context():
        make_staff("support@example.com", ("support",))
    before = snapshot(app)
    for kind, email, password in (("partner", email_of("Lou Login"), "wrong-password!"),
                                  ("partner", "nobody@example.com", PASSWORD),
                                  ("staff", email_of("Lou Login"), PASSWORD),
                                  ("partner", "support@example.com", PASSWORD),
                                  ("partner", None, PASSWORD),
                                  ("partner", email_of("Lou Login"), 123)):
        resp = client.post(f"/api/auth/{kind}/login", json={"email": email,
                                                            "password": password})
        refused(resp, 401, "invalid_credentials")
    for header in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer forged"},
                   {"Authorization": "Basic dXNlcjpwYXNz"},
                   {"Authorization": "Bearer " + "x" * 500}):
        refused(client.get("/api/partner/profile", headers=header), 401, "unauthorized")
        refused(client.post("/api/staff/payouts", headers=header, json={}), 401)
    assert snapshot(app) == before


def test_partner_cannot_set_protected_fields(app, client):
    """A partner cannot move a lead to someone else, change its stage or value by edit,
    or change their own status, tier, referral code or recruiter: such PUTs are 422
    and nothing changes. On create, owner and stage given by the client are ignored."""
    a, alice = active_partner(app, client, "Alice Guard")
    b, _bob = active_partner(app, client, "Bob Target")
    lid = new_lead(client, alice)
    lead_before, before = lead_state(app, lid), snapshot(app)
    for body in ({"partner_id": b}, {"status": "won"}, {"tier": "elite"},
                 {"deal_value_cents": 150000}, {"deal_id": 1}, {"id": 5},
                 {"source": "referral_link"}, {"won_value_cents": 150000},
                 {"contact_name": "Ok", "partner_id": b}):
        err = refused(client.put(f"/api/partner/leads/{lid}", headers=alice, json=body),
                      422, "validation_error", "Not editable")
        assert next(iter(body.keys() - {"contact_name"})) in err["message"]
    for body in ({"contact_name": 5}, {"estimated_value_cents": "100"},
                 {"estimated_value_cents": -5}, {"company_name": ""},
                 {"contact_email": "nope"}):
        refused(client.put(f"/api/partner/leads/{lid}", headers=alice, json=body), 422)
    assert lead_state(app, lid) == lead_before

    with app.app_context():
        p = db.session.get(Partner, a)
        profile_before = (p.status, p.tier_id, p.referral_code, p.recruiter_id,
                          p.won_deals_count, p.user.email, p.user.name, p.company_name)
    for body in ({"status": "active"}, {"tier": "elite"}, {"current_tier": "elite"},
                 {"partner_id": b}, {"referral_code": "ABCDEFGH"}, {"recruiter_id": b},
                 {"won_deals_count": 30}, {"commission_rate_bps": 5000},
                 {"email": "new@example.com"}, {"name": "Ok", "tier": "elite"}):
        refused(client.put("/api/partner/profile", headers=alice, json=body),
                422, "validation_error", "cannot be changed")
    for body in ({"name": ""}, {"name": 5}, {"phone": "1" * 41}, {"industry": ["x"]},
                 {"company_name": None}):
        refused(client.put("/api/partner/profile", headers=alice, json=body), 422)
    with app.app_context():
        p = db.session.get(Partner, a)
        assert (p.status, p.tier_id, p.referral_code, p.recruiter_id, p.won_deals_count,
                p.user.email, p.user.name, p.company_name) == profile_before
    assert snapshot(app) == before

    resp = client.post("/api/partner/leads", headers=alice, json={
        "company_name": "Sneaky", "partner_id": b, "status": "won", "deal_id": 1,
        "won_value_cents": 150000})
    assert resp.status_code == 201
    made = resp.get_json()
    assert (made["partner_id"], made["status"], made["deal_value_cents"], made["deal_id"]) == (
        a, "new", None, None)


def test_staff_endpoints_refuse_partner_tokens_and_partner_endpoints_refuse_staff(app, client):
    """A partner's token on any staff endpoint gets 403, and a staff token on partner
    endpoints gets 403; roles are checked too (support cannot confirm deals, content
    cannot approve partners). Nothing changes."""
    pid, partner = active_partner(app, client, "Pam Partner", deals=1)
    support = staff_header(app, client, "support@example.com", ("support",))
    content = staff_header(app, client, "content@example.com", ("content",))
    with app.app_context():
        deal_id = db.session.scalar(select(Deal.id))
        cid = db.session.scalar(select(Commission.id))
    lid = new_lead(client, partner)
    client.post(f"/api/partner/leads/{lid}/move", headers=partner,
                json={"status": "won", "deal_value_cents": 150000})
    before = snapshot(app)
    staff_calls = [
        ("post", f"/api/staff/partners/{pid}/approve", None),
        ("post", f"/api/staff/leads/{lid}/confirm", None),
        ("post", f"/api/staff/deals/{deal_id}/cancel", {"reason": "test"}),
        ("post", "/api/staff/commissions/approve", {"ids": [cid]}),
        ("post", "/api/staff/payouts", {"partner_id": pid}),
        ("post", "/api/staff/payouts/1/approve", None),
        ("get", f"/api/staff/partners/{pid}/balance", None),
        ("post", "/api/staff/statements", {"partner_id": pid, "period": "2026-01"}),
        ("get", "/api/staff/statements/1", None),
    ]
    for method, url, body in staff_calls:
        resp = getattr(client, method)(url, headers=partner, json=body)
        refused(resp, 403, "forbidden", "for staff")
    for method, url, body in (("get", "/api/partner/profile", None),
                              ("get", "/api/partner/leads", None),
                              ("post", "/api/partner/leads", {"company_name": "X"}),
                              ("get", "/api/partner/commissions", None),
                              ("post", "/api/partner/payout/request", None)):
        resp = getattr(client, method)(url, headers=support, json=body)
        refused(resp, 403, "forbidden", "for partners")
    refused(client.post(f"/api/staff/leads/{lid}/confirm", headers=support), 403,
            "forbidden", "role")
    refused(client.post(f"/api/staff/deals/{deal_id}/cancel", headers=support,
                        json={"reason": "x"}), 403, "forbidden")
    refused(client.post("/api/staff/commissions/approve", headers=support,
                        json={"ids": [cid]}), 403, "forbidden")
    refused(client.post(f"/api/staff/partners/{pid}/approve", headers=content), 403,
            "forbidden")
    assert snapshot(app) == before
    with app.app_context():
        assert db.session.scalar(select(Deal.status).where(Deal.id == deal_id)) == "won"
        assert db.session.get(Commission, cid).status == "pending"


def test_approving_a_partner_twice_is_409(app, client):
    """Approving an application works once; approving the now-active partner again is a
    409 conflict and writes nothing."""
    resp = client.post("/api/auth/partner/register", json={
        "email": "apply@example.com", "password": PASSWORD, "name": "Ann Apply",
        "accept_terms": True})
    assert resp.status_code == 202
    with app.app_context():
        pid = db.session.scalar(select(User).where(User.email == "apply@example.com")).partner.id
    admin = staff_header(app, client, "admin@example.com", ("admin",))
    assert client.post(f"/api/staff/partners/{pid}/approve", headers=admin).status_code == 200
    before = snapshot(app)
    refused(client.post(f"/api/staff/partners/{pid}/approve", headers=admin), 409,
            "conflict", "active")
    assert snapshot(app) == before


# --- API: money ----------------------------------------------------------------------

def test_staff_confirm_refuses_bad_values_unwon_leads_and_twice(app, client):
    """Finance cannot confirm a lead that is not marked won (409), cannot confirm with a
    text, boolean, fractional, zero, negative or absurd value (422), and confirming the
    same lead twice is a 409; only the one good confirmation creates a deal. Each 409 (an
    invalid transition on money) leaves a refusal audit row; nothing else changes."""
    pid, headers = active_partner(app, client, "Connie Confirm")
    finance = staff_header(app, client, "finance@example.com", ("finance",))
    lid = new_lead(client, headers)
    url = f"/api/staff/leads/{lid}/confirm"

    before = snapshot(app)
    refused(client.post(url, headers=finance), 409, "conflict", "marked won")
    client.post(f"/api/partner/leads/{lid}/move", headers=headers, json={"status": "proposal"})
    refused(client.post(url, headers=finance), 409, "conflict", "'proposal'")
    client.post(f"/api/partner/leads/{lid}/move", headers=headers,
                json={"status": "won", "deal_value_cents": 150000})
    after_move = snapshot(app)
    assert {k: v for k, v in without_audit(after_move).items() if k != "lead_activities"} \
        == {k: v for k, v in without_audit(before).items() if k != "lead_activities"}
    assert [r["refused"] for r in refusals(app, "deal.confirm.refused")] == ["state", "state"]
    for value, message in (("150000", "whole number"), (True, "whole number"),
                           (1500.0, "whole number"), (0, "more than zero"),
                           (-1, "more than zero"), (100_000_001, "$1,000,000"),
                           (HUGE, "$1,000,000")):
        refused(client.post(url, headers=finance, json={"deal_value_cents": value}), 422,
                "validation_error", message)
    assert snapshot(app) == after_move

    resp = client.post(url, headers=finance, json={})
    assert resp.status_code == 201
    once = snapshot(app)
    refused(client.post(url, headers=finance), 409, "conflict", "already confirmed")
    refused(client.post(url, headers=finance, json={"deal_value_cents": 150000}), 409)
    after = snapshot(app)
    assert without_audit(after) == without_audit(once)
    assert after["audit_log"] == once["audit_log"] + 2
    assert [r["refused"] for r in refusals(app, "deal.confirm.refused")][2:] == [
        "already confirmed", "already confirmed"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Deal)) == 1
        assert [c.amount_cents for c in db.session.scalars(select(Commission))] == [30000]
        assert db.session.get(Partner, pid).won_deals_count == 1


def _payout_ready(app, name: str) -> tuple[int, int]:
    """A partner with one approved $200.00 commission in a requested payout."""
    from core.money.commissions import approve_commissions
    from core.money.payouts import create_payout

    with app.app_context():
        p = make_partner(name, email=email_of(name), deals=1)
        approve_commissions(list(db.session.scalars(select(Commission.id))), None)
        payout = create_payout(p.id, p.user_id)
        db.session.commit()
        assert payout.amount_cents == 20000
        return p.id, payout.id


def test_support_cannot_approve_a_payout(app, client):
    """Only finance approves payouts: a support user's attempt is a 403, the payout stays
    requested, no job is queued, and the refusal is in the audit log."""
    from core.base.jobs import get_queue

    _pid, payout_id = _payout_ready(app, "Paige Payee")
    support = staff_header(app, client, "support@example.com", ("support",))
    before = snapshot(app)
    refused(client.post(f"/api/staff/payouts/{payout_id}/approve", headers=support), 403,
            "forbidden", "finance")
    after = snapshot(app)
    assert after["audit_log"] == before["audit_log"] + 1
    assert {k: v for k, v in after.items() if k != "audit_log"} == {
        k: v for k, v in before.items() if k != "audit_log"}
    with app.app_context():
        from core.accounts.models import User as U

        sid = db.session.scalar(select(U.id).where(U.email == "support@example.com"))
        row = db.session.scalar(select(AuditLog).where(
            AuditLog.action == "payout.approve.refused"))
        assert (row.actor_id, row.object_type, row.object_id) == (sid, "payout", payout_id)
        payout = db.session.get(Payout, payout_id)
        assert payout.status == "requested" and payout.approved_by_id is None
        assert get_queue("payouts").count == 0


def test_approving_the_same_payout_twice_is_409(app, client):
    """Finance approves a payout once; the second approval is a 409 and neither the
    payout nor the transfer queue changes (one job, never two); the audit trail gains
    only the refused attempt."""
    from core.base.jobs import get_queue

    _pid, payout_id = _payout_ready(app, "Dora Double")
    finance = staff_header(app, client, "finance@example.com", ("finance",))
    resp = client.post(f"/api/staff/payouts/{payout_id}/approve", headers=finance)
    assert resp.status_code == 200 and resp.get_json()["status"] == "approved"
    before = snapshot(app)
    with app.app_context():
        assert get_queue("payouts").count == 1
    refused(client.post(f"/api/staff/payouts/{payout_id}/approve", headers=finance), 409,
            "conflict", "approved")
    after = snapshot(app)
    assert without_audit(after) == without_audit(before)
    assert after["audit_log"] == before["audit_log"] + 1
    assert refusals(app, "payout.approve.refused") == [{"refused": "state",
                                                        "status": "approved"}]
    with app.app_context():
        assert get_queue("payouts").count == 1
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "payout.approve")) == 1
        assert db.session.get(Payout, payout_id).status == "approved"


def test_payout_below_minimum_is_refused(app, client):
    """A partner with only $20.00 approved cannot request a payout: 422 naming the $50.00
    minimum and their balance; finance cannot force it either. No payout is made."""
    from core.money.commissions import approve_commissions, confirm_deal
    from core.program.leads import create_lead, move_lead

    pid, headers = active_partner(app, client, "Mini Mum")
    finance = staff_header(app, client, "finance@example.com", ("finance",))
    with app.app_context():
        p = db.session.get(Partner, pid)
        staff_id = db.session.scalar(select(User.id).where(User.email == "finance@example.com"))
        lead = create_lead(p, {"company_name": "Small job"}, p.user_id)
        move_lead(lead, "won", p.user_id, 10000)
        _deal, made = confirm_deal(lead.id, staff_id)
        approve_commissions([c.id for c in made], staff_id)
        db.session.commit()
    summary = client.get("/api/partner/earnings/summary", headers=headers).get_json()
    assert summary["approved_cents"] == 2000 and summary["payout_minimum_cents"] == 5000

    before = snapshot(app)
    err = refused(client.post("/api/partner/payout/request", headers=headers), 422,
                  "below_minimum", "$50.00")
    assert "$20.00" in err["message"]
    refused(client.post("/api/staff/payouts", headers=finance, json={"partner_id": pid}),
            422, "below_minimum", "$50.00")
    assert snapshot(app) == before


def test_staff_money_endpoints_check_their_input(app, client):
    """Finance's commission approval, deal cancellation and statement endpoints refuse
    malformed ids, a missing reason and impossible periods, and re-approving or
    re-cancelling is a 409; nothing changes on a refusal, except that a 409 (a stale
    transition on money) is in the audit log."""
    pid, _headers = active_partner(app, client, "Fin Input", deals=1)
    finance = staff_header(app, client, "finance@example.com", ("finance",))
    with app.app_context():
        cid = db.session.scalar(select(Commission.id))
        deal_id = db.session.scalar(select(Deal.id))
    before = snapshot(app)
    for body in ({}, {"ids": cid}, {"ids": []}, {"ids": [True]}, {"ids": [str(cid)]},
                 {"ids": [1.0]}, {"ids": list(range(1, 1002))}):
        refused(client.post("/api/staff/commissions/approve", headers=finance, json=body),
                422, "validation_error", "ids")
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": 5}, {"reason": "x" * 501}):
        refused(client.post(f"/api/staff/deals/{deal_id}/cancel", headers=finance,
                            json=body), 422, "validation_error", "reason")
    for period in ("2026-13", "2026-00", "abc", "", None, 202601, "1999-12", "2999-01"):
        refused(client.post("/api/staff/statements", headers=finance,
                            json={"partner_id": pid, "period": period}), 422,
                "validation_error")
    assert snapshot(app) == before
    with app.app_context():
        from core.base.jobs import get_queue

        assert get_queue("pdf").count == 0

    assert client.post("/api/staff/commissions/approve", headers=finance,
                       json={"ids": [cid]}).status_code == 200
    once = snapshot(app)
    refused(client.post("/api/staff/commissions/approve", headers=finance,
                        json={"ids": [cid]}), 409, "conflict")
    after = snapshot(app)
    assert without_audit(after) == without_audit(once)
    assert after["audit_log"] == once["audit_log"] + 1
    assert refusals(app, "commission.approve.refused") == [{"refused": "state",
                                                            "ids": [cid]}]
    assert client.post(f"/api/staff/deals/{deal_id}/cancel", headers=finance,
                       json={"reason": "client withdrew"}).status_code == 200
    once = snapshot(app)
    refused(client.post(f"/api/staff/deals/{deal_id}/cancel", headers=finance,
                        json={"reason": "again"}), 409, "conflict")
    after = snapshot(app)
    assert without_audit(after) == without_audit(once)
    assert after["audit_log"] == once["audit_log"] + 1
    assert refusals(app, "deal.cancel.refused") == [{"refused": "state",
                                                     "status": "cancelled"}]


# --- portal forms --------------------------------------------------------------------

def test_portal_register_with_missing_fields_rerenders_with_errors(app):
    """The application form re-renders (422) with each problem shown next to its field
    when fields are missing, the password is short or the agreement is not accepted;
    a taken e-mail gets the same answer as a new one and changes nothing; no account is
    created."""
    with app.app_context():
        make_partner("Tess Taken", email="tess@example.com")
    browser = app.test_client()
    before = snapshot(app)

    resp = submit(browser, "/partner/register", {"name": "", "email": "", "password": ""})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert page.count("This field is required.") >= 3
    assert "You must accept the agreement." in page
    assert 'aria-invalid="true"' in page

    resp = submit(browser, "/partner/register", {
        "name": "Shorty", "email": "shorty@example.com", "password": "short",
        "accept_terms": "y"})
    assert resp.status_code == 422
    assert "Field must be between 10 and 200 characters long." in resp.get_data(as_text=True)

    resp = submit(browser, "/partner/register", {
        "name": "Bad Mail", "email": "not-an-email", "password": PASSWORD, "accept_terms": "y"})
    assert resp.status_code == 422 and "Invalid email address." in resp.get_data(as_text=True)

    resp = submit(browser, "/partner/register", {
        "name": "Tess Again", "email": "tess@example.com", "password": PASSWORD,
        "accept_terms": "y"})
    assert resp.status_code == 200
    assert "We sent a message to tess@example.com" in resp.get_data(as_text=True)

    resp = submit(browser, "/partner/register", {
        "name": "Rex Ref", "email": "rex@example.com", "password": PASSWORD,
        "accept_terms": "y", "referral_code": "NOSUCH99"})
    assert resp.status_code == 422
    assert "referral code is not known" in resp.get_data(as_text=True)
    assert snapshot(app) == before


def test_portal_posts_without_csrf_token_are_refused(app):
    """A form posted without (or with a forged) CSRF token is refused with 400 and
    nothing changes: not a registration, not a lead, not a stage move, not a payout."""
    with app.app_context():
        make_partner("Cora Csrf", email=email_of("Cora Csrf"))
    browser = app.test_client()
    assert login(browser, email_of("Cora Csrf")).status_code == 302
    resp = submit(browser, "/partner/leads", {"company_name": "Real Lead"})
    assert resp.status_code == 302
    with app.app_context():
        lid = db.session.scalar(select(Lead.id))
    state, before = lead_state(app, lid), snapshot(app)

    for url, data in (("/partner/leads", {"company_name": "Forged Lead"}),
                      (f"/partner/leads/{lid}/move", {"move-status": "won",
                                                      "move-deal_value": "1500"}),
                      (f"/partner/leads/{lid}/activity", {"act-activity_type": "note",
                                                          "act-notes": "forged"}),
                      ("/partner/payouts/request", {}),
                      ("/partner/chat/general", {"body": "forged"})):
        for token in ({}, {"csrf_token": "forged"}, {"move-csrf_token": "forged"}):
            resp = browser.post(url, data={**data, **token})
            assert resp.status_code == 400, (url, token, resp.status_code)
            assert "CSRF" in resp.get_data(as_text=True)

    stranger = app.test_client()
    resp = stranger.post("/partner/register", data={
        "name": "No Token", "email": "notoken@example.com", "password": PASSWORD,
        "accept_terms": "y"})
    assert resp.status_code == 400
    assert snapshot(app) == before and lead_state(app, lid) == state


def test_portal_lead_form_rejects_bad_amounts(app):
    """The lead form shows an error next to the value for "abc", negatives or too many
    decimals, and requires a company; a bad deal value when moving to won is explained
    and the lead is not moved."""
    with app.app_context():
        make_partner("Val Value", email=email_of("Val Value"))
    browser = app.test_client()
    assert login(browser, email_of("Val Value")).status_code == 302
    before = snapshot(app)
    for value in ("abc", "-5", "12.345", "1e6", "$"):
        resp = submit(browser, "/partner/leads", {"company_name": "TechCorp",
                                                  "estimated_value": value})
        assert resp.status_code == 422, value
        page = resp.get_data(as_text=True)
        assert "Enter an amount in dollars, for example 1500 or 1500.00." in page, value
    resp = submit(browser, "/partner/leads", {"company_name": "",
                                              "estimated_value": "100"})
    assert resp.status_code == 422 and "This field is required." in resp.get_data(as_text=True)
    resp = submit(browser, "/partner/leads", {"company_name": "Big",
                                              "estimated_value": "1,000,000.01"})
    assert resp.status_code == 422 and "$1,000,000" in resp.get_data(as_text=True)
    assert snapshot(app) == before

    assert submit(browser, "/partner/leads", {"company_name": "TechCorp"}).status_code == 302
    with app.app_context():
        lid = db.session.scalar(select(Lead.id))
    state, before = lead_state(app, lid), snapshot(app)
    for value, message in (("abc", "Enter an amount in dollars"), ("", "Enter an amount"),
                           ("0", "more than zero"), ("2000000", "$1,000,000")):
        resp = submit(browser, f"/partner/leads/{lid}", {"move-status": "won",
                                                         "move-deal_value": value},
                      post_url=f"/partner/leads/{lid}/move", prefix="move-")
        assert resp.status_code == 303, value
        page = browser.get(resp.headers["Location"]).get_data(as_text=True)
        assert message in page, (value, message)
    resp = submit(browser, f"/partner/leads/{lid}", {"move-status": "closed"},
                  post_url=f"/partner/leads/{lid}/move", prefix="move-")
    assert resp.status_code == 303
    assert "Choose a stage." in browser.get(resp.headers["Location"]).get_data(as_text=True)
    assert snapshot(app) == before and lead_state(app, lid) == state
