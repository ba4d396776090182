"""Link analytics: the partner's funnel (clicks → leads → won deals → revenue and
commission) per link and per period, and the daily click roll-ups behind it (rules:
"Analytics")."""

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, delete, func, literal_column, select

from core.base.errors import ValidationError
from core.base.extensions import db
from core.base.jobs import job
from core.base.models import Setting
from core.base.timeutil import now_utc
from core.money.models import Commission, Deal
from core.program.models import Lead, Partner, ReferralClick, ReferralClickDay, ReferralLink

#: Leads that came through a partner's links (the landing pages' forms, the website tag).
LINK_SOURCES = ("referral_link", "website")
#: The funnel's counts, in order; the JSON ``totals`` carries exactly these.
METRICS = ("clicks", "unique_clicks", "leads", "won", "revenue_cents", "commission_cents")
#: Longest range one request may ask for (days, inclusive): two years.
MAX_RANGE_DAYS = 731
#: The setting holding the last day whose clicks are rolled up (``YYYY-MM-DD``).
ROLLED_UP_SETTING = "clicks_rolled_up_through"


def parse_range(start, end, group) -> tuple[date, date, str]:
    """``from``/``to`` (``YYYY-MM-DD``, UTC days, both included) and ``group``
    (``day``|``week``|``month``). Defaults: the last 30 days by day. A bad date, ``from``
    after ``to`` or a range over two years raises ``ValidationError`` (422)."""
    today = now_utc().date()
    try:
        end_day = date.fromisoformat(end) if end else today
        start_day = date.fromisoformat(start) if start else end_day - timedelta(days=29)
    except (TypeError, ValueError):
        raise ValidationError("from and to must be dates written YYYY-MM-DD.") from None
    if start_day > end_day:
        raise ValidationError("from must be on or before to.")
    if (end_day - start_day).days + 1 > MAX_RANGE_DAYS:
        raise ValidationError("The range may be at most 2 years (731 days).")
    if group not in ("day", "week", "month"):
        raise ValidationError("group must be day, week or month.")
    return start_day, end_day, group


def period_of(day: date, group: str) -> date:
    """The first day of ``day``'s period: itself, its ISO week's Monday, or the 1st."""
    if group == "week":
        return day - timedelta(days=day.weekday())
    if group == "month":
        return day.replace(day=1)
    return day


def _periods(start: date, end: date, group: str) -> list[date]:
    out, day = [], period_of(start, group)
    while day <= end:
        out.append(day)
        day = (day + timedelta(days=7)) if group == "week" else \
            (day.replace(day=28) + timedelta(days=4)).replace(day=1) if group == "month" else \
            day + timedelta(days=1)
    return out


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (datetime.combine(start, datetime.min.time(), UTC),
            datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC))


def _day_of(column):
    """The UTC day of a timestamp column, in SQL (``date`` on both databases)."""
    if db.engine.dialect.name == "postgresql":
        # the zone as a literal, so GROUP BY sees the same expression as SELECT
        return func.date(func.timezone(literal_column("'UTC'"), column))
    return func.date(column)


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def rolled_up_through() -> date | None:
    """The last day whose clicks are in ``referral_click_days`` (``None``: none yet)."""
    row = db.session.get(Setting, ROLLED_UP_SETTING)
    return date.fromisoformat(row.value) if row is not None else None


def _raw_click_days(where, start: date, end: date):
    """(partner_id, link_key, day, clicks, unique_clicks) from the raw clicks."""
    lo, hi = _bounds(start, end)
    day = _day_of(ReferralClick.created_at)
    key = func.coalesce(ReferralClick.link_id, 0)
    rows = db.session.execute(
        select(ReferralClick.partner_id, key, day, func.count(),
               func.count(func.distinct(ReferralClick.ip_hash)))
        .where(ReferralClick.created_at >= lo, ReferralClick.created_at < hi, *where)
        .group_by(ReferralClick.partner_id, key, day))
    return [(p, k, _as_date(d), c, u) for p, k, d, c, u in rows]


