"""Applying and logging in over the API: bearer tokens for partners and staff."""

from flask import jsonify

from api import api
from api.spec import operation
from core.accounts import email_links, twofactor
from core.accounts import users as accounts
from core.accounts.schemas import (
    Applied,
    Login,
    NewPassword,
    PasswordChanged,
    Registration,
    ResetRequest,
    ResetSent,
    StaffLogin,
    Token,
    WrongCredentials,
)
from core.base.errors import Forbidden
from core.base.extensions import db
from core.program import partners
from web.extensions import limiter
from web.throttle import login_throttle, record_failure, reset_ip_throttle, reset_throttle


def _register_limit() -> str:
    from flask import current_app

    return current_app.config["REGISTER_LIMIT_PER_IP"]


@api.errorhandler(WrongCredentials)
def _wrong_credentials(exc: WrongCredentials):
    """A failed log-in (wrong, unknown or malformed credentials) counts against the
    account's and the address's limits and answers 401."""
    record_failure()
    return jsonify(error={"code": exc.code, "message": exc.message}), exc.status


@api.post("/auth/partner/register")
@limiter.shared_limit(_register_limit, scope="register-ip", methods=["POST"])
@operation(202, Applied, auth=False, errors=(429,))
def api_register(json: Registration):
    """Apply as a partner

    The application waits (status applied) until staff approve it. The answer is the
    same whether or not the address has an account (its owner is e-mailed); then log in
    with /api/auth/partner/login. Throttled per client address (429)."""
    from flask import request

    from core.engagement.goals import GOAL_FIELDS
    from core.program import fraud

    goals = {k: v for k, v in json.sent().items() if k in GOAL_FIELDS}
    partner = partners.apply_as_partner(json.email, json.password, json.name,
                                        json.accept_terms, json.referral_code,
                                        json.company_name, goals=goals)
    if partner is not None:  # the API has no device cookie: the hashed address only
        fraud.record_sighting(partner, "signup", request.remote_addr, None)
    db.session.commit()
    email = accounts.normalise_email(json.email)
    return Applied(status="check_email", message=partners.APPLIED.format(email=email)), 202


def _login(data: Login, kind: str) -> Token:
    user = accounts.authenticate(data.email, data.password)
    if user is None or (kind == "staff") != user.is_staff:
        raise WrongCredentials()
    if twofactor.required_for(user):
        if user.totp_secret is None:
            raise Forbidden("Your role needs two-factor: log in once at /login to set it up, "
                            "then send the code as \"otp\".", code="otp_setup_required")
        otp = getattr(data, "otp", None)
        if not isinstance(otp, str) or not otp:
            return jsonify(error={"code": "otp_required", "message":
                                  "Send the 6-digit code of your authenticator app as \"otp\"."}), 401
        try:
            twofactor.verify(user, otp)
        except twofactor.WrongCode as exc:
            record_failure()
            return jsonify(error={"code": exc.code, "message": exc.message}), 401
    if kind == "partner" and user.partner is not None:
        from flask import request

        from core.program import fraud

        fraud.record_sighting(user.partner, "login", request.remote_addr, None)
    token, row = accounts.issue_token(user)
    db.session.commit()
    return Token(token=token, expires_at=row.expires_at, roles=sorted(user.role_set))


@api.post("/auth/partner/login")
@login_throttle
@operation(200, Token, auth=False, errors=(401, 429))
def api_partner_login(json: Login):
    """Partner log-in: a bearer token

    Anything but a matching e-mail and password of an active partner is a 401
    invalid_credentials; failures are throttled per account and per address (429)."""
    return _login(json, "partner")


@api.post("/auth/staff/login")
@login_throttle
@operation(200, Token, auth=False, errors=(401, 403, 429))
def api_staff_login(json: StaffLogin):
    """Staff log-in: a bearer token and the roles

    Staff with two-factor also send otp, the current 6-digit code (401 otp_required
    without it; 403 otp_setup_required until it is set up at /login)."""
    return _login(json, "staff")


@api.post("/auth/partner/reset-password")
@reset_throttle
@operation(202, ResetSent, auth=False, errors=(429,))
def api_reset_password(json: ResetRequest):
    """Ask for a password-reset link

    The same answer whether or not the address has an account; the e-mail holds a link
    that works once, for 1 hour (its token is what /reset-password/confirm takes).
    Throttled per address asked about and per client address, together with the page
    (429)."""
    email = accounts.normalise_email(json.email)
    email_links.request_password_reset(email)
    db.session.commit()
    return ResetSent(status="check_email", message=email_links.RESET_SENT.format(email=email)), 202


@api.post("/auth/partner/reset-password/confirm")
@reset_ip_throttle
@operation(200, PasswordChanged, auth=False, errors=(429,))
def api_reset_password_confirm(json: NewPassword):
    """Set a new password with the reset link's token

    The token is the part of the e-mailed link after /password/reset/. 400 bad_link when
    it is expired, used, altered or for a suspended account; 422 when the password breaks
    the rules (10 to 200 characters, not a common one). Success ends every session and
    login token of the account: log in again."""
    email_links.reset_password(json.token, json.new_password)
    db.session.commit()
    return PasswordChanged(status="password_changed", message=email_links.RESET_DONE)
