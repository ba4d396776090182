"""Year-end 1099-NEC: box 1 of US payees outside PayPal over the year's threshold, every
payment listed with its method; the partner's PDF summary; the tax form's PDF copy
rendered by the real worker."""

import csv
import io
import subprocess
from datetime import UTC, datetime

from conftest import api_token, csrf_from, login, make_partner, make_staff
from test_tax_forms import w8ben, w9

from core.base.extensions import db
from core.base.models import AuditLog
from core.money.models import Payout
from core.payments.models import TaxForm
from core.payments.tax import review_tax_form
from core.payments.yearend import default_threshold_cents, partner_summary, threshold_cents
from core.program.models import Partner


def paid(partner, cents, gateway, when):
    finance = make_staff_cached()
    p = Payout(partner_id=partner.id, amount_cents=cents, status="paid", gateway=gateway,
               requested_by_id=finance.id, paid_at=when, reference="ref")
    db.session.add(p)
    db.session.commit()
    return p


def make_staff_cached():
    from core.accounts.models import User

    return db.session.scalar(db.select(User).where(User.email == "finance@example.com")) \
        or make_staff()


def verified(client, app, partner_email, body):
    client.put("/api/partner/tax-form", headers=api_token(client, partner_email), json=body)
    with app.app_context():
        form_id = db.session.scalar(db.select(db.func.max(TaxForm.id)))
        review_tax_form(form_id, make_staff_cached(), True)
        db.session.commit()


def pdf_text(data: bytes) -> str:
    """What a reader sees on the PDF (poppler's pdftotext, from scripts/install.sh)."""
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, check=True,
                          timeout=60, capture_output=True).stdout.decode()


def test_thresholds_by_year():
    assert default_threshold_cents(2025) == 60_000
    assert default_threshold_cents(2026) == 200_000


def test_nec_export_box1_excludes_paypal_and_non_us(app, client):
    """A US payee paid $1,500 by bank and $900 by PayPal in 2026: box 1 is $1,500, under
    2026's $2,000, so not exported until finance sets a lower threshold; a W-8 payee is
    listed among payments but never in box 1; 2025 payments stay out of 2026."""
    with app.app_context():
        us = make_partner("Sam Payee")
        de = make_partner("Lena Schmidt")
        us_email, de_email, us_id, de_id = us.user.email, de.user.email, us.id, de.id
        make_staff_cached()
    verified(client, app, us_email, w9())
    verified(client, app, de_email, w8ben())
    with app.app_context():
        us, de = db.session.get(Partner, us_id), db.session.get(Partner, de_id)
        paid(us, 150_000, "bank_transfer", datetime(2026, 3, 1, tzinfo=UTC))
        paid(us, 90_000, "paypal", datetime(2026, 6, 1, tzinfo=UTC))
        paid(us, 70_000, "stripe", datetime(2025, 12, 31, 23, tzinfo=UTC))
        paid(de, 500_000, "bank_transfer", datetime(2026, 4, 1, tzinfo=UTC))
        assert threshold_cents(2026) == 200_000
        s = partner_summary(us, 2026)
        assert (s["box1_cents"], s["tpso_cents"], s["reportable"]) == (150_000, 90_000, False)
    login(client, "finance@example.com")
    page = client.get("/admin/exports/").get_data(as_text=True)
    token = csrf_from(page)
    resp = client.post("/admin/exports/1099-nec", data={"csrf_token": token, "year": "2026"})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "536904399" not in text  # nobody over $2,000
    rows = list(csv.reader(io.StringIO(text)))
    payments = rows[rows.index(["payout_id", "partner_id", "partner", "paid_on", "method",
                                "amount", "us_payee", "in_box1", "why"]) + 1:]
    assert sorted((r[4], r[5], r[7]) for r in payments) == [
        ("bank_transfer", "1500.00", "True"), ("bank_transfer", "5000.00", "False"),
        ("paypal", "900.00", "False")]
    resp = client.post("/admin/exports/1099-nec", data={"csrf_token": token, "year": "2026",
                                                        "threshold": "1,000"})
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[1][4:] == [str(us_id), "Sam Payee", "ssn", "536904399",
                           "1 Main St, Springfield, IL 62701", "1500.00"]
    with app.app_context():
        assert threshold_cents(2026) == 100_000
        assert db.session.scalar(db.select(AuditLog).where(
            AuditLog.action == "tax.nec_export")) is not None
    login(client, us_email)
    pdf = client.get("/partner/tax-summary/2026")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = pdf_text(pdf.data)
    assert "box 1 (nonemployee compensation) $1,500.00" in " ".join(text.split())
    assert "PayPal on Form 1099-K) $900.00" in " ".join(text.split())


def test_worker_renders_the_partners_pdf_copy(app, client, run_worker):
    with app.app_context():
        email = make_partner("Sam Payee").user.email
    auth = api_token(client, email)
    assert client.put("/api/partner/tax-form", headers=auth, json=w9()).status_code == 200
    run_worker()
    status = client.get("/api/partner/tax-form", headers=auth).get_json()
    assert status["pdf_ready"] is True
    with app.app_context():
        from core.ops.storage import get_storage

        row = db.session.get(TaxForm, 1)
        assert get_storage().exists(row.file_path)  # in the file store, never under static
    login(client, email)
    resp = client.get("/partner/tax-form/1/download")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    text = " ".join(pdf_text(resp.data).split())
    assert "SSN ending 4399" in text and "536904399" not in text and "Sam Payee" in text
    with app.app_context():
        other = make_partner("Someone Else").user.email
    login(client, other)
    assert client.get("/partner/tax-form/1/download").status_code == 404
