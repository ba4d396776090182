"""Tax forms and the tax gate: W-9 / W-8BEN through the API and the portal, TINs checked
and encrypted, finance verifies or rejects in the back office and may reveal a TIN with a
reason, W-8 expiry and its reminder, and 409 tax_form_missing / tax_form_expired on
payout request and approval."""

import logging
from datetime import date, timedelta

import pytest
from conftest import api_token, csrf_from, login, make_partner, make_staff
from sqlalchemy import text

from core.accounts.models import User
from core.base.errors import Conflict
from core.base.extensions import db
from core.base.models import AuditLog
from core.base.timeutil import now_utc
from core.community.models import Notification
from core.money.models import Commission, Payout
from core.money.payouts import approve_payout, create_payout
from core.payments import crypto
from core.payments.models import TaxForm
from core.payments.tax import remind_expiring_tax_forms, review_tax_form, w8_expiry

SSN = "536-90-4399"
TODAY = now_utc().date().isoformat()


def w9(**over):
    body = {"form": "w9", "legal_name": "Sam Payee", "tax_classification": "individual",
            "address": "1 Main St, Springfield, IL 62701", "tin_type": "ssn", "tin": SSN,
            "certification": True, "signature_name": "Sam Payee", "signed_on": TODAY}
    body.update(over)
    return body


def w8ben(**over):
    body = {"form": "w8ben", "legal_name": "Lena Schmidt", "country": "DE",
            "address": "Hauptstr. 1, 10115 Berlin", "foreign_tin": "12 345 678 901",
            "date_of_birth": "1985-04-12", "treaty_country": "DE",
            "treaty_article": "Art. 7, 0%", "certification": True,
            "signature_name": "Lena Schmidt", "signed_on": TODAY}
    body.update(over)
    return body


@pytest.fixture
def gate_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "TAX_FORM_REQUIRED", True)
    return app


def test_w9_through_the_api_masked_and_encrypted(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        email = make_partner("Sam Payee").user.email
    auth = api_token(client, email)
    assert client.get("/api/partner/tax-form", headers=auth).get_json()["status"] == "missing"
    resp = client.put("/api/partner/tax-form", headers=auth, json=w9())
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "submitted" and body["tin_last4"] == "4399"
    assert body["expires_on"] is None and "536" not in resp.get_data(as_text=True)
    with app.app_context():
        raw = db.session.execute(text("SELECT tin_enc, details_json FROM tax_forms")).one()
        assert "536904399" not in raw[0] and crypto.decrypt(raw[0]) == "536904399"
        assert "536" not in raw[1]
        assert all("536904399" not in (r.after or "") for r in db.session.scalars(
            db.select(AuditLog)))
    # A wrong TIN is refused without echoing it, and no number reaches the logs.
    resp = client.put("/api/partner/tax-form", headers=auth, json=w9(tin="666-12-3456"))
    assert resp.status_code == 422 and "666" not in resp.get_data(as_text=True)
    assert caplog.records  # the requests were logged...
    for number in ("536904399", "536-90-4399", "666123456", "666-12-3456"):
        assert number not in caplog.text  # ...without the numbers


@pytest.mark.parametrize("body, field", [
    (w9(tin="666-12-3456"), "tin"),            # area 666 is never issued
    (w9(tin_type="ein", tin="07-1234567"), "tin"),  # 07 is no EIN prefix
    (w9(certification=False), "certification"),
    (w9(signed_on="2999-01-01"), "signed_on"),
    (w9(signed_on="12/01/2026"), "signed_on"),
    (w8ben(date_of_birth="1985-02-30"), "date_of_birth"),
    (w8ben(country="US"), "country"),
    (w8ben(signed_on="2019-06-01"), "signed_on"),  # would have expired on 2022-12-31
])
def test_bad_forms_are_422_naming_the_field(app, client, body, field):
    with app.app_context():
        email = make_partner("Bad Form").user.email
    resp = client.put("/api/partner/tax-form", headers=api_token(client, email), json=body)
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["message"].startswith(field)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(TaxForm)) == 0


def test_w8_expires_at_end_of_third_year():
    assert w8_expiry(date(2026, 3, 5)) == date(2029, 12, 31)
    assert w8_expiry(date(2026, 12, 31)) == date(2029, 12, 31)


