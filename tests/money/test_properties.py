"""Property-based tests of the money rules (rules: "Money", "Tiers", "Commissions").

A hypothesis state machine drives random sequences of what partners, staff and finance do
(register partners under leaders and recruiters, win and confirm deals, cancel or refund
them, approve and hold commissions, bonuses, tier overrides, suspensions, payouts through
every state, Stripe reversals) against the real database, keeping its own model in plain
Python of what every commission, deal and payout must be. After every step it checks that
no cent is created or lost, that balances, payouts and statements reconcile, that tiers
follow the deal counts, and that ledger amounts never change.

25 examples of up to 50 steps by default (about half a minute on SQLite, a minute on
PostgreSQL); ``PROPERTY_EXAMPLES=300`` runs a longer hunt. A failure prints the shortest
sequence of steps that breaks a rule.
"""

import os
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from conftest import _reset
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.accounts.models import User
from core.accounts.users import hash_password
from core.base.errors import Conflict, DomainError, Forbidden, ValidationError
from core.base.extensions import db
from core.base.jobs import redis_connection
from core.base.timeutil import now_utc
from core.content.models import TrainingCompletion, TrainingModule
from core.money.commissions import (
    add_bonus,
    approve_commissions,
    cancel_deal,
    confirm_deal,
    hold_commission,
    set_team,
)
from core.money.earnings import earnings_summary
from core.money.models import Commission, Deal, Payout, PayoutTransfer
from core.money.payouts import (
    approve_payout,
    available_cents,
    create_payout,
    create_payouts_for_all,
    fail_payout,
    mark_paid,
    record_transfer,
    start_transfer,
)
from core.money.statements import statement_lines
from core.money.stripe_connect import reverse_payout
from core.program.leads import create_lead, move_lead
from core.program.models import Partner
from core.program.partners import reactivate_partner, suspend_partner
from core.program.tiers import all_tiers, computed_tier, standing, tier_by_key

# --- the rules, written out independently of core -------------------------------------

#: The tier table of rules: "Tiers": key → (min deals, base bps, referral bps, team override bps).
TIERS = {
    "starter": (0, 2000, 0, 0),
    "active": (3, 2200, 500, 0),
    "performer": (10, 2500, 500, 1000),
    "elite": (25, 3000, 500, 1000),
}
MINIMUM_PAYOUT = 5000
OPEN_PAYOUT = ("requested", "approved", "processing")
#: Payout state machine (rules: "Payouts", plus Stripe's transfer reversal).
PAYOUT_MOVES = {
    "requested": {"approved", "failed"},
    "approved": {"processing", "paid", "failed"},
    "processing": {"paid", "failed"},
    "paid": {"reversed"},
    "failed": set(),
    "reversed": set(),
}


def _reachable(start: str) -> set:
    seen, todo = set(), [start]
    while todo:
        for nxt in PAYOUT_MOVES[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


#: Statuses a payout can reach from each status (one step may make several moves).
PAYOUT_REACH = {s: _reachable(s) for s in PAYOUT_MOVES}


def expected_tier(won: int, trained: bool) -> str:
    """Highest tier whose threshold the count reaches; starter without training."""
    if not trained:
        return "starter"
    return max((k for k, t in TIERS.items() if won >= t[0]), key=lambda k: TIERS[k][0])


def half_up(value: int, bps: int) -> int:
    """value × bps / 10,000 rounded half up (value > 0)."""
    return (value * bps + 5000) // 10000


# --- the model --------------------------------------------------------------------------

@dataclass
class MPartner:
    id: int
    user_id: int
    trained: bool
    status: str = "active"
    leader: int | None = None
    recruiter: int | None = None
    won: int = 0
    override_tier: str | None = None
    override_rate: int | None = None

    def effective(self) -> tuple[str, int]:
        """(effective tier key, base rate bps)."""
        tier = self.override_tier or expected_tier(self.won, self.trained)
        rate = self.override_rate if self.override_rate is not None else TIERS[tier][1]
        return tier, rate


@dataclass
class MCommission:
    id: int
    partner: int
    deal: int | None
    type: str
    amount: int
    source: int | None
    status: str = "pending"
    payout: int | None = None


@dataclass
class MPayout:
    id: int
    partner: int
    amount: int
    members: frozenset
    status: str = "requested"


@dataclass
class MDeal:
    id: int
    partner: int
    value: int
    status: str = "won"


@dataclass
class MLead:
    id: int
    partner: int
    value: int
    deal: int | None = None


#: Examples per run; raise it (``PROPERTY_EXAMPLES=500``) for a longer hunt.
EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "25"))

_HASH = None


