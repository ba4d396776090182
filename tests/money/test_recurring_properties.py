"""Property tests of recurring deals against the rules (rules: "Recurring deals"): the
pure invoice rule, and random sequences of paid, repeated and refunded invoices through
the real database checked against a plain-Python model of what must stand."""

from datetime import UTC, date, datetime

from conftest import make_partner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.base.extensions import db
from core.money.cents import commission_cents
from core.money.models import Commission, DealInvoice
from core.money.rules import RecurringTerms, plan_invoice

rates = st.integers(min_value=0, max_value=10_000)
amounts = st.integers(min_value=1, max_value=100_000_000)


@given(amount=amounts, base=rates, override=rates, referral=rates,
       months=st.integers(min_value=0, max_value=24), month=st.integers(min_value=1,
                                                                         max_value=40),
       leader=st.booleans(), recruiter=st.booleans(), due=st.booleans(),
       referral_paid=st.booleans())
def test_invoice_rule(amount, base, override, referral, months, month, leader, recruiter,
                      due, referral_paid):
    """Nothing past the allowed months (0: for life); within them the base and the
    override at the locked rates, the referral only when due and none stands; every
    amount is the rate of the invoice rounded half up, positive, integer cents."""
    terms = RecurringTerms(1, base, months, 2 if leader else None, override,
                           3 if recruiter else None, referral, due)
    lines = plan_invoice(amount, terms, month, referral_paid=referral_paid)
    if months and month > months:
        assert lines == []
        return
    expected = [("base", 1, base)]
    if leader:
        expected.append(("team_override", 2, override))
    if recruiter and due and not referral_paid:
        expected.append(("referral", 3, referral))
    expected = [(t, who, r, commission_cents(amount, r)) for t, who, r in expected
                if commission_cents(amount, r)]
    assert [(x.type, x.earner_id, x.rate_bps, x.amount_cents) for x in lines] == expected
    assert all(isinstance(x.amount_cents, int) and x.amount_cents > 0 for x in lines)


ops = st.lists(st.one_of(
    st.tuples(st.just("pay"), st.integers(min_value=1, max_value=5_000_000)),
    st.tuples(st.just("repeat"), st.integers(min_value=0, max_value=20)),
    st.tuples(st.just("refund"), st.integers(min_value=0, max_value=20)),
), min_size=1, max_size=14)


def test_invoice_sequences_keep_the_rules(app):
    """Any sequence of paid invoices, repeats of one and refunds leaves exactly what the
    rules say standing: each invoice pays once, never more invoices paying than the
    months allowed, at most one referral, every cent accounted for."""
    from core.money import recurring
    from core.money.commissions import confirm_deal
    from core.program.leads import create_lead, move_lead

    with app.app_context():
        recruiter = make_partner("Prop Recruiter", deals=3)  # Active: 5% referral
        leader = make_partner("Prop Leader", deals=10)  # Performer: 10% override
        staff_id = recruiter.user_id
        team = (recruiter.id, leader.id)
        db.session.remove()
    counter = iter(range(10_000))

    @settings(max_examples=20, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(months=st.sampled_from([0, 1, 2, 3]), steps=ops)
    def run(months, steps):
        n = next(counter)
        with app.app_context():
            from core.program.models import Partner, Tier

            db.session.execute(db.update(Tier).values(recurring_months=months))
            rec, lead_p = (db.session.get(Partner, i) for i in team)
            closer = make_partner(f"Prop Closer {n}", recruiter=rec, leader=lead_p)
            lead = create_lead(closer, {"company_name": f"Sub {n}"}, closer.user_id)
            lead.billing = "monthly"
            move_lead(lead, "won", closer.user_id, 10_000)
            deal, made = confirm_deal(lead.id, staff_id)
            assert made == []
            standing: list[tuple[str, int]] = []  # (invoice id, amount) paid, not refunded
            paying: dict[str, list] = {}  # invoice id -> the commissions it made
            referral_standing = False
            recorded: list[tuple[str, int]] = []
            for kind, value in steps:
                if kind == "pay" or not recorded:
                    inv_id, amount = f"p{n}-{len(recorded)}", value if kind == "pay" else 777
                    inv, created = recurring.record_invoice(
                        deal.id, inv_id, amount, date(2026, 1, 1), date(2026, 1, 31),
                        datetime(2026, 1, 31, tzinfo=UTC), staff_id)
                    assert created
                    recorded.append((inv_id, amount))
                    want = []
                    if months == 0 or len(standing) + 1 <= months:  # within the months
                        want = [("base", commission_cents(amount, 2000)),
                                ("team_override", commission_cents(amount, 1000))]
                        if not referral_standing:
                            want.append(("referral", commission_cents(amount, 500)))
                    want = [(t, cents) for t, cents in want if cents]  # nothing rounds to 0
                    referral_standing = referral_standing or any(
                        t == "referral" for t, _ in want)
                    got = sorted((c.type, c.amount_cents)
                                 for c in recurring.invoice_commissions(inv))
                    assert got == sorted(want)
                    paying[inv_id] = want
                    standing.append((inv_id, amount))
                    assert inv.month_number == len(standing)
                elif kind == "repeat":
                    inv_id, amount = recorded[value % len(recorded)]
                    inv, created = recurring.record_invoice(
                        deal.id, inv_id, amount, date(2026, 1, 1), date(2026, 1, 31),
                        datetime(2026, 1, 31, tzinfo=UTC), staff_id)
                    assert not created
                else:
                    inv_id, _ = recorded[value % len(recorded)]
                    if all(i != inv_id for i, _ in standing):
                        continue  # refunded already: a 409, nothing changes
                    recurring.refund_invoice(deal.id, inv_id, staff_id)
                    standing = [(i, a) for i, a in standing if i != inv_id]
                    if any(t == "referral" for t, _ in paying[inv_id]):
                        referral_standing = False
                db.session.flush()
                live = list(db.session.scalars(select(Commission).where(
                    Commission.deal_id == deal.id, Commission.status != "reversed")))
                assert sum(c.amount_cents for c in live) == sum(
                    cents for i, _ in standing for _, cents in paying[i])
                assert sum(1 for c in live if c.type == "referral") <= 1
                if months:
                    assert len({c.invoice_id for c in live}) <= months
                assert db.session.scalar(select(db.func.count()).select_from(DealInvoice)
                                         .where(DealInvoice.deal_id == deal.id)) == len(recorded)
            db.session.rollback()

    run()
