"""What every JSON endpoint shares: bearer authentication (tokens and staff API keys),
the error shape ``{"error": {"code", "message"}}`` for routing errors, reading a JSON
body and query numbers, and the warning when a job could not be queued."""

import functools
import json

from flask import g, jsonify, request

from api import api
from core.accounts import users as accounts
from core.base.audit import audit_key_use
from core.base.errors import DomainError, Forbidden, ValidationError
from core.program.models import Lead
from core.program.tiers import standing


@api.after_request
def tell_of_unqueued_jobs(resp):
    """A successful answer whose job could not be queued (Redis not answering) says so:
    ``"jobs_queued": false`` and a ``"warning"`` sentence in the JSON body, and a
    ``Warning`` header (``199 - "..."``), as the back office tells staff (rules: "Jobs
    and retries")."""
    from core.base.outbox import NOT_QUEUED_WARNING, jobs_not_queued

    if resp.status_code < 300 and resp.is_json and jobs_not_queued():
        body = resp.get_json()
        if isinstance(body, dict):
            body.update(jobs_queued=False, warning=NOT_QUEUED_WARNING)
            resp.set_data(json.dumps(body))
            resp.headers["Warning"] = f'199 - "{NOT_QUEUED_WARNING}"'
    return resp


def json_body() -> dict:
    """The request's JSON object; anything else is a 400 with a readable message."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise DomainError("Send a JSON object with Content-Type: application/json.",
                          code="bad_json", status=400)
    return data


def bearer(kind: str = "partner", active: bool = True):
    """Authenticate ``Authorization: Bearer``; ``kind`` is ``partner`` or ``staff``.

    Session cookies are ignored here, so the API needs no CSRF token.
    """

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            user = accounts.user_for_token(header[7:].strip()) if header.startswith("Bearer ") \
                else None
            if user is None:
                return jsonify(error={"code": "unauthorized", "message":
                                      "Log in first: send Authorization: Bearer <token>."}), 401
            if user.api_key is not None:  # a staff API key: every use is audited
                g.api_key_id = user.api_key.id
                audit_key_use(user.api_key.id, user.id, user.api_key.name, request.method,
                              request.path)
            if kind == "partner":
                if user.partner is None:
                    raise Forbidden("This endpoint is for partners.")
                g.partner = user.partner
                if active and g.partner.status != "active":
                    raise Forbidden("Your application is under review; this opens once staff "
                                    "approve it.", code="not_approved")
            elif not user.is_staff:
                raise Forbidden("This endpoint is for staff.")
            g.user = user
            return fn(*args, **kwargs)

        return wrapper

    return deco


def _int_arg(name: str, default: int | None = None, low: int = 1, high: int = 10**12):
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f"{name} must be a whole number.") from None
    if not low <= value <= high:
        raise ValidationError(f"{name} must be between {low} and {high}.")
    return value


def profile_json(p) -> dict:
    st = standing(p)
    return {"id": p.id, "name": p.user.name, "email": p.user.email, "status": p.status,
            "company_name": p.company_name, "industry": p.industry, "phone": p.phone,
            "referral_code": p.referral_code, "recruiter_id": p.recruiter_id,
            "team_leader_id": p.team_leader_id, "current_tier": st.tier.key,
            "commission_rate_bps": st.base_rate_bps, "won_deals_count": p.won_deals_count,
            "agreement_version": p.agreement_version, "timezone": p.timezone or "UTC",
            "notify_email": bool(p.notify_email), "notify_portal": bool(p.notify_portal),
            "email_verified": p.user.email_verified_at is not None,
            "created_at": p.created_at.isoformat()}


def lead_json(lead: Lead) -> dict:
    return {"id": lead.id, "partner_id": lead.partner_id, "company_name": lead.company_name,
            "contact_name": lead.contact_name, "contact_email": lead.contact_email,
            "contact_phone": lead.contact_phone, "project_type": lead.project_type,
            "estimated_value_cents": lead.estimated_value_cents, "status": lead.status,
            "deal_value_cents": lead.won_value_cents, "source": lead.source,
            "next_action": lead.next_action, "deal_id": lead.deal.id if lead.deal else None,
            "created_at": lead.created_at.isoformat(),
            "updated_at": lead.updated_at.isoformat()}
