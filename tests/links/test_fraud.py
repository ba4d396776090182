"""Fraud rules (rules: "Fraud rules"): each rule fired and not fired, the switches and
thresholds in the back office, a flagged lead held from confirmation until an admin
decides, decisions audited, the partner seeing a rejection's reason."""

import json
from datetime import timedelta

import pytest
from conftest import api_token, csrf_from, login, make_partner, make_staff, submit

from core.base.errors import Conflict
from core.base.extensions import db
from core.base.models import AuditLog
from core.program.models import FraudFlag, Lead, Partner

PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")


@pytest.fixture(autouse=True)
def rules_on(app):
    """Production's default: every rule on (the rest of the suite runs with them off)."""
    app.config["FRAUD_RULES_ON_BY_DEFAULT"] = True
    yield
    app.config["FRAUD_RULES_ON_BY_DEFAULT"] = False


def _lead(partner, company, email=""):
    from core.program.leads import create_lead

    lead = create_lead(partner, {"company_name": company, "contact_email": email},
                       partner.user_id)
    db.session.commit()
    return lead


def _flags(rule=None):
    q = db.select(FraudFlag).order_by(FraudFlag.id)
    if rule:
        q = q.where(FraudFlag.rule == rule)
    return list(db.session.scalars(q))


def test_self_referral(app):
    with app.app_context():
        make_staff("ops@siso.example", ("support",))
        rec = make_partner("Rita Recruiter", email="rita@rita-agency.example")
        p = make_partner("Sam Self", email="sam@samstudio.example", recruiter=rec)
        g = make_partner("Gail Gmail", email="gail@gmail.com")
        own = _lead(p, "Sam Again", "sam@samstudio.example")
        colleague = _lead(p, "Sam's colleague", "bo@SAMSTUDIO.example")
        staff = _lead(p, "Inside job", "anyone@siso.example")
        recruiter = _lead(p, "Recruiter's friend", "rita@rita-agency.example")
        fine = _lead(p, "Real client", "jane@realclient.example")
        shared = _lead(g, "Another gmail user", "someone@gmail.com")
        flagged = {f.lead_id: json.loads(f.evidence)["matches"] for f in _flags("self_referral")}
        assert flagged == {own.id: "partner", colleague.id: "partner", staff.id: "staff",
                           recruiter.id: "recruiter"}
        assert fine.id not in flagged and shared.id not in flagged


def test_duplicate_lead_first_claim_stands(app):
    with app.app_context():
        a = make_partner("Ann First", email="ann@a.example")
        b = make_partner("Bob Second", email="bob@b.example")
        first = _lead(a, "Acme Ltd", "cto@acme.example")
        second = _lead(b, "  ACME ltd ", "")
        by_email = _lead(b, "Acme Holdings", "CTO@acme.example")
        own_again = _lead(a, "Acme Ltd", "")  # the same partner again is no duplicate
        flags = _flags("duplicate_lead")
        assert [f.lead_id for f in flags] == [second.id, by_email.id]
        ev = json.loads(flags[0].evidence)
        assert ev["first_lead_id"] == first.id and ev["same_company"] is True
        assert json.loads(flags[1].evidence)["same_email"] is True
        assert own_again.id not in [f.lead_id for f in flags]
        # claimed 91 days ago: outside the 90-day window, no flag
        old = _lead(a, "Old Co", "")
        old.created_at = old.created_at - timedelta(days=91)
        db.session.commit()
        late = _lead(b, "Old Co", "")
        assert late.id not in [f.lead_id for f in _flags("duplicate_lead")]


def test_lead_burst_and_switches_in_back_office(app):
    with app.app_context():
        make_staff("admin@example.com", ("admin",))
        make_staff("finance@example.com", ("finance",))
        pid = make_partner("Burt Burst", email="burt@burst.example").id
    admin = app.test_client()
    login(admin, "admin@example.com")
    form = {"self_referral_enabled": "on", "duplicate_lead_enabled": "on",
            "duplicate_lead_threshold": "90", "click_spam_enabled": "on",
            "click_spam_threshold": "3", "lead_burst_enabled": "on",
            "lead_burst_threshold": "2", "deal_outlier_enabled": "on",
            "deal_outlier_threshold": "5", "shared_signup_enabled": "on",
            "shared_signup_threshold": "30"}
    assert submit(admin, "/admin/fraud-rules/", dict(form, lead_burst_threshold="0")).status_code == 422
    assert submit(admin, "/admin/fraud-rules/", dict(form, click_spam_threshold="x")).status_code == 422
    assert submit(admin, "/admin/fraud-rules/", form).status_code == 302
    finance = app.test_client()
    login(finance, "finance@example.com")
    assert finance.get("/admin/fraud-rules/").status_code == 403
    with app.app_context():
        p = db.session.get(Partner, pid)
        leads = [_lead(p, f"Burst {i}", f"c{i}@client{i}.example") for i in range(3)]
        assert [f.lead_id for f in _flags("lead_burst")] == [leads[2].id]
        assert json.loads(_flags("lead_burst")[0].evidence)["leads_last_hour"] == 3
        rows = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "fraud.rule"))
        assert {json.loads(r.after)["rule"] for r in rows} == {"click_spam", "lead_burst"}
    # switched off: the same burst is not flagged
    assert submit(admin, "/admin/fraud-rules/", {k: v for k, v in form.items()
                                                 if k != "lead_burst_enabled"}).status_code == 302
    with app.app_context():
        p = db.session.get(Partner, pid)
        more = _lead(p, "Burst 4", "c4@client4.example")
        assert more.id not in [f.lead_id for f in _flags("lead_burst")]