def password_hash() -> str:
    """One scrypt hash computed once and reused for every user the machine inserts."""
    global _HASH
    if _HASH is None:
        _HASH = hash_password("correct-horse-battery")
    return _HASH


ANY = st.integers(min_value=0, max_value=2**16)
CENTS = st.integers(min_value=1, max_value=100_000_000)


#: Most steps aim at a target the operation accepts; the rest probe the refusals.
USUALLY = st.sampled_from([True, True, True, False])
#: Most partners pass the required training; some never do (they stay starter).
TRAINED = st.sampled_from([True, True, True, False])


def pick(items, i):
    return items[i % len(items)]


def pick_preferring(items, i, usual, fits):
    """Pick among the items that ``fits`` when ``usual`` (and there are any), else any."""
    good = [x for x in items if fits(x)]
    return pick(good if usual and good else items, i)


class MoneyMachine(RuleBasedStateMachine):
    """The test binds ``app``; every example starts on a freshly reset database with three
    staff users (admin, finance, support) inserted directly (no scrypt per user)."""

    app = None

    def __init__(self):
        super().__init__()
        _reset(self.app)
        self._ctx = self.app.app_context()
        self._ctx.push()
        redis_connection().flushdb()
        staff = {role: User(email=f"{role}@example.com", name=role.title(),
                            password_hash=password_hash(), is_staff=True, roles=role)
                 for role in ("admin", "finance", "support")}
        db.session.add_all(staff.values())
        db.session.commit()
        self.admin_id, self.finance_id, self.support_id = (
            staff[r].id for r in ("admin", "finance", "support"))
        self.required_modules = list(db.session.scalars(
            select(TrainingModule.id).where(TrainingModule.required)))
        self.partners: dict[int, MPartner] = {}
        self.commissions: dict[int, MCommission] = {}
        self.payouts: dict[int, MPayout] = {}
        self.deals: dict[int, MDeal] = {}
        self.leads: dict[int, MLead] = {}
        # Ledger values as first seen, to prove they never change afterwards.
        self.seen: dict[tuple, object] = {}
        self.partner_seq = 0
        self.checked: dict[int, tuple] = {}

    def teardown(self):
        db.session.remove()
        self._ctx.pop()

    # --- helpers ----------------------------------------------------------------------

    def attempt(self, fn, expect=None):
        """Run one core operation as a request would: commit on success, roll back on a
        domain error. ``expect`` is the error class the model predicts (or None)."""
        try:
            result = fn()
        except DomainError as exc:
            db.session.rollback()
            assert expect is not None and isinstance(exc, expect), \
                f"model expected {expect.__name__ if expect else 'success'}, got {exc!r}"
            return exc
        db.session.commit()
        assert expect is None, f"model expected {expect.__name__}, the call succeeded"
        return result

    def choose_payout(self, which, usual, *statuses):
        return pick_preferring(sorted(self.payouts.values(), key=lambda x: x.id), which, usual,
                               lambda po: po.status in statuses)

    def waiting_payout(self, partner_id) -> bool:
        """One payout at a time: a partner with one waiting cannot request another."""
        return any(po.partner == partner_id and po.status in OPEN_PAYOUT
                   for po in self.payouts.values())

    def free_approved(self, partner_id):
        return [c for c in self.commissions.values() if c.partner == partner_id
                and c.status == "approved" and c.payout is None]

    def fail_in_model(self, payout: MPayout):
        payout.status = "failed"
        for c in self.commissions.values():
            if c.payout == payout.id and c.status == "approved":
                c.payout = None

    def add_model_commission(self, row: Commission, status="pending"):
        self.commissions[row.id] = MCommission(
            id=row.id, partner=row.partner_id, deal=row.deal_id, type=row.type,
            amount=row.amount_cents, source=row.source_partner_id, status=status)

    # --- partners ---------------------------------------------------------------------

    @initialize(team=st.lists(st.tuples(st.none() | ANY, st.none() | ANY, TRAINED),
                              min_size=1, max_size=4))
    def founding_partners(self, team):
        """The program starts with a few partners, later ones under earlier ones."""
        for leader, recruiter, trained in team:
            self.register_partner(leader, recruiter, trained)

    @precondition(lambda self: len(self.partners) < 7)
    @rule(leader=st.none() | ANY, recruiter=st.none() | ANY, trained=TRAINED)
    def register_partner(self, leader, recruiter, trained):
        """A partner joins (approved), maybe under a team leader and/or a recruiter."""
        ids = sorted(self.partners)
        leader_id = pick(ids, leader) if ids and leader is not None else None
        recruiter_id = pick(ids, recruiter) if ids and recruiter is not None else None
        self.partner_seq += 1
        n = self.partner_seq
        starter = tier_by_key("starter")
        user = User(email=f"partner{n}@example.com", name=f"Partner {n}",
                    password_hash=password_hash())
        p = Partner(user=user, status="active", referral_code=f"PROP{n:04d}",
                    agreement_version="1", agreement_accepted_at=now_utc(),
                    approved_at=now_utc(), tier=starter, tier_id=starter.id)
        db.session.add_all([user, p])
        db.session.flush()
        if trained:
            for m in self.required_modules:
                db.session.add(TrainingCompletion(partner_id=p.id, module_id=m))
        if leader_id is not None or recruiter_id is not None:
            set_team(p.id, self.admin_id, team_leader_id=leader_id, recruiter_id=recruiter_id)
        db.session.commit()
        self.partners[p.id] = MPartner(id=p.id, user_id=user.id, trained=trained,
                                       leader=leader_id, recruiter=recruiter_id)

    @precondition(lambda self: self.partners)
    @rule(who=ANY, leader=st.none() | ANY, recruiter=st.none() | ANY)
    def reassign_team(self, who, leader, recruiter):
        """Staff move a partner to another leader/recruiter; loops are refused."""
        ids = sorted(self.partners)
        p = self.partners[pick(ids, who)]
        leader_id = pick(ids, leader) if leader is not None else None
        recruiter_id = pick(ids, recruiter) if recruiter is not None else None

        def loops(start, attr):
            cur, seen = start, set()
            while cur is not None and cur not in seen:
                if cur == p.id:
                    return True
                seen.add(cur)
                cur = getattr(self.partners[cur], attr)
            return False

        bad = loops(leader_id, "leader") or loops(recruiter_id, "recruiter")
        self.attempt(lambda: set_team(p.id, self.admin_id, team_leader_id=leader_id,
                                      recruiter_id=recruiter_id),
                     ValidationError if bad else None)
        if not bad:
            p.leader, p.recruiter = leader_id, recruiter_id

    @precondition(lambda self: self.partners)
    @rule(who=ANY)
    def suspend_or_reactivate(self, who):
        """Staff suspend an active partner (no deals confirmed, no payouts requested, no
        override or referral earned) or reactivate a suspended one."""
        p = self.partners[pick(sorted(self.partners), who)]
        if p.status == "active":
            self.attempt(lambda: suspend_partner(p.id, self.admin_id, "property test"))
            p.status = "suspended"
        else:
            self.attempt(lambda: reactivate_partner(p.id, self.admin_id))
            p.status = "active"

    @precondition(lambda self: self.partners)
    @rule(who=ANY, tier=st.none() | st.sampled_from(sorted(TIERS)),
          rate=st.none() | st.integers(min_value=0, max_value=10000))
    def override_tier(self, who, tier, rate):
        """Staff set (or, with neither tier nor rate, clear) a partner's override."""
        p = self.partners[pick(sorted(self.partners), who)]
        self.attempt(lambda: _set_override(p.id, self.admin_id, tier, rate))
        p.override_tier, p.override_rate = tier, rate

    # --- deals ------------------------------------------------------------------------

    @precondition(lambda self: self.partners)
    @rule(who=ANY, value=CENTS)
    def win_lead(self, who, value):
        """A partner marks a lead won with a deal value (staff confirm it later)."""
        self.mark_lead_won(pick(sorted(self.partners), who), value)

    def mark_lead_won(self, partner_id, value):
        """Create a lead for the partner and move it to won with ``value`` cents."""
        p = self.partners[partner_id]
        user_id = p.user_id

        def do():
            partner = db.session.get(Partner, p.id)
            lead = create_lead(partner, {"company_name": "Client Co"}, user_id)
            move_lead(lead, "won", user_id, value)
            return lead.id

        lead_id = self.attempt(do)
        self.leads[lead_id] = MLead(id=lead_id, partner=p.id, value=value)

    @precondition(lambda self: self.leads)
    @rule(which=ANY, value=st.none() | CENTS, usual=USUALLY)
    def confirm_deal(self, which, value, usual):
        """Staff confirm a won lead (sometimes with a corrected value, sometimes one
        already confirmed)."""
        self.confirm(pick_preferring(sorted(self.leads.values(), key=lambda x: x.id), which,
                                     usual, lambda lead: lead.deal is None), value)

    @precondition(lambda self: self.partners)
    @rule(who=ANY, values=st.lists(CENTS, min_size=1, max_size=8))
    def close_deals(self, who, values):
        """A partner wins a run of deals and staff confirm each: climbs the tiers."""
        p = self.partners[pick(sorted(self.partners), who)]
        for value in values:
            self.mark_lead_won(p.id, value)
            self.confirm(self.leads[max(self.leads)], None)

    def confirm(self, lead: MLead, value):
        """Confirm ``lead``; the model predicts every commission it makes."""
        p = self.partners[lead.partner]
        if lead.deal is not None or p.status != "active":
            self.attempt(lambda: confirm_deal(lead.id, self.admin_id, value), Conflict)
            return
        amount = lead.value if value is None else value
        expected = []
        tier, rate = p.effective()
        if half_up(amount, rate):
            expected.append(("base", p.id, half_up(amount, rate), rate))
        if p.leader is not None and self.partners[p.leader].status == "active":
            bps = TIERS[self.partners[p.leader].effective()[0]][3]
            if half_up(amount, bps):
                expected.append(("team_override", p.leader, half_up(amount, bps), bps))
        if p.recruiter is not None and self.partners[p.recruiter].status == "active":
            bps = TIERS[self.partners[p.recruiter].effective()[0]][2]
            already = any(c.type == "referral" and c.source == p.id and c.status != "reversed"
                          for c in self.commissions.values())
            if p.won == 0 and not already and half_up(amount, bps):
                expected.append(("referral", p.recruiter, half_up(amount, bps), bps))

        deal, made = self.attempt(lambda: confirm_deal(lead.id, self.admin_id, value))
        got = [(c.type, c.partner_id, c.amount_cents, c.rate_bps) for c in made]
        assert got == expected, (f"deal of {amount} by partner {p.id} at {tier}/{rate}", got,
                                 expected)
        for c in made:
            assert c.deal_id == deal.id and c.source_partner_id == p.id
            self.add_model_commission(c)
            event(f"commission: {c.type}")
        lead.deal = deal.id
        self.deals[deal.id] = MDeal(id=deal.id, partner=p.id, value=amount)
        p.won += 1
        event(f"closing partner tier: {expected_tier(p.won, p.trained)}")

    @precondition(lambda self: self.deals)
    @rule(which=ANY, refunded=st.booleans(), usual=USUALLY)
    def cancel_deal(self, which, refunded, usual):
        """Staff cancel or refund a deal: unpaid commissions reverse, paid (or in-flight)
        ones get a negative adjustment."""
        deal = pick_preferring(sorted(self.deals.values(), key=lambda x: x.id), which, usual,
                               lambda d: d.status == "won")
        if deal.status != "won":
            self.attempt(lambda: cancel_deal(deal.id, self.admin_id, "again"), Conflict)
            return
        expected_adj = set()
        for c in sorted(self.commissions.values(), key=lambda x: x.id):
            if c.deal != deal.id or c.type == "adjustment":
                continue
            payout = self.payouts.get(c.payout)
            in_flight = payout is not None and payout.status == "processing"
            if c.status == "paid" or (c.status == "approved" and in_flight):
                expected_adj.add((c.id, c.partner, -c.amount))
                event("cancel: clawback of a paid commission" if c.status == "paid"
                      else "cancel: clawback of a commission in a processing payout")
            elif c.status != "reversed":
                c.status = "reversed"
                if payout is not None and payout.status in ("requested", "approved"):
                    self.fail_in_model(payout)
                    event("cancel: reversal fails an unpaid payout")
                c.payout = None
        adjustments = self.attempt(lambda: cancel_deal(deal.id, self.admin_id, "client left",
                                                       refunded=refunded))
        got = {(a.adjusts_id, a.partner_id, a.amount_cents) for a in adjustments}
        assert got == expected_adj, (got, expected_adj)
        for a in adjustments:
            assert a.type == "adjustment" and a.deal_id == deal.id
            self.add_model_commission(a, status="approved")
        deal.status = "refunded" if refunded else "cancelled"
        p = self.partners[deal.partner]
        p.won = max(0, p.won - 1)

    # --- commissions ------------------------------------------------------------------

    @precondition(lambda self: self.partners)
    @rule(who=ANY, amount=CENTS)
    def bonus(self, who, amount):
        p = self.partners[pick(sorted(self.partners), who)]
        row = self.attempt(lambda: add_bonus(p.id, amount, self.admin_id, "Challenge prize"))
        assert (row.type, row.amount_cents, row.status) == ("bonus", amount, "pending")
        self.add_model_commission(row)

    @precondition(lambda self: self.commissions)
    @rule(everything=USUALLY, picks=st.lists(ANY, min_size=1, max_size=4))
    def approve_commissions(self, everything, picks):
        """Staff approve every pending commission, or a few chosen ones (any state: then
        all-or-nothing)."""
        rows = sorted(self.commissions.values(), key=lambda x: x.id)
        if everything:
            chosen = [c for c in rows if c.status in ("pending", "on_hold")]
        else:
            chosen = list({c.id: c for c in (pick(rows, i) for i in picks)}.values())
        self.approve(chosen)

    def approve(self, chosen):
        if not chosen:
            return
        ok = all(c.status in ("pending", "on_hold") for c in chosen)
        self.attempt(lambda: approve_commissions([c.id for c in chosen], self.admin_id),
                     None if ok else Conflict)
        if ok:
            for c in chosen:
                c.status = "approved"

    @precondition(lambda self: self.commissions)
    @rule(which=ANY)
    def hold_commission(self, which):
        c = pick(sorted(self.commissions.values(), key=lambda x: x.id), which)
        ok = c.status in ("pending", "approved") and c.payout is None
        self.attempt(lambda: hold_commission(c.id, self.admin_id, "checking"),
                     None if ok else Conflict)
        if ok:
            c.status = "on_hold"

    # --- payouts ----------------------------------------------------------------------

    @precondition(lambda self: self.partners)
    @rule(who=ANY, usual=USUALLY)
    def create_payout(self, who, usual):
        """A partner requests a payout of their approved balance."""
        self.request_payout(pick_preferring(
            sorted(self.partners.values(), key=lambda x: x.id), who, usual,
            lambda p: p.status == "active" and not self.waiting_payout(p.id) and sum(
                c.amount for c in self.free_approved(p.id)) >= MINIMUM_PAYOUT))

    @precondition(lambda self: self.partners)
    @rule()
    def payout_batch(self):
        """Finance's batch: one payout for each active partner over the minimum with none
        waiting."""
        due = {p.id: self.free_approved(p.id) for p in self.partners.values()
               if p.status == "active" and not self.waiting_payout(p.id)}
        due = {pid: free for pid, free in due.items()
               if sum(c.amount for c in free) >= MINIMUM_PAYOUT}
        made = self.attempt(lambda: create_payouts_for_all(self.finance_id))
        assert sorted((po.partner_id, po.amount_cents) for po in made) == sorted(
            (pid, sum(c.amount for c in free)) for pid, free in due.items())
        for po in made:
            free = due[po.partner_id]
            self.payouts[po.id] = MPayout(id=po.id, partner=po.partner_id,
                                          amount=po.amount_cents,
                                          members=frozenset(c.id for c in free))
            for c in free:
                c.payout = po.id

    def request_payout(self, p: MPartner) -> "MPayout | None":
        free = self.free_approved(p.id)
        balance = sum(c.amount for c in free)
        expect = (Conflict if p.status != "active" or self.waiting_payout(p.id) else
                  ValidationError if balance < MINIMUM_PAYOUT else None)
        payout = self.attempt(lambda: create_payout(p.id, p.user_id), expect)
        if expect:
            return None
        assert payout.amount_cents == balance and payout.status == "requested"
        po = self.payouts[payout.id] = MPayout(id=payout.id, partner=p.id, amount=balance,
                                               members=frozenset(c.id for c in free))
        for c in free:
            c.payout = payout.id
        return po

    @precondition(lambda self: self.partners)
    @rule(who=ANY, outcome=st.sampled_from(["requested", "approved", "processing", "paid",
                                            "paid by transfer", "failed", "reversed"]))
    def pay_run(self, who, outcome):
        """Finance's whole round for one partner: approve what is pending, request a
        payout, then take it as far as ``outcome``."""
        p = self.partners[pick(sorted(self.partners), who)]
        self.approve([c for c in self.commissions.values()
                      if c.partner == p.id and c.status in ("pending", "on_hold")])
        po = self.request_payout(p)
        if po is None or outcome == "requested":
            return
        self.approve_one(po, by_support=False)
        if outcome in ("processing", "paid by transfer"):
            self.start_one(po)
        if outcome.startswith("paid") or outcome == "reversed":
            self.pay_one(po, via_transfer=outcome != "paid")
        if outcome == "failed":
            self.fail_one(po)
        if outcome == "reversed":
            self.reverse_one(po)

    @precondition(lambda self: self.payouts)
    @rule(which=ANY, usual=USUALLY, action=st.sampled_from([
        "approve", "approve", "approve by support", "start transfer", "pay manually",
        "pay by transfer", "fail", "reverse"]))
    def move_payout(self, which, usual, action):
        """One move on one payout: finance approve it (support staff may not), the job
        starts the transfer, finance record a manual payment or the job records the Stripe
        transfer, the transfer fails, or Stripe reverses a paid one. ``usual`` aims at a
        payout in a state that allows the move; otherwise any payout (then refused)."""
        if action.startswith("approve"):
            self.approve_one(self.choose_payout(which, usual, "requested"),
                             by_support=action == "approve by support")
        elif action == "start transfer":
            self.start_one(self.choose_payout(which, usual, "approved"))
        elif action.startswith("pay"):
            self.pay_one(self.choose_payout(which, usual, "approved", "processing"),
                         via_transfer=action == "pay by transfer")
        elif action == "fail":
            self.fail_one(self.choose_payout(which, usual, *OPEN_PAYOUT))
        else:
            self.reverse_one(self.choose_payout(which, usual, "paid"))

    def approve_one(self, po: MPayout, by_support: bool):
        actor_id = self.support_id if by_support else self.finance_id
        # A payout requested before its partner was suspended waits: it is not approved
        # until they are reactivated (rules: "Payouts").
        ok = po.status == "requested" and self.partners[po.partner].status == "active"
        expect = Forbidden if by_support else (None if ok else Conflict)
        self.attempt(lambda: approve_payout(po.id, db.session.get(User, actor_id)), expect)
        if expect is None:
            po.status = "approved"

    def start_one(self, po: MPayout):
        got = self.attempt(lambda: start_transfer(po.id))
        assert (got is not None) == (po.status == "approved")
        if got is not None:
            po.status = "processing"

    def pay_one(self, po: MPayout, via_transfer: bool):
        """Pay; then paying twice is refused and a second transfer row cannot exist."""
        ok = po.status in ("approved", "processing")

        def pay():
            payout = db.session.get(Payout, po.id)
            if via_transfer:
                return record_transfer(payout, f"tr_{po.id}")
            return mark_paid(payout, f"WIRE-{po.id}", self.finance_id)

        self.attempt(pay, None if ok else Conflict)
        if not ok:
            return
        po.status = "paid"
        event("payout paid " + ("by transfer" if via_transfer else "manually"))
        for c in self.commissions.values():
            if c.payout == po.id and c.status == "approved":
                c.status = "paid"
        # Paying twice: refused, whichever way it comes.
        self.attempt(lambda: mark_paid(db.session.get(Payout, po.id), "AGAIN",
                                       self.finance_id), Conflict)
        self.attempt(lambda: record_transfer(db.session.get(Payout, po.id), "tr_again"),
                     Conflict)
        if via_transfer:
            try:
                with db.session.begin_nested():
                    db.session.add(PayoutTransfer(payout_id=po.id, idempotency_key="dup",
                                                  transfer_id="tr_dup",
                                                  amount_cents=po.amount))
                raise AssertionError("a second transfer row for one payout was stored")
            except IntegrityError:
                pass
            db.session.rollback()

    def fail_one(self, po: MPayout):
        ok = po.status in OPEN_PAYOUT
        self.attempt(lambda: fail_payout(db.session.get(Payout, po.id), "bank said no", None),
                     None if ok else Conflict)
        if ok:
            event("payout failed from " + po.status)
            self.fail_in_model(po)

    def reverse_one(self, po: MPayout):
        """``transfer.reversed``: only a paid payout moves; anything else is left alone."""
        self.attempt(lambda: reverse_payout(db.session.get(Payout, po.id), "returned"))
        if po.status == "paid":
            event("paid payout reversed")
            po.status = "reversed"
            for c in self.commissions.values():
                if c.payout == po.id and c.status == "paid":
                    c.status, c.payout = "approved", None

    # --- invariants -------------------------------------------------------------------

    def remember(self, key, value):
        """Ledger values never change once written."""
        if key in self.seen:
            assert self.seen[key] == value, f"{key} changed: {self.seen[key]} → {value}"
        else:
            self.seen[key] = value

    @invariant()
    def ledger_matches_model(self):
        db.session.expire_all()
        rows = {c.id: c for c in db.session.scalars(select(Commission))}
        assert set(rows) == set(self.commissions), "commission rows appeared or vanished"
        for cid, m in self.commissions.items():
            c = rows[cid]
            self.remember(("commission", cid), (c.partner_id, c.type, c.amount_cents, c.deal_id))
            assert (c.partner_id, c.type, c.amount_cents) == (m.partner, m.type, m.amount)
            assert (c.status, c.payout_id) == (m.status, m.payout), (cid, c.status, c.payout_id, m)
            assert (c.type == "adjustment") == (c.amount_cents < 0)
            assert (c.paid_at is not None) == (c.status == "paid")
            assert (c.reversed_at is not None) == (c.status == "reversed")

        deals = {d.id: d for d in db.session.scalars(select(Deal))}
        assert set(deals) == set(self.deals)
        for did, m in self.deals.items():
            self.remember(("deal", did), (deals[did].partner_id, deals[did].value_cents))
            assert (deals[did].status, deals[did].value_cents) == (m.status, m.value)

        payouts = {p.id: p for p in db.session.scalars(select(Payout))}
        assert set(payouts) == set(self.payouts)
        transfers = list(db.session.scalars(select(PayoutTransfer)))
        assert len({t.payout_id for t in transfers}) == len(transfers), "payout paid twice"
        transfer_of = {t.payout_id: t for t in transfers}
        waiting = [p.partner_id for p in payouts.values() if p.status in OPEN_PAYOUT]
        assert len(waiting) == len(set(waiting)), "two payouts waiting for one partner"
        live_claims: dict[int, int] = {}
        for pid, m in self.payouts.items():
            p = payouts[pid]
            self.remember(("payout", pid), (p.partner_id, p.amount_cents))
            assert p.status == m.status, (pid, p.status, m.status)
            # a payout's amount is the sum of its commissions at creation
            assert p.amount_cents == m.amount == sum(self.commissions[c].amount
                                                     for c in m.members)
            linked = {c.id for c in rows.values() if c.payout_id == pid}
            if m.status in OPEN_PAYOUT or m.status == "paid":
                assert linked == set(m.members), (pid, m.status, linked, m.members)
                for c in m.members:
                    assert c not in live_claims, f"commission {c} in payouts {pid}, " \
                                                 f"{live_claims[c]}"
                    live_claims[c] = pid
            else:
                assert not linked, (pid, m.status, linked)
            # never paid twice: paid_at set once and kept
            if p.paid_at is not None:
                self.remember(("paid_at", pid), p.paid_at)
            assert (p.paid_at is not None) == (m.status in ("paid", "reversed"))
            assert (p.reversed_at is not None) == (m.status == "reversed")
            if pid in transfer_of:
                t = transfer_of[pid]
                self.remember(("transfer", pid), (t.amount_cents, t.idempotency_key))
                assert t.amount_cents == p.amount_cents
                assert t.idempotency_key == f"payout-{pid}"
                assert m.status in ("paid", "reversed")
            # status moves only forward along the payout state machine
            last = self.seen.get(("status", pid), "requested")
            assert m.status == last or m.status in PAYOUT_REACH[last], (pid, last, m.status)
            self.seen[("status", pid)] = m.status

    @invariant()
    def balances_and_statements_reconcile(self):
        now = now_utc()
        for pid, mp in self.partners.items():
            mine = [c for c in self.commissions.values() if c.partner == pid]
            # The figures are sums over this partner's rows, which ledger_matches_model
            # ties to the model; when those did not move, neither can the figures.
            state = (now.year, now.month, tuple((c.id, c.status, c.payout) for c in mine),
                     tuple((p.id, p.status) for p in self.payouts.values() if p.partner == pid))
            if self.checked.get(pid) == state:
                continue
            self.checked[pid] = state
            net_paid = sum(p.amount for p in self.payouts.values()
                           if p.partner == pid and p.status == "paid")
            # all-time balance: non-reversed commissions less net paid payouts
            balance = sum(c.amount for c in mine if c.status != "reversed") - net_paid
            by_status = {s: sum(c.amount for c in mine if c.status == s and
                                (s != "approved" or c.payout is None))
                         for s in ("pending", "approved", "on_hold")}
            in_payout = sum(c.amount for c in mine if c.status == "approved" and c.payout)
            # no cent created or lost: every cent of the balance sits in exactly one place
            assert balance == by_status["pending"] + by_status["approved"] + \
                by_status["on_hold"] + in_payout

            db_balance = _sum(select(func.sum(Commission.amount_cents)).where(
                Commission.partner_id == pid, Commission.status != "reversed")) - _sum(
                select(func.sum(Payout.amount_cents)).where(
                    Payout.partner_id == pid, Payout.paid_at.is_not(None),
                    Payout.reversed_at.is_(None)))
            assert db_balance == balance

            assert available_cents(pid) == by_status["approved"]
            # earnings_summary's two months are statement_figures of this and last month
            summary = earnings_summary(pid)
            fig, last = summary["this_month"], summary["last_month"]
            for f in (fig, last):
                assert f["opening_cents"] + f["earned_cents"] - f["reversed_cents"] \
                    - f["paid_cents"] == f["closing_cents"], f
            assert last["closing_cents"] == fig["opening_cents"]
            assert fig["closing_cents"] == balance, (pid, fig, balance)
            assert summary["balance_cents"] == balance
            assert summary["approved_cents"] == by_status["approved"]
            assert summary["pending_cents"] == by_status["pending"]
            assert summary["on_hold_cents"] == by_status["on_hold"]
            assert summary["in_payout_cents"] == in_payout
            assert summary["paid_total_cents"] == net_paid

            lines = statement_lines(pid, now.year, now.month)
            assert sum(x["amount_cents"] for x in lines) == \
                fig["closing_cents"] - fig["opening_cents"]
            for kind, figure, sign in (("earned", "earned_cents", 1),
                                       ("reversed", "reversed_cents", -1),
                                       ("paid", "paid_cents", -1)):
                assert sign * sum(x["amount_cents"] for x in lines if x["kind"] == kind) \
                    == fig[figure], (kind, lines, fig)
            assert [x["date"] for x in lines] == sorted(x["date"] for x in lines)

    @invariant()
    def tiers_follow_deal_counts(self):
        won = dict(db.session.execute(select(Deal.partner_id, func.count()).where(
            Deal.status == "won").group_by(Deal.partner_id)).all())
        rows = db.session.execute(select(
            Partner.id, Partner.won_deals_count, Partner.tier_id, Partner.status,
            Partner.team_leader_id, Partner.recruiter_id)).all()
        tier_key = {t.id: t.key for t in all_tiers()}
        assert {r.id for r in rows} == set(self.partners)
        for r in rows:
            mp = self.partners[r.id]
            assert r.won_deals_count == won.get(r.id, 0) == mp.won
            assert (r.status, r.team_leader_id, r.recruiter_id) == \
                (mp.status, mp.leader, mp.recruiter)
            key = expected_tier(mp.won, mp.trained)
            assert tier_key[r.tier_id] == key, (r.id, mp.won, mp.trained, tier_key[r.tier_id])
            # computed_tier and standing are pure functions of what was just checked and
            # of the override rows: re-ask only when the partner's terms may have moved.
            terms = (mp.won, mp.status, mp.override_tier, mp.override_rate)
            if self.checked.get(("terms", r.id)) == terms:
                continue
            self.checked[("terms", r.id)] = terms
            assert computed_tier(mp.won, mp.trained).key == key
            st_ = standing(db.session.get(Partner, r.id))
            assert (st_.tier.key, st_.base_rate_bps) == mp.effective()


