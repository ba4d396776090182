"""/partner/team as partners see it: a chat entry point for everyone; for Performer+
leaders their members, each member's deals and the override earned from them."""

import re

from conftest import api_token, login, make_partner, make_staff_once

from core.base.extensions import db
from core.money.models import Deal


def text_of(html: str) -> str:
    """The page's visible text with tags removed and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_starter_sees_general_chat_and_what_unlocks_team_tools(app, client):
    with app.app_context():
        make_partner("Nora New", email="nora@example.com", deals=2)
    login(client, "nora@example.com")
    html = client.get("/partner/team").get_data(as_text=True)
    page = text_of(html)
    assert 'href="/partner/chat/general"' in html and "Open #general-chat" in page
    assert "Team tools unlock at Performer" in page and "8 more deals to go" in page
    assert "Your team" not in page and "/partner/register?ref=" not in html


def test_leader_sees_members_deals_and_override_from_the_ledger(app, client):
    """A Performer leader sees only their own members, each member's confirmed deals and
    the 10% override earned from them ($1,000 deals → $100 each); a cancelled deal's
    override drops out; the invite link and the team channel are there."""
    with app.app_context():
        leader = make_partner("Lena Lead", email="lena@example.com", deals=10)
        make_partner("Amy Alpha", leader=leader, deals=2)
        bob = make_partner("Bob Beta", leader=leader, deals=1)
        other = make_partner("Otto Other", deals=10)
        make_partner("Zed Stranger", leader=other, deals=3)
        code = leader.referral_code
        from core.money.commissions import cancel_deal

        bob_deal = db.session.scalar(db.select(Deal.id).where(Deal.partner_id == bob.id))
        cancel_deal(bob_deal, make_staff_once().id, "client walked away")
        db.session.commit()
    login(client, "lena@example.com")
    html = client.get("/partner/team").get_data(as_text=True)
    page = text_of(html)
    assert "Your team 2" in page
    assert re.search(r"Amy Alpha .*? 2 \$200\.00", page)
    assert re.search(r"Bob Beta .*? 0 \$0\.00", page)
    assert "Total override $200.00" in page
    assert "Zed Stranger" not in page and "Otto Other" not in page
    assert f"/partner/register?ref={code}" in html
    assert re.search(r'href="/partner/chat/team-\d+"', html) and "Open #team-lena-lead" in page
    assert "unlock at" not in page


def test_member_opens_their_leaders_channel(app, client):
    with app.app_context():
        leader = make_partner("Lena Lead", deals=10)
        make_partner("Amy Alpha", email="amy@example.com", leader=leader)
        leader_id = leader.id
    login(client, "amy@example.com")
    client.get("/partner/team")  # a member's visit creates no channel for them
    html = client.get("/partner/team").get_data(as_text=True)
    assert "Open #general-chat" in html  # the leader has not opened their channel yet
    with app.app_context():
        from core.community import chat
        from core.program.models import Partner

        chat.ensure_team_channel(db.session.get(Partner, leader_id))
        db.session.commit()
    html = client.get("/partner/team").get_data(as_text=True)
    assert f'href="/partner/chat/team-{leader_id}"' in html
    assert "Your team leader: Lena Lead" in text_of(html)
    assert "Team tools unlock at Performer" in text_of(html)


def test_team_api_matches_the_page(app, client):
    with app.app_context():
        leader = make_partner("Lena Lead", email="lena@example.com", deals=10)
        amy = make_partner("Amy Alpha", leader=leader, deals=1)
        amy_id = amy.id
    body = client.get("/api/partner/team", headers=api_token(client, "lena@example.com")).get_json()
    assert body["leads_team"] is True and body["unlock"] is None
    assert body["members"] == [{"partner_id": amy_id, "name": "Amy Alpha", "tier": "Starter",
                                "status": "active", "deals": 1, "override_cents": 10000}]
    assert body["chat"]["kind"] == "team"


def test_applied_partner_is_told_the_team_opens_on_approval(app, client):
    """An applicant opening the team page reads that it opens when the application is
    approved (403 with the status card), not a silent trip to the dashboard."""
    with app.app_context():
        make_partner("Apple Applied", email="applied@example.com", status="applied")
    login(client, "applied@example.com")
    resp = client.get("/partner/team")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 403
    assert "Team opens when your application is approved." in page
    assert 'id="status-card"' in page
