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
- **Payout method chosen**: the chosen method can be paid (Stripe says the connected
  account can receive transfers, or the PayPal receiver or bank account is on file;
  ``core.payments.methods.method_ready``, what the earnings page shows). Shown only
  when Stripe or PayPal payouts are on; otherwise finance pays by bank transfer and
  the choice is optional.
- **Tax form verified**: a verified, unexpired W-9 / W-8 (``core.payments.tax``),
  shown while ``TAX_FORM_REQUIRED`` is on (rules: "Tax gate").
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


def _facts(partner_id: int) -> tuple[bool, ...]:
    """``(passed a module, logged a lead, link shared, PayPal or bank ready, a method
    other than Stripe chosen, a verified unexpired tax form)`` in one query."""
    from sqlalchemy import and_, or_

    from core.payments.models import PayoutMethod, TaxForm

    recruit = select(Partner.id).where(Partner.recruiter_id == partner_id)
    mine = PayoutMethod.partner_id == partner_id
    row = db.session.execute(select(
        exists().where(TrainingCompletion.partner_id == partner_id),
        exists().where(Lead.partner_id == partner_id),
        exists().where(ReferralClick.partner_id == partner_id) | exists(recruit),
        exists().where(mine, or_(
            and_(PayoutMethod.method == "paypal", PayoutMethod.paypal_receiver != ""),
            and_(PayoutMethod.method == "bank_transfer", PayoutMethod.bank_last4 != ""))),
        exists().where(mine, PayoutMethod.method != "stripe_connect"),
        exists().where(TaxForm.partner_id == partner_id, TaxForm.status == "verified",
                       or_(TaxForm.expires_on.is_(None),
                           TaxForm.expires_on >= now_utc().date())),
    )).one()
    return tuple(bool(v) for v in row)


def checklist(partner: Partner, stripe_enabled: bool, tax_required: bool = False) -> dict | None:
    """The checklist for ``partner``, or ``None`` when it is not shown (partner not
    active, dismissed, or every item done).

    Args: ``stripe_enabled`` whether the partner has a payout method to set up (Stripe
    Connect or PayPal configured); ``tax_required`` whether the tax gate is on. Returns ``{"items": [{"key", "label", "done": bool, "url", "action"}],
    "done": int, "total": int}``, ``url`` being where to do the item. At most one query
    (none when dismissed or not active).
    """
    if partner.status != "active" or partner.onboarding_dismissed_at is not None:
        return None
    trained, lead, shared, other_ready, other_chosen, taxed = _facts(partner.id)
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
        ready = other_ready or (not other_chosen and bool(partner.stripe_payouts_enabled))
        items.append(("payout", "Choose your payout method", ready,
                      "/partner/earnings#payout-method", "Set up Stripe, PayPal or bank"))
    if tax_required:
        items.append(("tax", "Submit your tax form", taxed, "/partner/tax-form",
                      "W-9 or W-8BEN, verified by finance"))
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
