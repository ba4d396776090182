"""Team leaders invite people by e-mail and read their team's results by period, from
the app and the team page (rules: "Team invitations", "Team performance"). E-mails go
out through a real RQ worker into the development outbox; the limits refuse whole
requests with nothing stored."""

from datetime import timedelta

import pytest
from conftest import api_token, csrf_from, login, make_partner
from sqlalchemy import func, select, text
from test_email import Outbox, parts

from core.base.extensions import db
from core.base.timeutil import now_utc
from core.money.models import Commission, Deal
from core.program.models import TeamInvite


@pytest.fixture
def outbox(app):
    box = Outbox(app.config["STORAGE_DIR"] + "/outbox")
    box.clear()
    yield box
    box.clear()


@pytest.fixture
def leader(app, client):
    """Lena, a Performer (10 deals) with a verified address, and her API header."""
    with app.app_context():
        lena = make_partner("Lena Lead", email="lena@example.com", deals=10)
        code = lena.referral_code
    return code, api_token(client, "lena@example.com")


def invite(client, token, emails):
    return client.post("/api/partner/team/invite", headers=token, json={"emails": emails})


def invitations(outbox) -> list:
    """The invitation e-mails in the outbox (partners' own notices left out)."""
    return [m for m in outbox.messages() if "invites you to SISO Partners" in m["Subject"]]


def invites_stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(TeamInvite))


def test_invitations_carry_the_recruiting_link_once_a_month(app, client, leader, outbox,
                                                             run_worker):
    code, token = leader
    with app.app_context():
        make_partner("Already Here", email="member@example.com")
    resp = invite(client, token, ["Ana@Example.com", "ben@example.com", "ana@example.com",
                                  "member@example.com"])
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["items"] == [{"email": "ana@example.com", "status": "invited"},
                             {"email": "ben@example.com", "status": "invited"},
                             {"email": "member@example.com", "status": "invited"}]
    assert body["recruiting_url"] == f"http://127.0.0.1:5000/partner/register?ref={code}"
    run_worker()
    mails = invitations(outbox)
    # the address with an account gets nothing, and the leader is not told
    assert sorted(m["To"] for m in mails) == ["ana@example.com", "ben@example.com"]
    assert mails[0]["Subject"] == "Lena Lead invites you to SISO Partners"
    plain, html = parts(mails[0])
    assert f"/partner/register?ref={code}" in plain and f"ref={code}" in html
    assert "nobody will invite you again for at least 30 days" in plain

    # another leader inviting the same address this month: not sent again
    with app.app_context():
        make_partner("Otto Other", email="otto@example.com", deals=10)
    otto = api_token(client, "otto@example.com")
    again = invite(client, otto, ["ben@example.com", "cy@example.com"]).get_json()["items"]
    assert again == [{"email": "ben@example.com", "status": "invited_recently"},
                     {"email": "cy@example.com", "status": "invited"}]
    outbox.clear()
    run_worker()
    assert [m["To"] for m in invitations(outbox)] == ["cy@example.com"]


def test_twenty_a_day_and_the_whole_list_is_refused_past_it(app, client, leader):
    _code, token = leader
    assert invite(client, token, [f"p{i}@example.com" for i in range(18)]).status_code == 200
    resp = invite(client, token, ["x1@example.com", "x2@example.com", "x3@example.com"])
    assert resp.status_code == 429
    assert resp.get_json()["error"] == {
        "code": "invite_limit",
        "message": "You can invite 20 people a day and have 2 left today; nothing was sent."}
    assert invites_stored(app) == 18
    # already-invited addresses cost nothing
    resp = invite(client, token, ["p1@example.com", "x1@example.com", "x2@example.com"])
    assert resp.status_code == 200 and invites_stored(app) == 20
    # a day later the limit is new
    with app.app_context():
        db.session.execute(text("UPDATE team_invites SET created_at = :t"),
                           {"t": now_utc() - timedelta(hours=25)})
        db.session.commit()
    assert invite(client, token, ["next@example.com"]).status_code == 200


def test_bad_lists_and_partners_who_lead_no_team_are_refused(app, client, leader):
    _code, token = leader
    for emails, message in (
            (["good@example.com", "not-an-address"],
             "“not-an-address” is not an e-mail address; nothing was sent."),
            (["LENA@example.com"], "That is your own address; nothing was sent."),
            ([f"p{i}@example.com" for i in range(21)], "emails must hold at most 20 items."),
            ([], "emails must hold at least 1 item.")):
        resp = invite(client, token, emails)
        assert resp.status_code == 422, emails
        assert resp.get_json()["error"]["message"] == message
    assert invites_stored(app) == 0

    with app.app_context():
        make_partner("Nora New", email="nora@example.com", deals=2)
        make_partner("Una Unverified", email="una@example.com", deals=10, verified=False)
    resp = invite(client, api_token(client, "nora@example.com"), ["a@example.com"])
    assert resp.status_code == 403 and resp.get_json()["error"] == {
        "code": "team_locked",
        "message": "Team tools unlock at Performer: 8 more confirmed deals to go."}
    resp = invite(client, api_token(client, "una@example.com"), ["a@example.com"])
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "email_unverified"
    assert invites_stored(app) == 0


