"""Object-level access and protected fields (rules: "Staff roles", SECURITY.md), the parts no other
test covers.

Already proven elsewhere, not repeated here: another partner's lead over the API and page
(test_bad_input::test_partner_cannot_reach_another_partners_lead and the access matrix),
statement (test_bad_input::test_statement_of_another_partner_is_404), ticket
(test_support_training), material render (test_materials), DM page and attachment
(test_chat_rules::test_attachments_checked_reencoded_and_member_only); DM over the API and
Socket.IO, and every id route for every principal, in test_access_matrix. Protected
fields on the API lead and profile bodies (test_bad_input::
test_partner_cannot_set_protected_fields) and on the profile form (test_profile_page).

Here: commissions and payouts (no per-id partner route exists, so the check is that
another partner's never appear in a list, a summary or a page -- the API commission list
alone is also in test_bad_input::test_commission_list_shows_only_own), and that a payout request
cannot name another partner), the support ticket as a partner's own JSON, and the forms
and bodies that were not yet tried with fields a partner does not own.
"""

from conftest import PASSWORD, api_token, csrf_from, login, make_partner, make_staff_once, submit
from sqlalchemy import func, select

from core.accounts.models import User
from core.base.extensions import db
from core.base.models import AuditLog
from core.base.timeutil import now_utc
from core.content.models import PartnerBranding
from core.money.commissions import approve_commissions
from core.money.models import Commission, Payout
from core.money.payouts import create_payout
from core.money.statements import issue_statement
from core.program.models import Lead, Partner, TierOverride
from core.support.models import SupportTicket


def _b_with_money(app) -> dict:
    """Partner B with a $1,000 deal's commission approved, a payout requested and a
    statement issued; partner A with nothing. Returns ids."""
    with app.app_context():
        factory = make_staff_once()
        b = make_partner("Bea Owner", email="b@example.com", deals=2)
        cids = list(db.session.scalars(select(Commission.id).where(
            Commission.partner_id == b.id)))
        approve_commissions(cids, factory.id)
        payout = create_payout(b.id, factory.id)
        now = now_utc()
        st = issue_statement(b.id, now.year, now.month, factory.id)
        a = make_partner("Al Snoop", email="a@example.com", deals=1)
        db.session.commit()
        return {"a": a.id, "b": b.id, "commissions": cids, "payout": payout.id,
                "payout_cents": payout.amount_cents, "statement": st.id}


def _count(app, model, *where) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(model).where(*where))
        db.session.remove()
        return n


def test_other_partners_commissions_payouts_and_statements_never_show(app, client):
    """A partner's commission list, earnings summary and chart, statement list, earnings
    page and dashboard never carry another partner's commission, payout or statement."""
    ids = _b_with_money(app)
    a = api_token(client, "a@example.com")
    items = client.get("/api/partner/commissions?limit=100", headers=a).get_json()["items"]
    assert items and {c["partner_id"] for c in items} == {ids["a"]}
    assert not {c["id"] for c in items} & set(ids["commissions"])
    statements = client.get("/api/partner/statements", headers=a).get_json()["items"]
    assert ids["statement"] not in {s["id"] for s in statements}
    summary = client.get("/api/partner/earnings/summary", headers=a).get_json()
    assert summary.get("paid_cents", 0) == 0
    assert f"{ids['payout_cents']}" not in str(summary)

    browser = app.test_client()
    assert login(browser, "a@example.com").status_code == 302
    dollars = f"${ids['payout_cents'] / 100:,.2f}"
    for url in ("/partner/earnings", "/partner/dashboard"):
        html = browser.get(url).get_data(as_text=True)
        assert dollars not in html, url
        assert f"/partner/statements/{ids['statement']}/download" not in html, url


