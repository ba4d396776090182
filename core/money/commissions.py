"""Commissions: confirming deals, reversals, approval (rules: "Money").

Rule sources: docs/rules.md "Commissions", "Team override", "Referral bonus" and
"Ledger" (reversals and adjustments).
"""

import re
from collections import Counter
from datetime import timedelta
from functools import cache

from sqlalchemy import bindparam, case, exists, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from core.accounts.models import User
from core.base.audit import audit, audit_refusal
from core.base.bulkwrite import bulk_rows, insert_rows
from core.base.errors import Conflict, NotFound, ValidationError
from core.base.extensions import db, get_row, is_row_id
from core.base.jobs import QUEUE_DEFAULT, TICK_SECONDS, job
from core.base.timeutil import now_utc
from core.community.achievements import award, deal_badges_wanted, recruits_with_a_sale_many
from core.community.notifications import notify, prefetch_email_wishes
from core.engagement.xp import record_action
from core.money.cents import format_cents
from core.money.models import Commission, Deal
from core.money.rules import Standing, plan_commissions
from core.program.leads import cents_field
from core.program.models import FraudFlag, Lead, Partner, Tier, TierOverride
from core.program.tiers import (
    active_overrides,
    all_tiers,
    announce_tier_change,
    override_in_force,
    refresh_tier,
    required_training_counts,
    standing,
    tier_change,
)
from core.webhooks.events import emit, wanted


def _pending_values(partner: Partner, ctype: str, amount: int, rate_bps: int | None,
                   source_partner_id: int | None, note: str = "") -> dict:
    """Column values of a new pending commission earned by ``partner``: ``amount`` in
    cents, ``rate_bps`` the rate applied; held for the earner's tier's holding days
    (rules: "Ledger")."""
    return dict(partner_id=partner.id, source_partner_id=source_partner_id, type=ctype,
                amount_cents=amount, rate_bps=rate_bps, status="pending", note=note,
                hold_until=now_utc() + timedelta(days=partner.tier.holding_days))


def _new_commission(partner: Partner, deal: Deal | None, ctype: str, amount: int,
                    rate_bps: int | None, source_partner_id: int | None,
                    note: str = "") -> Commission:
    """A pending commission row, added to the session (not flushed: no id yet)."""
    row = Commission(deal=deal, **_pending_values(partner, ctype, amount, rate_bps,
                                                  source_partner_id, note))
    db.session.add(row)
    return row


def _announce_commission(row: Commission, partner: Partner, actor_id: int | None) -> None:
    """Audit a flushed commission and notify its earner."""
    audit(actor_id, "commission.create", "commission", row.id, None,
          {"partner_id": partner.id, "type": row.type, "amount_cents": row.amount_cents,
           "rate_bps": row.rate_bps, "deal_id": row.deal_id})
    emit("commission.created", row)
    notify(partner.user_id, "commission", f"New {row.type.replace('_', ' ')} commission: "
           f"{format_cents(row.amount_cents)}", row.note, "/partner/earnings")


def _add_commission(partner: Partner, deal: Deal | None, ctype: str, amount: int,
                    rate_bps: int | None, source_partner_id: int | None, actor_id: int | None,
                    note: str = "") -> Commission:
    row = _new_commission(partner, deal, ctype, amount, rate_bps, source_partner_id, note)
    db.session.flush()
    _announce_commission(row, partner, actor_id)
    return row


def _set_counted(partner: Partner, count: int, tier_id: int, tiers=None) -> None:
    """Put what the counting UPDATE returned on the loaded partner without writing it
    again: the deal count, and the tier when a concurrent transaction changed it."""
    if tier_id != partner.tier_id:
        tier = next((t for t in tiers or () if t.id == tier_id), None) or \
            db.session.get(Tier, tier_id)
        set_committed_value(partner, "tier_id", tier_id)
        set_committed_value(partner, "tier", tier)
    set_committed_value(partner, "won_deals_count", count)


#: Most leads one :func:`confirm_deals` call takes (``POST /api/staff/deals/confirm``).
MAX_CONFIRM_BATCH = 500


@cache
def _confirm_query():
    """The one read confirmations need: each lead of ``:lead_ids``, whether it has a deal,
    its partner (with their name, required-training counts, team leader and recruiter),
    whether any of the three has an override in force at ``:at`` and whether a fraud flag
    holds the lead. The leader and recruiter
    load only what their standing and commission use. Built once (an expanding
    ``:lead_ids``): building it is a good part of the cost of a confirmation."""
    earner_cols = (Partner.id, Partner.status, Partner.user_id, Partner.tier_id,
                   Partner.won_deals_count)
    team = aliased(Partner)
    any_override = exists().where(
        team.id == Lead.partner_id, override_in_force(bindparam("at")),
        TierOverride.partner_id.in_([team.id, team.team_leader_id, team.recruiter_id]))
    flagged = exists().where(FraudFlag.lead_id == Lead.id,
                             FraudFlag.status.in_(("open", "rejected")))
    return (select(Lead, Deal.id, *required_training_counts(Lead.partner_id), any_override,
                   flagged)
            .outerjoin(Deal, Deal.lead_id == Lead.id)
            .where(Lead.id.in_(bindparam("lead_ids", expanding=True)))
            .options(joinedload(Lead.partner, innerjoin=True).options(
                joinedload(Partner.user, innerjoin=True).load_only(User.name),
                joinedload(Partner.team_leader).load_only(*earner_cols),
                joinedload(Partner.recruiter).load_only(*earner_cols))))


