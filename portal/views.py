"""Portal pages. Thin: parse the form, call one core operation, commit, render."""

import base64
import functools
import os

from flask import (abort, current_app, flash, g, redirect, render_template, request,
                   send_file, session, url_for)
from flask_login import current_user, login_required
from sqlalchemy import func, select

from core import accounts, leads, payouts, statements, twofactor
from core.earnings import earnings_summary
from core.errors import DomainError
from core.extensions import db
from core.models import Commission, Lead, Notification, Payout, Statement
from core.models.lead import LEAD_STAGES
from core.money import format_bps, format_cents, parse_dollars
from core.security_paths import safe_next
from core.sessions import (begin_second_step, end_session, finish_second_step, pending_secret,
                           pending_user, start_session)
from core.throttle import login_throttle, record_failure
from core.tiers import tier_status
from portal import bp
from portal.forms import (ActivityForm, EmptyForm, LeadForm, LoginForm, MoveForm, OtpForm,
                          PasswordChangeForm, RegisterForm)


def register_filters(app) -> None:
    """Template filters for money and rates."""
    app.jinja_env.filters["cents"] = format_cents
    app.jinja_env.filters["bps"] = format_bps

    @app.context_processor
    def nav_context():
        unread = 0
        if current_user.is_authenticated and not current_user.is_staff:
            unread = db.session.scalar(select(func.count()).select_from(Notification).where(
                Notification.user_id == current_user.id, Notification.read_at.is_(None))) or 0
        return {"unread_count": unread, "logout_form": EmptyForm()}


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
                flash("Your application is under review. You can use this once staff approve it.",
                      "info")
                return redirect(url_for("portal.dashboard"))
            return fn(*args, **kwargs)

        return wrapper

    return deco


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