def click_days(partner_id: int | None, link_key: int | None, start: date, end: date):
    """Clicks per (partner, link key, day) between ``start`` and ``end``: rolled-up days
    from ``referral_click_days``, later days from the raw clicks. ``partner_id`` or
    ``link_key`` ``None``: all. Returns tuples ``(partner_id, link_key, day, clicks,
    unique_clicks)``."""
    through = rolled_up_through()
    out = []
    if through is not None and start <= through:
        conds = [ReferralClickDay.day >= start, ReferralClickDay.day <= min(end, through)]
        if partner_id is not None:
            conds.append(ReferralClickDay.partner_id == partner_id)
        if link_key is not None:
            conds.append(ReferralClickDay.link_key == link_key)
        out += [(p, k, _as_date(d), c, u) for p, k, d, c, u in db.session.execute(
            select(ReferralClickDay.partner_id, ReferralClickDay.link_key, ReferralClickDay.day,
                   ReferralClickDay.clicks, ReferralClickDay.unique_clicks).where(*conds))]
    raw_start = max(start, through + timedelta(days=1)) if through is not None else start
    if raw_start <= end:
        where = []
        if partner_id is not None:
            where.append(ReferralClick.partner_id == partner_id)
        if link_key is not None:
            where.append(ReferralClick.link_id.is_(None) if link_key == 0
                         else ReferralClick.link_id == link_key)
        out += _raw_click_days(where, raw_start, end)
    return out


def clicks_by_link(start: date, end: date, group_by=None) -> dict:
    """Clicks per campaign link (``group_by`` None) or per landing page (``"page"``)
    between ``start`` and ``end``, summed in SQL over the roll-ups and the raw clicks after
    them. Returns ``{link id or landing page id: clicks}``; the default link is left out."""
    through = rolled_up_through()
    out = defaultdict(int)

    def add(rows):
        for key, n in rows:
            if key is not None:
                out[key] += int(n)

    if through is not None and start <= through:
        key = ReferralClickDay.link_key
        q = select(key, func.sum(ReferralClickDay.clicks)).where(
            ReferralClickDay.day >= start, ReferralClickDay.day <= min(end, through),
            ReferralClickDay.link_key != 0)
        if group_by == "page":
            q = select(ReferralLink.landing_page_id, func.sum(ReferralClickDay.clicks)) \
                .select_from(ReferralClickDay).join(ReferralLink, ReferralLink.id == ReferralClickDay.link_key).where(
                ReferralClickDay.day >= start, ReferralClickDay.day <= min(end, through),
                ReferralLink.landing_page_id.is_not(None)) \
                .group_by(ReferralLink.landing_page_id)
        else:
            q = q.group_by(key)
        add(db.session.execute(q))
    raw_start = max(start, through + timedelta(days=1)) if through is not None else start
    if raw_start <= end:
        lo, hi = _bounds(raw_start, end)
        if group_by == "page":
            q = select(ReferralLink.landing_page_id, func.count()).select_from(ReferralClick) \
                .join(ReferralLink, ReferralLink.id == ReferralClick.link_id) \
                .where(ReferralLink.landing_page_id.is_not(None)) \
                .group_by(ReferralLink.landing_page_id)
        else:
            q = select(ReferralClick.link_id, func.count()).where(
                ReferralClick.link_id.is_not(None)).group_by(ReferralClick.link_id)
        add(db.session.execute(q.where(ReferralClick.created_at >= lo,
                                       ReferralClick.created_at < hi)))
    return dict(out)


