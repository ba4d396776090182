"""Public referral landing ``/r/<code>`` and the partner's referral link QR codes."""

import io

from flask import (
    abort,
    current_app,
    g,
    make_response,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from core.base.errors import DomainError, NotFound
from core.base.extensions import db
from core.program import referrals
from portal import bp
from portal.views import partner_page
from web.extensions import limiter

COOKIE = "siso_ref"


class LandingLeadForm(FlaskForm):
    """What a prospective client leaves on a partner's landing page. ``website`` is a
    honeypot: hidden from people (and screen readers), filled in by form-spam bots."""

    contact_name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    company_name = StringField("Business name", validators=[DataRequired(), Length(max=200)])
    contact_email = EmailField("E-mail", validators=[Optional(), Email(), Length(max=254)])
    contact_phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    notes = TextAreaField("What do you need? (optional)", validators=[Optional(), Length(max=2000)])
    website = StringField("Leave this field empty", validators=[Optional(), Length(max=200)])


def _lead_limit_per_ip() -> str:
    return current_app.config["LANDING_LEAD_LIMIT_PER_IP"]


def _lead_limit_per_partner() -> str:
    return current_app.config["LANDING_LEAD_LIMIT_PER_PARTNER"]


def _partner_key() -> str:
    return "landing-partner:" + (request.view_args or {}).get("code", "").upper()[:20]


def _click_from_cookie(partner) -> int | None:
    cookie = request.cookies.get(COOKIE, "")
    parts = cookie.split(":")
    if len(parts) == 2 and parts[0] == partner.referral_code and parts[1].isdigit() \
            and len(parts[1]) < 12:
        return int(parts[1])
    return None


@bp.route("/r/<code>", methods=["GET", "POST"])
@limiter.limit(_lead_limit_per_ip, scope="landing-lead-ip", methods=["POST"])
@limiter.limit(_lead_limit_per_partner, key_func=_partner_key, scope="landing-lead-partner",
               methods=["POST"])
def referral_landing(code: str):
    """Count the click (bots, preview fetchers and a visitor's repeats within 30 minutes
    are not clicks; ``core.program.referrals.record_click``), set a 60-day attribution cookie,
    offer a lead form. Leads are throttled per client address and per partner
    (``LANDING_LEAD_LIMIT_PER_IP``/``_PER_PARTNER``); a filled honeypot is answered as a
    success and stores nothing. Unknown codes get a 404."""
    try:
        partner = referrals.partner_for_code(code)
    except NotFound:
        abort(404)
    form = LandingLeadForm()
    click_id = _click_from_cookie(partner)
    if request.method == "GET" and click_id is None:
        click = referrals.record_click(partner, request.remote_addr, request.referrer,
                                       request.user_agent.string)
        click_id = click.id if click is not None else None
        db.session.commit()
    sent = False
    if form.validate_on_submit():
        if form.website.data:  # a bot filled the honeypot: it learns nothing
            sent = True
        else:
            try:
                referrals.attributed_lead(click_id, code, {k: getattr(form, k).data or ""
                                                           for k in LEAD_FIELDS})
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


#: The landing form's fields that make the lead.
LEAD_FIELDS = ("contact_name", "company_name", "contact_email", "contact_phone", "notes")


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