def test_payout_request_cannot_name_another_partner(app, client):
    """A partner with nothing approved who asks for a payout with B's ``partner_id`` in
    the JSON body or the form is refused for their own (empty) balance; B's balance is
    not touched and no payout is made for anyone."""
    ids = _b_with_money(app)
    with app.app_context():  # free B's balance again: B's payout failed -> approvable
        db.session.get(Payout, ids["payout"]).status = "failed"
        db.session.commit()
    before = _count(app, Payout)
    a = api_token(client, "a@example.com")
    resp = client.post("/api/partner/payout/request", headers=a,
                       json={"partner_id": ids["b"], "amount_cents": 100000})
    assert resp.status_code == 422, resp.get_json()
    browser = app.test_client()
    assert login(browser, "a@example.com").status_code == 302
    resp = submit(browser, "/partner/earnings", {"partner_id": str(ids["b"])},
                  post_url="/partner/payouts/request")
    assert resp.status_code == 303
    assert _count(app, Payout) == before
    assert _count(app, Payout, Payout.partner_id == ids["a"]) == 0


def test_lead_forms_ignore_owner_stage_and_value(app):
    """The add-lead form, the move form and the quick log-sale form take no owner, tier
    or deal fields from the partner: a lead posted with B's ``partner_id`` and
    ``status=won`` is A's and new; a move posted with ``partner_id`` leaves the owner; a
    log-sale naming B's lead is 404 and B's lead is unchanged."""
    with app.app_context():
        a = make_partner("Al Lead", email="a@example.com")
        b = make_partner("Bea Lead", email="b@example.com")
        from core.program.leads import create_lead

        b_lead = create_lead(b, {"company_name": "B's prospect"}, b.user_id).id
        db.session.commit()
        aid, bid = a.id, b.id
    client = app.test_client()
    assert login(client, "a@example.com").status_code == 302
    resp = submit(client, "/partner/leads", {
        "company_name": "Sneaky Co", "partner_id": str(bid), "status": "won",
        "deal_value": "5000", "won_value_cents": "500000", "source": "referral_link",
        "tier": "elite", "commission_rate_bps": "9000"})
    assert resp.status_code in (302, 303), resp.status_code
    with app.app_context():
        lead = db.session.scalar(select(Lead).where(Lead.company_name == "Sneaky Co"))
        assert (lead.partner_id, lead.status, lead.won_value_cents) == (aid, "new", None)
        assert lead.source != "referral_link"
        own = lead.id
    page = client.get(f"/partner/leads/{own}").get_data(as_text=True)
    resp = client.post(f"/partner/leads/{own}/move", data={
        "move-csrf_token": csrf_from(page), "csrf_token": csrf_from(page),
        "move-status": "contacted", "partner_id": str(bid), "move-partner_id": str(bid)})
    assert resp.status_code in (302, 303)
    with app.app_context():
        assert db.session.get(Lead, own).partner_id == aid

    token = csrf_from(client.get("/partner/leads").get_data(as_text=True))
    resp = client.post("/partner/leads/log-sale", data={
        "sale-csrf_token": token, "csrf_token": token, "sale-lead_id": str(b_lead),
        "sale-deal_value": "1000"})
    assert resp.status_code == 404
    with app.app_context():
        lead = db.session.get(Lead, b_lead)
        assert (lead.partner_id, lead.status, lead.won_value_cents) == (bid, "new", None)
        assert db.session.get(Partner, aid).won_deals_count == 0


def test_support_form_ignores_owner_status_and_assignee(app):
    """A ticket posted with B's ``partner_id``, ``status=resolved`` and an
    ``assignee_id`` is A's own, open and unassigned."""
    with app.app_context():
        a = make_partner("Al Ticket", email="a@example.com")
        b = make_partner("Bea Ticket", email="b@example.com")
        staff = make_staff_once()
        aid, bid, sid = a.id, b.id, staff.id
    client = app.test_client()
    assert login(client, "a@example.com").status_code == 302
    resp = submit(client, "/partner/support", {
        "subject": "Where is my money", "body": "Please help", "category": "other",
        "priority": "medium", "partner_id": str(bid), "status": "resolved",
        "assignee_id": str(sid)})
    assert resp.status_code == 302, resp.status_code
    with app.app_context():
        t = db.session.scalar(select(SupportTicket).where(
            SupportTicket.subject == "Where is my money"))
        assert (t.partner_id, t.status, t.assignee_id) == (aid, "open", None)
        assert not db.session.scalar(select(func.count()).select_from(SupportTicket).where(
            SupportTicket.partner_id == bid))


