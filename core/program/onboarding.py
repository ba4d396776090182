"""The dashboard's onboarding checklist (rules: "Partners";
the customer's new-partner journey:
complete profile setup, watch training and take the quiz, get the referral link, share it,
log the first lead).

Each item is computed from data that already exists; nothing is recorded for the
checklist itself but its dismissal:

- **Profile completed**: company, phone and industry filled in (name is required at
  sign-up; time zone defaults to UTC, so it cannot tell).
- **Agreement accepted**: the partner accepted the agreement version now in force
  (``AGREEMENT_VERSION``; sign-up requires accepting it).
- **Payout method connected**: Stripe says the connected account can receive transfers
  (``stripe_payouts_enabled``, what the earnings page shows). Shown only when Stripe
  payouts are on; with manual payouts finance pays by bank transfer and there is
  nothing for the partner to connect.
- **First training module passed**: any completion recorded.
- **First lead logged**: any lead, whatever its source.
- **Referral link shared**: someone opened the partner's client link (a referral click
  recorded) or signed up with their recruiting link. A copy button being pressed proves
  nothing reached anyone, so it does not count; a visit is the first evidence that the
  link was shared.

The checklist is shown to active partners until every item is done or they dismiss it.
"""

from flask import current_app
from sqlalchemy import exists, select

from core.base.extensions import db
from core.base.timeutil import now_utc
from core.content.models import TrainingCompletion
from core.program.models import Lead, Partner, ReferralClick


def _facts(partner_id: int) -> tuple[bool, bool, bool]:
    """``(passed a module, logged a lead, link shared)`` in one query."""
    recruit = select(Partner.id).where(Partner.recruiter_id == partner_id)
    row = db.session.execute(select(
        exists().where(TrainingCompletion.partner_id == partner_id),
        exists().where(Lead.partner_id == partner_id),
        exists().where(ReferralClick.partner_id == partner_id) | exists(recruit),
    )).one()
    return bool(row[0]), bool(row[1]), bool(row[2])


def checklist(partner: Partner, stripe_enabled: bool) -> dict | None:
    """The checklist for ``partner``, or ``None`` when it is not shown (partner not
    active, dismissed, or every item done).

    Args: ``stripe_enabled`` whether payouts go through Stripe Connect (``STRIPE_API_KEY``
    set). Returns ``{"items": [{"key", "label", "done": bool, "url", "action"}],
    "done": int, "total": int}``, ``url`` being where to do the item. At most one query
    (none when dismissed or not active).
    """
    if partner.status != "active" or partner.onboarding_dismissed_at is not None:
        return None
    trained, lead, shared = _facts(partner.id)
    profile = all((value or "").strip() for value in
                  (partner.company_name, partner.phone, partner.industry))
    agreement = partner.agreement_accepted_at is not None and \
        partner.agreement_version == current_app.config["AGREEMENT_VERSION"]
    items = [
        ("profile", "Complete your profile", profile, "/partner/profile",
         "Add your company, phone and industry"),
        ("agreement", "Accept the partner agreement", agreement, "/partner/support",
         "Ask support for the new agreement"),
    ]
    if stripe_enabled:
        items.append(("payout", "Connect your payout method", bool(partner.stripe_payouts_enabled),
                      "/partner/earnings#payout-method", "Set up Stripe payouts"))
    items += [
        ("training", "Pass your first training module", trained, "/partner/training",
         "Open training"),
        ("lead", "Log your first lead", lead, "/partner/leads#new-lead", "Add a lead"),
        ("share", "Share your referral link", shared, "/partner/dashboard#referral-links",
         "Copy your link and send it to a prospect"),
    ]
    rows = [{"key": k, "label": label, "done": bool(done), "url": url, "action": action}
            for k, label, done, url, action in items]
    done = sum(r["done"] for r in rows)
    if done == len(rows):
        return None
    return {"items": rows, "done": done, "total": len(rows)}


def dismiss(partner: Partner) -> Partner:
    """Hide the checklist for good (the partner chose to); returns the partner, not
    committed. Dismissing twice keeps the first time."""
    if partner.onboarding_dismissed_at is None:
        partner.onboarding_dismissed_at = now_utc()
    return partner
