"""The money rules of rules: "Money", "Tiers", "Commissions", checked by calling core in an app context
against the real database, Redis and RQ worker: rounding, tiers, overrides, referral and
team commissions, cancellations, payouts, statements and concurrent approvals."""

import threading
from datetime import timedelta

import pytest
from conftest import make_partner, make_staff, make_staff_once
from sqlalchemy import func, select

from core.accounts.models import User
from core.base.errors import Conflict, Forbidden, ValidationError
from core.base.extensions import db
from core.base.jobs import QUEUE_PAYOUTS, get_queue, redis_connection
from core.base.models import AuditLog
from core.base.timeutil import month_bounds, now_utc
from core.community.models import Notification
from core.content.models import TrainingModule
from core.money.cents import commission_cents
from core.money.commissions import approve_commissions, cancel_deal, confirm_deal, set_team
from core.money.earnings import earnings_summary
from core.money.models import Commission, Deal, Payout, PayoutTransfer
from core.money.payouts import (
    approve_payout,
    available_cents,
    create_payout,
    fail_payout,
    mark_paid,
)
from core.money.statements import issue_statement, statement_figures, statement_lines
from core.program.leads import create_lead, move_lead
from core.program.models import Partner, TierOverride
from core.program.tiers import computed_tier, standing, tier_by_key

# --- helpers ----------------------------------------------------------------------------

def close_deal(partner: Partner, value_cents: int = 100000, company: str = "Client Co"):
    """The partner logs a lead and marks it won; staff confirm it. Returns (deal, made)."""
    staff = make_staff_once()
    lead = create_lead(partner, {"company_name": company}, partner.user_id)
    move_lead(lead, "won", partner.user_id, value_cents)
    deal, made = confirm_deal(lead.id, staff.id)
    db.session.commit()
    return deal, made


def by_type(made) -> dict:
    """{commission type: (partner id, amount, rate)} of the commissions a deal made."""
    return {c.type: (c.partner_id, c.amount_cents, c.rate_bps) for c in made}


def approve_all(partner: Partner) -> None:
    """Staff approve every pending commission of the partner now."""
    ids = list(db.session.scalars(select(Commission.id).where(
        Commission.partner_id == partner.id, Commission.status == "pending")))
    approve_commissions(ids, make_staff_once().id)
    db.session.commit()


def paid_out(partner: Partner, finance: User, reference: str = "WIRE-1") -> Payout:
    """Request, approve and record a manual payout of the partner's approved balance."""
    payout = create_payout(partner.id, finance.id)
    db.session.commit()
    approve_payout(payout.id, finance)
    db.session.commit()
    mark_paid(payout, reference, finance.id)
    db.session.commit()
    return payout


def audit_actions(object_type: str, object_id: int) -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).where(
        AuditLog.object_type == object_type, AuditLog.object_id == object_id)
        .order_by(AuditLog.id)))


def notification_kinds(partner: Partner) -> list[str]:
    return list(db.session.scalars(select(Notification.kind).where(
        Notification.user_id == partner.user_id).order_by(Notification.id)))


def ledger_amounts() -> dict:
    """Every commission's and payout's amount, to show amounts are never rewritten."""
    return {
        "commissions": dict(db.session.execute(select(Commission.id, Commission.amount_cents))
                            .all()),
        "payouts": dict(db.session.execute(select(Payout.id, Payout.amount_cents)).all()),
    }


# --- rounding ---------------------------------------------------------------------------

@pytest.mark.parametrize("value, bps, expected", [
    (1, 5000, 1),            # 0.5 cent → 1 (half up)
    (3, 5000, 2),            # 1.5 → 2
    (12345, 2200, 2716),     # 2715.9 → 2716
    (5, 1000, 1),            # exactly 0.5 → 1
    (10001, 5000, 5001),     # exactly 5000.5 → 5001
    (4999, 1, 0),            # 0.4999 → 0
    (14999, 1, 1),           # 1.4999 → 1
    (150000, 2000, 30000),   # $1,500 at 20% = $300.00 exactly
    (100_000_000, 3000, 30_000_000),
    (10**17 + 5, 5000, 5 * 10**16 + 3),  # beyond float precision: integers only
    (0, 2500, 0),
])
def test_commission_cents_rounds_half_up_in_integers(value, bps, expected):
    """A partner's commission is the deal value times the rate, rounded to the nearest
    cent with halves going up, and a clawback of it is exactly its mirror image."""
    got = commission_cents(value, bps)
    assert got == expected and type(got) is int
    assert commission_cents(-value, bps) == -expected


