"""Year-end 1099-NEC data for US payees (rules: "Year-end 1099-NEC").

Per calendar year (UTC): every payout paid in the year, with its method; box 1 of a US
payee (a verified W-9 on file) is what we paid them in the year outside PayPal, since
payments through a third-party settlement organisation are reported by that network on
Form 1099-K. Payees whose box 1 reaches the year's threshold are exported. The threshold
is kept per year (setting ``nec_threshold_cents_<year>``): $600 for payments up to 2025,
$2,000 for 2026, and for later years the indexed amount finance sets (until then $2,000).
"""

import csv
import io
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select

from core.base.audit import audit
from core.base.errors import ValidationError
from core.base.extensions import db
from core.base.models import Setting
from core.money.exports import _cell, _dollars
from core.money.models import Payout
from core.payments import crypto
from core.payments.models import TaxForm
from core.program.models import Partner

#: Methods whose payments are reported by the payment network on Form 1099-K.
TPSO_METHODS = ("paypal",)


def default_threshold_cents(year: int) -> int:
    """The IRS 1099-NEC reporting threshold in cents: 60000 up to 2025, 200000 from 2026
    (indexed for inflation from 2027: finance sets the year's amount)."""
    return 60_000 if year <= 2025 else 200_000


def _year(year) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValidationError("year: a calendar year from 2000 to 2100.")
    return year


def threshold_cents(year: int) -> int:
    """The year's threshold in cents (setting, else :func:`default_threshold_cents`)."""
    row = db.session.get(Setting, f"nec_threshold_cents_{_year(year)}")
    return int(row.value) if row else default_threshold_cents(year)


def set_threshold(year, cents, actor_id: int) -> int:
    """Finance sets a year's threshold (cents, 0..$100,000), audited. Raises
    ``ValidationError``."""
    year = _year(year)
    if isinstance(cents, bool) or not isinstance(cents, int) or not 0 <= cents <= 10_000_000:
        raise ValidationError("threshold: from $0 to $100,000, in cents.")
    key = f"nec_threshold_cents_{year}"
    before = threshold_cents(year)
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=str(cents)))
    else:
        row.value = str(cents)
    audit(actor_id, "setting.nec_threshold", "setting", None, {key: before}, {key: cents})
    return cents


def _w9(partner_id: int) -> TaxForm | None:
    """The partner's newest verified W-9, or ``None`` (not a US payee on file)."""
    return db.session.scalar(select(TaxForm).where(
        TaxForm.partner_id == partner_id, TaxForm.status == "verified", TaxForm.form == "w9")
        .order_by(TaxForm.id.desc()).limit(1))


def year_payments(year: int, partner_id: int | None = None) -> list[dict]:
    """Every payout paid in ``year`` (and kept paid), oldest first: ``{"payout_id",
    "partner_id", "partner", "paid_on" (date), "method", "amount_cents", "us_payee",
    "box1" (bool), "why"}``."""
    year = _year(year)
    start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    q = select(Payout).where(Payout.status == "paid", Payout.paid_at >= start,
                             Payout.paid_at < end).order_by(Payout.paid_at, Payout.id)
    if partner_id is not None:
        q = q.where(Payout.partner_id == partner_id)
    out, w9s = [], {}
    for p in db.session.scalars(q):
        if p.partner_id not in w9s:
            w9s[p.partner_id] = _w9(p.partner_id)
        us = w9s[p.partner_id] is not None
        tpso = p.gateway in TPSO_METHODS
        why = ("PayPal reports it on Form 1099-K" if tpso else
               "in box 1" if us else "no verified W-9: not a US payee on file")
        out.append({"payout_id": p.id, "partner_id": p.partner_id, "partner": p.partner.name,
                    "paid_on": p.paid_at.date(), "method": p.gateway,
                    "amount_cents": p.amount_cents, "us_payee": us,
                    "box1": us and not tpso, "why": why})
    return out