def confirm_deal(lead_id, actor_id: int, value_cents=None) -> tuple[Deal, list[Commission]]:
    """Confirm a partner's won lead as a deal and create its commissions in one transaction.

    Args: ``lead_id`` (int); ``value_cents`` overrides the partner's reported value
    (1..100,000,000). The base commission uses the closing partner's effective rate
    *before* this deal counts; then the team leader's override and the recruiter's
    one-time referral bonus, each at their own effective tier (rules: "Commissions").
    Returns ``(deal, commissions)``. Raises ``NotFound``, ``Conflict`` (not won, already
    confirmed, partner not active; each leaves a ``deal.confirm.refused`` audit row that
    survives the rollback), ``ValidationError`` (bad value).

    It is :func:`confirm_deals` with one lead: the rules, the locking and the statement
    count are described there.
    """
    if not is_row_id(lead_id):
        raise NotFound("No such lead.")
    return confirm_deals([(lead_id, value_cents)], actor_id)[0]


def _active(p: Partner | None) -> Partner | None:
    """The partner when active, else ``None`` (inactive leaders and recruiters earn nothing)."""
    return p if p is not None and p.status == "active" else None


def _count_deals(per_partner: dict[int, int]) -> dict[int, tuple[int, int]]:
    """Add each partner's new deals to their count, atomically, locking their rows until
    commit: ``per_partner`` is ``{partner_id: deals}``; returns ``{partner_id: (count
    after, tier_id)}`` as the rows are once the locks are held (READ COMMITTED re-reads a
    row a concurrent transaction changed). Several partners are locked in id order, so
    two batches sharing partners wait for each other instead of deadlocking. One UPDATE.
    """
    ids = sorted(per_partner)
    if len(ids) > 1 and db.engine.dialect.name == "postgresql":
        # One short statement whatever the batch (its SQL is prepared once): the ids and
        # their deals as two arrays; the sub-select locks the rows in id order.
        rows = db.session.execute(text(
            "UPDATE partners SET won_deals_count = partners.won_deals_count + v.added "
            "FROM unnest(CAST(:ids AS integer[]), CAST(:added AS integer[])) AS v(id, added) "
            "WHERE partners.id = v.id AND partners.id IN ("
            "SELECT id FROM partners WHERE id = ANY(CAST(:ids AS integer[])) "
            "ORDER BY id FOR UPDATE) "
            "RETURNING partners.id, partners.won_deals_count, partners.tier_id"),
            {"ids": ids, "added": [per_partner[i] for i in ids]})
        return {pid: (count, tier_id) for pid, count, tier_id in rows}
    if len(ids) == 1:
        where = Partner.id == ids[0]
        added = per_partner[ids[0]]
    else:  # SQLite: one writer at a time, nothing to order
        where = Partner.id.in_(ids)
        added = case(per_partner, value=Partner.id, else_=0)
    return {pid: (count, tier_id) for pid, count, tier_id in db.session.execute(
        update(Partner).where(where)
        .values(won_deals_count=Partner.won_deals_count + added)
        .returning(Partner.id, Partner.won_deals_count, Partner.tier_id)
        .execution_options(synchronize_session=False))}


def _insert_deals(deals: list[dict], actor_id: int, named) -> list[int]:
    """Insert the batch's deals; returns their ids. A lead confirmed by a concurrent
    transaction since it was read trips the unique ``deals.lead_id``: that is the
    "already confirmed" ``Conflict`` (409, audited like the early check), not an error."""
    try:
        return insert_rows(Deal, deals)
    except IntegrityError as exc:
        detail = getattr(getattr(exc.orig, "diag", None), "message_detail", "") or ""
        match = re.search(r"\(lead_id\)=\((\d+)\)", detail)
        lead_id = int(match.group(1)) if match else deals[0]["lead_id"]
        if "lead_id" not in str(exc.orig):
            raise
        audit_refusal(actor_id, "deal.confirm.refused", "lead", lead_id, "already confirmed",
                      {"concurrent": True})
        raise Conflict(named(lead_id, "This lead's deal is already confirmed.")) from None


