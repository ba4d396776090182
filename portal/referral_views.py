"""Public referral landing ``/r/<code>`` and the partner's referral link QR codes."""

import io

from flask import abort, g, make_response, render_template, request, send_file, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from core import referrals
from core.errors import DomainError, NotFound
from core.extensions import db
from portal import bp
from portal.views import partner_page

COOKIE = "siso_ref"


class LandingLeadForm(FlaskForm):
    """What a prospective client leaves on a partner's landing page."""

    contact_name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    company_name = StringField("Business name", validators=[DataRequired(), Length(max=200)])
    contact_email = EmailField("E-mail", validators=[Optional(), Email(), Length(max=254)])
    contact_phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    notes = TextAreaField("What do you need? (optional)", validators=[Optional(), Length(max=2000)])


@bp.route("/r/<code>", methods=["GET", "POST"])
def referral_landing(code: str):
    """Record the visit (IP hashed), set a 60-day attribution cookie, offer a lead form.
    Unknown codes get a plain 404."""
    try:
        partner = referrals.partner_for_code(code)
    except NotFound:
        abort(404)
    form = LandingLeadForm()
    cookie = request.cookies.get(COOKIE, "")
    click_id = None
    if cookie.startswith(partner.referral_code + ":") and cookie.split(":")[1].isdigit():
        click_id = int(cookie.split(":")[1])
    if request.method == "GET" and click_id is None:
        click_id = referrals.record_click(partner, request.remote_addr, request.referrer).id
        db.session.commit()
    sent = False
    if form.validate_on_submit():
        try:
            referrals.attributed_lead(click_id, code, {k: getattr(form, k).data or "" for k in (
                "contact_name", "company_name", "contact_email", "contact_phone", "notes")})
            db.session.commit()
            sent = True
        except DomainError as exc:
            db.session.rollback()
            form.contact_email.errors = [exc.message]
    resp = make_response(render_template("portal/landing.html", partner=partner, form=form,
                                         sent=sent),
                         422 if request.method == "POST" and not sent else 200)
    if click_id is not None:
        resp.set_cookie(COOKIE, f"{partner.referral_code}:{click_id}",
                        max_age=referrals.ATTRIBUTION_DAYS * 86400, httponly=True,
                        samesite="Lax", secure=request.is_secure)
    return resp


@bp.get("/partner/referral/qr.<fmt>")
@partner_page()
def referral_qr(fmt: str):
    """The partner's client referral link as a QR code, PNG or SVG, for print and slides."""
    import qrcode
    import qrcode.image.svg

    if fmt not in ("png", "svg"):
        abort(404)
    url = url_for("portal.referral_landing", code=g.partner.referral_code, _external=True)
    buf = io.BytesIO()
    if fmt == "svg":
        qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10).save(buf)
        mimetype = "image/svg+xml"
    else:
        qrcode.make(url, box_size=10, border=2).save(buf)
        mimetype = "image/png"
    buf.seek(0)
    return send_file(buf, mimetype=mimetype, as_attachment=request.args.get("download") == "1",
                     download_name=f"siso-referral-{g.partner.referral_code}.{fmt}",
                     max_age=3600)
