"""Portal pages for co-branded materials and branding (rules: "Materials"). Thin: parse, call core."""


from flask import (
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from core.base.errors import NotFound
from core.content import branding
from core.content import materials as material_rules
from portal import bp
from portal.forms import EmptyForm
from portal.views import _commit_or_flash, partner_page
from web.downloads import send_stored


class BrandingForm(FlaskForm):
    """What goes on a partner's co-branded materials."""

    display_name = StringField("Display name", validators=[DataRequired(), Length(max=80)])
    contact_line = StringField("Contact line (phone, e-mail, website)",
                               validators=[Length(max=160)])
    brand_color = StringField("Brand colour (hex, e.g. #0f766e)",
                              validators=[DataRequired(), Length(max=7)])
    logo = FileField("Logo (PNG or JPEG, up to 5 MB and 4,000 × 4,000 px)")
    remove_logo = BooleanField("Remove my logo")


def _referral_url() -> str:
    """The partner's client link (``/r/<code>``: attribution cookie and lead form), which
    the QR code on materials handed to clients opens."""
    return url_for("portal.referral_landing", code=g.partner.referral_code, _external=True)


def _render_json(row) -> dict:
    return {"id": row.id, "status": row.status, "error": row.error,
            "template": row.title, "pages": row.pages,
            "download_url": url_for("portal.material_download", render_id=row.id)
            if row.status == "ready" else None}


@bp.get("/partner/materials")
@partner_page()
def materials():
    """Marketing materials: templates for the partner's tier, their renders, branding."""
    return render_template("portal/materials.html",
                           templates=material_rules.templates_for(g.partner),
                           renders=material_rules.partner_renders(g.partner.id),
                           brand=material_rules.branding_values(g.partner),
                           has_branding=branding.get_branding(g.partner.id) is not None,
                           form=EmptyForm())


@bp.post("/partner/materials/<int:template_id>/request")
@partner_page()
def material_request(template_id: int):
    """Ask for a template rendered with the partner's branding (stored copy if unchanged)."""
    form = EmptyForm()
    if form.validate_on_submit():
        result = _commit_or_flash(lambda: material_rules.request_material(
            g.partner, current_user.id, template_id, _referral_url()))
        if result is not None:
            row, queued = result
            flash("Your PDF is being made; we will tell you when it is ready." if queued else
                  ("Your PDF is ready (nothing changed since the last one)."
                   if row.status == "ready" else "Your PDF is already being made."),
                  "success")
    return redirect(url_for("portal.materials")), 303


@bp.get("/partner/materials/renders/<int:render_id>")
@login_required
def material_status(render_id: int):
    """JSON status of one of the partner's renders (the materials page polls it)."""
    return jsonify(_render_json(material_rules.get_render_for(current_user, render_id)))


@bp.get("/partner/materials/renders/<int:render_id>/download")
@login_required
def material_download(render_id: int):
    """Download a rendered material: only the partner it was made for (404 otherwise)."""
    row = material_rules.get_render_for(current_user, render_id)
    if row.status != "ready" or not row.file_path:
        raise NotFound("No such material.")
    return send_stored(row.file_path, mimetype="application/pdf",
                       download_name=f"{row.file_stem}.pdf")


@bp.route("/partner/branding", methods=["GET", "POST"])
@partner_page()
def branding_page():
    """Set the display name, contact line, brand colour and logo used on materials."""
    current = material_rules.branding_values(g.partner)
    form = BrandingForm(data={k: current[k] for k in ("display_name", "contact_line",
                                                      "brand_color")})
    if form.validate_on_submit():
        upload = form.logo.data
        data = upload.read(branding.LOGO_MAX_BYTES + 1) if upload else None
        saved = _commit_or_flash(lambda: branding.save_branding(
            g.partner, form.display_name.data,
            form.contact_line.data, form.brand_color.data, data or None,
            form.remove_logo.data), "Branding saved. New materials will use it.")
        if saved is not None:
            return redirect(url_for("portal.materials")), 303
    row = branding.get_branding(g.partner.id)
    status = 422 if request.method == "POST" else 200
    return render_template("portal/branding.html", form=form, branding=row), status