def confirm_deals(items, actor_id: int) -> list[tuple[Deal, list[Commission]]]:
    """Confirm several won leads as deals in one transaction (a CRM sync, a staff bulk
    action), each exactly as if confirmed alone, one after the other, in the given order
    (rules: "Commissions", "Team override", "Referral bonus", "Tiers").

    Args: ``items`` a list of 1..``MAX_CONFIRM_BATCH`` pairs ``(lead_id, value_cents)``
    (``value_cents`` ``None`` keeps the partner's reported value; else 1..100,000,000
    cents); ``actor_id`` the staff user. Returns ``[(deal, commissions), ...]`` in the
    order of ``items``. All or nothing: the first lead that cannot be confirmed raises
    ``NotFound``, ``Conflict`` (not won, already confirmed, partner not active; each
    leaves a ``deal.confirm.refused`` audit row that survives the rollback) or
    ``ValidationError`` (bad value, a lead listed twice, a bad list) and nothing is
    written; in a batch of several the message starts with the lead's id.

    The lines of each deal come from :func:`core.money.rules.plan_commissions`, with the
    earners' standing before the deal counts (a partner promoted by a deal of the batch
    is paid at the new tier on their next one). Each deal can move the partner's
    computed tier (audited, notified, badges) and earn badges.

    Concurrency: the partners' deal counts are incremented by one atomic ``UPDATE ...
    RETURNING`` (:func:`_count_deals`), which locks their rows until commit, so two
    confirmations for one partner run one after the other from there: neither deal is
    lost from the count, and only one is the "first deal" that pays the referral bonus.
    The cost is per batch, not per lead: a constant number of reads, then the inserts
    batched per table (BENCHMARKS.md "Confirmations").
    """
    many = isinstance(items, list | tuple) and len(items) > 1

    def named(lead_id, message: str) -> str:
        return f"Lead {lead_id}: {message}" if many else message

    values = _checked_items(items, named)
    tiers = all_tiers()  # loaded first: every partner.tier below is found in the session
    at = now_utc()
    plan, any_override = _confirmable(values, actor_id, named, at)
    people = {p.id for lead, _, _ in plan
              for p in (lead.partner, _active(lead.partner.team_leader),
                        _active(lead.partner.recruiter)) if p is not None}
    overrides = active_overrides(people, at) if any_override else {}
    running, paid_referral = _count_batch(plan, tiers)
    done = [_confirm_one(lead, value, training, running, overrides, paid_referral, tiers,
                         actor_id, at) for lead, value, training in plan]
    done = _write_deals(done, actor_id, named)
    _announce_deals(done, actor_id, tiers, at)
    return [(deal, [row for row, _ in made]) for deal, made, *_ in done]


def _checked_items(items, named) -> dict[int, object]:
    """``{lead_id: value}`` of a well-formed batch, in order; raises ``ValidationError``
    or ``NotFound``."""
    if not isinstance(items, list | tuple) or not 1 <= len(items) <= MAX_CONFIRM_BATCH:
        raise ValidationError(f"Give 1 to {MAX_CONFIRM_BATCH} leads to confirm.")
    values: dict[int, object] = {}
    for lead_id, value in items:
        if not is_row_id(lead_id):
            raise NotFound(named(lead_id, "No such lead."))
        if lead_id in values:
            raise ValidationError(named(lead_id, "this lead is listed twice."))
        values[lead_id] = value
    return values


def _confirmable(values: dict, actor_id: int, named, at) -> tuple[list, bool]:
    """Load the leads and refuse the first that cannot be confirmed (audited). Returns
    ``([(lead, value_cents, training), ...], any override in force)``."""
    found = {row[0].id: row for row in db.session.execute(
        _confirm_query(), {"lead_ids": list(values), "at": at})}
    plan, any_override = [], False
    held = [row[0].id for row in found.values() if row[-1]]
    flags = {}
    if held:  # read the flags themselves only when one holds a lead of the batch
        from core.program.fraud import blocking_flags

        flags = blocking_flags(held)
    for lead_id, value in values.items():
        row = found.get(lead_id)
        if row is None:
            raise NotFound(named(lead_id, "No such lead."))
        lead, deal_id, passed, required, has_override, _flagged = row
        _refuse_unconfirmable(lead, deal_id, actor_id, named)
        _refuse_flagged(flags.get(lead.id), actor_id, named)
        value = lead.won_value_cents if value is None else value
        try:
            value = cents_field(value, "deal_value_cents", allow_zero=False)
        except ValidationError as exc:
            raise ValidationError(named(lead.id, str(exc))) from None
        plan.append((lead, value, (passed, required) if required else (0, 0)))
        any_override = any_override or has_override
    return plan, any_override


def _refuse_flagged(flag, actor_id: int, named) -> None:
    """Raise ``Conflict`` (audited) when a fraud flag holds the lead: open (an admin
    decides first) or rejected (rules: "Fraud rules")."""
    if flag is None:
        return
    audit_refusal(actor_id, "deal.confirm.refused", "lead", flag.lead_id, "fraud flag",
                  {"flag_id": flag.id, "rule": flag.rule, "status": flag.status})
    if flag.status == "rejected":
        raise Conflict(named(flag.lead_id, "This lead was rejected after a fraud review: "
                             + flag.reason), code="fraud_rejected")
    raise Conflict(named(flag.lead_id, f"This lead is flagged ({flag.rule}); an admin must "
                         "dismiss the flag before it can be confirmed."), code="fraud_flag_open")


