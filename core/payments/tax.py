"""Tax forms and the tax gate (rules: "Tax forms", "Tax gate").

A partner submits a W-9 (US persons), a W-8BEN (non-US individuals) or a W-8BEN-E
summary (non-US entities). Every submission is a new ``tax_forms`` row, ``submitted``
until staff (finance) mark it ``verified`` or ``rejected`` with a reason. The TIN is
checked (python-stdnum), encrypted (``core.payments.crypto``) and shown as its last 4
digits; finance may reveal one with a reason, audited. A W-8 expires at the end of the
third calendar year after signing; the partner is reminded 60 days before.

The gate (:func:`require_tax_form`): with ``TAX_FORM_REQUIRED`` on, no payout is
requested or approved for a partner without a verified, unexpired form (409
``tax_form_missing`` / ``tax_form_expired``).
"""

import json
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select

from core.accounts.models import User
from core.base.audit import audit
from core.base.errors import Conflict, Forbidden, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.jobs import QUEUE_DEFAULT, QUEUE_PDF, job
from core.base.timeutil import now_utc
from core.payments import crypto, validate
from core.payments.models import FORMS, TaxForm
from core.program.models import Partner

#: W-9 federal tax classifications (line 3a).
W9_CLASSIFICATIONS = ("individual", "c_corporation", "s_corporation", "partnership",
                      "trust_estate", "llc_c", "llc_s", "llc_p", "other")
FORM_LABELS = {"w9": "W-9", "w8ben": "W-8BEN", "w8bene": "W-8BEN-E"}
#: Days before a W-8 expires that the partner is reminded.
REMIND_DAYS = 60


class TaxFormMissing(Conflict):
    """No verified, unexpired tax form (409 ``tax_form_missing`` or ``tax_form_expired``)."""


def tax_form_required() -> bool:
    """The ``TAX_FORM_REQUIRED`` setting (default on)."""
    return bool(current_app.config.get("TAX_FORM_REQUIRED", True))


def w8_expiry(signed_on: date) -> date:
    """The last day a W-8 signed on ``signed_on`` is valid: 31 December of the third
    calendar year after the year of signing."""
    return date(signed_on.year + 3, 12, 31)


def _certified(data: dict) -> None:
    if data.get("certification") is not True:
        raise ValidationError("certification: tick the certification (true) to sign the form.")


def submit_tax_form(partner: Partner, data: dict, actor_id: int) -> TaxForm:
    """Store a new tax form for ``partner`` (status ``submitted``), not committed.

    Args: ``data`` with ``form`` (``w9`` | ``w8ben`` | ``w8bene``), and per form:
    W-9 ``legal_name``, ``business_name`` (optional), ``tax_classification``
    (:data:`W9_CLASSIFICATIONS`), ``address``, ``tin_type`` (ssn | ein | itin), ``tin``;
    W-8BEN ``legal_name``, ``country`` (citizenship, not US), ``address`` (permanent),
    ``foreign_tin``, ``date_of_birth``, ``treaty_country`` and ``treaty_article``
    (optional claim); W-8BEN-E ``legal_name`` (organisation), ``country``
    (incorporation), ``entity_type``, ``address``, ``foreign_tin``, optional treaty
    claim; all: ``certification`` true, ``signature_name`` (typed signature),
    ``signed_on`` (``YYYY-MM-DD``, not in the future). Returns the row. Raises
    ``ValidationError`` (422 naming the field, nothing stored). Audited
    ``tax_form.submit`` (form and id; never the number).
    """
    form = data.get("form")
    if form not in FORMS:
        raise ValidationError("form: choose w9, w8ben or w8bene.")
    legal_name = validate.text(data, "legal_name", 200)
    address = validate.text(data, "address", 500)
    details: dict = {"address": address}
    if form == "w9":
        details["business_name"] = validate.text(data, "business_name", 200, required=False)
        classification = data.get("tax_classification")
        if classification not in W9_CLASSIFICATIONS:
            raise ValidationError("tax_classification: choose one of "
                                  + ", ".join(W9_CLASSIFICATIONS) + ".")
        details["tax_classification"] = classification
        tin_kind = data.get("tin_type")
        tin = validate.us_tin(data.get("tin"), tin_kind)
        country = "US"
    else:
        country = validate.country(data, "country")
        if country == "US":
            raise ValidationError("country: US persons submit a W-9, not a W-8.")
        tin_kind = "foreign"
        tin = validate.foreign_tin(data.get("foreign_tin"))
        if form == "w8ben":
            birth = validate.past_date(data, "date_of_birth")
            details["date_of_birth"] = birth.isoformat()
        else:
            details["entity_type"] = validate.text(data, "entity_type", 100)
        treaty = validate.text(data, "treaty_country", 2, required=False)
        if treaty:
            details["treaty_country"] = validate.country(data, "treaty_country")
            details["treaty_article"] = validate.text(data, "treaty_article", 200,
                                                      required=False)
    _certified(data)
    signature = validate.text(data, "signature_name", 200)
    signed_on = validate.past_date(data, "signed_on")
    expires_on = None if form == "w9" else w8_expiry(signed_on)
    if expires_on is not None and expires_on < now_utc().date():
        raise ValidationError(f"signed_on: a W-8 signed then expired on {expires_on}; "
                              "sign a new one today.")
    row = TaxForm(partner_id=partner.id, form=form, status="submitted",
                  legal_name=legal_name, country=country, tin_kind=tin_kind,
                  tin_enc=crypto.encrypt(tin), tin_last4=crypto.last4(tin),
                  details_json=json.dumps(details), signature_name=signature,
                  signed_on=signed_on, expires_on=expires_on)
    db.session.add(row)
    db.session.flush()
    audit(actor_id, "tax_form.submit", "tax_form", row.id, None,
          {"partner_id": partner.id, "form": form, "status": "submitted"})
    render_tax_form.after_commit(row.id, job_id=f"tax-form-{row.id}")
    return row