def roll_up_clicks(through: date | None = None) -> int:
    """Roll the raw clicks of every day after the last rolled-up one, up to ``through``
    (default yesterday, UTC), into ``referral_click_days``; each day is rewritten whole,
    so running it twice changes nothing. Returns the number of rows written (rules:
    "Analytics")."""
    through = through or now_utc().date() - timedelta(days=1)
    last = rolled_up_through()
    first = last + timedelta(days=1) if last is not None else db.session.scalar(
        select(func.min(ReferralClick.created_at)))
    if first is None:
        return 0
    first = first.date() if isinstance(first, datetime) else first
    if first > through:
        return 0
    # One INSERT ... SELECT for all the days: the database groups the clicks, no row
    # passes through Python (a first roll-up of a year of 10,000,000 clicks).
    lo, hi = _bounds(first, through)
    day = _day_of(ReferralClick.created_at)
    key = func.coalesce(ReferralClick.link_id, 0)
    db.session.execute(delete(ReferralClickDay).where(ReferralClickDay.day >= first,
                                                      ReferralClickDay.day <= through))
    grouped = (select(ReferralClick.partner_id, key, day, func.count(),
                      func.count(func.distinct(ReferralClick.ip_hash)))
               .where(ReferralClick.created_at >= lo, ReferralClick.created_at < hi)
               .group_by(ReferralClick.partner_id, key, day)
               .order_by(day))  # a day's rows side by side: the analytics read by day
    db.session.execute(ReferralClickDay.__table__.insert().from_select(
        ["partner_id", "link_key", "day", "clicks", "unique_clicks"], grouped))
    written = db.session.scalar(select(func.count()).select_from(ReferralClickDay).where(
        ReferralClickDay.day >= first, ReferralClickDay.day <= through)) or 0
    setting = db.session.get(Setting, ROLLED_UP_SETTING)
    if last is None or through > last:
        if setting is None:
            db.session.add(Setting(key=ROLLED_UP_SETTING, value=through.isoformat()))
        else:
            setting.value = through.isoformat()
    db.session.flush()
    return written


@job(every=3600)
def roll_up_clicks_job() -> int:
    """The worker's hourly roll-up of finished days (idempotent; see :func:`roll_up_clicks`)."""
    return roll_up_clicks()


def _lead_rows(partner_id, link_key, start, end):
    lo, hi = _bounds(start, end)
    conds = [Lead.created_at >= lo, Lead.created_at < hi, Lead.source.in_(LINK_SOURCES)]
    if partner_id is not None:
        conds.append(Lead.partner_id == partner_id)
    if link_key is not None:
        conds.append(Lead.link_id.is_(None) if link_key == 0 else Lead.link_id == link_key)
    day = _day_of(Lead.created_at)
    key = func.coalesce(Lead.link_id, 0)
    return [(p, k, _as_date(d), n) for p, k, d, n in db.session.execute(
        select(Lead.partner_id, key, day, func.count()).where(*conds)
        .group_by(Lead.partner_id, key, day))]


def _deal_rows(partner_id, link_key, start, end):
    """(partner, link key, day confirmed, won, revenue cents, the partner's commission
    cents) of won (not cancelled) deals of link leads confirmed in the range."""
    lo, hi = _bounds(start, end)
    conds = [Deal.confirmed_at >= lo, Deal.confirmed_at < hi, Deal.status == "won",
             Lead.source.in_(LINK_SOURCES)]
    if partner_id is not None:
        conds.append(Deal.partner_id == partner_id)
    if link_key is not None:
        conds.append(Lead.link_id.is_(None) if link_key == 0 else Lead.link_id == link_key)
    # the partner's own commissions only: summing every commission of the program per
    # request is what made a partner's page take seconds at 1,000,000 commissions
    mine = [Commission.partner_id == partner_id] if partner_id is not None else []
    commission = (select(Commission.deal_id.label("deal_id"),
                         func.sum(Commission.amount_cents).label("cents"))
                  .where(Commission.deal_id.is_not(None), *mine)
                  .join(Deal, and_(Deal.id == Commission.deal_id,
                                   Commission.partner_id == Deal.partner_id))
                  .group_by(Commission.deal_id).subquery())
    day = _day_of(Deal.confirmed_at)
    key = func.coalesce(Lead.link_id, 0)
    rows = db.session.execute(
        select(Deal.partner_id, key, day, func.count(), func.sum(Deal.value_cents),
               func.coalesce(func.sum(commission.c.cents), 0))
        .join(Lead, Lead.id == Deal.lead_id)
        .outerjoin(commission, commission.c.deal_id == Deal.id)
        .where(*conds).group_by(Deal.partner_id, key, day))
    return [(p, k, _as_date(d), n, int(r or 0), int(c or 0)) for p, k, d, n, r, c in rows]