def _refuse_unconfirmable(lead: Lead, deal_id, actor_id: int, named) -> None:
    """Raise ``Conflict`` (audited) when the lead is not won, is confirmed already, or
    its partner is not active."""
    if lead.status != "won":
        audit_refusal(actor_id, "deal.confirm.refused", "lead", lead.id, "state",
                      {"status": lead.status})
        raise Conflict(named(lead.id, "Only leads marked won can be confirmed; this one "
                             f"is '{lead.status}'."))
    if deal_id is not None:
        audit_refusal(actor_id, "deal.confirm.refused", "lead", lead.id,
                      "already confirmed", {"deal_id": deal_id})
        raise Conflict(named(lead.id, "This lead's deal is already confirmed."))
    if lead.partner.status != "active":
        audit_refusal(actor_id, "deal.confirm.refused", "lead", lead.id, "partner status",
                      {"partner_status": lead.partner.status})
        raise Conflict(named(lead.id, f"The partner is {lead.partner.status}; approve or "
                             "reactivate them first."))


def _count_batch(plan: list, tiers: list[Tier]) -> tuple[dict[int, int], set[int]]:
    """Count the batch's deals on their partners (locking them: :func:`_count_deals`).
    Returns ``({partner_id: deals counted before the batch's first}, {partner ids whose
    referral bonus is paid already})``."""
    per_partner = Counter(lead.partner_id for lead, _, _ in plan)
    running = {}
    for pid, (count, tier_id) in _count_deals(per_partner).items():
        running[pid] = count - per_partner[pid]
        _set_counted(db.session.get(Partner, pid), running[pid], tier_id, tiers)
    # Only a recruit's first confirmed won deal (none counted before it) pays the bonus.
    firsts = [pid for pid, before in running.items()
              if before == 0 and _active(db.session.get(Partner, pid).recruiter) is not None]
    paid = set(db.session.scalars(select(Commission.source_partner_id).where(
        Commission.type == "referral", Commission.source_partner_id.in_(firsts),
        Commission.status != "reversed"))) if firsts else set()
    return running, paid


def _rules_standing(partner: Partner | None, overrides: dict):
    """The rules' view of an earner (:class:`core.money.rules.Standing`) and the name of
    their effective tier; ``(None, "")`` for no earner."""
    if partner is None:
        return None, ""
    st = standing(partner, overrides)
    return Standing(partner.id, st.base_rate_bps, st.tier.team_override_bps,
                    st.tier.referral_rate_bps), st.tier.name


#: What a commission's note says, by type (``{lead}``, ``{tier}``, ``{partner}``).
NOTES = {"base": "{lead} at {tier}", "team_override": "Team override on {partner}'s deal",
         "referral": "Referral bonus: {partner}'s first deal"}


def _recurring_terms(lead: Lead, partner: Partner, overrides: dict, closer: Standing,
                     leader: Standing | None, recruiter: Standing | None,
                     referral_due: bool) -> dict:
    """The deal columns of its billing: for a monthly deal the terms each invoice is paid
    on, locked now (rules: "Recurring deals"); for a one-time deal the same keys, empty
    (every row of a batch insert has the same keys)."""
    if lead.billing != "monthly":
        return dict(billing="one_time", months_allowed=None, base_rate_bps=None,
                    leader_id=None, override_rate_bps=None, recruiter_id=None,
                    referral_rate_bps=None, referral_due=False)
    return dict(billing="monthly",
                months_allowed=standing(partner, overrides).tier.recurring_months,
                base_rate_bps=closer.base_rate_bps,
                leader_id=leader.partner_id if leader else None,
                override_rate_bps=leader.team_override_bps if leader else None,
                recruiter_id=recruiter.partner_id if recruiter else None,
                referral_rate_bps=recruiter.referral_rate_bps if recruiter else None,
                referral_due=bool(referral_due and recruiter is not None))


