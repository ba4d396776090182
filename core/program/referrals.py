"""Referral links: visits, attribution and attributed leads (rules: "Clicks",
"Leads": leads created from a referral-link visit carry the attribution)."""

import hashlib
import hmac
import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select

from core.base.errors import NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.timeutil import now_utc
from core.money.models import Deal
from core.program.leads import create_lead
from core.program.models import Lead, Partner, ReferralClick


def partner_for_code(code) -> Partner:
    """The active partner owning a referral code; unknown or inactive → ``NotFound``."""
    if not isinstance(code, str) or not code.isalnum() or len(code) > 20:
        raise NotFound("No such referral link.")
    partner = db.session.scalar(select(Partner).where(Partner.referral_code == code.upper()))
    if partner is None or partner.status != "active":
        raise NotFound("No such referral link.")
    return partner


#: A website lead's id, made by the page (``/t.js``).
CLIENT_ID_RE = re.compile(r"[A-Za-z0-9-]{8,64}")

#: One visitor's repeat visits within this time count as one click (rules: "Clicks").
REPEAT_CLICK_WINDOW = timedelta(minutes=30)


def is_bot(user_agent: str | None) -> bool:
    """True for a crawler, a link-preview fetcher (Slack, WhatsApp, Facebook, Googlebot,
    headless browsers, HTTP libraries) or a request with no user agent: these are not
    clicks (rules: "Clicks"). The patterns are crawlerdetect's."""
    global _DETECTOR
    if not user_agent or not user_agent.strip():
        return True
    if _DETECTOR is None:  # compiles its patterns once per process (about 1 ms each time)
        from crawlerdetect import CrawlerDetect

        _DETECTOR = CrawlerDetect()
    return bool(_DETECTOR.isCrawler(user_agent[:1000]))


_DETECTOR = None


def visitor_hash(ip: str | None, user_agent: str | None, day) -> str:
    """A visitor's pseudonym for ``day`` (a ``date``): HMAC-SHA256 of the IP and user
    agent under a key derived from ``SECRET_KEY`` and the day, so the key rotates daily
    and the IP is never stored (rules: "Clicks"). 64 hex characters."""
    secret = current_app.config["SECRET_KEY"].encode()
    day_key = hmac.new(secret, f"referral-visitor:{day.isoformat()}".encode(),
                       hashlib.sha256).digest()
    return hmac.new(day_key, f"{ip or ''}|{user_agent or ''}".encode(),
                    hashlib.sha256).hexdigest()


def record_click(partner: Partner, ip: str | None, referrer: str | None,
                 user_agent: str | None = None, link=None) -> ReferralClick | None:
    """Count a visit of the partner's link (rules: "Clicks"): ``None`` for a bot or
    preview fetcher (:func:`is_bot`); the visitor's earlier click on the same link when
    they clicked within :data:`REPEAT_CLICK_WINDOW` (30 minutes); else a new click, stored
    with the visitor's daily pseudonym (:func:`visitor_hash`), the referrer's host only
    and the campaign ``link`` (a ``ReferralLink``; ``None`` for the default link)."""
    if is_bot(user_agent):
        return None
    now = now_utc()
    today = visitor_hash(ip, user_agent, now.date())
    from core.program.fraud import check_click

    check_click(partner.id, link.id if link is not None else None, today)
    recent = {today, visitor_hash(ip, user_agent, (now - REPEAT_CLICK_WINDOW).date())}
    earlier = db.session.scalar(select(ReferralClick).where(
        ReferralClick.partner_id == partner.id, ReferralClick.ip_hash.in_(recent),
        ReferralClick.link_id.is_(None) if link is None else ReferralClick.link_id == link.id,
        ReferralClick.created_at > now - REPEAT_CLICK_WINDOW)
        .order_by(ReferralClick.id.desc()).limit(1))
    if earlier is not None:
        return earlier
    host = urlsplit(referrer or "").hostname or ""
    click = ReferralClick(partner_id=partner.id, ip_hash=today, referrer_host=host[:255],
                          created_at=now, link_id=link.id if link is not None else None)
    db.session.add(click)
    db.session.flush()
    return click