# --- tiers ------------------------------------------------------------------------------

def test_tier_thresholds_follow_the_table(ctx):
    """Staff see starter for 0–2 deals, active for 3–9, performer for 10–24, elite for 25+."""
    expected = {0: "starter", 2: "starter", 3: "active", 9: "active", 10: "performer",
                24: "performer", 25: "elite", 400: "elite"}
    for deals, key in expected.items():
        assert computed_tier(deals, True).key == key, deals
    assert computed_tier(30, False).key == "starter"


def test_partner_without_required_training_stays_starter(ctx):
    """A partner with 5 confirmed deals who has not passed the required training is still
    a starter and is paid the starter rate; when staff make no module required, the same
    record makes a partner active."""
    untrained = make_partner("Una Trained", deals=5, training=False)
    assert untrained.won_deals_count == 5
    assert untrained.tier.key == "starter"
    assert standing(untrained).base_rate_bps == 2000
    _, made = close_deal(untrained)
    assert by_type(made)["base"][1:] == (20000, 2000)

    for module in db.session.scalars(select(TrainingModule)):
        module.required = False
    db.session.commit()
    free = make_partner("Free Runner", deals=3, training=False)
    assert free.tier.key == "active"
    assert standing(free).base_rate_bps == 2200


def test_deal_crossing_a_threshold_is_paid_at_the_old_rate(ctx):
    """The 3rd deal is paid at 20% and promotes the partner, who gets a notice and an
    audit row; the 4th deal is paid at 22%."""
    p = make_partner("Cross Over", deals=2)
    assert p.tier.key == "starter"
    _, made = close_deal(p, 100000)
    assert by_type(made)["base"] == (p.id, 20000, 2000)
    assert p.tier.key == "active" and p.won_deals_count == 3
    assert "tier_up" in notification_kinds(p)
    promo = db.session.scalar(select(AuditLog).where(AuditLog.action == "tier.promote",
                                                     AuditLog.object_id == p.id))
    assert promo is not None and '"active"' in promo.after and '"starter"' in promo.before

    _, made = close_deal(p, 100000)
    assert by_type(made)["base"] == (p.id, 22000, 2200)


def test_team_override_needs_a_leader_tier_with_an_override_rate(ctx):
    """A performer team leader earns 10% of a member's deal; a leader at active earns
    nothing on it."""
    performer = make_partner("Pia Performer", deals=10)
    assert performer.tier.key == "performer"
    member = make_partner("Max Member", leader=performer)
    _, made = close_deal(member, 250000)
    got = by_type(made)
    assert got["base"] == (member.id, 50000, 2000)
    assert got["team_override"] == (performer.id, 25000, 1000)

    active = make_partner("Al Active", deals=3)
    assert active.tier.key == "active"
    member2 = make_partner("Mo Member", leader=active)
    _, made = close_deal(member2, 250000)
    assert set(by_type(made)) == {"base"}


def test_referral_bonus_once_on_first_deal(ctx):
    """An active recruiter earns 5% on the recruit's first confirmed deal only; a starter
    recruiter earns nothing."""
    recruiter = make_partner("Rita Recruiter", deals=3)
    recruit = make_partner("Rex Recruit", recruiter=recruiter)
    _, first = close_deal(recruit, 200000)
    assert by_type(first)["referral"] == (recruiter.id, 10000, 500)
    _, second = close_deal(recruit, 200000)
    assert "referral" not in by_type(second)
    assert db.session.scalar(select(func.count()).select_from(Commission).where(
        Commission.partner_id == recruiter.id, Commission.type == "referral")) == 1

    starter = make_partner("Sam Starter")
    recruit2 = make_partner("Rae Recruit", recruiter=starter)
    _, made = close_deal(recruit2, 200000)
    assert set(by_type(made)) == {"base"}
    for _ in range(3):  # the recruiter becomes active after the recruit's first deal ...
        close_deal(starter)
    assert starter.tier.key == "active"
    _, made = close_deal(recruit2, 200000)  # ... which does not make the second one first
    assert set(by_type(made)) == {"base"}
    assert db.session.scalar(select(func.count()).select_from(Commission).where(
        Commission.partner_id == starter.id, Commission.type == "referral")) == 0


