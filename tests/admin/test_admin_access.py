"""Who may open what in the back office, over HTTP as a browser does: every /admin URL is
closed to anonymous visitors and partners, the menu shows each role only its screens,
money actions need finance and a CSRF token, and hostile names are shown as text."""

import re

import pytest
from conftest import csrf_from, login, make_partner, make_staff, make_staff_once
from sqlalchemy import func, select
from test_story import admin_action

from core.accounts.models import User
from core.base.extensions import db
from core.base.jobs import QUEUE_PAYOUTS, get_queue
from core.base.models import AuditLog
from core.money.commissions import approve_commissions, confirm_deal
from core.money.models import Commission, Payout
from core.money.payouts import create_payout
from core.program.leads import create_lead, move_lead
from core.program.models import Lead, Partner

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def admin_urls(app) -> list[tuple[str, str]]:
    """(method, url) for every /admin rule (static files excepted), ``<int:...>`` args
    filled with 1 and other args with ``csv``."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint == "admin.static":
            continue
        url = re.sub(r"<int:[^>]+>", "1", rule.rule)
        url = re.sub(r"<[^>]+>", "csv", url)
        for method in ("GET", "POST"):
            if method in rule.methods:
                out.append((method, url))
    assert len(out) > 60, out  # every model view's list/details/edit/action/export...
    return sorted(set(out))


def hit(client, method: str, url: str, token: str):
    """GET the URL, or POST to it with a valid CSRF token of the client's session (so the
    answer is the access check, not the CSRF check)."""
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": token, "action": "approve", "rowid": "1",
                                  "id": "1", "reference": "X", "reason": "x",
                                  "deal_value": "1", "partner_id": "1", "period": "2026-01"})


def nav_links(html: str) -> set[str]:
    """The /admin hrefs in the back office's top menu."""
    nav = re.search(r"<nav .*?</nav>", html, re.S)
    assert nav, "page has no menu"
    return set(re.findall(r'href="(/admin/[^"]*)"', nav.group(0)))


def nav_text(html: str) -> str:
    return re.sub(r"<[^>]+>|\s+", " ", re.search(r"<nav .*?</nav>", html, re.S).group(0))


@pytest.fixture
def world(app):
    """A partner with a confirmed $1,000 deal whose commission is approved and in a
    requested payout (ids 1 exist for lead, deal, commission and payout), plus staff."""
    with app.app_context():
        p = make_partner("Paula Partner", email="partner@example.com", deals=1)
        approve_commissions(list(db.session.scalars(select(Commission.id))),
                            make_staff_once().id)
        payout = create_payout(p.id, make_staff_once().id)
        db.session.commit()
        make_staff("finance@example.com", ("finance",))
        make_staff("support@example.com", ("support",))
        return {"partner_id": p.id, "payout_id": payout.id}


def payout_status(app, payout_id: int) -> str:
    with app.app_context():
        status = db.session.get(Payout, payout_id).status
        db.session.remove()
        return status


# --- who may open what ------------------------------------------------------------------

