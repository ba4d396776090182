"""The commission rules as a pure function (core/money/rules.py), held against the rules as
docs/rules.md writes them ("Commissions", "Team override", "Referral bonus"), with
generated deals and earners: no database."""

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from core.money.rules import Line, Standing, plan_commissions

CENTS = st.integers(min_value=1, max_value=100_000_000)  # up to $1,000,000 a deal
BPS = st.integers(min_value=0, max_value=10_000)


def by_hand(value_cents: int, rate_bps: int) -> int:
    """round_half_up(value × rate / 10,000), in decimal arithmetic, independently."""
    return int((Decimal(value_cents) * rate_bps / 10_000).quantize(Decimal(1),
                                                                    rounding=ROUND_HALF_UP))


def standings(partner_id: int):
    return st.builds(Standing, st.just(partner_id), BPS, BPS, BPS)


@given(value=CENTS, closer=standings(1), leader=st.none() | standings(2),
       recruiter=st.none() | standings(3), referral_due=st.booleans())
def test_each_earner_gets_their_rate_of_the_value_rounded_half_up(value, closer, leader,
                                                                 recruiter, referral_due):
    """The closer earns their base rate; the team leader, when there is one, their tier's
    override rate; the recruiter their tier's referral rate, only when the bonus is due;
    each amount is the rate of the whole deal value, rounded half up to the cent, and an
    amount that rounds to nothing makes no line."""
    lines = plan_commissions(value, closer, leader, recruiter, referral_due=referral_due)
    expected = [Line(1, "base", closer.base_rate_bps, by_hand(value, closer.base_rate_bps))]
    if leader is not None:
        expected.append(Line(2, "team_override", leader.team_override_bps,
                             by_hand(value, leader.team_override_bps)))
    if recruiter is not None and referral_due:
        expected.append(Line(3, "referral", recruiter.referral_rate_bps,
                             by_hand(value, recruiter.referral_rate_bps)))
    assert lines == [line for line in expected if line.amount_cents]


@given(value=CENTS, closer=standings(1), leader=standings(2), recruiter=standings(3))
def test_no_commission_is_zero_and_none_exceeds_its_rate(value, closer, leader, recruiter):
    """Every line is positive, at most its rate of the value plus half a cent, and the
    lines of one deal together never exceed the sum of the rates applied."""
    lines = plan_commissions(value, closer, leader, recruiter, referral_due=True)
    for line in lines:
        assert line.amount_cents > 0
        assert abs(Decimal(line.amount_cents) - Decimal(value) * line.rate_bps / 10_000) \
            <= Decimal("0.5")
    rates = sum(line.rate_bps for line in lines)
    assert sum(line.amount_cents for line in lines) <= value * rates / 10_000 + len(lines) / 2


@given(value=CENTS, closer=standings(1), recruiter=standings(3))
def test_the_referral_bonus_is_paid_only_when_due(value, closer, recruiter):
    """No recruiter, or a bonus not due (not the recruit's first deal, or paid already):
    no referral line; due, a recruiter with a rate that earns something gets one."""
    assert not [line for line in plan_commissions(value, closer, None, recruiter,
                                                  referral_due=False)
                if line.type == "referral"]
    assert not [line for line in plan_commissions(value, closer, None, None,
                                                  referral_due=True)
                if line.type == "referral"]
    due = [line for line in plan_commissions(value, closer, None, recruiter,
                                             referral_due=True) if line.type == "referral"]
    assert len(due) == (1 if by_hand(value, recruiter.referral_rate_bps) else 0)


def test_the_rules_worked_examples():
    """The tier table's seed rates on a $1,500 deal: a Starter closer earns $300 (20%); a
    Performer leader $150 (10%); an Active recruiter $75 (5%) on the first deal. Half a
    cent rounds up: 22% of $0.25 is 5.5 cents, paid as 6."""
    lines = plan_commissions(150_000, Standing(1, 2000), Standing(2, 2500, 1000, 500),
                             Standing(3, 2200, 0, 500), referral_due=True)
    assert [(line.type, line.amount_cents) for line in lines] == [
        ("base", 30_000), ("team_override", 15_000), ("referral", 7_500)]
    assert plan_commissions(25, Standing(1, 2200)) == [Line(1, "base", 2200, 6)]
    assert plan_commissions(1, Standing(1, 0), Standing(2, 0, 0, 0)) == []