def test_the_team_page_sends_invitations(app, client, leader, outbox, run_worker):
    login(client, "lena@example.com")
    page = client.get("/partner/team").get_data(as_text=True)
    assert "Send invitations" in page
    resp = client.post("/partner/team/invite", data={
        "csrf_token": csrf_from(page), "emails": "ana@example.com\nben@example.com, "})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/partner/team#invite")
    page = client.get("/partner/team").get_data(as_text=True)
    assert "Invitation sent to ana@example.com, ben@example.com." in page
    run_worker()
    assert len(invitations(outbox)) == 2


def _age(app, partner_id: int, days: int) -> None:
    """Move a member's deals and commissions ``days`` into the past (raw SQL: history)."""
    then = now_utc() - timedelta(days=days)
    with app.app_context():
        deal_ids = list(db.session.scalars(select(Deal.id).where(Deal.partner_id == partner_id)))
        db.session.execute(text("UPDATE deals SET confirmed_at = :t WHERE partner_id = :p"),
                           {"t": then, "p": partner_id})
        for did in deal_ids:
            db.session.execute(text("UPDATE commissions SET created_at = :t WHERE deal_id = :d"),
                               {"t": then, "d": did})
        db.session.commit()


def test_performance_by_month_and_quarter(app, client, leader):
    _code, token = leader
    with app.app_context():
        lena_id = db.session.scalar(select(Deal.partner_id).limit(1))
        from core.program.models import Partner

        lena = db.session.get(Partner, lena_id)
        amy = make_partner("Amy Alpha", leader=lena, deals=2)
        bob = make_partner("Bob Beta", leader=lena, deals=1)
        make_partner("Zed Stranger", deals=3)
        amy_id, bob_id = amy.id, bob.id
        override_rate = db.session.scalar(select(Commission.rate_bps).where(
            Commission.type == "team_override").limit(1))
    now = now_utc()
    last_month_days = now.day + 3  # safely inside the previous calendar month
    _age(app, bob_id, last_month_days)

    body = client.get("/api/partner/team/performance", headers=token,
                      query_string={"period": "month", "count": 2}).get_json()
    assert body["period"] == "month"
    this, last = body["periods"]
    assert this["label"] == f"{now.year}-{now.month:02d}"
    assert [m["name"] for m in this["members"]] == ["Amy Alpha", "Bob Beta"]
    amy_now, bob_now = this["members"]
    assert (amy_now["deals"], amy_now["revenue_cents"]) == (2, 200000)
    assert amy_now["override_cents"] == 2 * 100000 * override_rate // 10000
    assert amy_now["commission_cents"] > 0
    assert (bob_now["deals"], bob_now["revenue_cents"], bob_now["override_cents"]) == (0, 0, 0)
    bob_then = {m["name"]: m for m in last["members"]}["Bob Beta"]
    assert (bob_then["deals"], bob_then["revenue_cents"]) == (1, 100000)
    assert this["totals"]["deals"] == 2 and last["totals"]["deals"] == 1

    quarter = client.get("/api/partner/team/performance", headers=token,
                         query_string={"period": "quarter", "count": 1}).get_json()
    q = quarter["periods"][0]
    assert q["label"] == f"{now.year}-Q{(now.month - 1) // 3 + 1}"
    in_quarter = 3 if (now - timedelta(days=last_month_days)).month in \
        range((now.month - 1) // 3 * 3 + 1, (now.month - 1) // 3 * 3 + 4) else 2
    assert q["totals"]["deals"] == in_quarter

    for query, message in (({"period": "week"}, "period must be one of: month, quarter, year."),
                           ({"count": 25}, "count must be at most 24.")):
        resp = client.get("/api/partner/team/performance", headers=token, query_string=query)
        assert resp.status_code == 422 and resp.get_json()["error"]["message"] == message
    amy_token = api_token(client, make_partner_email(app, amy_id))
    resp = client.get("/api/partner/team/performance", headers=amy_token)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "team_locked"


def make_partner_email(app, partner_id: int) -> str:
    from core.program.models import Partner

    with app.app_context():
        return db.session.get(Partner, partner_id).user.email