@job(queue=QUEUE_PDF, timeout=180, retries=2)
def render_tax_form(form_id: int) -> str:
    """Render the partner's copy of a submitted form as a PDF into the file store under
    ``tax_forms/<partner>/`` and store its key.
    The copy shows the TIN's last 4 digits only. Idempotent. Returns the relative path."""
    from core.base.pdf import render_limits, render_pdf
    from core.ops.storage import get_storage

    row = db.session.get(TaxForm, form_id)
    if row is None:
        return ""
    rel = f"tax_forms/{row.partner_id}/tax-form-{row.id}.pdf"
    store = get_storage()
    if row.file_path == rel and store.exists(rel):
        return rel
    html = _pdf_environment().get_template("pdf/tax_form.html").render(
        row=row, label=FORM_LABELS[row.form], details=details(row),
        partner_name=row.partner.name)
    with render_limits():
        pdf = render_pdf(html)
    store.put_bytes(rel, pdf)
    row.file_path = rel
    db.session.commit()
    return rel


def _pdf_environment():
    import jinja2

    from core.base.pdf import TEMPLATES_DIR

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
                              autoescape=True, undefined=jinja2.StrictUndefined)


def form_for_download(user: User, form_id) -> TaxForm:
    """The form whose PDF ``user`` may download: the partner's own, or any for finance.
    Raises ``NotFound`` (someone else's, unknown, or not rendered yet)."""
    row = get_row(TaxForm, form_id)
    if row is None or not row.file_path or not (
            user.has_role("finance") if user.is_staff else
            (user.partner is not None and row.partner_id == user.partner.id)):
        raise NotFound("No such tax form.")
    return row


def latest_form(partner_id: int) -> TaxForm | None:
    """The partner's newest tax form, whatever its status, or ``None``."""
    return db.session.scalar(select(TaxForm).where(TaxForm.partner_id == partner_id)
                             .order_by(TaxForm.id.desc()).limit(1))


def valid_form(partner_id: int, today: date | None = None) -> TaxForm | None:
    """The newest verified form that has not expired on ``today`` (UTC), or ``None``."""
    today = today or now_utc().date()
    for row in db.session.scalars(select(TaxForm).where(
            TaxForm.partner_id == partner_id, TaxForm.status == "verified")
            .order_by(TaxForm.id.desc())):
        if row.expires_on is None or row.expires_on >= today:
            return row
    return None


def tax_status(partner_id: int) -> dict:
    """What the partner sees: ``{"status": "missing"|"submitted"|"verified"|"rejected"|
    "expired", "form", "tin_last4", "signed_on", "expires_on", "reject_reason",
    "payouts_allowed": bool}`` (dates as ``date`` or ``None``). ``status`` is the newest
    form's (``expired`` when it was verified and has expired)."""
    row = latest_form(partner_id)
    valid = valid_form(partner_id)
    if row is None:
        status = "missing"
    elif row.status == "verified" and valid is None:
        status = "expired"
    else:
        status = row.status
    return {"status": status, "form": row.form if row else None,
            "id": row.id if row else None, "pdf_ready": bool(row and row.file_path),
            "tin_last4": row.tin_last4 if row else "",
            "signed_on": row.signed_on if row else None,
            "expires_on": row.expires_on if row else None,
            "reject_reason": row.reject_reason if row else "",
            "verified": valid is not None,
            "payouts_allowed": valid is not None or not tax_form_required()}