def test_staff_override_sets_tier_and_custom_rate_until_it_expires(ctx):
    """A staff override with a custom base rate is what the partner is paid; an override
    to performer gives their team leader role its override; an expired override counts
    for nothing."""
    staff = make_staff_once()
    vip = make_partner("Vic Vip")
    db.session.add(TierOverride(partner_id=vip.id, base_rate_bps=2750,
                                reason="Custom deal structure", created_by_id=staff.id))
    db.session.commit()
    assert standing(vip).base_rate_bps == 2750
    _, made = close_deal(vip, 100000)
    assert by_type(made)["base"] == (vip.id, 27500, 2750)

    leader = make_partner("Lee Leader")
    db.session.add(TierOverride(partner_id=leader.id, tier_id=tier_by_key("performer").id,
                                reason="Pilot team lead", created_by_id=staff.id,
                                expires_at=now_utc() + timedelta(days=30)))
    db.session.commit()
    member = make_partner("Meg Member", leader=leader)
    _, made = close_deal(member, 100000)
    assert by_type(made)["team_override"] == (leader.id, 10000, 1000)

    lapsed = make_partner("Lou Lapsed")
    db.session.add(TierOverride(partner_id=lapsed.id, tier_id=tier_by_key("elite").id,
                                base_rate_bps=3500, reason="Expired promo",
                                created_by_id=staff.id,
                                expires_at=now_utc() - timedelta(minutes=1)))
    db.session.commit()
    st = standing(lapsed)
    assert (st.tier.key, st.base_rate_bps) == ("starter", 2000)
    _, made = close_deal(lapsed, 100000)
    assert by_type(made)["base"] == (lapsed.id, 20000, 2000)


def test_commissions_that_round_to_nothing_are_not_recorded(ctx):
    """A deal still confirms when a rate rounds to zero cents (a 0% custom rate, or a deal
    of a few cents): no zero commission is written, the deal counts, the rest are paid."""
    staff = make_staff_once()
    leader = make_partner("Tess Teamlead", deals=10)
    member = make_partner("Nick Nocents", leader=leader)
    deal, made = close_deal(member, 4)  # base 0.8 → 1 cent; override 0.4 → nothing
    assert by_type(made) == {"base": (member.id, 1, 2000)}
    assert member.won_deals_count == 1

    paused = make_partner("Zed Zero")
    db.session.add(TierOverride(partner_id=paused.id, base_rate_bps=0,
                                reason="Commission paused during review",
                                created_by_id=staff.id))
    db.session.commit()
    deal, made = close_deal(paused, 100000)
    assert made == [] and deal.status == "won" and paused.won_deals_count == 1
    assert db.session.scalar(select(func.count()).select_from(Commission).where(
        Commission.deal_id == deal.id)) == 0


# --- cancellations ----------------------------------------------------------------------

def test_cancelling_a_deal_reverses_its_unpaid_commissions(ctx):
    """When staff cancel a deal, its base, team override and referral commissions that
    were not paid yet become reversed (nothing deleted, amounts kept, audited)."""
    leader = make_partner("Lena Leader", deals=10)
    recruiter = make_partner("Ron Recruiter", deals=3)
    member = make_partner("Mia Member", leader=leader, recruiter=recruiter)
    deal, made = close_deal(member, 100000)
    assert set(by_type(made)) == {"base", "team_override", "referral"}
    before = ledger_amounts()

    assert cancel_deal(deal.id, make_staff_once().id, "Client backed out") == []
    db.session.commit()
    rows = list(db.session.scalars(select(Commission).where(Commission.deal_id == deal.id)))
    assert len(rows) == 3
    assert all(c.status == "reversed" and c.reversed_at is not None for c in rows)
    assert ledger_amounts() == before
    assert db.session.get(Deal, deal.id).status == "cancelled"
    for c in rows:
        assert "commission.reverse" in audit_actions("commission", c.id)
    assert member.won_deals_count == 0
    assert available_cents(member.id) == 0


