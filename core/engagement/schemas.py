"""Engagement's API shapes: ``GET /api/partner/engagement`` (rules: "Goals", "XP, levels
and streaks", "Badges"). Times are ISO 8601 UTC, money integer cents."""

from typing import Literal

from core.base.schemas import Answer, Field, Shape, Time


class Level(Shape):
    """The level the partner's XP reaches (names staff set)."""

    name: str
    number: int = Field(ge=1, description="1 = the lowest level")
    min_xp: int = Field(ge=0, description="XP the level starts at")
    next_name: str | None = Field(description="The next level, null at the top")
    next_min_xp: int | None
    to_next: int = Field(ge=0, description="XP still needed for the next level")
    progress_percent: int = Field(ge=0, le=100)


class Streak(Shape):
    """The weekly streak: weeks in a row with at least one qualifying action (ISO weeks
    in the partner's time zone; the grace rule is in the program rules)."""

    weeks: int = Field(ge=0, description="The streak's length now")
    best: int = Field(ge=0, description="The longest streak ever")
    grace_available: bool = Field(description="A missed week would use the grace week")
    grace_used: int = Field(ge=0)
    this_week_done: bool
    at_risk: bool = Field(description="Breaks if this week ends with no action")


class GoalPart(Shape):
    """Progress toward one part of the monthly goal (deals, or revenue in cents)."""

    done: int = Field(ge=0)
    goal: int = Field(ge=0)
    remaining: int = Field(ge=0)
    percent: int = Field(ge=0, le=100)
    per_day: int = Field(ge=0, description="Needed per remaining day (rounded up)")
    per_week: int = Field(ge=0, description="Needed per remaining week (rounded up)")


class LastMonth(Shape):
    """Last month's result against the goal as it stands."""

    month: str = Field(description="YYYY-MM")
    deals: int = Field(ge=0)
    revenue_cents: int = Field(ge=0)
    deals_met: bool | None
    revenue_met: bool | None


class Goal(Shape):
    """This month's goal progress in the partner's time zone."""

    has_goal: bool
    experience_level: Literal["beginner", "intermediate", "advanced"] | None
    month: str = Field(description="YYYY-MM")
    days_left: int = Field(ge=1, description="Days left in the month, today included")
    deals: GoalPart | None
    revenue: GoalPart | None
    last_month: LastMonth


class EarnedBadge(Shape):
    """A catalogue badge the partner holds."""

    key: str
    name: str
    icon: str
    awarded_at: Time


class BadgeSummary(Shape):
    """How many badges are earned, of the active catalogue, and the latest three."""

    earned: int = Field(ge=0)
    total: int = Field(ge=0)
    recent: list[EarnedBadge]


class Engagement(Answer):
    """XP, level, streak, goal progress and badges at a glance."""

    xp: int = Field(ge=0)
    level: Level
    streak: Streak
    goal: Goal
    badges: BadgeSummary
