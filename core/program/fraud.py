"""Fraud rules and the staff review queue (rules: "Fraud rules"): each rule has an on/off
switch and a threshold staff set; a finding is a ``FraudFlag``; a lead with an open flag
cannot be confirmed until an admin dismisses it, and a rejected lead never."""

import hashlib
import hmac
import json
import statistics
from datetime import timedelta

from flask import current_app, g
from sqlalchemy import delete, func, or_, select

from core.base.audit import audit
from core.base.errors import Conflict, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.jobs import job
from core.base.models import Setting
from core.base.timeutil import now_utc
from core.program.models import FraudFlag, Lead, Partner, PartnerSighting

#: rule -> (label, threshold label or None, default threshold)
RULES = {
    "self_referral": ("Self-referral: the lead's e-mail or domain is the partner's, a staff "
                      "member's or the partner's recruiter's", None, 0),
    "duplicate_lead": ("Duplicate lead: same company or contact e-mail claimed by another "
                       "partner within N days (the first claim stands)", "days", 90),
    "click_spam": ("Click spam: more than N clicks per visitor hash per hour on one link",
                   "clicks per hour", 20),
    "lead_burst": ("Lead burst: more than N leads per partner per hour", "leads per hour", 10),
    "deal_outlier": ("Deal value over N times the partner's median confirmed deal (needs "
                     "3 confirmed deals)", "times the median", 5),
    "shared_signup": ("Recruit signs up from the recruiter's network or device: the same "
                      "hashed client address or device cookie as the recruiter's sign-up or "
                      "a log-in of theirs within N days", "days (at most 30)", 30),
}
#: Highest threshold of a rule, where it is below 10,000 (sightings are kept 30 days).
RULE_MAX = {"shared_signup": 30}
#: Days a partner's sign-up and log-in sightings are kept (rules: "Fraud rules").
SIGHTING_DAYS = 30
#: Mail providers whose domain many people share: only the exact address counts there.
SHARED_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
    "yahoo.com", "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com",
    "gmx.com", "mail.com", "yandex.com", "zoho.com"})


def rule_settings() -> dict:
    """``{rule: {"enabled": bool, "threshold": int}}`` for every rule (settings
    ``fraud_<rule>`` = ``on:<n>``/``off:<n>``; unset: ``FRAUD_RULES_ON_BY_DEFAULT`` and
    the rule's default threshold). All off while the demo data is seeded
    (``g.fraud_rules_paused``)."""
    if g.get("fraud_rules_paused"):  # demo seeding (core.seed.demo)
        return {key: {"enabled": False, "threshold": default}
                for key, (_label, _unit, default) in RULES.items()}
    rows = {r.key: r.value for r in db.session.scalars(
        select(Setting).where(Setting.key.in_([f"fraud_{k}" for k in RULES])))}
    default_on = bool(current_app.config.get("FRAUD_RULES_ON_BY_DEFAULT", True))
    out = {}
    for key, (_label, _unit, default) in RULES.items():
        value = rows.get(f"fraud_{key}")
        if value and ":" in value:
            state, n = value.split(":", 1)
            out[key] = {"enabled": state == "on", "threshold": int(n)}
        else:
            out[key] = {"enabled": default_on, "threshold": default}
    return out


def set_rule(rule: str, enabled: bool, threshold, actor_id: int | None) -> dict:
    """Switch a rule and set its threshold (whole number 1–10,000; ignored for rules
    without one); audited ``fraud.rule``. Raises ``ValidationError`` (422)."""
    if rule not in RULES:
        raise ValidationError("No such fraud rule.")
    if RULES[rule][1] is None:
        threshold = 0
    elif not isinstance(threshold, int) or isinstance(threshold, bool) \
            or not 1 <= threshold <= RULE_MAX.get(rule, 10000):
        raise ValidationError(f"{rule}: the threshold must be a whole number from 1 to "
                              f"{RULE_MAX.get(rule, 10000):,}.")
    before = rule_settings()[rule]
    row = db.session.get(Setting, f"fraud_{rule}")
    value = f"{'on' if enabled else 'off'}:{threshold}"
    if row is None:
        db.session.add(Setting(key=f"fraud_{rule}", value=value))
    else:
        row.value = value
    after = {"enabled": bool(enabled), "threshold": threshold}
    audit(actor_id, "fraud.rule", "setting", None, before={"rule": rule, **before},
          after={"rule": rule, **after})
    return after


