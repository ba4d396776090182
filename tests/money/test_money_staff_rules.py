"""Core rules behind the back office's money actions: hold and reverse commissions with a
reason, retry a failed payout, manual payment refused for Stripe payouts, CSV ranges."""

import json

import pytest
from conftest import make_partner, make_staff, make_staff_once
from sqlalchemy import func, select

from core.base.errors import Conflict, Forbidden, NotFound, ValidationError
from core.base.extensions import db
from core.base.jobs import QUEUE_PAYOUTS, get_queue
from core.base.models import AuditLog
from core.money.commissions import (
    cancel_deal,
    hold_commissions,
    reverse_commission,
    reverse_commissions,
)
from core.money.models import Commission, Deal, Payout
from core.money.payouts import (
    approve_payout,
    available_cents,
    create_payout,
    fail_payout,
    mark_paid,
    retried_as,
    retry_payout,
)


def _approve_all(partner_id):
    db.session.execute(db.update(Commission).where(Commission.partner_id == partner_id)
                       .values(status="approved"))
    db.session.commit()


def _audit(action, object_id):
    return db.session.scalars(select(AuditLog).where(
        AuditLog.action == action, AuditLog.object_id == object_id)).all()


def _paid_commission():
    """A partner with one $1,000 deal whose $200 base commission is paid manually."""
    finance = make_staff("fin@example.com", ("finance",))
    p = make_partner("Paid Partner", deals=1)
    _approve_all(p.id)
    payout = create_payout(p.id, finance.id)
    approve_payout(payout.id, finance)
    mark_paid(payout, "WIRE-1", finance.id)
    db.session.commit()
    return p, finance, db.session.scalar(select(Commission).where(Commission.partner_id == p.id))


def test_reversing_an_unpaid_commission_marks_it_reversed_with_the_reason(ctx):
    """A pending commission reversed with a reason becomes reversed (amount kept, nothing
    deleted), the reason is in the audit row, and reversing it again is refused."""
    p = make_partner("Pat Pending", deals=1)
    staff = make_staff_once()
    c = db.session.scalar(select(Commission).where(Commission.partner_id == p.id))
    row = reverse_commission(c.id, staff.id, "  Duplicate lead  ")
    db.session.commit()
    assert row.id == c.id and row.status == "reversed" and row.reversed_at is not None
    assert row.amount_cents == 20000
    (entry,) = _audit("commission.reverse", c.id)
    assert json.loads(entry.after) == {"status": "reversed", "reason": "Duplicate lead"}
    with pytest.raises(Conflict, match="already reversed"):
        reverse_commission(c.id, staff.id, "again")
    # The deal itself stays confirmed: a single reversal is not a cancellation.
    assert db.session.get(Deal, c.deal_id).status == "won"


def test_reversing_a_paid_commission_adds_a_negative_adjustment_once(ctx):
    """A paid commission keeps its status and gets one -$200 adjustment (approved, so the
    next payout nets it); a second reversal is refused; cancelling the deal later does
    not claw the same money back twice; an adjustment itself cannot be reversed."""
    p, finance, c = _paid_commission()
    adj = reverse_commission(c.id, finance.id, "Client never paid")
    db.session.commit()
    assert (adj.type, adj.amount_cents, adj.status, adj.adjusts_id) == \
        ("adjustment", -20000, "approved", c.id)
    assert "Client never paid" in adj.note
    assert db.session.get(Commission, c.id).status == "paid"
    assert available_cents(p.id) == -20000
    assert _audit("commission.adjust", adj.id)
    with pytest.raises(Conflict, match="already clawed back"):
        reverse_commission(c.id, finance.id, "again")
    with pytest.raises(Conflict, match="an adjustment"):
        reverse_commission(adj.id, finance.id, "undo")
    cancel_deal(c.deal_id, finance.id, "Refunded after all")
    db.session.commit()
    assert db.session.scalar(select(func.sum(Commission.amount_cents)).where(
        Commission.adjusts_id == c.id)) == -20000


def test_reversing_a_commission_in_a_requested_payout_fails_that_payout(ctx):
    """A commission inside a requested payout is reversed: the payout fails (its amount was
    fixed) and the partner's other commissions return to the balance."""
    staff = make_staff_once()
    p = make_partner("Two Deals", deals=2)
    _approve_all(p.id)
    payout = create_payout(p.id, staff.id)
    db.session.commit()
    first, second = db.session.scalars(select(Commission).where(
        Commission.partner_id == p.id).order_by(Commission.id)).all()
    reverse_commission(first.id, staff.id, "Fraud check")
    db.session.commit()
    assert db.session.get(Payout, payout.id).status == "failed"
    assert db.session.get(Commission, second.id).payout_id is None
    assert available_cents(p.id) == second.amount_cents


