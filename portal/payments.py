"""The partner's payout method (on the earnings page) and tax form pages."""


from flask import (
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from core.base.errors import DomainError
from core.base.extensions import db
from core.payments.methods import describe, set_payout_method
from core.payments.tax import (
    W9_CLASSIFICATIONS,
    form_for_download,
    submit_tax_form,
    tax_status,
)
from portal import bp
from portal.forms import EmptyForm
from portal.views import partner_page

#: Fields of the payout-method form passed to core (numbers are checked there).
METHOD_FIELDS = ("method", "paypal", "account_holder", "iban", "routing_number",
                 "account_number")
#: Fields of the tax form passed to core.
TAX_FIELDS = ("form", "legal_name", "business_name", "tax_classification", "address",
              "tin_type", "tin", "country", "foreign_tin", "date_of_birth", "entity_type",
              "treaty_country", "treaty_article", "signature_name", "signed_on")


@bp.post("/partner/payout-method/choose")
@partner_page()
def choose_payout_method():
    """Choose Stripe, PayPal or bank transfer (the earnings page's form)."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    data = {k: request.form.get(k) or None for k in METHOD_FIELDS}
    try:
        set_payout_method(g.partner, data, g.partner.user_id)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("portal.earnings") + "#payout-method"), 303
    flash(f"Payout method saved: {describe(g.partner)['label']}. A payout already on its "
          "way keeps the method it started with.", "success")
    return redirect(url_for("portal.earnings") + "#payout-method"), 303


@bp.route("/partner/tax-form", methods=["GET", "POST"])
@partner_page(active=False)
def tax_form():
    """The tax form: its status, and a W-9 / W-8BEN / W-8BEN-E to submit."""
    form = EmptyForm()
    status = 200
    values = {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        values = {k: (request.form.get(k) or "").strip() for k in TAX_FIELDS}
        data = {k: v or None for k, v in values.items()}
        data["certification"] = request.form.get("certification") == "yes"
        try:
            submit_tax_form(g.partner, data, g.partner.user_id)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            status = 422
        else:
            flash("Tax form submitted. Finance verifies it, usually within two business "
                  "days.", "success")
            return redirect(url_for("portal.tax_form")), 303
    values.pop("tin", None)  # never written back into the page
    values.pop("foreign_tin", None)
    from core.base.timeutil import now_utc

    this_year = now_utc().year
    return render_template("portal/tax_form.html", form=form, tax=tax_status(g.partner.id),
                           values=values, classifications=W9_CLASSIFICATIONS,
                           years=(this_year - 1, this_year)), status


@bp.get("/partner/tax-form/<int:form_id>/download")
@login_required
def tax_form_download(form_id: int):
    """The PDF copy of a tax form: the partner's own, or any for finance."""
    from web.downloads import send_stored

    row = form_for_download(current_user, form_id)
    return send_stored(row.file_path, mimetype="application/pdf",
                       download_name=f"siso-tax-form-{row.id}.pdf",
                       headers={"Cache-Control": "private, no-store"})


@bp.get("/partner/tax-summary/<int:year>")
@partner_page(active=False)
def tax_summary(year: int):
    """The partner's payments of a calendar year as a PDF (box 1, PayPal, threshold)."""
    from flask import Response

    from core.payments.yearend import partner_summary_pdf

    if not 2000 <= year <= 2100:
        abort(404)
    pdf = partner_summary_pdf(g.partner, year)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="siso-payments-{year}.pdf"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})