def _domain(email: str) -> str:
    return email.rsplit("@", 1)[1].lower() if "@" in (email or "") else ""


def _flag(rule: str, partner_id: int, evidence: dict, lead_id=None, link_id=None,
          dedupe_key: str = "") -> FraudFlag | None:
    """Add a flag unless the same one exists; returns it (or ``None`` when it existed)."""
    exists = db.session.scalar(select(FraudFlag.id).where(
        FraudFlag.rule == rule, FraudFlag.dedupe_key == dedupe_key,
        FraudFlag.lead_id.is_(None) if lead_id is None else FraudFlag.lead_id == lead_id))
    if exists:
        return None
    flag = FraudFlag(rule=rule, partner_id=partner_id, lead_id=lead_id, link_id=link_id,
                     evidence=json.dumps(evidence, sort_keys=True), dedupe_key=dedupe_key,
                     created_at=now_utc())
    db.session.add(flag)
    return flag


def check_new_lead(lead: Lead) -> list[FraudFlag]:
    """Run the lead rules on a new lead (self-referral, duplicate lead, lead burst) and
    flag what they find. Returns the new flags."""
    rules = rule_settings()
    partner = db.session.get(Partner, lead.partner_id)
    email = (lead.contact_email or "").strip().lower()
    found = []
    if rules["self_referral"]["enabled"] and email:
        found.append(_self_referral(lead, partner, email))
    if rules["duplicate_lead"]["enabled"]:
        found.append(_duplicate(lead, partner, email, rules["duplicate_lead"]["threshold"]))
    if rules["lead_burst"]["enabled"]:
        n = db.session.scalar(select(func.count()).select_from(Lead).where(
            Lead.partner_id == partner.id, Lead.created_at >= now_utc() - timedelta(hours=1)))
        if n > rules["lead_burst"]["threshold"]:
            found.append(_flag("lead_burst", partner.id, {
                "leads_last_hour": n, "threshold": rules["lead_burst"]["threshold"]},
                lead_id=lead.id))
    return [f for f in found if f is not None]


def _self_referral(lead: Lead, partner: Partner, email: str) -> FraudFlag | None:
    from core.accounts.models import User

    own = [("partner", partner.user.email)]
    if partner.recruiter_id:
        own.append(("recruiter", db.session.get(Partner, partner.recruiter_id).user.email))
    domain = _domain(email)
    shared = domain in SHARED_MAIL_DOMAINS
    hit = next(((who, addr) for who, addr in own if addr.lower() == email or (
        not shared and _domain(addr) == domain)), None)
    if hit is None:
        same = [func.lower(User.email) == email]
        if domain and not shared:
            same.append(func.lower(User.email).like("%@" + domain))
        staff = db.session.scalar(select(User.email).where(User.is_staff, or_(*same)).limit(1))
        hit = ("staff", staff) if staff else None
    if hit is None:
        return None
    return _flag("self_referral", partner.id, {
        "lead_email": email, "matches": hit[0], "matched_address": hit[1]}, lead_id=lead.id)


def _duplicate(lead: Lead, partner: Partner, email: str, days: int) -> FraudFlag | None:
    company = (lead.company_name or "").strip().lower()
    cond = []
    if company:
        cond.append(func.lower(func.trim(Lead.company_name)) == company)
    if email:
        cond.append(func.lower(Lead.contact_email) == email)
    if not cond:
        return None
    first = db.session.scalar(select(Lead).where(
        Lead.created_at >= now_utc() - timedelta(days=days),
        Lead.id != lead.id, or_(*cond)).order_by(Lead.id).limit(1))
    if first is None or first.partner_id == partner.id:  # the first claim is theirs
        return None
    return _flag("duplicate_lead", partner.id, {
        "first_lead_id": first.id, "first_partner_id": first.partner_id,
        "first_claimed_at": first.created_at.isoformat(),
        "same_company": (first.company_name or "").strip().lower() == company,
        "same_email": bool(email) and (first.contact_email or "").lower() == email},
        lead_id=lead.id)