@bp.route("/partner/register", methods=["GET", "POST"])
def register():
    """Apply to become a partner."""
    form = RegisterForm(referral_code=request.args.get("ref", ""))
    if form.validate_on_submit():
        partner = _commit_or_flash(lambda: accounts.register_partner(
            form.email.data, form.password.data, form.name.data, form.accept_terms.data is True,
            form.referral_code.data or None, form.company_name.data or ""))
        if partner is not None:
            start_session(partner.user)
            flash("Application received. Staff review applications within one business day.",
                  "success")
            return redirect(url_for("portal.dashboard"))
    status = 422 if request.method == "POST" else 200
    return render_template("portal/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@bp.route("/partner/login", methods=["GET", "POST"])
@login_throttle
def login():
    """Log in partners and staff alike on a new session; staff land in the back office.

    Failed attempts are throttled per account and per IP (core/throttle.py).
    """
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
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
    """Tier card, this month's earnings, open leads, recent notifications."""
    p = g.partner
    open_leads = db.session.scalar(select(func.count()).select_from(Lead).where(
        Lead.partner_id == p.id, Lead.status.not_in(("won", "lost")))) or 0
    recent = list(db.session.scalars(select(Notification).where(
        Notification.user_id == current_user.id).order_by(Notification.id.desc()).limit(5)))
    from core.referrals import link_stats

    return render_template("portal/dashboard.html", partner=p, tier=tier_status(p),
                           earnings=earnings_summary(p.id), open_leads=open_leads,
                           recent=recent, ref_stats=link_stats(p.id))


@bp.route("/partner/leads", methods=["GET", "POST"])
@partner_page()
def leads_page():
    """Pipeline by stage and a form to add a lead."""
    form = LeadForm()
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
            lead = _commit_or_flash(lambda: leads.create_lead(g.partner, data, current_user.id),
                                    "Lead added.")
            if lead is not None:
                return redirect(url_for("portal.leads_page"))
    rows = leads.partner_leads(g.partner, limit=500)
    by_stage = {s: [lead for lead in rows if lead.status == s] for s in LEAD_STAGES}
    status = 422 if request.method == "POST" else 200
    return render_template("portal/leads.html", form=form, by_stage=by_stage,
                           stages=LEAD_STAGES), status


@bp.route("/partner/leads/<int:lead_id>", methods=["GET", "POST"])
@partner_page()
def lead_detail(lead_id: int):
    """One lead: details, stage move (with value for won), activities."""
    lead = leads.get_partner_lead(g.partner, lead_id)
    move = MoveForm(prefix="move", status=lead.status)
    activity = ActivityForm(prefix="act")
    from core.models import LeadActivity

    acts = list(db.session.scalars(select(LeadActivity).where(LeadActivity.lead_id == lead.id)
                                   .order_by(LeadActivity.id.desc())))
    return render_template("portal/lead_detail.html", lead=lead, move=move, activity=activity,
                           activities=acts)


@bp.post("/partner/leads/<int:lead_id>/move")
@partner_page()
def lead_move(lead_id: int):
    """Move a lead to a stage; ``won`` needs a deal value in dollars."""
    lead = leads.get_partner_lead(g.partner, lead_id)
    form = MoveForm(prefix="move")
    if not form.validate_on_submit():
        flash("Choose a stage.", "error")
        return redirect(url_for("portal.lead_detail", lead_id=lead.id)), 303
    value = None
    if form.status.data == "won":
        try:
            value = parse_dollars(form.deal_value.data or "")
        except ValueError as exc:
            flash(f"Deal value: {exc}", "error")
            return redirect(url_for("portal.lead_detail", lead_id=lead.id)), 303
    _commit_or_flash(lambda: leads.move_lead(lead, form.status.data, current_user.id, value),
                     f"Moved to {form.status.data}." + (
                         " Staff will confirm the deal and your commission appears then."
                         if form.status.data == "won" else ""))
    return redirect(url_for("portal.lead_detail", lead_id=lead.id)), 303


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
    """This month, balance, commissions, payouts and statements."""
    p = g.partner
    status = request.args.get("status")
    q = select(Commission).where(Commission.partner_id == p.id)
    if status in ("pending", "approved", "on_hold", "paid", "reversed"):
        q = q.where(Commission.status == status)
    rows = list(db.session.scalars(q.order_by(Commission.id.desc()).limit(200)))
    pays = list(db.session.scalars(select(Payout).where(Payout.partner_id == p.id)
                                   .order_by(Payout.id.desc()).limit(50)))
    sts = list(db.session.scalars(select(Statement).where(Statement.partner_id == p.id)
                                  .order_by(Statement.year.desc(), Statement.month.desc(),
                                            Statement.version.desc())))
    return render_template("portal/earnings.html", summary=earnings_summary(p.id),
                           commissions=rows, payouts=pays, statements=sts,
                           status_filter=status, form=EmptyForm(), partner=p,
                           stripe_enabled=bool(current_app.config.get("STRIPE_API_KEY")))


@bp.post("/partner/payouts/request")
@partner_page()
def request_payout():
    """Request a payout of the approved balance (at least the minimum)."""
    form = EmptyForm()
    if form.validate_on_submit():
        _commit_or_flash(lambda: payouts.create_payout(g.partner.id, current_user.id),
                         "Payout requested. Finance approves payouts within two business days.")
    return redirect(url_for("portal.earnings")), 303


@bp.get("/partner/statements/<int:statement_id>/download")
@login_required
def statement_download(statement_id: int):
    """Download a statement PDF: the partner's own, or any for finance."""
    st = statements.get_statement_for(current_user, statement_id)
    if st.status != "ready":
        abort(404)
    path = os.path.join(current_app.config["STORAGE_DIR"], st.file_path)
    resp = send_file(path, mimetype="application/pdf", as_attachment=True,
                     download_name=f"siso-statement-{st.period}-v{st.version}.pdf")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


# The chat pages live in portal/chat_views.py.


@bp.get("/partner/notifications")
@partner_page(active=False)
def notifications():
    """Notifications, newest first; opening the page marks them read."""
    from core.timeutil import now_utc

    rows = list(db.session.scalars(select(Notification).where(
        Notification.user_id == current_user.id).order_by(Notification.id.desc()).limit(100)))
    for n in rows:
        if n.read_at is None:
            n.read_at = now_utc()
    db.session.commit()
    return render_template("portal/notifications.html", notifications=rows)


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
    from core.stripe_connect import onboarding_link

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
    from core.stripe_connect import refresh_account

    enabled = refresh_account(g.partner)
    db.session.commit()
    flash("Stripe payouts are set up." if enabled else
          "Stripe still needs some details before payouts can be sent.",
          "success" if enabled else "info")
    return redirect(url_for("portal.earnings"))
