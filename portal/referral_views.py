"""Public referral landing ``/r/<code>`` and the partner's referral link QR codes."""

import io

from flask import (
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from core.base.errors import DomainError, NotFound
from core.base.extensions import db
from core.program import links, referrals
from portal import bp
from portal.forms import EmptyForm
from portal.views import partner_page
from web.extensions import csrf, limiter

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
    are not clicks; ``core.program.referrals.record_click``), set the attribution cookie
    (``core.program.links.attribution_days``; first or last click), offer a lead form.
    Leads are throttled per client address and per partner
    (``LANDING_LEAD_LIMIT_PER_IP``/``_PER_PARTNER``); a filled honeypot is answered as a
    success and stores nothing. Unknown codes get a 404."""
    try:
        partner = referrals.partner_for_code(code)
    except NotFound:
        abort(404)
    return _landing(partner, None)


@bp.route("/r/<code>/<slug>", methods=["GET", "POST"])
@limiter.limit(_lead_limit_per_ip, scope="landing-lead-ip", methods=["POST"])
@limiter.limit(_lead_limit_per_partner, key_func=_partner_key, scope="landing-lead-partner",
               methods=["POST"])
def campaign_landing(code: str, slug: str):
    """A campaign link (rules: "Links and attribution"): counted like the default link;
    shows its published landing page with the partner's branding, or redirects to its
    SISO address with the UTM values and sub-id. Unknown or archived: 404."""
    try:
        partner = referrals.partner_for_code(code)
        link = links.link_for(partner, slug)
    except NotFound:
        abort(404)
    return _landing(partner, link)


@bp.route("/r/<code>/brand/<sha>.png")
def partner_logo(code: str, sha: str):
    """The partner's logo on their landing pages (rules: "Links and attribution"): the
    stored PNG named by the first 12 hex digits of its SHA-256, cached for a year (a new
    logo gets a new address). Unknown code, no logo or an old fingerprint: 404."""
    from core.content.branding import get_branding
    from core.ops.storage import get_storage

    try:
        partner = referrals.partner_for_code(code)
    except NotFound:
        abort(404)
    row = get_branding(partner.id)
    if row is None or not row.logo_path or len(sha) != 12 or row.logo_sha256[:12] != sha:
        abort(404)
    resp = make_response(get_storage().read_bytes(row.logo_path))
    resp.mimetype = "image/png"
    resp.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _landing(partner, link):
    form = LandingLeadForm()
    click_id = _click_from_cookie(partner)
    if request.method == "GET" and click_id is None:
        click = referrals.record_click(partner, request.remote_addr, request.referrer,
                                       request.user_agent.string, link=link)
        click_id = click.id if click is not None else None
        db.session.commit()
    if link is not None and link.target_url:
        resp = redirect(links.target_with_utm(link), 302)
        _set_cookie(resp, partner, click_id)
        return resp
    sent = False
    if form.validate_on_submit():
        if form.website.data:  # a bot filled the honeypot: it learns nothing
            sent = True
        else:
            try:
                referrals.attributed_lead(click_id, partner.referral_code,
                                          {k: getattr(form, k).data or "" for k in LEAD_FIELDS},
                                          link=link)
                db.session.commit()
                sent = True
            except DomainError as exc:
                db.session.rollback()
                form.contact_email.errors = [exc.message]
    page = link.landing_page if link is not None else None
    if page is not None and page.status != "published":
        page = None
    from core.content.branding import brand_palette, get_branding
    from core.content.landing import render_body

    branding = get_branding(partner.id)
    resp = make_response(render_template(
        "portal/landing.html", partner=partner, form=form, sent=sent, page=page,
        body=Markup(render_body(page.body)) if page else "",  # noqa: S704 (nh3-cleaned)
        branding=branding, palette=brand_palette(branding.brand_color) if branding else None,
        logo_url=url_for("portal.partner_logo", code=partner.referral_code,
                         sha=branding.logo_sha256[:12])
        if branding and branding.logo_path else None),
        422 if request.method == "POST" and not sent else 200)
    _set_cookie(resp, partner, click_id)
    return resp


def _set_cookie(resp, partner, click_id) -> None:
    """The attribution cookie ``siso_ref=<code>:<click id>`` for the attribution window;
    under first-click attribution another partner's cookie is kept (rules: "Links and
    attribution")."""
    if click_id is None:
        return
    held = request.cookies.get(COOKIE, "")
    if held and not held.startswith(partner.referral_code + ":") \
            and links.attribution_model() == "first":
        return
    resp.set_cookie(COOKIE, f"{partner.referral_code}:{click_id}",
                    max_age=links.attribution_days() * 86400, httponly=True,
                    samesite="Lax", secure=request.is_secure)