def check_won_value(lead: Lead) -> FraudFlag | None:
    """Deal outlier: a lead marked won at more than N× the partner's median confirmed
    deal value (with at least 3 confirmed deals) is flagged."""
    from core.money.models import Deal

    rule = rule_settings()["deal_outlier"]
    if not rule["enabled"] or not lead.won_value_cents:
        return None
    values = list(db.session.scalars(select(Deal.value_cents).where(
        Deal.partner_id == lead.partner_id, Deal.status == "won")))
    if len(values) < 3:
        return None
    median = statistics.median(values)
    if lead.won_value_cents > rule["threshold"] * median:
        return _flag("deal_outlier", lead.partner_id, {
            "won_value_cents": lead.won_value_cents, "median_cents": int(median),
            "confirmed_deals": len(values), "times": rule["threshold"]}, lead_id=lead.id,
            dedupe_key=str(lead.won_value_cents))
    return None


def check_click(partner_id: int, link_id, visitor: str) -> FraudFlag | None:
    """Click spam: count every visit attempt of one visitor hash on one link within the
    hour (Redis, also the ones not counted as clicks); above the threshold the link is
    flagged once per visitor and hour. Redis down: nothing is checked."""
    from core.base.jobs import redis_connection

    rule = rule_settings()["click_spam"]
    if not rule["enabled"]:
        return None
    hour = now_utc().strftime("%Y%m%d%H")
    key = f"siso:clickspam:{link_id or 0}:{visitor}:{hour}"
    try:
        conn = redis_connection()
        n = conn.incr(key)
        if n == 1:
            conn.expire(key, 3700)
    except Exception:  # noqa: BLE001  (a click is never refused because Redis is away)
        return None
    if n <= rule["threshold"]:
        return None
    return _flag("click_spam", partner_id, {
        "visitor_hash": visitor, "hour": hour, "attempts": n, "threshold": rule["threshold"]},
        link_id=link_id, dedupe_key=f"{link_id or 0}:{visitor[:32]}:{hour}")


def blocking_flags(lead_ids) -> dict[int, FraudFlag]:
    """The open or rejected flag (if any) of each lead id: those leads cannot be
    confirmed."""
    out = {}
    for flag in db.session.scalars(select(FraudFlag).where(
            FraudFlag.lead_id.in_(list(lead_ids)), FraudFlag.status.in_(("open", "rejected")))
            .order_by(FraudFlag.id)):
        if flag.status == "rejected" or flag.lead_id not in out:
            out[flag.lead_id] = flag
    return out


def open_flags(limit: int = 200, after_id: int | None = None) -> list[FraudFlag]:
    """Open flags, oldest first (the review queue)."""
    q = select(FraudFlag).where(FraudFlag.status == "open")
    if after_id:
        q = q.where(FraudFlag.id > after_id)
    return list(db.session.scalars(q.order_by(FraudFlag.id).limit(limit)))


def decide(flag_id, decision: str, reason: str, actor_id: int) -> FraudFlag:
    """An admin decides an open flag: ``dismiss`` (the lead may be confirmed, if no other
    flag is open) or ``reject`` with a reason (1–500 characters) the partner sees on the
    lead; the lead is never confirmed. Audited ``fraud.dismiss`` / ``fraud.reject``.
    Raises ``NotFound``, ``Conflict`` (already decided), ``ValidationError``."""
    flag = get_row(FraudFlag, flag_id)
    if flag is None:
        raise NotFound("No such flag.")
    if flag.status != "open":
        raise Conflict(f"This flag is already {flag.status}.", code="decided")
    reason = (reason or "").strip()
    if decision == "reject":
        if not reason or len(reason) > 500:
            raise ValidationError("Give the partner a reason (at most 500 characters).")
        flag.status, flag.reason = "rejected", reason
    elif decision == "dismiss":
        flag.status = "dismissed"
        flag.reason = reason[:500]
    else:
        raise ValidationError("decision must be dismiss or reject.")
    flag.decided_by_id, flag.decided_at = actor_id, now_utc()
    audit(actor_id, f"fraud.{decision}", "fraud_flag", flag.id,
          before={"status": "open"}, after={"status": flag.status, "reason": flag.reason,
                                            "rule": flag.rule, "lead_id": flag.lead_id})
    return flag


