"""Payout methods: a partner chooses Stripe, PayPal or bank transfer in the portal and the
API; bank numbers are encrypted at rest and shown masked; a change is audited and ends
an unfinished Stripe onboarding; a payout keeps the method it started with; finance
records bank transfers and downloads the bank file."""

import csv
import io

import pytest
from conftest import api_token, csrf_from, login, make_partner, make_staff
from sqlalchemy import text

from core.base.extensions import db
from core.base.models import AuditLog
from core.money.models import Commission, Payout
from core.money.payouts import approve_payout, create_payout, mark_paid
from core.payments import crypto
from core.payments.methods import describe, set_payout_method
from core.payments.models import PayoutMethod

IBAN = "DE89370400440532013000"  # the IBAN standard's example; check digits correct
BAD_IBAN = "DE88370400440532013000"


@pytest.fixture
def paypal_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "PAYPAL_CLIENT_ID", "client")
    monkeypatch.setitem(app.config, "PAYPAL_CLIENT_SECRET", "secret")
    return app


def approved_balance(partner):
    db.session.execute(db.update(Commission).where(Commission.partner_id == partner.id)
                       .values(status="approved"))
    db.session.commit()


def test_api_bank_transfer_is_encrypted_and_masked(app, client):
    """PUT an IBAN: the answer and GET show the last 4 only; the database holds a Fernet
    token, not the number; the audit row names the method and the masked payee."""
    with app.app_context():
        p = make_partner("Berta Bank")
        email, pid = p.user.email, p.id
    auth = api_token(client, email)
    resp = client.put("/api/partner/payout-method", headers=auth, json={
        "method": "bank_transfer", "account_holder": "Berta Bank GmbH", "iban": IBAN})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["method"] == "bank_transfer" and body["bank_last4"] == "3000"
    assert body["ready"] is True and IBAN not in resp.get_data(as_text=True)
    assert client.get("/api/partner/payout-method", headers=auth).get_json()["bank_last4"] \
        == "3000"
    with app.app_context():
        raw = db.session.execute(text("SELECT bank_iban_enc FROM payout_methods")).scalar()
        assert raw and IBAN not in raw and crypto.decrypt(raw) == IBAN
        rows = db.session.scalars(db.select(AuditLog).where(
            AuditLog.action == "payout_method.change")).all()
        assert len(rows) == 1 and "3000" in rows[0].after and IBAN not in rows[0].after
        assert all(IBAN not in (r.after or "") + (r.before or "")
                   for r in db.session.scalars(db.select(AuditLog)))
        assert db.session.get(PayoutMethod, 1).partner_id == pid


@pytest.mark.parametrize("body, field", [
    ({"method": "bank_transfer", "account_holder": "X", "iban": BAD_IBAN}, "iban"),
    ({"method": "bank_transfer", "account_holder": "X", "routing_number": "011000016",
      "account_number": "12345678"}, "routing_number"),
    ({"method": "bank_transfer", "iban": IBAN}, "account_holder"),
    ({"method": "paypal", "paypal": "not an address"}, "paypal"),
    ({"method": "cheque"}, "method"),
])
def test_bad_details_are_422_naming_the_field_nothing_stored(app, client, paypal_on,
                                                             body, field):
    with app.app_context():
        p = make_partner("Wrong Digits")
        email = p.user.email
    resp = client.put("/api/partner/payout-method", headers=api_token(client, email),
                      json=body)
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["error"]["message"]
    for secret in ("BAD_IBAN", "12345678"):
        assert secret not in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(PayoutMethod)) == 0