def nec_rows(year: int) -> list[dict]:
    """US payees whose box 1 for ``year`` reaches the threshold: ``{"partner_id",
    "payee_name", "payee_tin" (whole, decrypted), "tin_type", "payee_address",
    "box1_cents"}``, by partner id. For finance's export only."""
    totals: dict[int, int] = {}
    for row in year_payments(year):
        if row["box1"]:
            totals[row["partner_id"]] = totals.get(row["partner_id"], 0) + row["amount_cents"]
    limit = threshold_cents(year)
    out = []
    for pid in sorted(totals):
        if totals[pid] < limit:
            continue
        form = _w9(pid)
        from core.payments.tax import details

        out.append({"partner_id": pid, "payee_name": form.legal_name,
                    "payee_tin": crypto.decrypt(form.tin_enc), "tin_type": form.tin_kind,
                    "payee_address": details(form).get("address", ""),
                    "box1_cents": totals[pid]})
    return out


def nec_csv(year: int, actor_id: int) -> str:
    """The 1099-NEC CSV of ``year`` (payer and payee TIN, names, addresses, box 1), then
    every payment of the year with its method and why it is or is not in box 1. Audited
    ``tax.nec_export`` (year and count only)."""
    cfg = current_app.config
    rows = nec_rows(year)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["tax_year", "payer_name", "payer_tin", "payer_address", "partner_id",
                "payee_name", "payee_tin_type", "payee_tin", "payee_address",
                "box1_nonemployee_compensation"])
    for r in rows:
        w.writerow([year, _cell(cfg.get("PAYER_NAME") or ""), _cell(cfg.get("PAYER_TIN") or ""),
                    _cell(cfg.get("PAYER_ADDRESS") or ""), r["partner_id"],
                    _cell(r["payee_name"]), r["tin_type"], r["payee_tin"],
                    _cell(r["payee_address"]), _dollars(r["box1_cents"])])
    w.writerow([])
    w.writerow(["payments", f"threshold {_dollars(threshold_cents(year))}"])
    w.writerow(["payout_id", "partner_id", "partner", "paid_on", "method", "amount",
                "us_payee", "in_box1", "why"])
    for p in year_payments(year):
        w.writerow([p["payout_id"], p["partner_id"], _cell(p["partner"]), p["paid_on"],
                    p["method"], _dollars(p["amount_cents"]), p["us_payee"], p["box1"],
                    p["why"]])
    audit(actor_id, "tax.nec_export", "setting", None, None, {"year": year,
                                                              "payees": len(rows)})
    return out.getvalue()


def partner_summary(partner: Partner, year: int) -> dict:
    """A partner's year: ``{"year", "payments": [...year_payments rows], "box1_cents",
    "tpso_cents", "threshold_cents", "reportable": bool, "tin_last4"}``."""
    payments = year_payments(year, partner.id)
    box1 = sum(p["amount_cents"] for p in payments if p["box1"])
    form = _w9(partner.id)
    return {"year": year, "payments": payments, "box1_cents": box1,
            "tpso_cents": sum(p["amount_cents"] for p in payments
                              if p["method"] in TPSO_METHODS),
            "total_cents": sum(p["amount_cents"] for p in payments),
            "threshold_cents": threshold_cents(year),
            "reportable": form is not None and box1 >= threshold_cents(year),
            "tin_last4": form.tin_last4 if form else "", "partner_name": partner.name,
            "payer_name": current_app.config.get("PAYER_NAME") or "SISO Partners"}


def partner_summary_pdf(partner: Partner, year: int) -> bytes:
    """The partner's year as a one-page PDF (WeasyPrint; TIN as its last 4 digits)."""
    from core.base.pdf import render_limits, render_pdf
    from core.money.cents import format_cents
    from core.payments.tax import _pdf_environment

    env = _pdf_environment()
    env.filters["cents"] = format_cents
    html = env.get_template("pdf/tax_year.html").render(s=partner_summary(partner, year))
    with render_limits():
        return render_pdf(html)
