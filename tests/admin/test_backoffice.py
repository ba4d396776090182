"""Back-office screens staff use all day: partner page, overrides, roles, re-checks."""

import time

from conftest import PASSWORD, csrf_from, login, make_partner, make_staff, submit
from test_story import admin_action

from core.accounts.models import User
from core.base.extensions import db
from core.base.models import AuditLog
from core.money.models import Commission, Payout


def age_login(client, seconds=16 * 60):
    """Make the client's login look ``seconds`` old."""
    with client.session_transaction() as s:
        s["auth_at"] = int(time.time()) - seconds


def test_payout_approval_asks_for_the_password_after_15_minutes(app, client):
    """A finance login older than 15 minutes must re-enter the password before a payout is
    approved; a wrong password is refused; after confirming, approval goes through."""
    with app.app_context():
        make_staff("fin@example.com", ("finance",))
        p = make_partner("Pat Partner", deals=1)
        db.session.execute(db.update(Commission).values(status="approved"))
        from core.money.payouts import create_payout

        payout = create_payout(p.id, p.user_id)
        db.session.commit()
        pid = payout.id
    login(client, "fin@example.com")
    age_login(client)
    resp = admin_action(client, "payouts", "approve", [pid])
    assert resp.status_code == 302 and "/admin/reauth/" in resp.headers["Location"]
    with app.app_context():
        assert db.session.get(Payout, pid).status == "requested"
    page = client.get(resp.headers["Location"])
    wrong = client.post(resp.headers["Location"], data={
        "password": "not-it", "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert wrong.status_code == 401 and "not your password" in wrong.get_data(as_text=True)
    ok = submit(client, resp.headers["Location"], {"password": PASSWORD})
    assert ok.status_code == 302 and ok.headers["Location"].startswith("/admin/")
    assert admin_action(client, "payouts", "approve", [pid]).status_code == 302
    with app.app_context():
        assert db.session.get(Payout, pid).status == "approved"


def test_partner_page_and_override(app, client):
    """Staff open a partner's page and see the effective tier and why; an admin sets an
    Elite override with a custom rate and the page shows it; a loop in the team is refused
    with a message."""
    with app.app_context():
        make_staff("admin@example.com", ("admin",))
        p = make_partner("Sarah <b>Thompson</b>", deals=4)
        other = make_partner("Mike Reyes", leader=p)
        pid, oid = p.id, other.id
    login(client, "admin@example.com")
    page = client.get(f"/admin/partners/profile/{pid}").get_data(as_text=True)
    assert "Active · 22%" in page and "4 confirmed won deals" in page
    assert "Sarah &lt;b&gt;Thompson&lt;/b&gt;" in page and "<b>Thompson</b>" not in page
    resp = submit(client, f"/admin/partners/profile/{pid}",
                  {"ov-tier": "elite", "ov-base_rate_bps": "35", "ov-reason": "strategic",
                   "ov-expires": "2099-01-01"}, post_url=f"/admin/partners/profile/{pid}/override",
                  prefix="ov-")
    assert resp.status_code == 302
    page = client.get(f"/admin/partners/profile/{pid}").get_data(as_text=True)
    assert "Elite · 35%" in page and "staff override: strategic" in page
    resp = submit(client, f"/admin/partners/profile/{pid}",
                  {"tm-team_leader_id": str(oid), "tm-recruiter_id": ""},
                  post_url=f"/admin/partners/profile/{pid}/team", prefix="tm-")
    follow = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "loop" in follow
    with app.app_context():
        from core.program.models import Partner

        assert db.session.get(Partner, pid).team_leader_id is None


def test_role_change_ends_sessions_and_is_audited(app):
    """An admin gives a support person the finance role: audited, and that person's
    open session ends (they must log in again)."""
    with app.app_context():
        make_staff("admin@example.com", ("admin",))
        sup = make_staff("sup@example.com", ("support",))
        sid = sup.id
    admin, support = app.test_client(), app.test_client()
    login(admin, "admin@example.com")
    login(support, "sup@example.com")
    assert support.get("/admin/partners/").status_code == 200
    resp = submit(admin, f"/admin/staff/roles/{sid}", {"roles": ["support", "finance"]})
    assert resp.status_code == 302
    assert support.get("/admin/partners/").status_code == 302  # logged out
    with app.app_context():
        assert db.session.get(User, sid).roles == "finance,support"
        row = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "staff.roles"))
        assert "support" in row.before and "finance,support" in row.after
    # and a support user cannot open the staff screen at all
    with app.app_context():
        make_staff("sup2@example.com", ("support",))
    other = app.test_client()
    login(other, "sup2@example.com")
    assert other.get("/admin/staff/").status_code == 403