#: The landing form's fields that make the lead.
LEAD_FIELDS = ("contact_name", "company_name", "contact_email", "contact_phone", "notes")


@bp.get("/partner/referral/qr.<fmt>")
@partner_page()
def referral_qr(fmt: str):
    """The partner's client referral link as a QR code, PNG or SVG, for print and slides."""
    url = url_for("portal.referral_landing", code=g.partner.referral_code, _external=True)
    return _qr(url, fmt, f"siso-referral-{g.partner.referral_code}")


class LinkForm(FlaskForm):
    """A new campaign link (checked again in ``core.program.links.create_link``)."""

    name = StringField("Name", validators=[DataRequired(), Length(max=80)])
    slug = StringField("Short path (a-z, 0-9, -)", validators=[DataRequired(), Length(max=40)])
    landing_page_id = SelectField("Landing page", coerce=str, validators=[Optional()])
    target_url = StringField("Or a SISO address (https://…)", validators=[Optional(),
                                                                          Length(max=500)])
    utm_source = StringField("UTM source", validators=[Optional(), Length(max=100)])
    utm_medium = StringField("UTM medium", validators=[Optional(), Length(max=100)])
    utm_campaign = StringField("UTM campaign", validators=[Optional(), Length(max=100)])
    sub_id = StringField("Sub-id", validators=[Optional(), Length(max=100)])


@bp.route("/partner/links", methods=["GET", "POST"])
@partner_page()
def links_page():
    """The partner's links: the default link and campaign links, each with copy, share
    and QR; a form to create one; archived links listed apart (rules: "Links and
    attribution")."""
    from core.content.landing import published_pages

    form = LinkForm()
    form.landing_page_id.choices = [("", "Default landing page")] + [
        (str(p.id), p.title) for p in published_pages()]
    status = 200
    if form.validate_on_submit():
        data = {k: getattr(form, k).data for k in ("name", "slug", "target_url", "utm_source",
                                                   "utm_medium", "utm_campaign", "sub_id")}
        page_id = form.landing_page_id.data
        data["landing_page_id"] = int(page_id) if page_id and page_id.isdigit() else None
        try:
            links.create_link(g.partner, data, current_user.id)
            db.session.commit()
            flash("Link created.", "success")
            return redirect(url_for("portal.links_page"))
        except DomainError as exc:
            db.session.rollback()
            form.slug.errors = [exc.message]
            status = exc.status
    elif request.method == "POST":
        status = 422
    return render_template("portal/links.html", form=form, partner=g.partner,
                           live=links.partner_links(g.partner),
                           archived=links.partner_links(g.partner, archived=True),
                           archive_form=EmptyForm()), status


@bp.post("/partner/links/<int:link_id>/archive")
@partner_page()
def link_archive(link_id: int):
    """Archive one of the partner's links (404 for anyone else's)."""
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        link = links.partner_link(g.partner, link_id)
    except NotFound:
        abort(404)
    links.archive_link(link, current_user.id)
    db.session.commit()
    flash("Link archived. Its address no longer works and is never reused.", "success")
    return redirect(url_for("portal.links_page"))


@bp.get("/partner/links/<int:link_id>/qr.<fmt>")
@partner_page()
def link_qr(link_id: int, fmt: str):
    """A campaign link as a QR code, PNG or SVG (404 for anyone else's link)."""
    try:
        link = links.partner_link(g.partner, link_id)
    except NotFound:
        abort(404)
    url = url_for("portal.campaign_landing", code=g.partner.referral_code, slug=link.slug,
                  _external=True)
    return _qr(url, fmt, f"siso-link-{g.partner.referral_code}-{link.slug}")


def _qr(url: str, fmt: str, name: str):
    import qrcode
    import qrcode.image.svg

    if fmt not in ("png", "svg"):
        abort(404)
    buf = io.BytesIO()
    if fmt == "svg":
        qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10).save(buf)
        mimetype = "image/svg+xml"
    else:
        qrcode.make(url, box_size=10, border=2).save(buf)
        mimetype = "image/png"
    buf.seek(0)
    return send_file(buf, mimetype=mimetype, as_attachment=request.args.get("download") == "1",
                     download_name=f"{name}.{fmt}", max_age=3600)


def _analytics_args():
    """The page's range, period and link from the query string (core checks them)."""
    from core.program import analytics

    start, end, group = analytics.parse_range(request.args.get("from") or None,
                                              request.args.get("to") or None,
                                              request.args.get("group") or "day")
    link = request.args.get("link") or None
    if link is not None:
        if not link.isdigit() or len(link) > 10:
            raise NotFound("No such link.")
        link = int(link)
    return start, end, group, link


