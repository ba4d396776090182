"""Experience level and the monthly goal (rules: "Goals"): what registration and the profile
ask, the checks on it, and the dashboard's progress, pace and last month's result."""

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, select

from core.base.audit import audit
from core.base.errors import ValidationError
from core.base.extensions import db
from core.base.timeutil import in_zone, now_utc
from core.program.models import Partner

#: Experience levels a partner chooses from, with their labels.
EXPERIENCE_LEVELS = {"beginner": "Beginner: new to selling",
                     "intermediate": "Intermediate: I have sold before",
                     "advanced": "Advanced: selling is my trade"}
#: Most deals a month a goal may name (more is not a goal we can track).
MAX_GOAL_DEALS = 500
#: Most revenue a month a goal may name: $10,000,000 in cents.
MAX_GOAL_REVENUE_CENTS = 1_000_000_000
#: The fields of the goal and level, as registration, the profile and the API name them.
GOAL_FIELDS = ("experience_level", "goal_deals", "goal_revenue_cents")


class GoalError(ValidationError):
    """A refused goal or level value; ``field`` names it (the page shows it there)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def clean_goal_field(key: str, value):
    """Check one of ``GOAL_FIELDS`` and return its value to store (``None`` clears it).

    ``experience_level``: a key of ``EXPERIENCE_LEVELS`` or empty/``None``;
    ``goal_deals``: a whole number 0..``MAX_GOAL_DEALS`` or ``None``;
    ``goal_revenue_cents``: a whole number of cents 0..``MAX_GOAL_REVENUE_CENTS`` or
    ``None``. Raises ``GoalError`` with a sentence naming the problem (negative, absurd,
    not a number, unknown level)."""
    if key == "experience_level":
        if value in (None, ""):
            return None
        if value not in EXPERIENCE_LEVELS:
            raise GoalError(key, "Choose your experience: beginner, intermediate or advanced.")
        return value
    if key not in ("goal_deals", "goal_revenue_cents"):
        raise ValidationError(f"Unknown goal field: {key}.")
    if value is None or value == "":
        return None
    what = "deals" if key == "goal_deals" else "revenue"
    if isinstance(value, bool) or not isinstance(value, int):
        raise GoalError(key, f"Your monthly {what} goal must be a whole number.")
    if value < 0:
        raise GoalError(key, f"Your monthly {what} goal cannot be negative.")
    if key == "goal_deals" and value > MAX_GOAL_DEALS:
        raise GoalError(key, f"A goal of more than {MAX_GOAL_DEALS} deals a month is not one "
                             "we can track; choose a number you can reach.")
    if key == "goal_revenue_cents" and value > MAX_GOAL_REVENUE_CENTS:
        raise GoalError(key, "A revenue goal above $10,000,000 a month is not one we can "
                             "track; choose an amount you can reach.")
    return value


def clean_goals(data: dict) -> dict:
    """Check every ``GOAL_FIELDS`` key present in ``data``; returns ``{field: value}``.
    Raises ``GoalError`` on the first bad value (nothing is stored by this function)."""
    return {k: clean_goal_field(k, data[k]) for k in GOAL_FIELDS if k in data}


def set_goals(partner: Partner, data: dict, actor_id: int | None = None) -> Partner:
    """Set the partner's experience level and monthly goal from ``data`` (keys of
    ``GOAL_FIELDS``; keys left out stay). All values are checked before any is set, so
    a refusal (``GoalError``, 422) stores nothing. Audited ``partner.goals`` when
    something changed. Not committed."""
    clean = clean_goals(data)
    before = {k: getattr(partner, k) for k in clean}
    changed = {k: v for k, v in clean.items() if before[k] != v}
    for key, value in changed.items():
        setattr(partner, key, value)
    if changed and partner.id is not None:
        partner.updated_at = now_utc()
        audit(actor_id if actor_id is not None else partner.user_id, "partner.goals",
              "partner", partner.id, {k: before[k] for k in changed}, changed)
    return partner


def local_month(now: datetime, tz_name: str | None) -> tuple[datetime, datetime, datetime]:
    """The calendar month holding ``now`` in the zone ``tz_name``: ``(start, end,
    previous_start)`` as aware UTC datetimes (``end`` exclusive)."""
    local = in_zone(now, tz_name)
    zone = local.tzinfo
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    prev = (start - timedelta(days=1)).replace(day=1)
    # Rebuild with the zone so a DST change inside the month gives the right offset.
    fix = lambda d: datetime(d.year, d.month, d.day, tzinfo=zone).astimezone(UTC)  # noqa: E731
    return fix(start), fix(end), fix(prev)


def _results(partner_id: int, prev: datetime, start: datetime, end: datetime
             ) -> tuple[int, int, int, int]:
    """``(deals, revenue cents)`` of ``[start, end)`` and of ``[prev, start)``, in one
    query: this month's first, then last month's."""
    from core.money.models import Deal

    this = Deal.confirmed_at >= start
    row = db.session.execute(
        select(func.count(case((this, Deal.id))),
               func.coalesce(func.sum(case((this, Deal.value_cents), else_=0)), 0),
               func.count(case((~this, Deal.id))),
               func.coalesce(func.sum(case((~this, Deal.value_cents), else_=0)), 0)).where(
            Deal.partner_id == partner_id, Deal.status == "won",
            Deal.confirmed_at >= prev, Deal.confirmed_at < end)).one()
    return tuple(int(v) for v in row)


def _part(done: int, goal: int | None, days_left: int) -> dict | None:
    if goal is None:
        return None
    remaining = max(0, goal - done)
    return {"done": done, "goal": goal, "remaining": remaining,
            "percent": 100 if goal == 0 else min(100, int(100 * done / goal)),
            "per_day": math.ceil(remaining / days_left) if remaining else 0,
            "per_week": math.ceil(remaining * 7 / days_left) if remaining else 0}


def goal_progress(partner: Partner, now: datetime | None = None) -> dict:
    """This month's progress to the goal, the pace needed and last month's result, in the
    partner's time zone (rules: "Goals").

    Returns ``{"has_goal": bool, "experience_level": str | None, "month": "YYYY-MM",
    "days_left": int (today included), "deals": part | None, "revenue": part | None,
    "last_month": {"month", "deals", "revenue_cents", "deals_met": bool | None,
    "revenue_met": bool | None}}`` where a part is ``{"done", "goal", "remaining",
    "percent", "per_day", "per_week"}`` (revenue parts in cents; the pace rounds up).
    Results count confirmed won deals not cancelled (value in cents). One query."""
    now = now or now_utc()
    tz = partner.timezone or "UTC"
    start, end, prev = local_month(now, tz)
    local_now = in_zone(now, tz)
    local_end = in_zone(end, tz)
    days_left = max(1, (local_end.date() - local_now.date()).days)
    deals, revenue, last_deals, last_revenue = _results(partner.id, prev, start, end)
    prev_local = in_zone(prev, tz)
    return {
        "has_goal": partner.goal_deals is not None or partner.goal_revenue_cents is not None,
        "experience_level": partner.experience_level,
        "month": f"{local_now.year:04d}-{local_now.month:02d}",
        "days_left": days_left,
        "deals": _part(deals, partner.goal_deals, days_left),
        "revenue": _part(revenue, partner.goal_revenue_cents, days_left),
        "last_month": {
            "month": f"{prev_local.year:04d}-{prev_local.month:02d}",
            "deals": last_deals, "revenue_cents": last_revenue,
            "deals_met": None if partner.goal_deals is None
            else last_deals >= partner.goal_deals,
            "revenue_met": None if partner.goal_revenue_cents is None
            else last_revenue >= partner.goal_revenue_cents,
        },
    }


def goals_from_form(experience_level, goal_deals, goal_revenue) -> dict:
    """The goal fields of a page's form as ``set_goals`` takes them: ``experience_level``
    as chosen, ``goal_deals`` text of a whole number, ``goal_revenue`` text in dollars
    (``"5,000"``, ``"$2500.50"``); empty texts clear the goal. Raises ``GoalError`` with a
    sentence for a negative, absurd or unreadable value (then nothing is stored)."""
    from core.money.cents import parse_dollars

    out = {"experience_level": experience_level or None}
    text = (goal_deals or "").strip()
    if not text:
        out["goal_deals"] = None
    elif text.lstrip("-").isdigit():
        out["goal_deals"] = int(text)
    else:
        raise GoalError("goal_deals", "Your monthly deals goal must be a whole number, "
                                      "like 4.")
    text = (goal_revenue or "").strip()
    if not text:
        out["goal_revenue_cents"] = None
    elif text.replace("$", "").strip().startswith("-"):
        raise GoalError("goal_revenue_cents", "Your monthly revenue goal cannot be negative.")
    else:
        try:
            out["goal_revenue_cents"] = parse_dollars(text)
        except ValueError as exc:
            raise GoalError("goal_revenue_cents", str(exc)) from None
    return clean_goals(out)