def _sum(q) -> int:
    return int(db.session.scalar(q) or 0)


def _set_override(partner_id, actor_id, tier, rate):
    from core.program.tiers import set_override

    return set_override(partner_id, actor_id, tier_key=tier, base_rate_bps=rate,
                        reason="property test")


@contextmanager
def sqlite_without_fsync(app):
    """On SQLite, skip the fsync of every commit while the machine runs (hundreds of
    commits per example); the database is a throwaway file either way."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "sqlite":
            yield
            return

        def no_fsync(dbapi_conn, _record):
            dbapi_conn.execute("PRAGMA synchronous=OFF")

        db.session.remove()
        sa_event.listen(engine, "connect", no_fsync)
        engine.dispose()
        try:
            yield
        finally:
            db.session.remove()
            sa_event.remove(engine, "connect", no_fsync)
            engine.dispose()


@pytest.mark.slow
def test_money_never_appears_or_vanishes(app):
    """Random sequences of partner, staff and finance actions keep every ledger identity."""
    machine = type("BoundMoneyMachine", (MoneyMachine,), {"app": app})
    with sqlite_without_fsync(app):
        run_state_machine_as_test(machine, settings=settings(
            max_examples=EXAMPLES, stateful_step_count=50, deadline=None, database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))


def test_one_waiting_payout_per_partner(ctx):
    """The machine's first find: a partner with a payout waiting could request a second one
    (and finance's batch made one too), though create_payout promises a Conflict. Now the
    second request is refused, the batch skips the partner, and once the first payout has
    failed the next request takes the whole balance."""
    from conftest import make_partner, make_staff

    finance = make_staff("finance@example.com", ("finance",))
    p = make_partner("Wanda Waiting")
    first = add_bonus(p.id, 10000, finance.id, "Prize")
    approve_commissions([first.id], finance.id)
    payout = create_payout(p.id, p.user_id)
    db.session.commit()
    second = add_bonus(p.id, 7000, finance.id, "Another prize")
    approve_commissions([second.id], finance.id)
    db.session.commit()
    with pytest.raises(Conflict):
        create_payout(p.id, p.user_id)
    db.session.rollback()
    assert create_payouts_for_all(finance.id) == []
    assert available_cents(p.id) == 7000

    fail_payout(payout, "bank said no", finance.id)
    again = create_payout(p.id, p.user_id)
    db.session.commit()
    assert again.amount_cents == 17000