def _confirm_one(lead: Lead, value: int, training, running: dict, overrides: dict,
                 paid_referral: set, tiers: list[Tier], actor_id: int, at) -> tuple:
    """One deal of the batch: its values, its commission lines (earner, values), and the
    tier change it makes. Returns ``(deal, made, partner, recruiter, first, count,
    change)``."""
    partner = lead.partner
    leader, recruiter = _active(partner.team_leader), _active(partner.recruiter)
    count = running[partner.id] + 1
    running[partner.id] = count
    first = count == 1
    earners = {p.id: p for p in (partner, leader, recruiter) if p is not None}
    closer, tier_name = _rules_standing(partner, overrides)
    lead_st, recruiter_st = (_rules_standing(leader, overrides)[0],
                             _rules_standing(recruiter, overrides)[0])
    referral_due = first and partner.id not in paid_referral
    deal = dict(lead_id=lead.id, partner_id=partner.id, value_cents=value,
                confirmed_by_id=actor_id, status="won", confirmed_at=at,
                **_recurring_terms(lead, partner, overrides, closer, lead_st, recruiter_st,
                                   referral_due))
    lines = [] if lead.billing == "monthly" else plan_commissions(
        value, closer, lead_st, recruiter_st, referral_due=referral_due)
    made = [(_pending_values(earners[line.earner_id], line.type, line.amount_cents,
                             line.rate_bps, partner.id,
                             NOTES[line.type].format(lead=lead.company_name, tier=tier_name,
                                                     partner=partner.name)),
             earners[line.earner_id]) for line in lines]
    # The count is already written; the tier it gives is set now, so the partner's next
    # deal in the batch is paid at it. Announced after the inserts.
    set_committed_value(partner, "won_deals_count", count)
    change = tier_change(partner, tiers=tiers, training=training)
    return deal, made, partner, recruiter, first, count, change


def _write_deals(done: list, actor_id: int, named) -> list:
    """Insert the batch's deals, then their commissions (one statement each), and return
    ``done`` with the rows as objects (two reads)."""
    deal_ids = _insert_deals([deal for deal, *_ in done], actor_id, named)
    commission_rows = []
    for deal_id, (_, made, *_) in zip(deal_ids, done, strict=True):
        for values, _earner in made:
            values["deal_id"] = deal_id
            commission_rows.append(values)
    commission_ids = iter(insert_rows(Commission, commission_rows))
    deals = {d.id: d for d in db.session.scalars(select(Deal).where(Deal.id.in_(deal_ids)))}
    rows = {c.id: c for c in db.session.scalars(
        select(Commission).where(Commission.deal_id.in_(deal_ids)))}
    return [(deals[deal_id], [(rows[next(commission_ids)], earner) for _, earner in made],
             *rest) for deal_id, (_, made, *rest) in zip(deal_ids, done, strict=True)]


def _announce_deals(done: list, actor_id: int, tiers: list[Tier], at) -> None:
    """Audit every deal and commission, notify the earners, announce tier changes and
    award the badges, each table written once (``bulk_rows``)."""
    badges: list = []
    recruits_sold = recruits_with_a_sale_many(
        recruiter.id for _, _, _, recruiter, first, _, _ in done if first and recruiter)
    with bulk_rows():
        prefetch_email_wishes(partner.user_id for _, _, partner, _, _, _, change in done
                              if change is not None)
        for deal, made, partner, recruiter, first, count, change in done:
            audit(actor_id, "deal.confirm", "deal", deal.id, None,
                  {"lead_id": deal.lead_id, "partner_id": partner.id,
                   "value_cents": deal.value_cents})
            emit("deal.confirmed", deal)
            for row, earner in made:
                _announce_commission(row, earner, actor_id)
            if change is not None:
                announce_tier_change(partner, *change, actor_id, tiers=tiers, badges=badges)
            badges += deal_badges_wanted(partner, count, recruiter, first, at, recruits_sold)
            record_action(partner.id, "deal_won", f"deal:{deal.id}", at)
        # Badges last, so their notifications are the newest (core.community.achievements).
        award(badges, at, tiers=tiers)


def cancel_deal(deal_id, actor_id: int, reason, refunded: bool = False) -> list[Commission]:
    """Cancel (or refund) a deal: unpaid commissions are reversed, paid ones get a
    negative ``adjustment`` (rules: "Ledger"). The partner's
    deal count drops, which can demote.

    Args: ``deal_id`` (int), ``reason`` (text, 1..500 characters), ``refunded`` (a real
    ``bool``: JSON ``true``/``false``; text such as ``"false"`` is refused, not truthy).
    Returns the adjustments created. Raises ``NotFound``, ``Conflict`` (already
    cancelled; a ``deal.cancel.refused`` audit row is kept), ``ValidationError`` (no
    reason, ``refunded`` not a boolean).
    """
    if not isinstance(refunded, bool):
        raise ValidationError("refunded must be true or false (a JSON boolean).")
    deal = get_row(Deal, deal_id)
    if deal is None:
        raise NotFound("No such deal.")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise ValidationError("Give a reason (up to 500 characters) for cancelling the deal.")
    if deal.status != "won":
        audit_refusal(actor_id, "deal.cancel.refused", "deal", deal.id, "state",
                      {"status": deal.status})
        raise Conflict(f"This deal is already {deal.status}.")
    now = now_utc()
    deal.status = "refunded" if refunded else "cancelled"
    deal.cancelled_at = now
    deal.cancel_reason = reason.strip()
    audit(actor_id, "deal.cancel", "deal", deal.id, {"status": "won"},
          {"status": deal.status, "reason": reason})
    emit("deal.cancelled", deal)
    adjustments = []
    rows = list(db.session.scalars(select(Commission).where(
        Commission.deal_id == deal.id, Commission.type != "adjustment")))
    clawed = _clawed_back([c.id for c in rows])  # reversed one by one before the deal
    for c in rows:
        if c.id in clawed:
            continue
        # In a processing payout the money is already on its way: claw it back like a
        # paid one (if the payout fails, the commission and its adjustment net to zero).
        if _money_left(c):
            adjustments.append(_claw_back(c, actor_id,
                                          f"Clawback: deal {deal.status} ({reason.strip()})",
                                          now))
        elif c.status != "reversed":
            _reverse(c, actor_id, reason.strip(), now)
    partner = deal.partner
    # Atomic, like confirm_deal's count: a concurrent confirmation is never overwritten.
    count, tier_id = db.session.execute(
        update(Partner).where(Partner.id == partner.id)
        .values(won_deals_count=case((Partner.won_deals_count > 0,
                                      Partner.won_deals_count - 1), else_=0))
        .returning(Partner.won_deals_count, Partner.tier_id)
        .execution_options(synchronize_session=False)).one()
    _set_counted(partner, count, tier_id)
    refresh_tier(partner, actor_id)
    return adjustments


