"""The commission rules of one confirmed deal, as a pure function: who earns what, with no
database (rules: "Commissions", "Team override", "Referral bonus").

``core.money.commissions.confirm_deals`` loads each deal's people and their standing,
asks :func:`plan_commissions` for the lines, and writes them; the property tests hold
this function against the rules as written.
"""

from dataclasses import dataclass

from core.money.cents import commission_cents


@dataclass(frozen=True)
class Standing:
    """What the rules need of one earner at the time of the deal, from their effective
    tier (override included): ``partner_id``; ``base_rate_bps`` (the rate they earn on
    their own deals); ``team_override_bps`` and ``referral_rate_bps`` (their tier's
    rates on their team's deals and on a recruit's first deal; 0 when the tier has
    none)."""

    partner_id: int
    base_rate_bps: int
    team_override_bps: int = 0
    referral_rate_bps: int = 0


@dataclass(frozen=True)
class Line:
    """One commission a deal makes: ``earner_id`` (partner), ``type`` (``base``,
    ``team_override`` or ``referral``), ``rate_bps`` and ``amount_cents`` (positive)."""

    earner_id: int
    type: str
    rate_bps: int
    amount_cents: int


def plan_commissions(value_cents: int, closer: Standing, leader: Standing | None = None,
                     recruiter: Standing | None = None, *,
                     referral_due: bool = False) -> list[Line]:
    """The commissions of one confirmed deal worth ``value_cents`` (cents, > 0), in the
    order they are written.

    - ``base``: the closing partner earns their effective base rate of the value;
    - ``team_override``: their team leader (``leader``: active, or ``None``) earns the
      leader's tier's team override rate of the value;
    - ``referral``: the partner who recruited the closer (``recruiter``: active, or
      ``None``) earns their tier's referral rate of the value, when ``referral_due`` (this
      is the closer's first confirmed won deal and no referral bonus was paid for them).

    Each amount is ``round_half_up(value_cents * rate_bps / 10000)``
    (``core.money.cents.commission_cents``); an amount that rounds to nothing makes no
    line. Rates are the earners' standing *before* this deal counts (a deal that crosses
    a tier threshold is paid at the old tier). Returns a list of :class:`Line`.
    """
    lines = [Line(closer.partner_id, "base", closer.base_rate_bps,
                  commission_cents(value_cents, closer.base_rate_bps))]
    if leader is not None:
        lines.append(Line(leader.partner_id, "team_override", leader.team_override_bps,
                          commission_cents(value_cents, leader.team_override_bps)))
    if recruiter is not None and referral_due:
        lines.append(Line(recruiter.partner_id, "referral", recruiter.referral_rate_bps,
                          commission_cents(value_cents, recruiter.referral_rate_bps)))
    return [line for line in lines if line.amount_cents]


@dataclass(frozen=True)
class RecurringTerms:
    """A monthly deal's terms, locked when it was confirmed: ``closer_id`` and their
    ``base_rate_bps``; the team ``leader_id`` and ``override_rate_bps`` (``None``/0 when
    the closer had no active leader); the ``recruiter_id`` and ``referral_rate_bps``
    with ``referral_due`` (the deal was the closer's first); ``months_allowed`` (paid
    invoices that pay commission; 0 for the life of the deal)."""

    closer_id: int
    base_rate_bps: int
    months_allowed: int
    leader_id: int | None = None
    override_rate_bps: int = 0
    recruiter_id: int | None = None
    referral_rate_bps: int = 0
    referral_due: bool = False


def within_months(terms: RecurringTerms, month_number: int) -> bool:
    """Whether the paid invoice in place ``month_number`` (1 = the first) pays commission."""
    return terms.months_allowed == 0 or 1 <= month_number <= terms.months_allowed


def plan_invoice(amount_cents: int, terms: RecurringTerms, month_number: int, *,
                 referral_paid: bool) -> list[Line]:
    """The commissions of one paid invoice of a monthly deal (rules: "Recurring deals"),
    in the order they are written: none past ``terms.months_allowed``; else the closer's
    ``base`` and the leader's ``team_override`` at the locked rates on ``amount_cents``,
    and the recruiter's ``referral`` when it is due and no referral for this closer
    stands yet (``referral_paid`` False), so it is paid once, on the first paid invoice.
    Amounts round half up (``commission_cents``); a line that rounds to nothing is left
    out. Returns a list of :class:`Line`."""
    if not within_months(terms, month_number):
        return []
    lines = [Line(terms.closer_id, "base", terms.base_rate_bps,
                  commission_cents(amount_cents, terms.base_rate_bps))]
    if terms.leader_id is not None:
        lines.append(Line(terms.leader_id, "team_override", terms.override_rate_bps,
                          commission_cents(amount_cents, terms.override_rate_bps)))
    if terms.recruiter_id is not None and terms.referral_due and not referral_paid:
        lines.append(Line(terms.recruiter_id, "referral", terms.referral_rate_bps,
                          commission_cents(amount_cents, terms.referral_rate_bps)))
    return [line for line in lines if line.amount_cents]
