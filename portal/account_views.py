"""Account pages reached from e-mail (rules: "E-mail"): verify the address, resend
the verification e-mail, forgot password, reset password. Thin: parse, call
``core.accounts.email_links``, commit, render. The e-mails themselves go out from RQ jobs."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from core.accounts import email_links as account_email
from core.accounts.users import normalise_email
from core.base.errors import DomainError, ValidationError
from core.base.extensions import db
from portal import bp
from portal.forms import EmptyForm, ForgotPasswordForm, ResetPasswordForm
from web.extensions import limiter
from web.throttle import reset_throttle, user_key


def _bad_link(exc: account_email.BadLink, page: str):
    """The 400 page for a link that cannot be used: what happened and the way forward."""
    return render_template("portal/bad_link.html", message=exc.message, page=page,
                           expired=exc.expired), exc.status


@bp.get("/verify-email/<token>")
def verify_email(token: str):
    """Open the link of a verification e-mail: the address becomes verified. No log-in
    is needed (and none is started: a link in an e-mail never grants a session)."""
    try:
        user, newly = account_email.verify_email(token)
        db.session.commit()
    except account_email.BadLink as exc:
        db.session.rollback()
        return _bad_link(exc, "verify")
    return render_template("portal/email_verified.html", email=user.email, newly=newly,
                           same_user=current_user.is_authenticated
                           and current_user.id == user.id)


def _resend_limit() -> str:
    return current_app.config["VERIFY_RESEND_LIMIT"]


@bp.post("/account/verify-email")
@login_required
@limiter.limit(_resend_limit, key_func=user_key, scope="verify-resend")
def resend_verification():
    """The banner's "resend": a new verification e-mail to the logged-in user's address
    (throttled per user, ``VERIFY_RESEND_LIMIT``; 429 with the wait beyond it)."""
    form = EmptyForm()
    if not form.validate_on_submit():
        flash("The form expired; press resend again.", "error")
    elif account_email.is_verified(current_user):
        flash("Your e-mail address is already verified.", "info")
    else:
        account_email.send_verification(current_user)
        db.session.commit()
        flash(f"We sent a new verification link to {current_user.email}. It works for 48 "
              "hours; check your spam folder if it does not arrive in a few minutes.",
              "success")
    return redirect(url_for("portal.dashboard"), 303)


@bp.route("/password/forgot", methods=["GET", "POST"])
@reset_throttle
def forgot_password():
    """Ask for a password-reset link. The answer is the same sentence whether or not an
    account has the address (the e-mail is sent by a job that looks it up); throttled per
    address and per client address (``RESET_LIMIT_PER_ACCOUNT``/``_PER_IP``)."""
    form = ForgotPasswordForm()
    sent_to = None
    status = 200
    if form.validate_on_submit():
        try:
            email = normalise_email(form.email.data)
        except ValidationError as exc:
            form.email.errors = [exc.message]
            status = 422
        else:
            account_email.request_password_reset(email)
            db.session.commit()
            sent_to = email
    elif request.method == "POST":
        status = 422
    return render_template("portal/forgot_password.html", form=form,
                           sent=account_email.RESET_SENT.format(email=sent_to) if sent_to else None), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from a reset link (1 hour, once). The password rules are
    core.accounts.users'; success ends every session and API login token of the account and
    sends the person to log in with the new password."""
    try:
        account_email.user_for_reset_token(token)
    except account_email.BadLink as exc:
        return _bad_link(exc, "reset")
    form = ResetPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            account_email.reset_password(token, form.new_password.data)
            db.session.commit()
        except account_email.BadLink as exc:
            db.session.rollback()
            return _bad_link(exc, "reset")
        except DomainError as exc:
            db.session.rollback()
            form.new_password.errors = [exc.message]
            status = 422
        else:
            from web.sessions import end_session

            if current_user.is_authenticated:
                end_session()
            flash(account_email.RESET_DONE, "success")
            return redirect(url_for("portal.login"), 303)
    elif request.method == "POST":
        status = 422
    return render_template("portal/reset_password.html", form=form), status


def register_throttled_pages(app) -> None:
    """The pages a throttled portal form shows (``web.errors``): the log-in form for the
    log-in, two-factor and password-change steps, the forgot-password and application
    forms with the wait; the error page otherwise."""
    from portal.forms import LoginForm, RegisterForm
    from web.errors import register_throttled_page

    def login_page(message):
        return render_template("portal/login.html", form=LoginForm(), message=message)

    for endpoint in ("portal.login", "portal.login_second_step", "portal.change_password"):
        register_throttled_page(endpoint, login_page)
    register_throttled_page("portal.forgot_password", lambda message: render_template(
        "portal/forgot_password.html", form=ForgotPasswordForm(), message=message))
    register_throttled_page("portal.register", lambda message: render_template(
        "portal/register.html", form=RegisterForm(), message=message))