def test_paypal_not_offered_is_409(app, client):
    with app.app_context():
        email = make_partner("No Paypal").user.email
    resp = client.put("/api/partner/payout-method", headers=api_token(client, email),
                      json={"method": "paypal", "paypal": "me@example.com"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "method_unavailable"


def test_portal_earnings_page_chooses_paypal(app, client, paypal_on):
    """The earnings page form saves PayPal; the page then shows it, and the checklist's
    payout item ticks."""
    with app.app_context():
        p = make_partner("Polly Pal")
        email = p.user.email
    login(client, email)
    page = client.get("/partner/earnings").get_data(as_text=True)
    assert 'id="method-form"' in page
    resp = client.post("/partner/payout-method/choose", data={
        "csrf_token": csrf_from(page), "method": "paypal", "paypal": "polly@example.com"})
    assert resp.status_code == 303
    page = client.get("/partner/earnings").get_data(as_text=True)
    assert "Payouts go to PayPal polly@example.com" in page
    dash = client.get("/partner/dashboard").get_data(as_text=True)
    assert 'data-item="payout"' in dash and 'class="is-done" data-item="payout"' in dash


def test_changing_method_ends_unfinished_stripe_onboarding(app, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_API_KEY", "sk_test")
    with app.app_context():
        p = make_partner("Half Onboarded")
        p.stripe_account_id = "acct_half"
        db.session.commit()
        set_payout_method(p, {"method": "bank_transfer", "account_holder": "H",
                              "routing_number": "011000015", "account_number": "987654321"},
                          p.user_id)
        db.session.commit()
        assert p.stripe_account_id is None
        assert describe(p)["bank_last4"] == "4321"
        ended = db.session.scalar(db.select(AuditLog).where(
            AuditLog.action == "stripe.onboarding_ended"))
        assert ended is not None and "acct_half" in ended.before


def test_payout_in_flight_keeps_its_method_and_finance_records_bank_reference(app, client):
    """A bank-transfer payout is requested and approved; the partner then switches to
    another bank account: the payout keeps bank transfer and its payee; finance downloads
    the bank file (the account then on file) and records the bank reference."""
    with app.app_context():
        p = make_partner("Flight Fred", deals=1)
        approved_balance(p)
        set_payout_method(p, {"method": "bank_transfer", "account_holder": "Fred",
                              "iban": IBAN}, p.user_id)
        db.session.commit()
        finance = make_staff()
        payout = create_payout(p.id, finance.id)
        approve_payout(payout.id, finance)
        db.session.commit()
        assert payout.gateway == "bank_transfer" and payout.payee.endswith("3000")
        set_payout_method(p, {"method": "bank_transfer", "account_holder": "Fred",
                              "iban": "GB82WEST12345698765432"}, p.user_id)
        db.session.commit()
        db.session.refresh(payout)
        assert payout.gateway == "bank_transfer" and payout.payee.endswith("3000")
        pid, finance_id = payout.id, finance.id
    login(client, "finance@example.com")
    resp = client.get("/admin/payouts/bank-file")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [r["payout_id"] for r in rows] == [str(pid)]
    assert rows[0]["iban"] == "GB82WEST12345698765432"
    with app.app_context():
        payout = db.session.get(Payout, pid)
        mark_paid(payout, "BANK-REF-778", finance_id)
        db.session.commit()
        assert payout.status == "paid" and payout.reference == "BANK-REF-778"
        assert db.session.scalar(db.select(AuditLog).where(
            AuditLog.action == "payout.bank_file")) is not None


def test_rotation_old_rows_still_read_then_rotate_keys(app, monkeypatch):
    """A row written under the old key reads after a new key is put first; ``flask
    rotate-keys`` re-encrypts it so the old key can go."""
    from cryptography.fernet import Fernet

    old = app.config["FIELD_ENCRYPTION_KEYS"][0]
    new = Fernet.generate_key().decode()
    with app.app_context():
        p = make_partner("Rota Tion")
        set_payout_method(p, {"method": "bank_transfer", "account_holder": "R",
                              "iban": IBAN}, p.user_id)
        db.session.commit()
        monkeypatch.setitem(app.config, "FIELD_ENCRYPTION_KEYS", (new, old))
        from core.payments.methods import bank_details

        assert bank_details(p.id)["iban"] == IBAN
        result = app.test_cli_runner().invoke(args=["rotate-keys"])
        assert result.exit_code == 0, result.output
        assert "1" in result.output
        db.session.expire_all()
        monkeypatch.setitem(app.config, "FIELD_ENCRYPTION_KEYS", (new,))
        assert bank_details(p.id)["iban"] == IBAN


def test_production_refuses_to_start_without_field_key(monkeypatch):
    from core.base.config import ProductionConfig

    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.delenv("FIELD_ENCRYPTION_KEYS", raising=False)
    with pytest.raises(RuntimeError, match="FIELD_ENCRYPTION_KEYS"):
        ProductionConfig.from_env()


def test_switching_back_keeps_details_on_file(app, paypal_on):
    """Bank, then PayPal, then bank again with the number fields left empty: the bank
    account on file is used again, nothing re-entered."""
    with app.app_context():
        p = make_partner("Back And Forth")
        set_payout_method(p, {"method": "bank_transfer", "account_holder": "B",
                              "iban": IBAN}, p.user_id)
        set_payout_method(p, {"method": "paypal", "paypal": "bf@example.com"}, p.user_id)
        set_payout_method(p, {"method": "bank_transfer"}, p.user_id)
        db.session.commit()
        info = describe(p)
        assert (info["method"], info["bank_last4"], info["ready"]) == ("bank_transfer",
                                                                       "3000", True)


def test_earnings_page_says_payouts_wait_for_the_tax_form(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "TAX_FORM_REQUIRED", True)
    with app.app_context():
        email = make_partner("Held Harry").user.email
    login(client, email)
    page = client.get("/partner/earnings").get_data(as_text=True)
    assert 'id="payout-needs-tax-form"' in page and "submit your tax form" in page
