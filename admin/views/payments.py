"""Back office of payout methods and tax forms: finance reviews tax forms (verify or
reject with a reason), reveals one TIN with a reason, and downloads the bank file of
bank-transfer payouts to pay."""

import csv
import io

from flask import Response, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from admin.views.base import StaffModelView, needs_reauth, refuse, run_domain, staff_with
from core.base.audit import audit
from core.base.errors import NotFound
from core.base.extensions import db, get_row
from core.money.cents import format_cents
from core.money.models import Payout
from core.payments import tax
from core.payments.methods import bank_details
from core.payments.models import TaxForm
from core.program.models import Partner


class ReviewForm(FlaskForm):
    """Verify, or reject with a reason; reveal the TIN with a reason."""

    reason = TextAreaField("Reason", validators=[Length(max=500)])
    decision = StringField()


class TaxFormView(StaffModelView):
    """Tax forms: newest first; review each (finance)."""

    roles = ("finance",)
    list_options = (joinedload(TaxForm.partner).joinedload(Partner.user),)
    column_list = ("id", "partner", "form", "status", "legal_name", "country", "tin_last4",
                   "signed_on", "expires_on", "created_at", "review")
    column_labels = {"tin_last4": "TIN (last 4)", "review": ""}
    column_filters = ("status", "form")
    column_default_sort = ("id", True)
    column_details_exclude_list = (*StaffModelView.column_details_exclude_list, "tin_enc")
    column_exclude_list = (*StaffModelView.column_exclude_list, "tin_enc")
    column_searchable_list = ()
    can_export = False

    def _review_link(view, context, model, name):
        return Markup('<a class="btn btn-sm btn-outline-primary" href="{}">Review</a>').format(
            url_for("tax_forms.review", form_id=model.id))

    column_formatters = {"review": _review_link}

    @expose("/review/<int:form_id>", methods=["GET", "POST"])
    def review(self, form_id: int):
        """One form's answers (TIN masked): verify, reject with a reason, or reveal the TIN
        with a reason (password again after 15 minutes)."""
        if not staff_with("finance"):
            return refuse()
        row = get_row(TaxForm, form_id)
        if row is None:
            raise NotFound("No such tax form.")
        form = ReviewForm()
        revealed = None
        status = 200
        if request.method == "POST":
            if (r := needs_reauth()) is not None:
                return r
            decision = request.form.get("decision")
            if not form.validate_on_submit() or decision not in ("verify", "reject", "reveal"):
                flash("Choose verify, reject (with a reason) or reveal (with a reason).",
                      "error")
                status = 422
            elif decision == "reveal":
                revealed = run_domain(lambda: tax.reveal_tin(
                    row.id, current_user._get_current_object(), form.reason.data))
                status = 200 if revealed is not None else 422
            else:
                done = run_domain(lambda: tax.review_tax_form(
                    row.id, current_user._get_current_object(), decision == "verify",
                    form.reason.data or ""), f"Tax form #{row.id} {decision}ed.".replace(
                        "verifyed", "verified"))
                if done is not None:
                    return redirect(url_for(".index_view"))
                status = 422
        return self.render("admin/tax_form_review.html", row=row, form=form,
                           details=tax.details(row), revealed=revealed,
                           labels=tax.FORM_LABELS), status


def bank_file_response(actor_id: int) -> Response:
    """The CSV finance sends to the bank: every approved or processing bank-transfer
    payout with the partner's bank details (decrypted); audited ``payout.bank_file``
    (payout ids only)."""
    rows = db.session.scalars(select(Payout).where(
        Payout.gateway == "bank_transfer", Payout.status.in_(("approved", "processing")))
        .order_by(Payout.id)).all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["payout_id", "partner", "amount", "currency", "account_holder", "iban",
                     "routing_number", "account_number", "payment_reference"])
    for p in rows:
        bank = bank_details(p.partner_id)
        writer.writerow([p.id, p.partner.name, format_cents(p.amount_cents).lstrip("$"),
                         p.currency, bank.get("holder", ""), bank.get("iban", ""),
                         bank.get("routing_number", ""), bank.get("account_number", ""),
                         f"SISO payout {p.id}"])
    audit(actor_id, "payout.bank_file", "payout", None, None,
          {"payout_ids": [p.id for p in rows]})
    db.session.commit()
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=bank-transfers.csv",
        "Cache-Control": "no-store"})