def test_dashboard_and_failed_jobs(app, client, run_worker):
    """The dashboard shows applications, this month's deals and money waiting; a job that
    failed is listed with its error on the jobs screen and can be queued again."""
    with app.app_context():
        make_staff("fin@example.com", ("admin", "finance"))
        make_partner("Ann Applied", status="applied")
        make_partner("Dan Deals", deals=2)
        from core.base.jobs import get_queue

        get_queue("default").enqueue("core.program.backoffice.no_such_job", job_id="broken-1")
    run_worker()
    login(client, "fin@example.com")
    page = client.get("/admin/").get_data(as_text=True)
    assert "Review 1 application" in page
    assert "2 <small class=\"text-muted\">· $2,000.00</small>" in page
    assert "failed 1" in page
    jobs = client.get("/admin/jobs/").get_data(as_text=True)
    assert "broken-1" in jobs and "no_such_job" in jobs
    resp = submit(client, "/admin/jobs/", {}, post_url="/admin/jobs/retry/default/broken-1")
    assert resp.status_code == 302
    with app.app_context():
        from core.base.jobs import get_queue

        assert "broken-1" in get_queue("default").job_ids


def test_partner_search_finds_by_name_email_company_and_code(app, client):
    """Support types what they have, one or several words: a name, part of an e-mail, the
    company or the referral code. Every word must match somewhere; the list and its
    count agree."""
    with app.app_context():
        sarah = make_partner("Sarah Thompson", email="sarah@northstar.example")
        sarah.company_name = "Northstar Growth"
        mike = make_partner("Mike Thompson", email="mike@example.com")
        mike.company_name = "Bella Cucina"
        make_partner("Ann Other", email="ann@example.com")
        db.session.commit()
        code = mike.referral_code
        make_staff("support@example.com", roles=("support",))
    login(client, "support@example.com")

    def found(q):
        page = client.get("/admin/partners/", query_string={"search": q})
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        return {n for n in ("Sarah Thompson", "Mike Thompson", "Ann Other") if n in html}

    assert found("thompson") == {"Sarah Thompson", "Mike Thompson"}
    assert found("Thompson northstar") == {"Sarah Thompson"}  # name and company, both needed
    assert found("cucina") == {"Mike Thompson"}
    assert found(code.lower()) == {"Mike Thompson"}
    assert found("ann@example") == {"Ann Other"}
    assert found("Thompson nobody") == set()
    html = client.get("/admin/partners/", query_string={"search": "thompson"}).get_data(
        as_text=True)
    assert "List (2)" in html  # the count query applies the same search


def test_dashboard_shows_cached_figures_at_once_and_a_worker_refreshes_them(app, client,
                                                                           run_worker):
    """Figures older than 30 s are shown straight away (no page waits for the ledger
    sums) while one job recomputes them; the next load shows the new figures."""
    import json

    from core.base.jobs import get_queue, redis_connection
    from core.program.backoffice import CACHE_KEY

    with app.app_context():
        make_staff("fin@example.com", ("admin", "finance"))
        make_partner("Ann Applied", status="applied")
    login(client, "fin@example.com")
    assert "Review 1 application" in client.get("/admin/").get_data(as_text=True)
    with app.app_context():
        make_partner("Bob Applied", status="applied")
        r = redis_connection()
        entry = json.loads(r.get(CACHE_KEY))
        entry["at"] -= 31  # as if computed 31 s ago
        r.set(CACHE_KEY, json.dumps(entry))
    for _ in range(3):  # stale: shown as it is, and one refresh job asked for
        assert "Review 1 application" in client.get("/admin/").get_data(as_text=True)
    with app.app_context():
        queued = [j for j in get_queue("default").jobs
                  if j.func_name == "core.program.backoffice.refresh_dashboard"]
        assert len(queued) == 1
    run_worker()
    assert "Review 2 applications" in client.get("/admin/").get_data(as_text=True)


def test_rejecting_an_application_needs_a_reason_and_an_applicant(app):
    """Core's rejection: no reason or an over-long one is refused and changes nothing; an
    active partner cannot be rejected; a rejected applicant cannot then be approved."""
    import pytest

    from core.base.errors import Conflict, ValidationError
    from core.program.partners import approve_partner, reject_partner

    with app.app_context():
        staff = make_staff("admin@example.com", ("admin",))
        ann = make_partner("Ann Applicant", status="applied")
        act = make_partner("Al Active")
        for reason in ("", "   ", None, "x" * 1001):
            with pytest.raises(ValidationError):
                reject_partner(ann.id, staff.id, reason)
        assert ann.status == "applied"
        with pytest.raises(Conflict):
            reject_partner(act.id, staff.id, "No.")
        assert reject_partner(ann.id, staff.id, "  Outside our area.  ").status == "rejected"
        with pytest.raises(Conflict):
            approve_partner(ann.id, staff.id)
        db.session.rollback()
