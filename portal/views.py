"""Portal pages. Thin: parse the form, call one core operation, commit, render."""

import base64
import functools
import re

from flask import (
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import func, select

from core.accounts import twofactor
from core.accounts import users as accounts
from core.base.errors import DomainError, ValidationError
from core.base.extensions import db
from core.community.models import Notification
from core.money import payouts, statements
from core.money.cents import commission_cents, format_bps, format_cents, parse_dollars
from core.program import leads, partners
from core.program.models import LEAD_STAGES
from core.program.tiers import tier_status
from portal import bp, nav
from portal.forms import (
    ActivityForm,
    EmptyForm,
    InviteForm,
    LeadForm,
    LoginForm,
    MoveForm,
    OtpForm,
    PasswordChangeForm,
    RegisterForm,
)
from web.downloads import send_stored
from web.extensions import limiter
from web.redirects import safe_next
from web.sessions import (
    begin_second_step,
    end_session,
    finish_second_step,
    pending_secret,
    pending_user,
    start_session,
)
from web.throttle import login_throttle, record_failure


def register_filters(app) -> None:
    """Template filters for money and rates."""
    app.jinja_env.filters["cents"] = format_cents
    app.jinja_env.filters["bps"] = format_bps
    app.jinja_env.filters["local"] = local_time

    @app.context_processor
    def nav_context():
        unread = 0
        if current_user.is_authenticated and not current_user.is_staff:
            unread = db.session.scalar(select(func.count()).select_from(Notification).where(
                Notification.user_id == current_user.id, Notification.read_at.is_(None))) or 0
        # Forms that only carry a CSRF token into the page: never bound to the request's
        # body (an error page for a body too large must not read it again).
        blank = EmptyForm(formdata=None)
        return {"unread_count": unread, "logout_form": blank, "theme_form": blank,
                "verify_form": blank, "ui_theme": chosen_theme(),
                "nav_sections": nav.SECTIONS, "nav_here": nav.section_of(request.endpoint)}


#: Themes a person may choose; ``system`` (no cookie) follows prefers-color-scheme.
THEMES = ("light", "dark", "system")
#: Cookie that keeps the chosen theme (read by the server, written by app.js too).
THEME_COOKIE = "theme"


def chosen_theme() -> str | None:
    """The theme the visitor chose (``light`` or ``dark``), or ``None`` to follow the
    device. Anything else in the cookie is ignored."""
    value = request.cookies.get(THEME_COOKIE)
    return value if value in ("light", "dark") else None


@bp.post("/theme")
def set_theme():
    """Keep the chosen theme in a cookie for a year (``system`` forgets it) and go back.
    Works without JavaScript; app.js switches in place and writes the same cookie."""
    form = EmptyForm()
    theme = request.form.get("theme")
    if not form.validate_on_submit() or theme not in THEMES:
        abort(400)
    resp = redirect(safe_next(request.form.get("next"), url_for("portal.dashboard")), 303)
    if theme == "system":
        resp.delete_cookie(THEME_COOKIE, samesite="Lax")
    else:
        resp.set_cookie(THEME_COOKIE, theme, max_age=365 * 86400, samesite="Lax",
                        secure=request.is_secure, httponly=False)
    return resp


def local_time(moment, fmt: str = "%d %b %H:%M") -> str:
    """Template filter: ``moment`` formatted in the logged-in partner's time zone (their
    profile), UTC for everyone else; ``%Z`` in ``fmt`` names the zone."""
    from core.base.timeutil import in_zone

    if moment is None:
        return ""
    tz = None
    if current_user.is_authenticated and current_user.partner is not None:
        tz = current_user.partner.timezone
    return in_zone(moment, tz).strftime(fmt)


def partner_page(active: bool = True):
    """Require a logged-in partner (staff go to /admin); ``active`` also requires approval."""

    def deco(fn):
        @functools.wraps(fn)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.is_staff or current_user.partner is None:
                return redirect("/admin/")
            g.partner = current_user.partner
            if active and g.partner.status != "active":
                return locked_page(g.partner)
            return fn(*args, **kwargs)

        return wrapper

    return deco


#: What a locked section is called on its page, by endpoint (else the nav section's label).
_LOCKED_NAMES = {"portal.lead_detail": "Leads", "portal.lead_move": "Leads",
                 "portal.lead_activity": "Leads", "portal.lead_remove": "Leads",
                 "portal.log_sale": "Leads", "portal.chat_page": "Chat",
                 "portal.branding_page": "Branding", "portal.resources_page": "Resources",
                 "portal.resource_download": "Resources", "portal.team_invite": "Team",
                 "portal.request_payout": "Payouts", "portal.referral_qr": "Your referral links"}


def locked_page(partner):
    """A section only active partners use, opened by one who is not (yet): a page saying
    why it is locked and what happens next (403), not a silent trip to the dashboard."""
    here = nav.section_of(request.endpoint)
    name = _LOCKED_NAMES.get(request.endpoint) or (here.label if here else "This page")
    return render_template("portal/locked.html", partner=partner, section=name), 403


def _commit_or_flash(fn, success: str | None = None):
    """Run a core operation; commit on success, flash the refusal otherwise. Returns result."""
    try:
        result = fn()
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return None
    if success:
        flash(success, "success")
    return result


#: The first-party device cookie the fraud rules compare (rules: "Fraud rules").
DEVICE_COOKIE = "siso_device"
_DEVICE = re.compile(r"[0-9a-f]{32}")


def device_id() -> str:
    """This browser's ``siso_device`` cookie: 32 random hex characters, made on first need
    and set on the response (:func:`_keep_device`); only its keyed hash is stored."""
    value = request.cookies.get(DEVICE_COOKIE, "")
    if not _DEVICE.fullmatch(value):
        if "siso.new_device" not in request.environ:  # per request, not per app context
            import secrets

            request.environ["siso.new_device"] = secrets.token_hex(16)
        value = request.environ["siso.new_device"]
    return value


@bp.after_request
def _keep_device(resp):
    """Set the device cookie made during this request (400 days, HttpOnly, SameSite=Lax)."""
    made = request.environ.get("siso.new_device")
    if made:
        resp.set_cookie(DEVICE_COOKIE, made, max_age=400 * 86400, httponly=True,
                        samesite="Lax", secure=request.is_secure)
    return resp


def _register_limit() -> str:
    return current_app.config["REGISTER_LIMIT_PER_IP"]


@bp.route("/partner/register", methods=["GET", "POST"])
@limiter.shared_limit(_register_limit, scope="register-ip", methods=["POST"])
def register():
    """Apply to become a partner. The answer is the same page for a new address and for
    one that has an account (its owner is e-mailed instead); throttled per client address
    (``REGISTER_LIMIT_PER_IP``)."""
    device_id()  # the browser gets its device cookie before it applies
    form = RegisterForm(referral_code=request.args.get("ref", ""))
    if form.validate_on_submit():
        from core.engagement.goals import GoalError, goals_from_form

        try:
            goals = goals_from_form(form.experience_level.data, form.goal_deals.data,
                                    form.goal_revenue.data)
            partner = partners.apply_as_partner(
                form.email.data, form.password.data, form.name.data,
                form.accept_terms.data is True, form.referral_code.data or None,
                form.company_name.data or "", goals=goals)
            if partner is not None:
                from core.program import fraud

                fraud.record_sighting(partner, "signup", request.remote_addr, device_id())
            db.session.commit()
        except GoalError as exc:
            db.session.rollback()
            name = "goal_revenue" if exc.field == "goal_revenue_cents" else exc.field
            getattr(form, name).errors = [exc.message]
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            email = accounts.normalise_email(form.email.data)
            return render_template("portal/register.html", form=form,
                                   applied=partners.APPLIED.format(email=email))
    status = 422 if request.method == "POST" else 200
    return render_template("portal/register.html", form=form), status


@bp.get("/partner/agreement")
def agreement():
    """The partner agreement and commission terms a partner accepts when applying (its
    version is ``AGREEMENT_VERSION``), with the tiers' current rates; public."""
    from core.program.tiers import all_tiers

    return render_template("portal/agreement.html", tiers=all_tiers(),
                           version=current_app.config["AGREEMENT_VERSION"])


@bp.route("/login", methods=["GET", "POST"])
@bp.route("/partner/login", methods=["GET", "POST"])
@login_throttle
def login():
    """Log in partners and staff alike on a new session; staff land in the back office.

    Failed attempts are throttled per account and per IP (core/throttle.py).
    """
    device_id()
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None and not user.is_staff and user.partner is not None:
            from core.program import fraud

            fraud.record_sighting(user.partner, "login", request.remote_addr, device_id())
            db.session.commit()
        if user is not None:
            target = safe_next(request.args.get("next"),
                               "/admin/" if user.is_staff else url_for("portal.dashboard"))
            if twofactor.required_for(user):
                begin_second_step(user, target)
                return redirect(url_for("portal.login_second_step"))
            start_session(user, remember=form.remember.data is True)
            return redirect(target)
        record_failure()
        flash("That e-mail and password do not match an active account.", "error")
        return render_template("portal/login.html", form=form), 401
    return render_template("portal/login.html", form=form)


@bp.route("/login/two-factor", methods=["GET", "POST"])
@login_throttle
def login_second_step():
    """Second log-in step for staff: the TOTP code, or setting two-factor up first when a
    role requires it. Wrong codes are throttled like wrong passwords."""
    user = pending_user()
    if user is None:
        flash("Log in again: the two-factor step expired.", "info")
        return redirect(url_for("portal.login"))
    form = OtpForm()
    setup = user.totp_secret is None
    secret = pending_secret() if setup else None
    status = 200
    if form.validate_on_submit():
        try:
            if setup:
                twofactor.enable(user, secret, form.code.data)
            else:
                twofactor.verify(user, form.code.data)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            record_failure()
            form.code.errors = [exc.message]
            status = exc.status
        else:
            target = finish_second_step()
            start_session(user)
            return redirect(target)
    elif request.method == "POST":
        status = 422
    qr = None
    if setup:
        qr = "data:image/svg+xml;base64," + base64.b64encode(
            twofactor.qr_svg(twofactor.provisioning_uri(user, secret)).encode()).decode()
    return render_template("portal/two_factor.html", form=form, setup=setup, secret=secret,
                           qr=qr), status


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """End the session and every other session of the user: other devices, API login
    tokens and sockets. Only a POST with CSRF logs out (so a link or image cannot); GET
    shows the button (the back office menu links here)."""
    form = EmptyForm()
    if request.method == "GET":
        if not current_user.is_authenticated:
            return redirect(url_for("portal.login"))
        return render_template("portal/logout.html", form=form)
    if form.validate_on_submit():
        if current_user.is_authenticated:
            accounts.end_sessions(current_user, current_user.id, "logout")
            db.session.commit()
        end_session()
        flash("You are logged out.", "info")
    return redirect(url_for("portal.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@login_throttle
def change_password():
    """Change one's password (partners and staff): the current password is required;
    every other session and API login token of the user ends, this one goes on."""
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            accounts.change_password(user, form.current_password.data, form.new_password.data)
            db.session.commit()
        except accounts.WrongPassword as exc:
            db.session.rollback()
            record_failure()
            form.current_password.errors = [exc.message]
            status = 401
        except DomainError as exc:
            db.session.rollback()
            form.new_password.errors = [exc.message]
            status = 422
        else:
            start_session(user, remember=session.get("remember") is True)
            flash("Password changed. You are logged out everywhere else.", "success")
            return redirect("/admin/" if user.is_staff else url_for("portal.dashboard"))
    elif request.method == "POST":
        status = 422
    return render_template("portal/password.html", form=form), status


@bp.get("/partner/dashboard")
@partner_page(active=False)
def dashboard():
    """Tier card, this month's earnings and change, open leads, rank, quick actions and
    the activity feed (own notices and what everyone may see)."""
    from core.alerts.reminders import follow_ups
    from core.payments.methods import paypal_offered, stripe_offered
    from core.payments.tax import tax_form_required
    from core.program.dashboard import home
    from core.program.onboarding import checklist

    onboarding = checklist(g.partner, stripe_offered() or paypal_offered(),
                           tax_form_required())
    from core.engagement.spotlight import current as current_spotlight
    from core.engagement.summary import engagement_for

    return render_template("portal/dashboard.html", partner=g.partner, onboarding=onboarding,
                           dismiss_form=EmptyForm(), engagement=engagement_for(g.partner),
                           spotlight=current_spotlight(),
                           follow_ups=follow_ups(g.partner),
                           **home(g.partner))


@bp.post("/partner/onboarding/dismiss")
@partner_page()
def dismiss_onboarding():
    """Hide the dashboard's onboarding checklist for good (a CSRF-checked form)."""
    from core.program.onboarding import dismiss

    if not EmptyForm().validate_on_submit():
        abort(400)
    dismiss(g.partner)
    db.session.commit()
    flash("Checklist hidden. Everything on it stays where it was.", "info")
    return redirect(url_for("portal.dashboard"), 303)


@bp.route("/partner/leads", methods=["GET", "POST"])
@partner_page()
def leads_page():
    """Pipeline by stage and a form to add a lead."""
    form = LeadForm()
    wants_json = request.accept_mimetypes.best == "application/json"  # the offline queue
    if form.validate_on_submit():
        data = {k: getattr(form, k).data for k in ("company_name", "contact_name",
                                                    "contact_email", "contact_phone",
                                                    "project_type")}
        try:
            if form.estimated_value.data:
                data["estimated_value_cents"] = parse_dollars(form.estimated_value.data)
        except ValueError as exc:
            form.estimated_value.errors = [str(exc)]
        else:
            ref = form.client_ref.data
            if wants_json:
                return _queued_lead_answer(data, ref)
            lead = _commit_or_flash(
                lambda: leads.create_lead_once(g.partner, data, current_user.id, ref)[0]
                if ref else leads.create_lead(g.partner, data, current_user.id), "Lead added.")
            if lead is not None:  # to the message (not back to the form's #new-lead)
                return redirect(url_for("portal.leads_page", _anchor="flashes"))
    if wants_json and request.method == "POST":
        errors = {name: msgs for name, msgs in form.errors.items()}
        message = "Check the lead's details."
        for name, msgs in errors.items():  # the first problem, named as the form names it
            label = form[name].label.text if name in form else name
            message = f"{label}: {msgs[0]}"
            break
        return jsonify(error={"code": "invalid", "message": message}, fields=errors), 422
    by_stage, counts = leads.pipeline(g.partner)
    status = 422 if request.method == "POST" else 200
    from portal.forms import SaleForm

    sale = SaleForm(prefix="sale")
    sale.lead_id.choices = [(str(x.id), x.company_name) for stage, stage_leads in
                            by_stage.items() if stage not in ("won", "lost") for x in stage_leads]
    return render_template("portal/leads.html", form=form, by_stage=by_stage, counts=counts,
                           stages=LEAD_STAGES, sale=sale, move_form=MoveForm(prefix="move"),
                           next_stages=dict(zip(LEAD_STAGES[:4], LEAD_STAGES[1:5],
                                                strict=True))), status


def _queued_lead_answer(data: dict, ref: str | None):
    """JSON answer to a lead the portal's offline queue sends: 201 ``{lead_id,
    company_name, created}`` (``created`` false when that ``client_ref`` was already
    sent), or the refusal ``{error}`` with its status (422 for bad fields; nothing
    stored)."""
    try:
        if not ref:
            raise ValidationError("This lead has no device id; reload the page and add it "
                                  "again.")
        lead, created = leads.create_lead_once(g.partner, data, current_user.id, ref)
        db.session.commit()
        if created:  # shown on the page the script reloads
            flash(f"Lead added: {lead.company_name}.", "success")
    except DomainError as exc:
        db.session.rollback()
        return jsonify(error={"code": exc.code, "message": exc.message}), exc.status
    return jsonify(lead_id=lead.id, company_name=lead.company_name, created=created), \
        201 if created else 200


@bp.post("/partner/leads/log-sale")
@partner_page()
def log_sale():
    """Quick "log sale": mark one of the partner's open leads won with its deal value
    (the same move as the lead page's; staff confirm it before any commission)."""
    from portal.forms import SaleForm

    form = SaleForm(prefix="sale")
    form.lead_id.choices = None  # any id; ownership is checked on the lead itself
    if not form.validate_on_submit() or not (form.lead_id.data or "").isdigit():
        flash("Choose the lead you sold to and enter the deal value.", "error")
        return redirect(url_for("portal.leads_page") + "#log-sale", 303)
    lead = leads.get_partner_lead(g.partner, int(form.lead_id.data))
    try:
        value = parse_dollars(form.deal_value.data or "")
    except ValueError as exc:
        flash(f"Deal value: {exc}", "error")
        return redirect(url_for("portal.leads_page") + "#log-sale", 303)
    done = _commit_or_flash(lambda: leads.move_lead(lead, "won", current_user.id, value),
                            f"Sale logged: {lead.company_name}, {format_cents(value)}. Staff "
                            "will confirm the deal and your commission appears then.")
    if done is None:
        return redirect(url_for("portal.leads_page") + "#log-sale", 303)
    return redirect(url_for("portal.lead_detail", lead_id=lead.id), 303)


@bp.route("/partner/leads/<int:lead_id>", methods=["GET", "POST"])
@partner_page()
def lead_detail(lead_id: int):
    """One lead: details, stage move (with value for won), activities."""
    lead = leads.get_partner_lead(g.partner, lead_id)
    # "Mark won…" on the pipeline opens the lead with won chosen, ready for the value.
    asked = request.args.get("stage")
    move = MoveForm(prefix="move", status=asked if asked in LEAD_STAGES else lead.status)
    if not move.deal_value.data and lead.estimated_value_cents:  # "Mark won" starts from it
        move.deal_value.data = f"{lead.estimated_value_cents / 100:.2f}"
    standing = tier_status(g.partner)
    try:
        expected = commission_cents(parse_dollars(move.deal_value.data or ""),
                                    standing["base_rate_bps"])
    except ValueError:
        expected = None
    activity = ActivityForm(prefix="act")
    from core.program.models import LeadActivity

    acts = list(db.session.scalars(select(LeadActivity).where(LeadActivity.lead_id == lead.id)
                                   .order_by(LeadActivity.id.desc())))
    return render_template("portal/lead_detail.html", lead=lead, move=move, activity=activity,
                           activities=acts, remove=EmptyForm(),
                           follow_form=EmptyForm(prefix="follow"),
                           partner_tz=g.partner.timezone or "UTC",
                           rate_bps=standing["base_rate_bps"], expected_cents=expected,
                           tier_name=standing["current_tier"]["name"])


@bp.post("/partner/leads/<int:lead_id>/move")
@partner_page()
def lead_move(lead_id: int):
    """Move a lead to a stage; ``won`` needs a deal value in dollars. From the pipeline
    (``back=pipeline``: a card's button or a drag between columns) the answer returns
    to the pipeline; otherwise to the lead."""
    lead = leads.get_partner_lead(g.partner, lead_id)
    form = MoveForm(prefix="move")
    done_url = url_for("portal.leads_page") if request.form.get("back") == "pipeline" \
        else url_for("portal.lead_detail", lead_id=lead.id)
    if not form.validate_on_submit():
        flash("Choose a stage.", "error")
        return redirect(done_url), 303
    value = None
    if form.status.data == "won":
        try:
            value = parse_dollars(form.deal_value.data or "")
        except ValueError as exc:
            flash(f"Deal value: {exc}", "error")
            return redirect(url_for("portal.lead_detail", lead_id=lead.id)), 303
    _commit_or_flash(lambda: leads.move_lead(lead, form.status.data, current_user.id, value),
                     f"{lead.company_name} moved to {form.status.data}." + (
                         " Staff will confirm the deal and your commission appears then."
                         if form.status.data == "won" else ""))
    return redirect(done_url), 303


@bp.post("/partner/leads/<int:lead_id>/remove")
@partner_page()
def lead_remove(lead_id: int):
    """Remove a lead from the pipeline (kept for the record; rules: "Removing a lead").
    A won or confirmed lead stays, with the reason flashed."""
    lead = leads.get_partner_lead(g.partner, lead_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    name = lead.company_name
    if _commit_or_flash(lambda: leads.archive_lead(lead, current_user.id),
                        f"{name} removed from your pipeline.") is None:
        return redirect(url_for("portal.lead_detail", lead_id=lead_id)), 303
    return redirect(url_for("portal.leads_page")), 303


@bp.post("/partner/leads/<int:lead_id>/activity")
@partner_page()
def lead_activity(lead_id: int):
    """Log an activity on a lead."""
    lead = leads.get_partner_lead(g.partner, lead_id)
    form = ActivityForm(prefix="act")
    if form.validate_on_submit():
        _commit_or_flash(lambda: leads.add_activity(lead, form.activity_type.data,
                                                    form.notes.data, current_user.id),
                         "Activity logged.")
    else:
        flash("Write a note for the activity (up to 5,000 characters).", "error")
    return redirect(url_for("portal.lead_detail", lead_id=lead.id)), 303


@bp.get("/partner/earnings")
@partner_page(active=False)
def earnings():
    """This month with its breakdown by type, the last 12 months as a chart, commissions
    filtered by type and status, payouts and statements."""
    from core.money.earnings import TYPE_LABELS, earnings_page
    from core.money.models import COMMISSION_STATUSES

    before = request.args.get("before", "")
    page = earnings_page(g.partner.id, request.args.get("status") or None,
                         request.args.get("type") or None,
                         int(before) if before.isdigit() and len(before) < 12 else None)
    from core.payments.methods import describe
    from core.payments.tax import tax_status

    return render_template("portal/earnings.html", **page, type_labels=TYPE_LABELS,
                           statuses=COMMISSION_STATUSES, form=EmptyForm(), partner=g.partner,
                           stripe_enabled=bool(current_app.config.get("STRIPE_API_KEY")),
                           method=describe(g.partner), tax=tax_status(g.partner.id))


@bp.post("/partner/payouts/request")
@partner_page()
def request_payout():
    """Request a payout of the approved balance (at least the minimum)."""
    form = EmptyForm()
    if form.validate_on_submit():
        _commit_or_flash(lambda: payouts.request_payout(g.partner, current_user),
                         "Payout requested. Finance approves payouts within two business days.")
    return redirect(url_for("portal.earnings")), 303


@bp.get("/partner/statements/<int:statement_id>/download")
@login_required
def statement_download(statement_id: int):
    """Download a statement PDF: the partner's own, or any for finance."""
    st = statements.get_statement_for(current_user, statement_id)
    if st.status != "ready":
        abort(404)
    return send_stored(st.file_path, mimetype="application/pdf",
                       download_name=f"siso-statement-{st.period}-v{st.version}.pdf")


# The chat pages live in portal/chat_views.py.


@bp.get("/partner/team")
@partner_page()
def team_page():
    """Chat entry point for everyone; members, their deals, the override earned from them
    and the invite link for Performer+ team leaders; what unlocks it for the others."""
    from core.program.team import team_overview

    team = team_overview(g.partner)
    db.session.commit()  # the leader's team channel, created on first visit
    return render_template("portal/team.html", team=team, partner=g.partner,
                           invite=InviteForm())


@bp.post("/partner/team/invite")
@partner_page()
def team_invite():
    """Invite people to the team by e-mail (rules: "Team invitations"): the result per
    address is flashed; a refusal (a bad address, the day's limit, tier) sends nothing."""
    from core.program.team import invite_to_team

    form = InviteForm()
    if not form.validate_on_submit():
        flash("Enter the e-mail addresses to invite, one a line.", "error")
        return redirect(url_for("portal.team_page") + "#invite"), 303
    emails = [e for e in re.split(r"[\s,;]+", form.emails.data) if e]
    results = _commit_or_flash(lambda: invite_to_team(g.partner, current_user.id, emails))
    if results is not None:
        sent = [r["email"] for r in results if r["status"] == "invited"]
        recent = [r["email"] for r in results if r["status"] != "invited"]
        if sent:
            flash(f"Invitation sent to {', '.join(sent)}.", "success")
        if recent:
            flash(f"Already invited in the last 30 days, not sent again: {', '.join(recent)}.",
                  "info")
    return redirect(url_for("portal.team_page") + "#invite"), 303


@bp.get("/partner/notifications")
@partner_page(active=False)
def notifications():
    """Notifications, newest first; opening the page marks them read."""
    from core.base.timeutil import now_utc

    rows = list(db.session.scalars(select(Notification).where(
        Notification.user_id == current_user.id).order_by(Notification.id.desc()).limit(100)))
    for n in rows:
        if n.read_at is None:
            n.read_at = now_utc()
    db.session.commit()
    return render_template("portal/notifications.html", notifications=rows)


@bp.get("/partner/notifications/drawer")
@partner_page(active=False)
def notifications_drawer():
    """The top bar drawer's content, an HTML fragment (static/js/drawer.js fetches it):
    the newest notifications, unread ones marked, and a "mark all read" form. Opening it
    marks nothing read."""
    from core.community.notifications import latest

    rows, unread = latest(current_user.id)
    resp = current_app.make_response(render_template(
        "portal/_notifications_drawer.html", notifications=rows, unread=unread,
        form=EmptyForm()))
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.post("/partner/notifications/read-all")
@partner_page(active=False)
def notifications_read_all():
    """Mark all of one's notifications read (a CSRF-checked form). Answers
    ``{"unread": 0, "marked": n}`` to a request that accepts JSON (the drawer), else
    goes back to the notifications page."""
    from core.community.notifications import mark_all_read

    if not EmptyForm().validate_on_submit():
        abort(400)
    marked = mark_all_read(current_user.id)
    db.session.commit()
    if _wants_json():
        return {"unread": 0, "marked": marked}
    flash("All notifications marked read.", "success")
    return redirect(url_for("portal.notifications"), 303)


@bp.get("/partner/notifications/<int:notification_id>/open")
@partner_page(active=False)
def notification_open(notification_id: int):
    """Follow a notification from the drawer: mark it read, then go to its URL (a path on
    this site; anything else goes to the notifications page). Someone else's → 404."""
    from core.community.notifications import mark_read

    row = mark_read(current_user.id, notification_id)
    db.session.commit()
    return redirect(safe_next(row.url, url_for("portal.notifications")), 303)


@bp.route("/partner/profile", methods=["GET", "POST"])
@partner_page(active=False)
def profile_page(goals_form=None):
    """The partner's own profile: name, company, phone, industry, time zone and contact
    preferences. Only those fields are read from the form; tier, rates and status are
    staff's and shown read-only. ``goals_form``: the goal form refused by
    ``portal.engagement_views.goals_save``, shown with its errors (422)."""
    from core.program.profile import (
        INDUSTRIES,
        PROFILE_FIELDS,
        FieldError,
        profile_values,
        time_zone_groups,
        update_profile,
    )
    from portal.forms import ProfileForm

    p = g.partner
    if goals_form is not None:  # the goal form's refusal: the details form as saved
        form = ProfileForm(formdata=None, data=profile_values(p))
    else:
        form = ProfileForm(data=profile_values(p) if request.method == "GET" else None)
    groups = {label: list(zones) for label, zones in time_zone_groups()}
    saved = p.timezone or "UTC"
    if saved not in {z for zones in groups.values() for z, _ in zones}:  # an older name
        groups["Other"] = [(saved, saved.replace("_", " "))]
    form.timezone.choices = groups
    form.timezone.validate_choice = False  # core.program.profile checks it
    if goals_form is None and form.validate_on_submit():
        data = {k: getattr(form, k).data for k in PROFILE_FIELDS}
        data = {k: (v if isinstance(v, bool) else (v or "")) for k, v in data.items()}
        try:
            update_profile(p, data, current_user.id)
            db.session.commit()
        except FieldError as exc:
            db.session.rollback()
            getattr(form, exc.field).errors = [exc.message]
        else:
            flash("Profile saved.", "success")
            return redirect(url_for("portal.profile_page")), 303
    status = 422 if request.method == "POST" else 200
    from core.community.achievements import achievements_for
    from portal.engagement_views import goals_form_for

    if goals_form is not None:
        status = 422
    return render_template("portal/profile.html", form=form, partner=p, tier=tier_status(p),
                           industries=INDUSTRIES, theme_choice=chosen_theme() or "system",
                           achievements=achievements_for(p),
                           goals_form=goals_form or goals_form_for(p)), status


@bp.get("/sw.js")
def service_worker():
    """The service worker, served from the root so its scope is the whole app."""
    resp = current_app.send_static_file("sw.js")
    resp.headers["Cache-Control"] = "no-cache"
    resp.mimetype = "text/javascript"
    return resp


@bp.post("/partner/payout-method")
@partner_page()
def payout_method():
    """Start (or resume) Stripe Connect onboarding: redirect to Stripe's hosted form."""
    from core.money.stripe_connect import onboarding_link

    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    url = onboarding_link(g.partner, url_for("portal.payout_method_return", _external=True),
                          url_for("portal.earnings", _external=True))
    db.session.commit()
    return redirect(url, code=303)


@bp.get("/partner/payout-method/return")
@partner_page()
def payout_method_return():
    """Back from Stripe: ask Stripe whether the account can receive transfers now."""
    from core.money.stripe_connect import refresh_account

    enabled = refresh_account(g.partner)
    db.session.commit()
    flash("Stripe payouts are set up." if enabled else
          "Stripe still needs some details before payouts can be sent.",
          "success" if enabled else "info")
    return redirect(url_for("portal.earnings"))