def _money_left(c: Commission) -> bool:
    """True when the commission's money has left (paid, or approved inside a payout that is
    processing): undoing it needs a negative adjustment, not a reversal."""
    in_flight = c.payout_id is not None and c.payout.status == "processing"
    return c.status == "paid" or (c.status == "approved" and in_flight)


def _claw_back(c: Commission, actor_id: int | None, note: str, now) -> Commission:
    """Add the negative ``adjustment`` that claws back a paid commission (flushed, audited)."""
    adj = Commission(partner_id=c.partner_id, deal_id=c.deal_id,
                     source_partner_id=c.source_partner_id, type="adjustment",
                     amount_cents=-c.amount_cents, rate_bps=c.rate_bps,
                     status="approved", approved_at=now, adjusts_id=c.id, note=note[:500])
    db.session.add(adj)
    db.session.flush()
    audit(actor_id, "commission.adjust", "commission", adj.id, None,
          {"adjusts_id": c.id, "amount_cents": adj.amount_cents})
    emit("commission.created", adj)
    return adj


def _reverse(c: Commission, actor_id: int | None, reason: str, now) -> None:
    before = c.status
    c.status = "reversed"
    c.reversed_at = now
    if c.payout_id is not None and c.payout.status in ("requested", "approved"):
        # Still unpaid: the payout loses this line (its amount was fixed at request,
        # so it is failed and its remaining commissions return to the balance).
        from core.money.payouts import fail_payout

        fail_payout(c.payout, "A commission in this payout was reversed; request again.",
                    actor_id)
    c.payout_id = None
    audit(actor_id, "commission.reverse", "commission", c.id, {"status": before},
          {"status": "reversed", "reason": reason})
    emit("commission.reversed", c)


def _load_commissions(ids) -> list[Commission]:
    """The commissions of a staff selection: ``ids`` a list of 1 to 1,000 ints, all existing.

    Raises ``ValidationError`` (malformed list) or ``NotFound`` (an unknown id)."""
    if not isinstance(ids, list) or not ids or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids) or len(ids) > 1000:
        raise ValidationError("ids must be a list of 1 to 1,000 commission ids.")
    if not all(is_row_id(i) for i in ids):
        raise NotFound("Some of these commissions do not exist.")
    rows = list(db.session.scalars(select(Commission).where(Commission.id.in_(ids))
                                   .order_by(Commission.id)))
    if len(rows) != len(set(ids)):
        raise NotFound("Some of these commissions do not exist.")
    return rows


#: Longest reason kept for a hold or a reversal (characters).
MAX_REASON = 500


