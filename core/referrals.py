"""Referral links: visits, attribution and attributed leads (PRD "Referral Link
Generation", "Attribution tracking"; DESIGN.md "Leads created from a referral-link visit
carry the attribution")."""

import hashlib
import json
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select

from core.errors import NotFound, ValidationError
from core.extensions import db
from core.leads import create_lead
from core.models import Deal, Lead, Partner
from core.models.referral import ReferralClick
from core.timeutil import now_utc

#: How long a visit's attribution lasts (days; a cookie of the same age).
ATTRIBUTION_DAYS = 60


def partner_for_code(code) -> Partner:
    """The active partner owning a referral code; unknown or inactive → ``NotFound``."""
    if not isinstance(code, str) or not code.isalnum() or len(code) > 20:
        raise NotFound("No such referral link.")
    partner = db.session.scalar(select(Partner).where(Partner.referral_code == code.upper()))
    if partner is None or partner.status != "active":
        raise NotFound("No such referral link.")
    return partner


def record_click(partner: Partner, ip: str | None, referrer: str | None) -> ReferralClick:
    """Store a visit with a salted hash of the IP and the referrer's host only."""
    secret = current_app.config["SECRET_KEY"].encode()
    ip_hash = hashlib.sha256(secret + b"|" + (ip or "").encode()).hexdigest()
    host = urlsplit(referrer or "").hostname or ""
    click = ReferralClick(partner_id=partner.id, ip_hash=ip_hash, referrer_host=host[:255])
    db.session.add(click)
    db.session.flush()
    return click


def attributed_lead(click_id, code, data: dict) -> Lead:
    """Create a lead for the referring partner from the landing page's form, carrying the
    attribution (code, click id, visit time). The visit must be under 60 days old and
    belong to the code, else the lead is still created for the code's partner without a
    click. Raises ``NotFound`` (bad code), ``ValidationError`` (bad fields)."""
    partner = partner_for_code(code)
    click = db.session.get(ReferralClick, click_id) if isinstance(click_id, int) else None
    if click is not None and (click.partner_id != partner.id or click.lead_id is not None or
                              click.created_at < now_utc() - timedelta(days=ATTRIBUTION_DAYS)):
        click = None
    fields = {k: data.get(k) for k in ("company_name", "contact_name", "contact_email",
                                       "contact_phone", "project_type", "notes")}
    if not fields.get("contact_email") and not fields.get("contact_phone"):
        raise ValidationError("Leave an e-mail or a phone number so we can reach you.")
    attribution = {"referral_code": partner.referral_code,
                   "click_id": click.id if click else None,
                   "clicked_at": click.created_at.isoformat() if click else None,
                   "referrer_host": click.referrer_host if click else ""}
    lead = create_lead(partner, fields, partner.user_id, source="referral_link",
                       attribution=json.dumps(attribution, sort_keys=True))
    if click is not None:
        click.lead_id = lead.id
    return lead


def link_stats(partner_id: int) -> dict:
    """Clicks (and unique visitors), leads and confirmed deals from the referral link."""
    clicks, visitors = db.session.execute(
        select(func.count(), func.count(func.distinct(ReferralClick.ip_hash)))
        .where(ReferralClick.partner_id == partner_id)).one()
    leads = db.session.scalar(select(func.count()).select_from(Lead).where(
        Lead.partner_id == partner_id, Lead.source == "referral_link")) or 0
    deals = db.session.scalar(select(func.count()).select_from(Deal).join(Lead, Lead.id == Deal.lead_id)
                              .where(Lead.partner_id == partner_id,
                                     Lead.source == "referral_link", Deal.status == "won")) or 0
    return {"clicks": int(clicks), "visitors": int(visitors), "leads": int(leads),
            "deals": int(deals)}