def test_gate_on_request_and_approval_then_verified_form_lets_money_move(app, client,
                                                                       gate_on):
    """Without a form: the API's payout request answers 409 tax_form_missing; finance's
    approval of a payout made before the gate too (refusal audited). Finance verifies
    the partner's W-8BEN in the back office: the request goes through."""
    with app.app_context():
        p = make_partner("Lena Schmidt", deals=1)
        db.session.execute(db.update(Commission).values(status="approved"))
        db.session.commit()
        email, pid = p.user.email, p.id
        finance = make_staff()
        app.config["TAX_FORM_REQUIRED"] = False
        early = create_payout(pid, finance.id)
        db.session.commit()
        app.config["TAX_FORM_REQUIRED"] = True
        with pytest.raises(Exception) as exc:
            approve_payout(early.id, finance)
        assert getattr(exc.value, "code", None) == "tax_form_missing"
        db.session.rollback()
        assert db.session.scalar(db.select(AuditLog).where(
            AuditLog.action == "payout.approve.refused")) is not None
        early.status = "failed"  # out of the way for the partner's own request
        db.session.execute(db.update(Commission).values(payout_id=None))
        db.session.commit()
    auth = api_token(client, email)
    resp = client.post("/api/partner/payout/request", headers=auth)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "tax_form_missing"
    assert client.put("/api/partner/tax-form", headers=auth, json=w8ben()).status_code == 200
    resp = client.post("/api/partner/payout/request", headers=auth)
    assert resp.get_json()["error"]["code"] == "tax_form_missing"  # not verified yet
    login(client, "finance@example.com")
    page = client.get("/admin/tax_forms/review/1")
    assert page.status_code == 200 and "ending 8901" in page.get_data(as_text=True)
    assert "12345678901" not in page.get_data(as_text=True)
    resp = client.post("/admin/tax_forms/review/1", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "decision": "verify"})
    assert resp.status_code == 302
    resp = client.post("/api/partner/payout/request", headers=auth)
    assert resp.status_code == 201, resp.get_json()
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Payout)) == 2
        note = db.session.scalar(db.select(Notification).where(
            Notification.title.like("Tax form W-8BEN verified%")))
        assert note is not None


def test_expired_form_is_409_tax_form_expired_and_reminder_once(app, gate_on):
    with app.app_context():
        p = make_partner("Old Form", deals=1)
        db.session.execute(db.update(Commission).values(status="approved"))
        finance = make_staff()
        row = TaxForm(partner_id=p.id, form="w8ben", status="verified", legal_name="Old",
                      country="FR", tin_kind="foreign", tin_enc=crypto.encrypt("1234"),
                      tin_last4="1234", signature_name="Old", signed_on=date(2020, 1, 2),
                      expires_on=date(2023, 12, 31))
        db.session.add(row)
        db.session.commit()
        with pytest.raises(Exception) as exc:
            create_payout(p.id, finance.id)
        assert exc.value.code == "tax_form_expired" and exc.value.status == 409
        db.session.rollback()
        soon = now_utc().date() + timedelta(days=30)
        row.expires_on = soon
        db.session.commit()
        assert remind_expiring_tax_forms() == 1
        assert remind_expiring_tax_forms() == 0
        assert db.session.scalar(db.select(Notification).where(
            Notification.title == "Your tax form expires soon")) is not None


def test_reject_with_reason_and_reveal_is_audited(app, client):
    with app.app_context():
        p = make_partner("Sam Payee")
        email = p.user.email
        make_staff()
    client.put("/api/partner/tax-form", headers=api_token(client, email), json=w9())
    login(client, "finance@example.com")
    page = client.get("/admin/tax_forms/review/1").get_data(as_text=True)
    token = csrf_from(page)
    resp = client.post("/admin/tax_forms/review/1", data={"csrf_token": token,
                                                          "decision": "reject"})
    assert resp.status_code == 422  # a rejection needs a reason
    resp = client.post("/admin/tax_forms/review/1", data={
        "csrf_token": token, "decision": "reveal", "reason": "IRS TIN matching"})
    assert resp.status_code == 200 and "536904399" in resp.get_data(as_text=True)
    resp = client.post("/admin/tax_forms/review/1", data={
        "csrf_token": token, "decision": "reject", "reason": "Name does not match the TIN."})
    assert resp.status_code == 302
    with app.app_context():
        reveal = db.session.scalar(db.select(AuditLog).where(
            AuditLog.action == "tax_form.reveal"))
        assert "IRS TIN matching" in reveal.after and "536904399" not in reveal.after
        assert db.session.get(TaxForm, 1).status == "rejected"
        finance = db.session.scalar(db.select(User).where(User.email == "finance@example.com"))
        with pytest.raises(Conflict, match="already rejected"):
            review_tax_form(1, finance, True)
    login(client, email)
    page = client.get("/partner/tax-form").get_data(as_text=True)
    assert "Name does not match the TIN." in page and "rejected" in page


def test_portal_tax_form_submits_and_refuses_bad_tin(app, client, gate_on):
    with app.app_context():
        email = make_partner("Port Al").user.email
    login(client, email)
    page = client.get("/partner/tax-form").get_data(as_text=True)
    assert "Payouts are held" in page
    data = {k: v for k, v in w9().items() if k != "certification"}
    data.update(csrf_token=csrf_from(page), certification="yes", tin="666-12-3456")
    resp = client.post("/partner/tax-form", data=data)
    assert resp.status_code == 422 and "666-12-3456" not in resp.get_data(as_text=True)
    data["tin"] = SSN
    assert client.post("/partner/tax-form", data=data).status_code == 303
    page = client.get("/partner/tax-form").get_data(as_text=True)
    assert "submitted" in page and "TIN ending 4399" in page
    dash = client.get("/partner/dashboard").get_data(as_text=True)
    assert 'data-item="tax"' in dash