def _reason(reason, what: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError(f"Give a reason for the {what}.")
    if len(reason.strip()) > MAX_REASON:
        raise ValidationError(f"The reason is at most {MAX_REASON} characters.")
    return reason.strip()


def approve_commissions(ids, actor_id: int | None) -> list[Commission]:
    """Approve pending or on-hold commissions now (staff), ignoring the holding period.

    ``ids`` is a list of ints. Raises ``ValidationError`` for a malformed list,
    ``NotFound`` for unknown ids, ``Conflict`` when any is not pending/on hold (nothing
    changes then, but a ``commission.approve.refused`` audit row is kept). Returns the
    approved rows. Rule: rules: "Ledger" (holding period, or finance earlier; bonuses
    approved by staff).
    """
    rows = _load_commissions(ids)
    bad = [c.id for c in rows if c.status not in ("pending", "on_hold")]
    if bad:
        audit_refusal(actor_id, "commission.approve.refused", "commission", bad[0], "state",
                      {"ids": bad})
        raise Conflict(f"Only pending or on-hold commissions can be approved: {bad}.")
    now = now_utc()
    for c in rows:
        audit(actor_id, "commission.approve", "commission", c.id, {"status": c.status},
              {"status": "approved"})
        c.status = "approved"
        c.approved_at = now
        emit("commission.approved", c)
    totals: dict[int, list[int]] = {}
    for c in rows:
        totals.setdefault(c.partner_id, []).append(c.amount_cents)
    _announce_approvals(totals)
    return rows


def _announce_approvals(amounts_by_partner: dict[int, list[int]]) -> None:
    """Tell each partner their commissions were approved: one notice per partner (also
    e-mailed, core/notifications.py ``EMAIL_KINDS``), whatever the number approved."""
    if not amounts_by_partner:
        return
    users = dict(db.session.execute(select(Partner.id, Partner.user_id).where(
        Partner.id.in_(list(amounts_by_partner)))).all())
    for partner_id, amounts in amounts_by_partner.items():
        total = format_cents(sum(amounts))
        title = (f"Commission approved: {total}" if len(amounts) == 1
                 else f"{len(amounts)} commissions approved: {total}")
        notify(users[partner_id], "commission_approved", title,
               "Approved commissions are in your available balance; request a payout once "
               "it reaches the minimum.", "/partner/earnings")


def approve_due_commissions() -> int:
    """Approve every pending commission whose holding period has ended (scheduled job).

    ``bonus`` commissions (challenge prizes, manual bonuses) are left pending: the money
    issue says they are "approved by staff", so only ``approve_commissions`` moves them.
    Returns how many were approved (int). Compare-and-set, so two runs never double-act.
    """
    now = now_utc()
    due = list(db.session.scalars(select(Commission.id).where(
        Commission.status == "pending", Commission.hold_until <= now,
        Commission.type != "bonus")))
    count = 0
    approved: list[int] = []
    for cid in due:
        res = db.session.execute(update(Commission).where(
            Commission.id == cid, Commission.status == "pending", Commission.type != "bonus")
            .values(status="approved", approved_at=now))
        if res.rowcount:
            count += 1
            approved.append(cid)
            audit(None, "commission.approve", "commission", cid, {"status": "pending"},
                  {"status": "approved", "by": "holding period ended"})
    if approved and wanted("commission.approved"):
        for c in db.session.scalars(select(Commission).where(Commission.id.in_(approved))
                                    .order_by(Commission.id)):
            emit("commission.approved", c)
    totals: dict[int, list[int]] = {}
    for start in range(0, len(approved), 1000):
        for partner_id, amount in db.session.execute(
                select(Commission.partner_id, Commission.amount_cents)
                .where(Commission.id.in_(approved[start:start + 1000]))):
            totals.setdefault(partner_id, []).append(amount)
    _announce_approvals(totals)
    return count


def _can_hold(c: Commission) -> bool:
    return c.status in ("pending", "approved") and c.payout_id is None


def _hold(c: Commission, actor_id: int, reason: str) -> Commission:
    audit(actor_id, "commission.hold", "commission", c.id, {"status": c.status},
          {"status": "on_hold", "reason": reason})
    c.status = "on_hold"
    return c


def hold_commission(commission_id, actor_id: int, reason) -> Commission:
    """Put a pending or approved (unpaid, not in a payout) commission on hold with a reason.

    Args: ``commission_id`` (int), ``reason`` (non-empty text). Returns the commission
    (``on_hold``). Raises ``NotFound``, ``ValidationError`` (no reason), ``Conflict``
    (paid, reversed or in a payout; a ``commission.hold.refused`` audit row is kept).
    Rule: rules: "Ledger" (staff can put a commission on hold with a reason).
    """
    c = get_row(Commission, commission_id)
    if c is None:
        raise NotFound("No such commission.")
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("Give a reason for the hold.")
    if not _can_hold(c):
        audit_refusal(actor_id, "commission.hold.refused", "commission", c.id, "state",
                      {"status": c.status, "payout_id": c.payout_id})
        raise Conflict("Only pending or approved commissions outside a payout can be held.")
    return _hold(c, actor_id, reason.strip())


def hold_commissions(ids, actor_id: int, reason) -> list[Commission]:
    """Put several commissions on hold with one reason (finance's bulk action), all or none.

    ``ids`` is a list of 1 to 1,000 ints. Each must be pending or approved and outside a
    payout. Raises ``ValidationError`` (no reason, reason over 500 characters, malformed
    list), ``NotFound`` (unknown id), ``Conflict`` naming the ids that cannot be held
    (nothing changes then). Returns the held rows; every hold is audited with the reason.
    """
    reason = _reason(reason, "hold")
    rows = _load_commissions(ids)
    bad = [c.id for c in rows if not _can_hold(c)]
    if bad:
        audit_refusal(actor_id, "commission.hold.refused", "commission", bad[0], "state",
                      {"ids": bad})
        raise Conflict(f"Only pending or approved commissions outside a payout can be held: "
                       f"{bad}.")
    return [_hold(c, actor_id, reason) for c in rows]


def _clawed_back(ids: list[int]) -> set[int]:
    """Which of these commissions already have a clawback adjustment."""
    if not ids:
        return set()
    return set(db.session.scalars(select(Commission.adjusts_id).where(
        Commission.adjusts_id.in_(ids))))


def _reversal_refusal(c: Commission, clawed: set[int]) -> str | None:
    if c.type == "adjustment":
        return "an adjustment (reverse the commission it corrects instead)"
    if c.status == "reversed":
        return "already reversed"
    if c.id in clawed:
        return "already clawed back"
    return None


def _reverse_one(c: Commission, actor_id: int, reason: str, now) -> Commission:
    if _money_left(c):
        return _claw_back(c, actor_id, f"Clawback: commission #{c.id} reversed ({reason})",
                          now)
    _reverse(c, actor_id, reason, now)
    return c


def reverse_commission(commission_id, actor_id: int, reason) -> Commission:
    """Reverse one commission with a reason, by the money rules of a cancelled deal
    (rules: "Ledger"): unpaid (pending, on hold, approved) it becomes ``reversed`` (a requested
    or approved payout holding it fails and its other lines return to the balance);
    paid, or approved inside a processing payout, it keeps its status and gets a negative
    ``adjustment`` of the same amount. The deal itself stays confirmed.

    Returns the reversed commission or the adjustment made. Raises ``NotFound``,
    ``ValidationError`` (no reason, over 500 characters), ``Conflict`` (an adjustment,
    already reversed or already clawed back). Audited (``commission.reverse`` or
    ``commission.adjust``).
    """
    if get_row(Commission, commission_id) is None:
        raise NotFound("No such commission.")
    return reverse_commissions([commission_id], actor_id, reason)[0]


def reverse_commissions(ids, actor_id: int, reason) -> list[Commission]:
    """Reverse several commissions with one reason (finance's bulk action), all or none;
    each as ``reverse_commission`` does. Returns, per commission in id order, the reversed
    row or its adjustment. Raises as ``reverse_commission``; ``Conflict`` names every id
    that cannot be reversed and nothing changes then."""
    reason = _reason(reason, "reversal")
    rows = _load_commissions(ids)
    clawed = _clawed_back([c.id for c in rows])
    bad = [(c.id, why) for c in rows if (why := _reversal_refusal(c, clawed))]
    if bad:
        raise Conflict("These commissions cannot be reversed: "
                       + "; ".join(f"#{i} {why}" for i, why in bad) + ".")
    now = now_utc()
    return [_reverse_one(c, actor_id, reason, now) for c in rows]


def add_bonus(partner_id, amount_cents, actor_id: int, note) -> Commission:
    """Create a ``bonus`` commission (challenge prize or manual staff bonus), ``pending``
    until staff approve it (``approve_commissions``; the holding-period job never does).

    Args: ``partner_id`` (int), ``amount_cents`` (int cents, 1..100,000,000), ``note``
    (what it is for). Returns the commission. Raises ``NotFound``, ``ValidationError``.
    Rule: rules: "Commissions" (challenge prizes and manual staff bonuses are
    bonus commissions, approved by staff).
    """
    partner = get_row(Partner, partner_id)
    if partner is None:
        raise NotFound("No such partner.")
    amount = cents_field(amount_cents, "amount_cents", allow_zero=False)
    if not isinstance(note, str) or not note.strip():
        raise ValidationError("Say what the bonus is for.")
    return _add_commission(partner, None, "bonus", amount, None, None, actor_id, note.strip())


def set_team(partner_id, actor_id: int, team_leader_id=None, recruiter_id=None) -> Partner:
    """Assign a partner's team leader and recruiter; refuses self and loops (rules: "Team override").

    Raises ``NotFound`` for unknown ids, ``ValidationError`` for a loop.
    """
    partner = get_row(Partner, partner_id)
    if partner is None:
        raise NotFound("No such partner.")
    before = {"team_leader_id": partner.team_leader_id, "recruiter_id": partner.recruiter_id}
    for field, other_id in (("team_leader_id", team_leader_id), ("recruiter_id", recruiter_id)):
        if other_id is None:
            setattr(partner, field, None)
            continue
        if get_row(Partner, other_id) is None:
            raise NotFound(f"{field}: no such partner.")
        # Walk up the chain from the proposed leader/recruiter; meeting the partner is a loop.
        seen, cur = set(), other_id
        while cur is not None and cur not in seen:
            if cur == partner.id:
                raise ValidationError(f"{field}: a partner cannot be their own "
                                      f"{field.split('_id')[0].replace('_', ' ')}, "
                                      "directly or through a loop.")
            seen.add(cur)
            cur = db.session.scalar(select(getattr(Partner, field)).where(Partner.id == cur))
        setattr(partner, field, other_id)
    audit(actor_id, "partner.team", "partner", partner.id, before,
          {"team_leader_id": partner.team_leader_id, "recruiter_id": partner.recruiter_id})
    return partner


@job(queue=QUEUE_DEFAULT, every=TICK_SECONDS)
def approve_due() -> int:
    """Approve the commissions whose holding period has ended (every worker's ticker):
    :func:`approve_due_commissions`. Returns how many."""
    return approve_due_commissions()