def _bars(values: list[int], width: int = 360, height: int = 110) -> list[dict]:
    """Bar geometry for an inline SVG chart: x, width and height per value."""
    top = max(values) if values and max(values) > 0 else 1
    step = width / max(len(values), 1)
    return [{"x": round(i * step + step * 0.1, 1), "w": round(max(step * 0.8, 0.5), 1),
             "h": round(v * height / top, 1)} for i, v in enumerate(values)]


@bp.get("/partner/analytics")
@partner_page()
def analytics_page():
    """The partner's funnel and time series as server-drawn SVG charts, each with a
    table for screen readers, and a CSV download (rules: "Analytics")."""
    from core.program import analytics

    try:
        start, end, group, link = _analytics_args()
        data = analytics.partner_analytics(g.partner, start, end, group, link)
        error, status = None, 200
    except DomainError as exc:
        start, end, group = analytics.parse_range(None, None, "day")
        link, error, status = None, exc.message, exc.status
        data = analytics.partner_analytics(g.partner, start, end, group)
    steps = [("Clicks", data["totals"]["clicks"]),
             ("Unique clicks", data["totals"]["unique_clicks"]),
             ("Leads", data["totals"]["leads"]), ("Won", data["totals"]["won"])]
    funnel = _bars([v for _, v in steps], width=300)
    series_bars = _bars([s["clicks"] for s in data["series"]])
    lead_bars = _bars([s["leads"] for s in data["series"]])
    return render_template(
        "portal/analytics.html", data=data, steps=list(zip(steps, funnel, strict=True)),
        series=list(zip(data["series"], series_bars, lead_bars, strict=True)), error=error,
        args={"from": start.isoformat(), "to": end.isoformat(), "group": group,
              "link": link or ""},
        links=links.partner_links(g.partner) + links.partner_links(g.partner, archived=True)
    ), status


@bp.get("/partner/analytics.csv")
@partner_page()
def analytics_csv():
    """The same figures as CSV (``core.program.analytics.funnel_csv``)."""
    from core.program import analytics

    try:
        start, end, group, link = _analytics_args()
        data = analytics.partner_analytics(g.partner, start, end, group, link)
    except DomainError as exc:
        return make_response(exc.message, exc.status, {"Content-Type": "text/plain"})
    resp = make_response(analytics.funnel_csv(data))
    resp.headers["Content-Type"] = "text/csv; charset=utf-8"
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=siso-analytics-{start.isoformat()}-{end.isoformat()}.csv")
    return resp


@bp.app_template_global()
def fraud_rejection(lead_id: int):
    """The rejected fraud flag of a lead (its reason is shown to its partner), or None."""
    from core.program.fraud import rejection_for

    return rejection_for(lead_id)


@bp.get("/t.js")
def lead_tag():
    """The website's lead tag (``static/js/t.js``, a few KB, no third-party code)."""
    resp = current_app.send_static_file("js/t.js")
    resp.headers["Content-Type"] = "text/javascript; charset=utf-8"
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp


def _website_lead_limit() -> str:
    return current_app.config["WEBSITE_LEAD_LIMIT_PER_IP"]


def _cors(resp, origin: str):
    resp.headers["Access-Control-Allow-Origin"] = origin
    resp.headers["Access-Control-Allow-Credentials"] = "true"
    resp.headers["Access-Control-Allow-Methods"] = "POST"
    resp.headers["Access-Control-Allow-Headers"] = "Content-Type"
    resp.headers["Access-Control-Max-Age"] = "600"
    resp.headers["Vary"] = "Origin"
    return resp


@bp.route("/t/lead", methods=["POST", "OPTIONS"])
@csrf.exempt
@limiter.limit(_website_lead_limit, scope="website-lead-ip", methods=["POST"])
def website_lead():
    """A lead from SISO's website (rules: "Links and attribution"): only from origins
    staff listed (anything else: 403 and no CORS headers, so the browser refuses too);
    rate-limited per client address; idempotent by ``client_id`` (201 new, 200 repeat);
    attributed from the ``siso_ref`` cookie, else stored nowhere (200, attributed false)."""
    from flask import jsonify

    origin = request.headers.get("Origin", "")
    if origin not in links.lead_origins():
        return jsonify(error={"code": "origin_not_allowed",
                              "message": "This origin may not send leads."}), 403
    if request.method == "OPTIONS":
        return _cors(make_response("", 204), origin)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _cors(jsonify(error={"code": "bad_json", "message": "Send a JSON object."}),
                     origin), 400
    try:
        lead, created = referrals.website_lead(request.cookies.get(COOKIE), data.get("client_id"),
                                               data)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _cors(jsonify(error={"code": exc.code, "message": exc.message}), origin), exc.status
    if lead is None:
        return _cors(jsonify(attributed=False), origin), 200
    return _cors(jsonify(attributed=True, created=created), origin), 201 if created else 200