def rejection_for(lead_id: int) -> FraudFlag | None:
    """The rejected flag of a lead (its reason is shown to the partner), if any."""
    return db.session.scalar(select(FraudFlag).where(FraudFlag.lead_id == lead_id,
                                                     FraudFlag.status == "rejected").limit(1))


def sighting_hash(kind: str, value: str | None) -> str:
    """The keyed hash the fraud rules keep of a client address (``kind`` ``ip``) or a
    device cookie (``device``): HMAC-SHA256 under a key derived from ``SECRET_KEY`` for
    this use only (unlike click hashes it does not rotate daily, so a recruit's sign-up
    matches the recruiter's log-in of another day; the rows live 30 days). Empty for no
    value. 64 hex characters."""
    if not value:
        return ""
    secret = current_app.config["SECRET_KEY"].encode()
    key = hmac.new(secret, f"fraud-sighting:{kind}".encode(), hashlib.sha256).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def record_sighting(partner: Partner, kind: str, ip: str | None,
                    device_id: str | None) -> list[FraudFlag]:
    """Keep a partner's ``signup`` or ``login`` (``ip``: the client address; ``device_id``:
    the ``siso_device`` cookie, ``None`` from the API) as hashes (:func:`sighting_hash`),
    and for a sign-up run the shared sign-up rule. Returns the new flags (rules: "Fraud
    rules")."""
    row = PartnerSighting(partner_id=partner.id, kind=kind, ip_hash=sighting_hash("ip", ip),
                          device_hash=sighting_hash("device", device_id), created_at=now_utc())
    db.session.add(row)
    db.session.flush()
    if kind != "signup":
        return []
    flag = check_signup(partner, row)
    return [flag] if flag is not None else []


def check_signup(partner: Partner, signup: PartnerSighting) -> FraudFlag | None:
    """Shared sign-up: a recruited partner whose sign-up has the hashed client address or
    device of their recruiter's sign-up or a log-in within N days (default 30) is flagged,
    with the recruiter, what matched, when the recruiter was seen and the hashes' first 12
    characters as evidence."""
    rule = rule_settings()["shared_signup"]
    if not rule["enabled"] or not partner.recruiter_id:
        return None
    same = []
    if signup.ip_hash:
        same.append(PartnerSighting.ip_hash == signup.ip_hash)
    if signup.device_hash:
        same.append(PartnerSighting.device_hash == signup.device_hash)
    if not same:
        return None
    seen = db.session.scalar(select(PartnerSighting).where(
        PartnerSighting.partner_id == partner.recruiter_id, or_(*same),
        PartnerSighting.created_at >= now_utc() - timedelta(days=rule["threshold"]))
        .order_by(PartnerSighting.created_at.desc()).limit(1))
    if seen is None:
        return None
    matched = [name for name, a, b in (("client address", seen.ip_hash, signup.ip_hash),
                                       ("device", seen.device_hash, signup.device_hash))
               if a and a == b]
    return _flag("shared_signup", partner.id, {
        "recruiter_id": partner.recruiter_id, "matched": ", ".join(matched),
        "recruiter_seen": f"{seen.kind} {seen.created_at.isoformat()}",
        "hash": (seen.ip_hash if seen.ip_hash == signup.ip_hash else seen.device_hash)[:12],
        "days": rule["threshold"]}, dedupe_key=f"signup:{partner.id}")


def purge_sightings() -> int:
    """Delete sightings older than :data:`SIGHTING_DAYS`; returns how many."""
    return db.session.execute(delete(PartnerSighting).where(
        PartnerSighting.created_at < now_utc() - timedelta(days=SIGHTING_DAYS))).rowcount or 0


@job(every=3600)
def purge_sightings_job() -> int:
    """The worker's hourly purge of sightings past 30 days (see :func:`purge_sightings`)."""
    return purge_sightings()