def test_cancelling_a_paid_deal_claws_back_and_nets_against_next_payout(ctx):
    """A paid commission stays paid; cancelling its deal adds an approved negative
    adjustment, the partner's balance goes negative, and the next payout is reduced by it."""
    finance = make_staff("finance@example.com", ("finance",))
    p = make_partner("Paula Paid")
    deal, made = close_deal(p, 100000)
    base = made[0]
    approve_all(p)
    first = paid_out(p, finance)
    assert first.amount_cents == 20000 and base.status == "paid"

    adjustments = cancel_deal(deal.id, make_staff_once().id, "Refunded in full", refunded=True)
    db.session.commit()
    assert len(adjustments) == 1
    adj = adjustments[0]
    assert (adj.type, adj.amount_cents, adj.status, adj.adjusts_id) == (
        "adjustment", -20000, "approved", base.id)
    db.session.refresh(base)
    assert (base.status, base.amount_cents) == ("paid", 20000)
    assert "commission.adjust" in audit_actions("commission", adj.id)
    assert available_cents(p.id) == -20000
    assert earnings_summary(p.id)["balance_cents"] == -20000
    with pytest.raises(ValidationError):
        create_payout(p.id, finance.id)

    close_deal(p, 200000)  # 40000 earned
    approve_all(p)
    assert available_cents(p.id) == 20000
    second = paid_out(p, finance, "WIRE-2")
    assert second.amount_cents == 20000
    db.session.refresh(adj)
    assert adj.status == "paid" and adj.payout_id == second.id
    assert available_cents(p.id) == 0
    assert earnings_summary(p.id)["balance_cents"] == 0


@pytest.mark.parametrize("outcome", ["paid", "failed"])
def test_cancelling_a_deal_whose_payout_is_being_sent(ctx, run_worker, outcome):
    """A deal cancelled while its commission's payout is already processing (money on its
    way) is clawed back like a paid one: if the payout then lands, the partner owes the
    amount and the next payout recovers it; if it fails, nothing is owed. The payout
    balance always agrees with the statement balance."""
    finance = make_staff("finance@example.com", ("finance",))
    p = make_partner("Ivy Inflight")
    deal, made = close_deal(p, 100000)
    approve_all(p)
    payout = create_payout(p.id, finance.id)
    db.session.commit()
    approve_payout(payout.id, finance)
    db.session.commit()
    run_worker()  # manual gateway: now processing
    db.session.expire_all()
    assert payout.status == "processing"

    adjustments = cancel_deal(deal.id, make_staff_once().id, "Refunded")
    db.session.commit()
    assert [a.amount_cents for a in adjustments] == [-20000]
    base = db.session.get(Commission, made[0].id)
    assert base.status == "approved" and base.payout_id == payout.id
    if outcome == "paid":
        mark_paid(payout, "WIRE-9", finance.id)
        expected = -20000
    else:
        fail_payout(payout, "Bank refused.", finance.id)
        expected = 0
    db.session.commit()
    assert available_cents(p.id) == expected
    assert earnings_summary(p.id)["balance_cents"] == expected


def test_cancelled_deal_can_demote(ctx):
    """An active partner whose 3rd deal is cancelled drops back to starter, is told so
    and the change is audited as tier.demote."""
    p = make_partner("Dee Mote", deals=3)
    assert p.tier.key == "active"
    deal_id = db.session.scalar(select(Deal.id).where(Deal.partner_id == p.id)
                                .order_by(Deal.id.desc()).limit(1))
    cancel_deal(deal_id, make_staff_once().id, "Chargeback")
    db.session.commit()
    assert p.won_deals_count == 2 and p.tier.key == "starter"
    assert "tier_down" in notification_kinds(p)
    assert "tier.demote" in audit_actions("partner", p.id)
    _, made = close_deal(p, 100000)
    assert by_type(made)["base"][2] == 2000
    with pytest.raises(Conflict):
        cancel_deal(deal_id, make_staff_once().id, "Twice")


def test_set_team_refuses_self_and_loops(ctx):
    """Staff cannot make a partner their own leader or recruiter, nor close a loop
    A → B → C → A; the team stays as it was."""
    a, b, c = (make_partner(n) for n in ("Ann A", "Ben B", "Cat C"))
    staff_id = make_staff_once().id
    with pytest.raises(ValidationError):
        set_team(a.id, staff_id, team_leader_id=a.id)
    db.session.rollback()
    with pytest.raises(ValidationError):
        set_team(a.id, staff_id, recruiter_id=a.id)
    db.session.rollback()
    set_team(b.id, staff_id, team_leader_id=a.id)
    set_team(c.id, staff_id, team_leader_id=b.id)
    db.session.commit()
    with pytest.raises(ValidationError):
        set_team(a.id, staff_id, team_leader_id=c.id)
    db.session.rollback()
    assert db.session.get(Partner, a.id).team_leader_id is None
    set_team(b.id, staff_id, recruiter_id=a.id, team_leader_id=a.id)
    set_team(c.id, staff_id, recruiter_id=b.id, team_leader_id=b.id)
    db.session.commit()
    with pytest.raises(ValidationError):
        set_team(a.id, staff_id, recruiter_id=c.id)