def test_bulk_reverse_and_hold_are_all_or_nothing(ctx):
    """Reversing a selection that contains one already reversed commission changes none of
    them and names the bad one; an empty or blank reason is refused; holding works on a
    whole selection and refuses commissions inside a payout."""
    staff = make_staff_once()
    p = make_partner("Three Deals", deals=3)
    ids = list(db.session.scalars(select(Commission.id).where(Commission.partner_id == p.id)
                                  .order_by(Commission.id)))
    reverse_commission(ids[0], staff.id, "first")
    db.session.commit()
    with pytest.raises(Conflict, match=f"#{ids[0]} already reversed"):
        reverse_commissions(ids, staff.id, "all of them")
    assert [db.session.get(Commission, i).status for i in ids] == \
        ["reversed", "pending", "pending"]
    for reason in ("", "   ", None, "x" * 501):
        with pytest.raises(ValidationError):
            reverse_commissions(ids[1:], staff.id, reason)
        with pytest.raises(ValidationError):
            hold_commissions(ids[1:], staff.id, reason)
    with pytest.raises(NotFound):
        hold_commissions([ids[1], 999999], staff.id, "x")
    held = hold_commissions(ids[1:], staff.id, "Awaiting contract")
    db.session.commit()
    assert [c.status for c in held] == ["on_hold", "on_hold"]
    assert json.loads(_audit("commission.hold", ids[1])[0].after)["reason"] == \
        "Awaiting contract"
    q = make_partner("In Payout", deals=1)
    _approve_all(q.id)
    create_payout(q.id, staff.id)
    db.session.commit()
    in_payout = db.session.scalar(select(Commission.id).where(Commission.partner_id == q.id))
    with pytest.raises(Conflict, match=str(in_payout)):
        hold_commissions([in_payout], staff.id, "x")


def test_manual_payment_is_refused_for_stripe_payouts(ctx):
    """Recording a manual payment on a Stripe-gateway payout is refused by core (its
    transfer marks it paid): the payout and its commissions are unchanged."""
    finance = make_staff("fin@example.com", ("finance",))
    p = make_partner("Stripe Partner", deals=1)
    _approve_all(p.id)
    payout = create_payout(p.id, finance.id)
    payout.gateway = "stripe"
    db.session.execute(db.update(Payout).where(Payout.id == payout.id)
                       .values(status="processing"))
    db.session.commit()
    db.session.refresh(payout)
    with pytest.raises(Conflict, match="goes through Stripe"):
        mark_paid(payout, "WIRE-7", finance.id)
    db.session.rollback()
    assert db.session.get(Payout, payout.id).status == "processing"
    assert db.session.scalar(select(Commission.status).where(
        Commission.partner_id == p.id)) == "approved"


def test_retrying_a_failed_payout_makes_one_new_approved_payout(ctx):
    """Finance retries a failed payout: a new payout of the balance, approved, its transfer
    queued under its own key; the failed one is marked retried; retrying it again, or a
    payout that did not fail, is refused; support may not retry."""
    finance = make_staff("fin@example.com", ("finance",))
    support = make_staff("sup@example.com", ("support",))
    p = make_partner("Retry Partner", deals=1)
    _approve_all(p.id)
    payout = create_payout(p.id, finance.id)
    approve_payout(payout.id, finance)
    fail_payout(payout, "Bank account closed.", None)
    db.session.commit()
    get_queue(QUEUE_PAYOUTS).empty()
    with pytest.raises(Forbidden):
        retry_payout(payout.id, support)
    new = retry_payout(payout.id, finance)
    db.session.commit()
    assert new.id != payout.id and new.status == "approved" and new.amount_cents == 20000
    assert retried_as(payout.id) == new.id
    assert get_queue(QUEUE_PAYOUTS).job_ids == [f"payout-{new.id}"]
    assert db.session.scalar(select(func.count()).select_from(Commission).where(
        Commission.payout_id == new.id)) == 1
    with pytest.raises(Conflict, match=f"already retried as payout #{new.id}"):
        retry_payout(payout.id, finance)
    with pytest.raises(Conflict, match="only failed payouts"):
        retry_payout(new.id, finance)
    with pytest.raises(NotFound):
        retry_payout(999999, finance)


def test_retry_is_refused_when_a_payout_is_already_waiting(ctx):
    """If the partner already asked for a new payout after the failure, the retry is
    refused with that reason and creates nothing."""
    finance = make_staff("fin@example.com", ("finance",))
    p = make_partner("Quick Partner", deals=1)
    _approve_all(p.id)
    payout = create_payout(p.id, finance.id)
    fail_payout(payout, "Bank said no.", None)
    create_payout(p.id, p.user_id)
    db.session.commit()
    count = db.session.scalar(select(func.count()).select_from(Payout))
    with pytest.raises(Conflict, match="already requested"):
        retry_payout(payout.id, finance)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Payout)) == count
