"""API shapes of partner of the month and bonus pools (rules: "Partner of the month",
"Bonus pools"). Money is integer cents, times ISO 8601 UTC."""

from typing import Annotated, Literal

from core.base.schemas import Answer, Field, Id, Page, Request, Shape, Time, Unknown


class SpotlightCard(Shape):
    """The partner of the month shown on every dashboard."""

    period: str = Field(description="The month judged, YYYY-MM")
    label: str = Field(description="The month as words, e.g. November 2026")
    partner_id: int
    name: str
    company: str
    citation: str
    won_deals: int
    revenue_cents: int


class Spotlight(Answer):
    """The current partner of the month, or null when none is shown."""

    spotlight: SpotlightCard | None


class Candidate(Shape):
    """A proposed partner of the month and the figures that ranked them."""

    rank: int
    partner_id: int
    name: str
    score: int
    won_deals: int
    revenue_cents: int
    modules_passed: int

    @classmethod
    def of(cls, c) -> "Candidate":
        """One ``SpotlightCandidate`` row."""
        return cls(rank=c.rank, partner_id=c.partner_id, name=c.partner.user.name,
                   score=c.score, won_deals=c.won_deals, revenue_cents=c.revenue_cents,
                   modules_passed=c.modules_passed)


class SpotlightMonth(Answer):
    """A month's proposal and, once confirmed, its partner of the month."""

    id: int
    period: str
    partner_id: int | None = Field(description="The confirmed partner; null until confirmed")
    citation: str
    confirmed_at: Time | None
    candidates: list[Candidate]

    @classmethod
    def of(cls, m) -> "SpotlightMonth":
        """One ``SpotlightMonth`` row with its candidates."""
        return cls(id=m.id, period=m.period, partner_id=m.partner_id, citation=m.citation,
                   confirmed_at=m.confirmed_at,
                   candidates=[Candidate.of(c) for c in m.candidates])


class SpotlightMonthPage(Page):
    """Proposed months, newest first."""

    items: list[SpotlightMonth]
    next_cursor: None = None


class ConfirmSpotlight(Request):
    """Confirm one of the month's candidates (admins; once per month, then 409)."""

    partner_id: Annotated[Id, Unknown("Choose one of the month's proposed candidates.")]
    citation: str = Field("", max_length=300,
                          description="One line shown with the spotlight (optional)")


class PoolMember(Shape):
    """A team member's contribution and share (to be, or paid)."""

    partner_id: int
    name: str
    contribution: int = Field(description="Confirmed deals, or their revenue in cents")
    share_cents: int


class BonusPool(Shape):
    """A team bonus pool with every member's share-to-be (or what was paid)."""

    id: int
    name: str
    metric: Literal["deals", "revenue"]
    target: int
    pool_cents: int
    starts_at: Time
    ends_at: Time
    settled_at: Time | None
    team_total: int
    reached: bool
    members: list[PoolMember]

    @classmethod
    def of(cls, s: dict) -> "BonusPool":
        """One ``core.engagement.pools.standing`` dict."""
        p = s["pool"]
        return cls(id=p.id, name=p.name, metric=p.metric, target=p.target,
                   pool_cents=p.pool_cents, starts_at=p.starts_at, ends_at=p.ends_at,
                   settled_at=p.settled_at, team_total=s["total"], reached=s["reached"],
                   members=[PoolMember(**m) for m in s["members"]])


class BonusPoolPage(Page):
    """Your team's bonus pools, newest first."""

    items: list[BonusPool]
    next_cursor: None = None