def _rates(t: dict) -> dict:
    def bps(a, b):
        return a * 10000 // b if b else None

    return {"lead_per_click_bps": bps(t["leads"], t["clicks"]),
            "won_per_lead_bps": bps(t["won"], t["leads"]),
            "won_per_click_bps": bps(t["won"], t["clicks"])}


def partner_analytics(partner: Partner, start: date, end: date, group: str,
                      link_id=None) -> dict:
    """The partner's funnel between ``start`` and ``end`` (UTC days, included), by
    ``group`` period and by link; ``link_id`` narrows it to one of their links (another
    partner's or unknown: ``NotFound``). Counts: clicks and unique clicks (rolled up per
    day), link leads created, won deals confirmed (cancelled ones left out), their revenue
    and the partner's commission on them (cents, adjustments included). Rates are basis
    points, ``None`` when nothing was there to convert. Returns ``{"totals", "rates",
    "series": [{"period", ...}], "links": [{"link_id", "name", "slug", ...}]}``."""
    link_key = None
    if link_id is not None:
        from core.program.links import partner_link

        link_key = partner_link(partner, link_id).id
    series = {p: dict.fromkeys(METRICS, 0) for p in _periods(start, end, group)}
    by_link = defaultdict(lambda: dict.fromkeys(METRICS, 0))
    for _p, key, day, clicks, unique in click_days(partner.id, link_key, start, end):
        for bucket in (series[period_of(day, group)], by_link[key]):
            bucket["clicks"] += clicks
            bucket["unique_clicks"] += unique
    for _p, key, day, n in _lead_rows(partner.id, link_key, start, end):
        for bucket in (series[period_of(day, group)], by_link[key]):
            bucket["leads"] += n
    for _p, key, day, n, revenue, commission in _deal_rows(partner.id, link_key, start, end):
        for bucket in (series[period_of(day, group)], by_link[key]):
            bucket["won"] += n
            bucket["revenue_cents"] += revenue
            bucket["commission_cents"] += commission
    totals = {m: sum(s[m] for s in series.values()) for m in METRICS}
    names = {row.id: row for row in db.session.scalars(select(ReferralLink).where(
        ReferralLink.partner_id == partner.id))}
    links = []
    keys = [link_key] if link_key is not None else [0, *sorted(names, reverse=True)]
    for key in keys:
        link = names.get(key)
        if key and link is None:
            continue
        if link is not None and link.archived_at is not None and key not in by_link:
            continue
        counts = by_link.get(key, dict.fromkeys(METRICS, 0))
        links.append({"link_id": key or None, "name": link.name if link else "Default link",
                      "slug": link.slug if link else "", **counts, **_rates(counts)})
    return {"from": start, "to": end, "group": group, "totals": totals,
            "rates": _rates(totals),
            "series": [{"period": p, **v, **_rates(v)} for p, v in series.items()],
            "links": links}



def funnel_csv(data: dict) -> str:
    """:func:`partner_analytics`'s figures as CSV: a header, one row per period, one per
    link, then the totals; text cells are guarded against spreadsheet formulas."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["kind", "period_or_link", *METRICS])
    for s in data["series"]:
        w.writerow(["period", s["period"].isoformat(), *(s[m] for m in METRICS)])
    for x in data["links"]:
        name = x["name"]
        w.writerow(["link", "'" + name if name[:1] in ("=", "+", "-", "@", "\t", "\r") else name,
                    *(x[m] for m in METRICS)])
    w.writerow(["total", "", *(data["totals"][m] for m in METRICS)])
    return out.getvalue()