# --- payouts ----------------------------------------------------------------------------

def test_payout_minimum_double_approval_and_roles(ctx):
    """A balance under $50 cannot be paid out; support cannot approve a payout; finance
    can approve it once, and a second approval is refused."""
    finance = make_staff("finance@example.com", ("finance",))
    support = make_staff("support@example.com", ("support",))
    p = make_partner("Pat Payee")
    close_deal(p, 24999)  # $249.99 at 20% = 4999.8 cents → $50.00, the minimum
    approve_all(p)
    assert available_cents(p.id) == 5000
    small = make_partner("Tim Tiny")
    close_deal(small, 24000)  # $48.00
    approve_all(small)
    with pytest.raises(ValidationError) as exc:
        create_payout(small.id, finance.id)
    assert exc.value.code == "below_minimum"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Payout)) == 0

    payout = create_payout(p.id, finance.id)
    db.session.commit()
    assert (payout.status, payout.amount_cents) == ("requested", 5000)
    with pytest.raises(Forbidden):
        approve_payout(payout.id, support)
    db.session.commit()
    assert db.session.get(Payout, payout.id).status == "requested"
    assert "payout.approve.refused" in audit_actions("payout", payout.id)

    approve_payout(payout.id, finance)
    db.session.commit()
    with pytest.raises(Conflict):
        approve_payout(payout.id, finance)
    db.session.rollback()
    assert db.session.get(Payout, payout.id).status == "approved"
    assert audit_actions("payout", payout.id).count("payout.approve") == 1
    assert get_queue(QUEUE_PAYOUTS).job_ids == [f"payout-{payout.id}"]


def test_failed_payout_returns_commissions_to_the_balance(ctx):
    """When a payout fails, its commissions are available again, the partner is told, and
    a new payout can be requested for the same amount."""
    finance = make_staff("finance@example.com", ("finance",))
    p = make_partner("Fay Failed")
    close_deal(p, 100000)
    close_deal(p, 50000)
    approve_all(p)
    payout = create_payout(p.id, finance.id)
    db.session.commit()
    assert available_cents(p.id) == 0
    approve_payout(payout.id, finance)
    db.session.commit()
    before = ledger_amounts()

    fail_payout(payout, "Bank account closed.", finance.id)
    db.session.commit()
    assert payout.status == "failed" and payout.failure_message == "Bank account closed."
    assert available_cents(p.id) == 30000
    assert all(c.payout_id is None and c.status == "approved" for c in
               db.session.scalars(select(Commission).where(Commission.partner_id == p.id)))
    assert ledger_amounts() == before
    assert notification_kinds(p)[-1] == "payout"
    with pytest.raises(Conflict):
        fail_payout(payout, "again", finance.id)
    db.session.rollback()
    again = create_payout(p.id, finance.id)
    db.session.commit()
    assert again.amount_cents == 30000


def test_payout_job_run_twice_on_manual_gateway(ctx, run_worker):
    """With no Stripe key, the real worker moves an approved payout to processing and
    waits for finance; running the job again changes nothing and makes no transfer."""
    from rq.job import Job
    from rq.serializers import JSONSerializer

    finance = make_staff("finance@example.com", ("finance",))
    p = make_partner("Manny Manual")
    close_deal(p, 100000)
    approve_all(p)
    payout = create_payout(p.id, finance.id)
    db.session.commit()
    assert payout.gateway == "manual"
    approve_payout(payout.id, finance)
    db.session.commit()
    pid = payout.id
    before = ledger_amounts()

    run_worker()
    db.session.expire_all()
    assert db.session.get(Payout, pid).status == "processing"
    job = Job.fetch(f"payout-{pid}", connection=redis_connection(), serializer=JSONSerializer)
    assert job.get_status() == "finished" and job.return_value() == "processing"

    get_queue(QUEUE_PAYOUTS).enqueue("core.money.payouts.send_payout", pid, job_id=f"payout-{pid}")
    run_worker()
    db.session.expire_all()
    job = Job.fetch(f"payout-{pid}", connection=redis_connection(), serializer=JSONSerializer)
    assert job.get_status() == "finished" and job.return_value() == "processing"
    assert db.session.get(Payout, pid).status == "processing"
    assert db.session.scalar(select(func.count()).select_from(PayoutTransfer)) == 0
    assert audit_actions("payout", pid).count("payout.processing") == 1
    assert ledger_amounts() == before
    assert all(c.status == "approved" for c in
               db.session.scalars(select(Commission).where(Commission.payout_id == pid)))


