"""Partners: applying (registration), approval, suspension and reactivation (rules:
"Partners"); each partner's referral code."""

import secrets

from flask import current_app
from sqlalchemy import select

from core.accounts.models import User
from core.accounts.users import _check_name, check_password_rules, hash_password, normalise_email
from core.base.audit import audit
from core.base.errors import Conflict, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.timeutil import now_utc
from core.community.notifications import notify
from core.program.models import Partner
from core.program.tiers import all_tiers
from core.webhooks.events import emit

#: What an application is answered, whether or not the address already had an account
#: (rules: "Registration"): the same words for both, on the page and from the API.
APPLIED = ("Thank you for applying. We sent a message to {email}: open it to verify your "
           "address. Then log in to follow your application; staff review applications "
           "within one business day. Nothing arrived? Check your spam folder.")


def new_referral_code() -> str:
    """Return an unused 8-character referral code (letters and digits, no look-alikes)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        code = "".join(secrets.choice(alphabet) for _ in range(8))
        if not db.session.scalar(select(Partner.id).where(Partner.referral_code == code)):
            return code


def register_partner(email, password, name, accept_terms, referral_code=None,
                     company_name: str = "", *, email_verified: bool = False,
                     goals: dict | None = None) -> Partner:
    """Create a partner user in status ``applied`` (rules: "Registration").

    Args: ``accept_terms`` must be ``True``; ``referral_code`` (optional) sets the
    recruiter; ``email_verified`` (seeded demo partners and test factories only, never a
    view) takes the address as verified; ``goals`` (optional) the experience level and
    monthly goal (``core.engagement.goals.GOAL_FIELDS``; rules: "Goals"). Otherwise a verification e-mail (a signed 48-hour
    link) is sent after the commit (rules: "E-mail"). Raises ``ValidationError`` on
    bad fields, ``Conflict`` when the e-mail is taken. Returns the new ``Partner``
    (flushed, not committed).
    """
    email = normalise_email(email)
    check_password_rules(password)
    name = _check_name(name)
    if accept_terms is not True:
        raise ValidationError("You must accept the partner agreement to apply.")
    if not isinstance(company_name, str) or len(company_name) > 200:
        raise ValidationError("Company names are at most 200 characters.")
    from core.engagement.goals import clean_goals

    goals = clean_goals(goals or {})
    recruiter = None
    if referral_code not in (None, ""):
        if not isinstance(referral_code, str):
            raise ValidationError("referral_code must be text.")
        recruiter = db.session.scalar(
            select(Partner).where(Partner.referral_code == referral_code.strip().upper()))
        if recruiter is None:
            raise ValidationError("That referral code is not known. Check it or leave it empty.")
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("An account with this e-mail already exists. Log in instead.")
    user = User(email=email, name=name, password_hash=hash_password(password))
    starter = all_tiers()[0]
    partner = Partner(
        user=user, status="applied", referral_code=new_referral_code(),
        recruiter=recruiter, company_name=company_name.strip(),
        agreement_version=current_app.config["AGREEMENT_VERSION"],
        agreement_accepted_at=now_utc(), tier=starter, tier_id=starter.id, **goals)
    db.session.add_all([user, partner])
    db.session.flush()
    audit(user.id, "partner.register", "partner", partner.id, None,
          {"email": email, "recruiter_id": recruiter.id if recruiter else None})
    emit("partner.applied", partner)
    if email_verified:
        user.email_verified_at = now_utc()
    else:
        from core.accounts.email_links import send_verification

        send_verification(user)
    return partner


def apply_as_partner(email, password, name, accept_terms, referral_code=None,
                     company_name: str = "", goals: dict | None = None) -> Partner | None:
    """A partner application from the register page or the API, answered the same way
    whether or not the address already has an account (rules: "Registration").

    Fields (and ``goals``) are checked as in :func:`register_partner` (``ValidationError`` names what is
    wrong). A new address becomes an ``applied`` partner with a verification e-mail, and
    the new ``Partner`` is returned (flushed, not committed). An address that already
    has an account changes nothing: its owner is e-mailed (after commit) that someone
    tried to apply with it, with links to log in or reset the password, and ``None`` is
    returned. The password is hashed either way, so the time taken tells nothing.
    """
    try:
        return register_partner(email, password, name, accept_terms, referral_code,
                                company_name, goals=goals)
    except Conflict:
        hash_password(password)  # the work a new account costs
        from core.accounts.email_links import send_account_exists

        send_account_exists(normalise_email(email))
        return None


def get_partner(partner_id) -> Partner:
    """Return the partner or raise ``NotFound``."""
    partner = get_row(Partner, partner_id)
    if partner is None:
        raise NotFound("No such partner.")
    return partner


def approve_partner(partner_id: int, actor_id: int) -> Partner:
    """Move an application to ``active`` (staff; rules: "Partners"). Raises ``Conflict``
    unless ``applied``, ``NotFound`` for an unknown partner."""
    partner = get_partner(partner_id)
    if partner.status != "applied":
        raise Conflict(f"Only applications can be approved; this partner is {partner.status}.")
    partner.status = "active"
    partner.approved_at = now_utc()
    audit(actor_id, "partner.approve", "partner", partner.id, {"status": "applied"},
          {"status": "active"})
    emit("partner.approved", partner)
    notify(partner.user_id, "approval", "Your application is approved",
           "Welcome to SISO Partners. Log your first lead and share your referral link.",
           "/partner/dashboard")
    return partner


#: Longest rejection reason staff may write (it goes to the applicant verbatim).
REJECT_REASON_MAX = 1000


def reject_partner(partner_id: int, actor_id: int, reason: str) -> Partner:
    """Turn down an application (staff; rules: "Partners", rejection).

    Args: ``reason`` (1-``REJECT_REASON_MAX`` characters after trimming) is sent to the
    applicant as a notice of kind ``rejection`` (also e-mailed) and kept in the audit row.
    Returns the partner, now ``rejected`` (flushed, not committed). Raises
    ``ValidationError`` for a missing or over-long reason, ``Conflict`` unless the
    partner is ``applied``, ``NotFound`` for an unknown partner.
    """
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationError("Give the applicant a reason: they receive it.")
    if len(reason) > REJECT_REASON_MAX:
        raise ValidationError(f"The reason is at most {REJECT_REASON_MAX} characters.")
    partner = get_partner(partner_id)
    if partner.status != "applied":
        raise Conflict(f"Only applications can be rejected; this partner is {partner.status}.")
    partner.status = "rejected"
    audit(actor_id, "partner.reject", "partner", partner.id, {"status": "applied"},
          {"status": "rejected", "reason": reason})
    notify(partner.user_id, "rejection", "Your application was not approved",
           reason, "/partner/dashboard")
    return partner


def suspend_partner(partner_id: int, actor_id: int, reason: str = "") -> Partner:
    """Suspend an active partner and end all their sessions and tokens.

    Raises ``Conflict`` when already suspended.
    """
    partner = get_partner(partner_id)
    if partner.status == "suspended":
        raise Conflict("This partner is already suspended.")
    before = partner.status
    partner.status = "suspended"
    partner.user.session_version += 1
    from core.community.chat import kick_after_commit  # chat imports this module

    kick_after_commit(partner.user_id, "Your account is no longer active.")
    audit(actor_id, "partner.suspend", "partner", partner.id, {"status": before},
          {"status": "suspended", "reason": reason})
    emit("partner.suspended", partner)
    return partner


def reactivate_partner(partner_id: int, actor_id: int) -> Partner:
    """Lift a suspension (back to ``active``). Raises ``Conflict`` unless suspended."""
    partner = get_partner(partner_id)
    if partner.status != "suspended":
        raise Conflict("Only suspended partners can be reactivated.")
    partner.status = "active"
    audit(actor_id, "partner.reactivate", "partner", partner.id, {"status": "suspended"},
          {"status": "active"})
    return partner


def partner_label(partner: Partner) -> str:
    """How staff screens name a partner: ``"Ana Silva (#1042)"`` (name and partner
    number, the ``#id`` of the back office's partner page)."""
    return f"{partner.name} (#{partner.id})"


#: Most partners a picker search returns.
PICKER_LIMIT = 10


def find_partners(text: str, limit: int = PICKER_LIMIT) -> list[Partner]:
    """Partners for a staff picker (rules: "Partners", picking a partner): a number
    (``1042`` or ``#1042``) finds that partner; other text finds partners whose name,
    e-mail, company or referral code contains every word (case-insensitive), by name.
    Returns at most ``limit`` partners, none for text under 2 characters."""
    from sqlalchemy import or_
    from sqlalchemy.orm import joinedload

    text = (text or "").strip()[:100] if isinstance(text, str) else ""
    number = text.lstrip("#")
    if number.isdigit() and len(number) < 12:
        p = get_row(Partner, int(number))
        return [p] if p is not None else []
    words = text.split()
    if len(text) < 2 or not words:
        return []
    query = select(Partner).join(User, User.id == Partner.user_id).options(
        joinedload(Partner.user))
    for word in words[:5]:
        like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(User.name.ilike(like, escape="\\"),
                                User.email.ilike(like, escape="\\"),
                                Partner.company_name.ilike(like, escape="\\"),
                                Partner.referral_code.ilike(like, escape="\\")))
    return list(db.session.scalars(query.order_by(User.name, Partner.id).limit(limit)))


def resolve_partner(text, label: str = "Partner") -> int:
    """The partner id a staff picker's text names: ``"Ana Silva (#1042)"`` (what the
    picker fills in), ``#1042``, ``1042``, or text matching exactly one partner (see
    :func:`find_partners`). Raises ``ValidationError`` (naming ``label``) when nothing
    or several partners match, ``NotFound`` for an unknown number."""
    import re

    text = (text or "").strip() if isinstance(text, str) else str(text or "")
    if not text:
        raise ValidationError(f"{label}: choose a partner.")
    m = re.search(r"\(#(\d{1,11})\)\s*$", text) or re.fullmatch(r"#?(\d{1,11})", text)
    if m:
        return get_partner(int(m.group(1))).id
    found = find_partners(text, limit=2)
    if not found:
        raise ValidationError(f"{label}: no partner matches \"{text[:60]}\".")
    if len(found) > 1:
        raise ValidationError(f"{label}: several partners match \"{text[:60]}\"; "
                              "pick one from the list.")
    return found[0].id

