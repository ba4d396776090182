"""Applying and logging in over the API: bearer tokens for partners and staff."""

from flask import jsonify

from api import api
from api.common import json_body
from core.accounts import twofactor
from core.accounts import users as accounts
from core.base.errors import Forbidden
from core.base.extensions import db
from core.program import partners
from web.extensions import limiter
from web.throttle import login_throttle, record_failure


def _register_limit() -> str:
    from flask import current_app

    return current_app.config["REGISTER_LIMIT_PER_IP"]


@api.post("/auth/partner/register")
@limiter.shared_limit(_register_limit, scope="register-ip", methods=["POST"])
def api_register():
    """Apply as a partner: ``{email, password, name, accept_terms: true, referral_code?,
    company_name?}`` → 202 ``{"status": "check_email", "message"}``, the same for a new
    address and one that has an account (its owner is e-mailed); then log in with
    ``/auth/partner/login``. Throttled per client address (``REGISTER_LIMIT_PER_IP``)."""
    data = json_body()
    partners.apply_as_partner(
        data.get("email"), data.get("password"), data.get("name"), data.get("accept_terms"),
        data.get("referral_code"), data.get("company_name") or "")
    db.session.commit()
    email = accounts.normalise_email(data.get("email"))
    return jsonify(status="check_email", message=partners.APPLIED.format(email=email)), 202


def _login(kind: str):
    data = json_body()
    user = accounts.authenticate(data.get("email"), data.get("password"))
    if user is None or (kind == "staff") != user.is_staff:
        record_failure()
        return jsonify(error={"code": "invalid_credentials", "message":
                              "That e-mail and password do not match an active account."}), 401
    if twofactor.required_for(user):
        if user.totp_secret is None:
            raise Forbidden("Your role needs two-factor: log in once at /login to set it up, "
                            "then send the code as \"otp\".", code="otp_setup_required")
        if data.get("otp") in (None, ""):
            return jsonify(error={"code": "otp_required", "message":
                                  "Send the 6-digit code of your authenticator app as \"otp\"."}), 401
        try:
            twofactor.verify(user, data.get("otp"))
        except twofactor.WrongCode as exc:
            record_failure()
            return jsonify(error={"code": exc.code, "message": exc.message}), 401
    token, row = accounts.issue_token(user)
    db.session.commit()
    return jsonify(token=token, expires_at=row.expires_at.isoformat(),
                   roles=sorted(user.role_set)), 200


@api.post("/auth/partner/login")
@login_throttle
def api_partner_login():
    """Log in: returns ``{token, expires_at}``."""
    return _login("partner")


@api.post("/auth/staff/login")
@login_throttle
def api_staff_login():
    """Staff log in: returns ``{token, expires_at, roles}``; staff with two-factor also
    send ``otp`` (the current 6-digit code)."""
    return _login("staff")