def test_anonymous_visitors_are_sent_to_login_everywhere(app, client, world):
    """Someone not logged in who opens any back-office URL lands on the login page."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    wrong = []
    for method, url in admin_urls(app):
        resp = hit(client, method, url, token)
        if resp.status_code != 302 or "/login" not in resp.headers.get("Location", ""):
            wrong.append((method, url, resp.status_code, resp.headers.get("Location")))
    assert not wrong, wrong
    assert payout_status(app, world["payout_id"]) == "requested"


def test_partners_get_403_on_every_admin_url(app, client, world):
    """A logged-in partner who types any back-office URL is refused with 403."""
    assert login(client, "partner@example.com").status_code == 302
    token = csrf_from(client.get("/partner/leads").get_data(as_text=True))
    wrong = []
    for method, url in admin_urls(app):
        resp = hit(client, method, url, token)
        if resp.status_code != 403:
            wrong.append((method, url, resp.status_code))
    assert not wrong, wrong
    assert payout_status(app, world["payout_id"]) == "requested"


@pytest.mark.parametrize("role", ["admin", "finance", "support", "content"])
def test_every_staff_role_opens_the_dashboard(app, client, role):
    """Any staff member, whatever their role, can open the back-office home page."""
    with app.app_context():
        make_staff(f"{role}@example.com", (role,))
    assert login(client, f"{role}@example.com").status_code == 302
    resp = client.get("/admin/")
    assert resp.status_code == 200
    assert "Program overview" in resp.get_data(as_text=True)


def test_support_menu_and_money_screens(app, client, world):
    """A support person's menu offers Partners and Leads but no money screens; opening
    the payout queue anyway is refused, and so is posting its approve action."""
    assert login(client, "support@example.com").status_code == 302
    html = client.get("/admin/").get_data(as_text=True)
    links = nav_links(html)
    assert {"/admin/partners/", "/admin/leads/"} <= links
    assert not links & {"/admin/payouts/", "/admin/commissions/", "/admin/statements/",
                        "/admin/audit/"}, links
    text = nav_text(html)
    for label in ("Payouts", "Commissions", "Statements", "Audit", "Money"):
        assert label not in text, label

    for url in ("/admin/payouts/", "/admin/commissions/", "/admin/statements/",
                "/admin/audit/", "/admin/payouts/new"):
        assert client.get(url).status_code == 403, url
    assert client.get("/admin/partners/").status_code == 200
    assert client.get("/admin/leads/").status_code == 200

    token = csrf_from(client.get("/admin/reauth/").get_data(as_text=True))
    resp = client.post("/admin/payouts/action/", data={
        "action": "approve", "rowid": [str(world["payout_id"])], "csrf_token": token})
    assert resp.status_code == 403
    assert payout_status(app, world["payout_id"]) == "requested"
    with app.app_context():
        assert get_queue(QUEUE_PAYOUTS).count == 0


def test_finance_menu_shows_money_screens(app, client, world):
    """Finance sees the money screens (payouts, commissions, statements) in the menu."""
    assert login(client, "finance@example.com").status_code == 302
    links = nav_links(client.get("/admin/").get_data(as_text=True))
    assert {"/admin/payouts/", "/admin/commissions/", "/admin/statements/"} <= links


# --- actions ----------------------------------------------------------------------------

def test_finance_approves_a_payout_from_the_list(app, client, world):
    """Finance ticks a requested payout in the list and runs "Approve payout": it becomes
    approved, its transfer job is queued, and the approval is audited."""
    assert login(client, "finance@example.com").status_code == 302
    pid = world["payout_id"]
    resp = admin_action(client, "payouts", "approve", [pid])
    assert resp.status_code == 302
    assert payout_status(app, pid) == "approved"
    with app.app_context():
        assert get_queue(QUEUE_PAYOUTS).job_ids == [f"payout-{pid}"]
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "payout.approve", AuditLog.object_id == pid)) == 1
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Approved 1 payout(s)" in page

    resp = admin_action(client, "payouts", "approve", [pid])  # a second click
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "only requested payouts can be approved" in page
    with app.app_context():
        assert get_queue(QUEUE_PAYOUTS).count == 1


def test_admin_action_without_csrf_token_is_refused(app, client, world):
    """A forged form post (no CSRF token, or a wrong one) to approve a payout or approve
    a partner is refused and changes nothing."""
    assert login(client, "finance@example.com").status_code == 302
    pid = world["payout_id"]
    resp = client.post("/admin/payouts/action/", data={"action": "approve",
                                                       "rowid": [str(pid)]})
    assert resp.status_code == 400
    resp = client.post("/admin/payouts/action/", data={"action": "approve", "rowid": [str(pid)],
                                                       "csrf_token": "forged"})
    assert resp.status_code == 400
    assert payout_status(app, pid) == "requested"
    with app.app_context():
        assert get_queue(QUEUE_PAYOUTS).count == 0
        applicant = make_partner("Appl Icant", status="applied")
        aid = applicant.id
    resp = client.post("/admin/partners/action/", data={"action": "approve", "rowid": [str(aid)]})
    assert resp.status_code == 400
    resp = client.post("/admin/payouts/new", data={"partner_id": str(world["partner_id"])})
    assert resp.status_code == 400
    with app.app_context():
        assert db.session.get(Partner, aid).status == "applied"
        assert db.session.scalar(select(func.count()).select_from(Payout)) == 1
        assert not db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action.in_(("payout.approve", "partner.approve"))))


# --- escaping ---------------------------------------------------------------------------

def test_hostile_names_are_shown_as_text(app):
    """A partner named <script>alert(1)</script> with a lead of that company name sees
    the text itself in the portal, and staff see it as text in every back-office list,
    detail and form page, never as a script."""
    with app.app_context():
        make_staff("boss@example.com", ("admin",))
        p = make_partner(XSS, email="xss@example.com")
        confirmed = create_lead(p, {"company_name": f"{XSS} Ltd",
                                    "contact_name": XSS}, p.user_id)
        move_lead(confirmed, "won", p.user_id, 500000)
        confirm_deal(confirmed.id, make_staff_once().id)
        approve_commissions(list(db.session.scalars(select(Commission.id))),
                            make_staff_once().id)
        payout = create_payout(p.id, make_staff_once().id)
        waiting = create_lead(p, {"company_name": f"{XSS} Waiting"}, p.user_id)
        move_lead(waiting, "won", p.user_id, 100000)
        db.session.commit()
        ids = {"partner": p.id, "confirmed": confirmed.id, "waiting": waiting.id,
               "deal": confirmed.deal.id, "payout": payout.id,
               "commission": db.session.scalar(select(Commission.id))}

    def check(client, url):
        resp = client.get(url)
        assert resp.status_code == 200, (url, resp.status_code)
        html = resp.get_data(as_text=True)
        assert XSS not in html, url
        assert XSS_ESCAPED in html, url
        return html

    staff = app.test_client()
    assert login(staff, "boss@example.com").status_code == 302
    for url in ("/admin/partners/", f"/admin/partners/details/?id={ids['partner']}",
                "/admin/partners/?search=script", "/admin/leads/",
                f"/admin/leads/details/?id={ids['confirmed']}", "/admin/deals/",
                "/admin/commissions/", "/admin/payouts/",
                f"/admin/leads/confirm/{ids['waiting']}", f"/admin/deals/cancel/{ids['deal']}",
                f"/admin/payouts/record/{ids['payout']}",
                f"/admin/commissions/reason/reverse?ids={ids['commission']}",
                f"/admin/partners/profile/{ids['partner']}"):
        check(staff, url)

    # The success message after confirming names the partner: still text.
    page = staff.get(f"/admin/leads/confirm/{ids['waiting']}").get_data(as_text=True)
    resp = staff.post(f"/admin/leads/confirm/{ids['waiting']}",
                      data={"deal_value": "1000.00", "csrf_token": csrf_from(page)},
                      follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert f"base $200.00 to {XSS_ESCAPED}" in html
    assert XSS not in html

    partner = app.test_client()
    assert login(partner, "xss@example.com").status_code == 302
    for url in ("/partner/dashboard", "/partner/leads", f"/partner/leads/{ids['confirmed']}",
                "/partner/earnings", "/partner/notifications", "/partner/team",
                "/partner/profile"):
        check(partner, url)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Lead).where(
            Lead.company_name.like("<script>%"))) == 2


def test_staff_screens_never_show_password_hashes(app, client, world):
    """An admin opening a staff member's details sees name, email and roles, never the
    stored password hash (nor on the list)."""
    with app.app_context():
        finance = db.session.scalar(select(User).where(User.email == "finance@example.com"))
        finance_id, stored = finance.id, finance.password_hash
    assert login(client, "factory@example.com").status_code == 302  # an admin
    for url in ("/admin/staff/", f"/admin/staff/details/?id={finance_id}"):
        resp = client.get(url)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200, url
        assert "finance@example.com" in html
        assert stored not in html and "scrypt:" not in html, url
        assert "Password Hash" not in html, url