def test_click_spam(app):
    from core.program.fraud import set_rule
    from core.program.links import create_link

    with app.app_context():
        p = make_partner("Cora Clicks", email="cora@clicks.example")
        link = create_link(p, {"name": "Spam me", "slug": "spam"}, p.user_id)
        set_rule("click_spam", True, 3, None)
        db.session.commit()
        code, link_id = p.referral_code, link.id
    for _ in range(5):  # one visitor hammering the link (no cookie kept)
        app.test_client().get(f"/r/{code}/spam", headers={"User-Agent": PHONE},
                              environ_base={"REMOTE_ADDR": "203.0.113.66"})
    for _ in range(2):  # someone else, twice: fine
        app.test_client().get(f"/r/{code}/spam", headers={"User-Agent": PHONE},
                              environ_base={"REMOTE_ADDR": "203.0.113.67"})
    with app.app_context():
        flags = _flags("click_spam")
        assert len(flags) == 1 and flags[0].link_id == link_id and flags[0].lead_id is None
        ev = json.loads(flags[0].evidence)
        assert ev["attempts"] == 4 and ev["threshold"] == 3 and "203.0.113" not in flags[0].evidence


def test_deal_outlier(app):
    from core.program.leads import move_lead

    with app.app_context():
        p = make_partner("Dan Deals", email="dan@deals.example", deals=3)  # 3 × $1,000
        big = _lead(p, "Big Co", "ceo@big.example")
        move_lead(big, "won", p.user_id, 600_001)
        ok = _lead(p, "Fair Co", "ceo@fair.example")
        move_lead(ok, "won", p.user_id, 500_000)
        db.session.commit()
        flags = _flags("deal_outlier")
        assert [f.lead_id for f in flags] == [big.id]
        assert json.loads(flags[0].evidence)["median_cents"] == 100_000
        newbie = make_partner("New Nina", email="nina@nina.example")
        first = _lead(newbie, "First Co", "x@first.example")
        move_lead(first, "won", newbie.user_id, 900_000)  # no history: no outlier
        db.session.commit()
        assert len(_flags("deal_outlier")) == 1


def test_flag_blocks_confirmation_until_admin_decides(app, client):
    from core.money.commissions import confirm_deal
    from core.program.leads import move_lead

    with app.app_context():
        admin = make_staff("admin@example.com", ("admin",))
        make_staff("support@example.com", ("support",))
        p = make_partner("Sam Self", email="sam@samstudio.example")
        one = _lead(p, "Self One", "sam@samstudio.example")
        two = _lead(p, "Self Two", "x@samstudio.example")
        for lead in (one, two):
            move_lead(lead, "won", p.user_id, 100_000)
        db.session.commit()
        with pytest.raises(Conflict) as refused:
            confirm_deal(one.id, admin.id)
        assert refused.value.code == "fraud_flag_open"
        db.session.rollback()
        ids = (one.id, two.id)
    staff = api_token(client, "admin@example.com", kind="staff")
    support = api_token(client, "support@example.com", kind="staff")
    assert client.get("/api/staff/fraud/flags", headers=support).status_code == 403
    listed = client.get("/api/staff/fraud/flags", headers=staff).get_json()["items"]
    assert [(f["lead_id"], f["rule"], f["status"]) for f in listed] == \
        [(ids[0], "self_referral", "open"), (ids[1], "self_referral", "open")]
    assert listed[0]["evidence"]["matched_address"] == "sam@samstudio.example"
    # the queue shows the evidence; the admin dismisses the first flag there
    page = app.test_client()
    login(page, "admin@example.com")
    html = page.get("/admin/fraud/").get_data(as_text=True)
    assert "Self One" in html and "matched_address" in html
    token = csrf_from(html)
    assert page.post(f"/admin/fraud/{listed[0]['id']}/decide",
                     data={"decision": "dismiss", "csrf_token": token}).status_code == 302
    # the second is rejected through the API; a reason is required
    url = f"/api/staff/fraud/flags/{listed[1]['id']}/decide"
    assert client.post(url, headers=staff, json={"decision": "reject"}).status_code == 422
    done = client.post(url, headers=staff, json={"decision": "reject",
                                                 "reason": "Your own company's e-mail domain."})
    assert done.status_code == 200 and done.get_json()["status"] == "rejected"
    assert client.post(url, headers=staff, json={"decision": "dismiss"}).status_code == 409
    assert client.get("/api/staff/fraud/flags", headers=staff).get_json()["items"] == []
    with app.app_context():
        admin_id = db.session.scalar(db.select(AuditLog.actor_id).where(
            AuditLog.action == "fraud.dismiss"))
        deal, _ = confirm_deal(ids[0], admin_id)
        db.session.commit()
        assert deal.lead_id == ids[0]
        with pytest.raises(Conflict) as refused:
            confirm_deal(ids[1], admin_id)
        assert refused.value.code == "fraud_rejected"
        db.session.rollback()
        assert {r.action for r in db.session.scalars(db.select(AuditLog).where(
            AuditLog.object_type == "fraud_flag"))} == {"fraud.dismiss", "fraud.reject"}
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditLog).where(
            AuditLog.action == "deal.confirm.refused")) == 2
        assert db.session.get(Lead, ids[1]).deal is None
    partner = app.test_client()
    login(partner, "sam@samstudio.example")
    detail = partner.get(f"/partner/leads/{ids[1]}").get_data(as_text=True)
    assert "did not accept this lead: Your own company&#39;s e-mail domain." in detail