def attributed_lead(click_id, code, data: dict, link=None) -> Lead:
    """Create a lead for the referring partner from the landing page's form, carrying the
    attribution (code, click id, visit time, and the campaign ``link``'s id, UTM values and
    sub-id). The visit must be within the attribution window
    (``core.program.links.attribution_days``) and belong to the code, else the lead is
    still created for the code's partner without a click. Raises ``NotFound`` (bad code),
    ``ValidationError`` (bad fields)."""
    from core.program.links import attribution_days

    partner = partner_for_code(code)
    click = get_row(ReferralClick, click_id)
    if click is not None and (click.partner_id != partner.id or click.lead_id is not None or
                              click.created_at < now_utc() - timedelta(days=attribution_days())):
        click = None
    fields = {k: data.get(k) for k in ("company_name", "contact_name", "contact_email",
                                       "contact_phone", "project_type", "notes")}
    if not fields.get("contact_email") and not fields.get("contact_phone"):
        raise ValidationError("Leave an e-mail or a phone number so we can reach you.")
    attribution = {"referral_code": partner.referral_code,
                   "click_id": click.id if click else None,
                   "clicked_at": click.created_at.isoformat() if click else None,
                   "referrer_host": click.referrer_host if click else ""}
    if link is not None:
        attribution.update(link_id=link.id, utm_source=link.utm_source,
                           utm_medium=link.utm_medium, utm_campaign=link.utm_campaign,
                           sub_id=link.sub_id)
    lead = create_lead(partner, fields, partner.user_id, source="referral_link",
                       attribution=json.dumps(attribution, sort_keys=True))
    if link is not None:
        lead.link_id = link.id
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


#: Fields a website lead may carry (the landing form's, rules: "Leads").
WEBSITE_LEAD_FIELDS = ("company_name", "contact_name", "contact_email", "contact_phone", "notes")


def website_lead(cookie: str | None, client_id, data: dict):
    """A lead SISO's own website reports through ``/t.js`` (rules: "Links and
    attribution"): ``cookie`` is the visitor's ``siso_ref`` (``<code>:<click id>``);
    ``client_id`` the page's id for this lead (8–64 letters, digits, hyphens), so a
    repeat returns the first lead. Without a valid cookie (no partner) nothing is stored
    and ``(None, False)`` returned. The click counts when it belongs to the code's
    partner, is within the attribution window and no lead used it. Returns
    ``(lead, created)``. Raises ``ValidationError`` (bad id or fields)."""
    from core.program.leads import create_lead_once
    from core.program.links import attribution_days

    if not isinstance(client_id, str) or not CLIENT_ID_RE.fullmatch(client_id):
        raise ValidationError("client_id: 8–64 letters, digits or hyphens.")
    fields = {k: data.get(k) for k in WEBSITE_LEAD_FIELDS if data.get(k) is not None}
    if not any(isinstance(fields.get(k), str) and fields[k].strip()
               for k in ("contact_email", "contact_phone")):
        raise ValidationError("Leave an e-mail or a phone number so we can reach you.")
    code, _, click_part = (cookie or "").partition(":")
    try:
        partner = partner_for_code(code)
    except NotFound:
        return None, False
    click = get_row(ReferralClick, int(click_part)) if click_part.isdigit() \
        and len(click_part) < 12 else None
    if click is not None and (click.partner_id != partner.id or click.lead_id is not None or
                              click.created_at < now_utc() - timedelta(days=attribution_days())):
        click = None
    attribution = {"referral_code": partner.referral_code,
                   "click_id": click.id if click else None,
                   "clicked_at": click.created_at.isoformat() if click else None,
                   "referrer_host": click.referrer_host if click else "",
                   "link_id": click.link_id if click else None}
    lead, created = create_lead_once(partner, fields, partner.user_id, client_id,
                                     source="website")
    if created:
        lead.attribution = json.dumps(attribution, sort_keys=True)
        lead.link_id = click.link_id if click else None
        if click is not None:
            click.lead_id = lead.id
    return lead, created
