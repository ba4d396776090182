"""Fraud rule "shared sign-up" (rules: "Fraud rules"): a recruit applying from the network
(hashed client address) or the device (the siso_device cookie) their recruiter signed up
or logged in from within N days is flagged for review with evidence; other recruits are
not; the switch and threshold in the back office; hashes only, kept 30 days."""

import json
from datetime import timedelta

import pytest
from conftest import api_token, login, make_partner, make_staff, submit

from core.base.extensions import db
from core.base.timeutil import now_utc
from core.program.models import FraudFlag, Partner, PartnerSighting

RITA_IP, OTHER_IP, THIRD_IP = "198.51.100.7", "203.0.113.9", "192.0.2.44"


@pytest.fixture(autouse=True)
def rules_on(app):
    app.config["FRAUD_RULES_ON_BY_DEFAULT"] = True
    yield
    app.config["FRAUD_RULES_ON_BY_DEFAULT"] = False


def _client(app, ip):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = ip
    return c


def _apply(client, email, code):
    resp = submit(client, f"/partner/register?ref={code}", {
        "name": email.split("@")[0].title(), "email": email, "password": "a-long-password-1",
        "referral_code": code, "accept_terms": "y"})
    assert resp.status_code == 200 and "check" in resp.get_data(as_text=True).lower(), \
        (resp.status_code, resp.get_data(as_text=True)[-1500:])
    with client.application.app_context():
        return db.session.scalar(db.select(Partner.id).join(Partner.user).where(
            Partner.user.property.mapper.class_.email == email))


def _flags():
    return list(db.session.scalars(db.select(FraudFlag).where(FraudFlag.rule == "shared_signup")
                                   .order_by(FraudFlag.id)))


def test_recruit_from_the_recruiters_network_or_device_is_flagged(app, client):
    with app.app_context():
        rita = make_partner("Rita Recruiter", email="rita@agency.example")
        code, rita_id = rita.referral_code, rita.id
        make_staff("admin@example.com", ("admin",))
    rita_phone = _client(app, RITA_IP)
    assert login(rita_phone, "rita@agency.example").status_code == 302
    with app.app_context():
        seen = db.session.scalars(db.select(PartnerSighting).where(
            PartnerSighting.partner_id == rita_id)).all()
        assert [(s.kind, len(s.ip_hash), len(s.device_hash)) for s in seen] == [("login", 64, 64)]
        assert RITA_IP not in seen[0].ip_hash  # a keyed hash, never the address

    # same network, another browser: flagged on the client address
    sam = _apply(_client(app, RITA_IP), "sam@sams.example", code)
    with app.app_context():
        flags = _flags()
        assert [f.partner_id for f in flags] == [sam] and flags[0].lead_id is None
        ev = json.loads(flags[0].evidence)
        assert (ev["recruiter_id"], ev["matched"]) == (rita_id, "client address")
        assert ev["recruiter_seen"].startswith("login ") and len(ev["hash"]) == 12
        assert RITA_IP not in flags[0].evidence
    # Rita's own phone on another network (same device cookie): flagged on the device
    rita_phone.environ_base["REMOTE_ADDR"] = OTHER_IP
    submit(rita_phone, "/partner/dashboard", {}, post_url="/logout")
    dee = _apply(rita_phone, "dee@dees.example", code)
    with app.app_context():
        ev = json.loads(_flags()[-1].evidence)
        assert (_flags()[-1].partner_id, ev["matched"]) == (dee, "device")
    # a stranger's browser on another network: not flagged
    fay = _apply(_client(app, THIRD_IP), "fay@fays.example", code)
    # the same network without a recruiter: nothing to compare with
    gil = _apply(_client(app, RITA_IP), "gil@gils.example", "")
    with app.app_context():
        assert fay not in [f.partner_id for f in _flags()]
        assert gil not in [f.partner_id for f in _flags()]
        assert len(_flags()) == 2

    # the queue shows the flag with its evidence; the API lists it
    admin = app.test_client()
    login(admin, "admin@example.com")
    page = admin.get("/admin/fraud/").get_data(as_text=True)
    assert f"Sign-up of partner #{sam}" in page and "client address" in page
    token = api_token(client, "admin@example.com", kind="staff")
    listed = client.get("/api/staff/fraud/flags", headers=token).get_json()["items"]
    assert {(f["rule"], f["partner_id"]) for f in listed} >= {("shared_signup", sam),
                                                              ("shared_signup", dee)}


def test_threshold_switch_api_and_retention(app, client, run_worker):
    from core.program.fraud import purge_sightings_job

    with app.app_context():
        rita = make_partner("Rita Recruiter", email="rita@agency.example")
        code, rita_id = rita.referral_code, rita.id
        make_staff("admin@example.com", ("admin",))
    api_token(_client(app, RITA_IP), "rita@agency.example")  # an API log-in: address only
    with app.app_context():
        row = db.session.scalar(db.select(PartnerSighting).where(
            PartnerSighting.partner_id == rita_id))
        assert row.device_hash == "" and len(row.ip_hash) == 64
        row.created_at = now_utc() - timedelta(days=3)
        db.session.commit()
    admin = app.test_client()
    login(admin, "admin@example.com")
    page = admin.get("/admin/fraud-rules/").get_data(as_text=True)
    assert "Recruit signs up from the recruiter&#39;s network or device" in page
    form = {f"{r}_enabled": "on" for r in ("self_referral", "duplicate_lead", "click_spam",
                                            "lead_burst", "deal_outlier", "shared_signup")}
    form.update(duplicate_lead_threshold="90", click_spam_threshold="20",
                lead_burst_threshold="10", deal_outlier_threshold="5",
                shared_signup_threshold="31")
    bad = submit(admin, "/admin/fraud-rules/", form)
    assert bad.status_code == 422 and "1 to 30" in bad.get_data(as_text=True)
    assert submit(admin, "/admin/fraud-rules/", dict(form, shared_signup_threshold="2")) \
        .status_code == 302
    api = _client(app, RITA_IP)
    resp = api.post("/api/auth/partner/register", json={
        "email": "old@olds.example", "password": "a-long-password-1", "name": "Old Log-in",
        "accept_terms": True, "referral_code": code})
    assert resp.status_code == 202
    with app.app_context():  # Rita was seen 3 days ago, the rule looks back 2: not flagged
        assert _flags() == []
    assert submit(admin, "/admin/fraud-rules/", dict(form, shared_signup_threshold="7")) \
        .status_code == 302
    resp = api.post("/api/auth/partner/register", json={
        "email": "new@news.example", "password": "a-long-password-1", "name": "New Recruit",
        "accept_terms": True, "referral_code": code})
    with app.app_context():  # 7 days back: flagged, over the API too
        assert [json.loads(f.evidence)["matched"] for f in _flags()] == ["client address"]
    assert submit(admin, "/admin/fraud-rules/",
                  {k: v for k, v in form.items() if k != "shared_signup_enabled"}
                  | {"shared_signup_threshold": "7"}).status_code == 302
    api.post("/api/auth/partner/register", json={
        "email": "off@offs.example", "password": "a-long-password-1", "name": "Off Rule",
        "accept_terms": True, "referral_code": code})
    with app.app_context():  # switched off: not flagged
        assert len(_flags()) == 1

    with app.app_context():  # sightings past 30 days go, the worker's purge
        rows = db.session.scalars(db.select(PartnerSighting).order_by(PartnerSighting.id)).all()
        rows[0].created_at = now_utc() - timedelta(days=31)
        db.session.commit()
        keep = len(rows) - 1
        purge_sightings_job.enqueue()
    run_worker()
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(PartnerSighting)) == keep