def test_registration_cannot_choose_status_tier_or_rate(app, client):
    """Applying through the form or the API with ``status=active``, a tier, a rate, a
    recruiter id or a team leader id gives an applied partner at the computed tier with
    no override, no recruiter and no leader: staff approve, staff set tiers."""
    with app.app_context():
        boss = make_partner("Boss Elite", email="boss@example.com")
        boss_id = boss.id
    sneaky = {"status": "active", "tier": "elite", "tier_id": "4", "current_tier": "elite",
              "commission_rate_bps": "9000", "custom_rate_bps": "9000",
              "recruiter_id": str(boss_id), "team_leader_id": str(boss_id),
              "won_deals_count": "30", "is_staff": "1", "roles": "admin"}
    resp = submit(client, "/partner/register", {
        "name": "Form Sneak", "email": "form.sneak@example.com", "password": PASSWORD,
        "accept_terms": "y", **sneaky})
    assert resp.status_code == 200, resp.status_code
    resp = client.post("/api/auth/partner/register", json={
        "name": "Api Sneak", "email": "api.sneak@example.com", "password": PASSWORD,
        "accept_terms": True, **sneaky, "recruiter_id": boss_id, "team_leader_id": boss_id,
        "won_deals_count": 30, "commission_rate_bps": 9000, "is_staff": True})
    assert resp.status_code == 202, resp.get_json()
    body = client.get("/api/partner/profile",
                      headers=api_token(client, "api.sneak@example.com")).get_json()
    assert (body["status"], body["current_tier"], body["recruiter_id"],
            body["team_leader_id"]) == ("applied", "starter", None, None)
    with app.app_context():
        for email in ("form.sneak@example.com", "api.sneak@example.com"):
            user = db.session.scalar(select(User).where(User.email == email))
            p = user.partner
            assert (p.status, p.recruiter_id, p.team_leader_id, p.won_deals_count) == (
                "applied", None, None, 0), email
            assert not user.is_staff and not user.role_set, email
            assert not db.session.scalar(select(func.count()).select_from(TierOverride)
                                         .where(TierOverride.partner_id == p.id)), email


def test_branding_and_landing_forms_stay_with_their_owner(app):
    """Branding saved with B's ``partner_id`` changes A's branding only; a lead left on
    B's referral page with A's ``partner_id`` belongs to B (the link's owner)."""
    with app.app_context():
        a = make_partner("Al Brand", email="a@example.com")
        b = make_partner("Bea Brand", email="b@example.com")
        aid, bid, b_code = a.id, b.id, b.referral_code
    client = app.test_client()
    assert login(client, "a@example.com").status_code == 302
    resp = submit(client, "/partner/branding", {
        "display_name": "Al's Agency", "contact_line": "call Al", "brand_color": "#112233",
        "partner_id": str(bid)})
    assert resp.status_code == 303, resp.status_code
    with app.app_context():
        rows = {r.partner_id: r.display_name for r in db.session.scalars(
            select(PartnerBranding))}
        assert rows.get(aid) == "Al's Agency" and bid not in rows

    visitor = app.test_client()
    page = visitor.get(f"/r/{b_code}")
    assert page.status_code == 200
    resp = visitor.post(f"/r/{b_code}", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "company_name": "Landing Co",
        "contact_name": "Lou", "contact_email": "lou@example.com", "partner_id": str(aid),
        "status": "won"})
    assert resp.status_code in (200, 302, 303), resp.status_code
    with app.app_context():
        lead = db.session.scalar(select(Lead).where(Lead.company_name == "Landing Co"))
        assert lead is not None and (lead.partner_id, lead.status) == (bid, "new")
        assert not db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action.like("tier%")))