def require_tax_form(partner: Partner) -> None:
    """The tax gate. Raises ``TaxFormMissing`` (409 ``tax_form_expired`` when the only
    verified forms have expired, else ``tax_form_missing``) when ``TAX_FORM_REQUIRED``
    is on and the partner has no verified, unexpired form; returns ``None`` otherwise."""
    if not tax_form_required() or valid_form(partner.id) is not None:
        return
    expired = db.session.scalar(select(TaxForm.id).where(
        TaxForm.partner_id == partner.id, TaxForm.status == "verified").limit(1))
    if expired is not None:
        raise TaxFormMissing("The partner's tax form has expired: a new W-8 must be "
                             "submitted and verified before payouts.",
                             code="tax_form_expired")
    raise TaxFormMissing("A verified tax form (W-9 or W-8BEN) is needed before payouts: "
                         "submit it on the tax form page; finance verifies it.",
                         code="tax_form_missing")


def _staff_form(form_id, actor: User) -> TaxForm:
    if not actor.has_role("finance"):
        raise Forbidden("Only finance reviews tax forms.")
    row = get_row(TaxForm, form_id)
    if row is None:
        raise NotFound("No such tax form.")
    return row


def review_tax_form(form_id, actor: User, verified: bool, reason: str = "") -> TaxForm:
    """Finance marks a submitted form ``verified``, or ``rejected`` with ``reason`` (1..500
    characters, shown to the partner). Not committed. Raises ``Forbidden`` (not finance),
    ``NotFound``, ``Conflict`` (already reviewed), ``ValidationError`` (rejection
    without a reason). Audited ``tax_form.verify`` / ``tax_form.reject``; the partner is
    notified."""
    from core.community.notifications import notify

    row = _staff_form(form_id, actor)
    if row.status != "submitted":
        raise Conflict(f"This tax form is already {row.status}.")
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not verified and not 1 <= len(reason) <= 500:
        raise ValidationError("reason: say why the form is rejected (up to 500 characters).")
    row.status = "verified" if verified else "rejected"
    row.reject_reason = "" if verified else reason
    row.reviewed_by_id = actor.id
    row.reviewed_at = now_utc()
    audit(actor.id, f"tax_form.{'verify' if verified else 'reject'}", "tax_form", row.id,
          {"status": "submitted"}, {"status": row.status, "reason": row.reject_reason})
    label = FORM_LABELS[row.form]
    notify(row.partner.user_id, "payout",
           f"Tax form {label} {'verified' if verified else 'rejected'}",
           "Payouts can be sent to you." if verified else
           f"{reason} Please submit the form again.", "/partner/tax-form")
    return row


def reveal_tin(form_id, actor: User, reason) -> str:
    """Finance reads one whole TIN, giving a reason (1..500 characters); audited
    ``tax_form.reveal`` with the reason, never the number. Returns the TIN (text).
    Raises ``Forbidden``, ``NotFound``, ``ValidationError`` (no reason)."""
    row = _staff_form(form_id, actor)
    reason = reason.strip() if isinstance(reason, str) else ""
    if not 1 <= len(reason) <= 500:
        raise ValidationError("reason: say why you need the whole number (up to 500 "
                              "characters).")
    audit(actor.id, "tax_form.reveal", "tax_form", row.id, None, {"reason": reason})
    return crypto.decrypt(row.tin_enc)


def details(row: TaxForm) -> dict:
    """The form's other answers (address, classification, birth date, treaty claim)."""
    return json.loads(row.details_json or "{}")


@job(queue=QUEUE_DEFAULT, every=3600)
def remind_expiring_tax_forms(today: date | None = None) -> int:
    """Remind partners whose verified W-8 expires within :data:`REMIND_DAYS` days and
    who have no newer verified form; once per form (``reminded_at``). Returns how many
    were reminded."""
    from core.community.notifications import notify

    today = today or now_utc().date()
    done = 0
    rows = db.session.scalars(select(TaxForm).where(
        TaxForm.status == "verified", TaxForm.expires_on.is_not(None),
        TaxForm.reminded_at.is_(None), TaxForm.expires_on >= today,
        TaxForm.expires_on <= today + timedelta(days=REMIND_DAYS))).all()
    for row in rows:
        newer = valid_form(row.partner_id, today)
        if newer is not None and newer.id != row.id:
            continue
        row.reminded_at = now_utc()
        notify(row.partner.user_id, "payout", "Your tax form expires soon",
               f"Your {FORM_LABELS[row.form]} expires on {row.expires_on:%d %b %Y}. Submit "
               "a new one so your payouts are not held.", "/partner/tax-form")
        audit(None, "tax_form.reminded", "tax_form", row.id, None,
              {"expires_on": row.expires_on.isoformat()})
        done += 1
    db.session.commit()
    return done