# --- statements -------------------------------------------------------------------------

def test_statement_reconciles_to_the_cent(ctx):
    """A month with an opening balance, earned, reversed, clawed-back and paid lines adds
    up exactly: opening + earned − reversed − paid = closing, every line is listed, and the
    partner's earnings page shows the same figures."""
    finance = make_staff("finance@example.com", ("finance",))
    p = make_partner("Stella Statement", training=False)  # stays starter: 20% throughout
    staff_id = make_staff_once().id
    now = now_utc()
    start, _ = month_bounds(now.year, now.month)
    last_month = start - timedelta(days=10)

    old_deal, old = close_deal(p, 100000, "Old Client")       # 20000, last month
    old[0].created_at = last_month
    db.session.get(Deal, old_deal.id).confirmed_at = last_month
    db.session.commit()
    paid_deal, _ = close_deal(p, 100000, "Paid Client")       # 20000 earned
    approve_all(p)
    payout = paid_out(p, finance)                             # 40000 paid
    assert payout.amount_cents == 40000
    cancel_deal(paid_deal.id, staff_id, "Refund")             # adjustment −20000
    gone, _ = close_deal(p, 50000, "Gone Client")             # 10000 earned ...
    cancel_deal(gone.id, staff_id, "Lost")                    # ... and reversed
    close_deal(p, 200000, "New Client")                       # 40000 earned, pending
    db.session.commit()

    fig = statement_figures(p.id, now.year, now.month)
    assert fig == {"opening_cents": 20000, "earned_cents": 70000, "reversed_cents": 30000,
                   "paid_cents": 40000, "closing_cents": 20000}
    assert (fig["opening_cents"] + fig["earned_cents"] - fig["reversed_cents"]
            - fig["paid_cents"]) == fig["closing_cents"]
    lines = statement_lines(p.id, now.year, now.month)
    assert sum(line["amount_cents"] for line in lines) == (fig["closing_cents"]
                                                           - fig["opening_cents"])
    assert sorted((line["kind"], line["type"], line["amount_cents"]) for line in lines) == [
        ("earned", "base", 10000), ("earned", "base", 20000), ("earned", "base", 40000),
        ("paid", "payout", -40000),
        ("reversed", "adjustment", -20000), ("reversed", "base", -10000)]
    summary = earnings_summary(p.id)
    assert summary["this_month"] == fig
    assert summary["balance_cents"] == fig["closing_cents"]
    assert summary["pending_cents"] + available_cents(p.id) == fig["closing_cents"]

    prev = statement_figures(p.id, last_month.year, last_month.month)
    assert prev["closing_cents"] == fig["opening_cents"]
    st = issue_statement(p.id, now.year, now.month, finance.id)
    db.session.commit()
    assert (st.opening_cents, st.earned_cents, st.reversed_cents, st.paid_cents,
            st.closing_cents) == (20000, 70000, 30000, 40000, 20000)


# --- concurrency ------------------------------------------------------------------------

def test_two_finance_sessions_approve_the_same_payout_at_once(app, ctx):
    """Two finance people click "approve" on the same payout at the same moment: one
    approval wins, the other is told the payout is no longer requested, and exactly one
    transfer job is queued."""
    finance = make_staff("finance@example.com", ("finance",))
    p = make_partner("Connie Current")
    close_deal(p, 100000)
    approve_all(p)
    pid = create_payout(p.id, finance.id).id
    db.session.commit()
    fid = finance.id
    db.session.remove()

    barrier = threading.Barrier(2, timeout=20)
    results = []

    def click():
        with app.app_context():
            try:
                actor = db.session.get(User, fid)
                barrier.wait()
                approve_payout(pid, actor)
                db.session.commit()
                results.append("approved")
            except Conflict:
                db.session.rollback()
                results.append("conflict")
            except Exception as exc:  # reported by the assertion below
                db.session.rollback()
                results.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["approved", "conflict"], results

    assert db.session.get(Payout, pid).status == "approved"
    assert audit_actions("payout", pid).count("payout.approve") == 1
    queue = get_queue(QUEUE_PAYOUTS)
    assert queue.job_ids == [f"payout-{pid}"]
    keys = redis_connection().keys("rq:job:payout-*")
    assert [k.decode() for k in keys] == [f"rq:job:payout-{pid}"]
