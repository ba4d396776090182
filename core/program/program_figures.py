"""The program's monthly roll-ups behind the staff program analytics: figures per partner
and month, per month, per approval cohort, kept by the worker, and what the analytics
must still read from the raw rows (rules: "Analytics", "Program roll-ups").

A finished UTC month is rolled up once; later changes to its rows (a deal cancelled, a
commission paid, a lead written with an earlier date) are found by the rows' ``updated_at``
and make the month *changed*: the analytics read a changed month from the raw rows until
the next roll-up rewrites it. So the figures always equal the raw computation.
"""

import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import (
    and_,
    delete,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union,
    union_all,
)

from core.base.extensions import db
from core.base.jobs import job
from core.base.models import Setting
from core.base.timeutil import now_utc
from core.money.models import Commission, Deal
from core.program.models import (
    Lead,
    Partner,
    ProgramCohort,
    ProgramCohortRevenue,
    ProgramLinkMonth,
    ProgramMonth,
    ProgramPageMonth,
    ProgramPartnerMonth,
    ProgramPipelineLead,
    ProgramPipelineStage,
)

#: The setting holding the roll-up's state (JSON: ``through``, ``cohorts_through``, ``since``).
STATE_SETTING = "program_rolled_up"
#: Rows changed this long before a roll-up started still count as changed after it (a
#: transaction that wrote them may have committed after the roll-up read the month).
MARGIN = timedelta(minutes=10)
#: An approved partner counts as activated with a lead within this many days.
ACTIVATION_DAYS = 30


def month_of(day: date) -> date:
    """The 1st of ``day``'s month."""
    return day.replace(day=1)


def next_month(month: date) -> date:
    """The 1st of the month after ``month``."""
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def months_between(first: date, last: date) -> list[date]:
    """The 1st of every month from ``first``'s to ``last``'s, both included."""
    out, m = [], month_of(first)
    while m <= last:
        out.append(m)
        m = next_month(m)
    return out


def at(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, datetime.min.time(), UTC)


def sql_month(column):
    """The UTC month (its 1st) of a timestamp column, in SQL (a ``date`` on PostgreSQL, the
    text ``YYYY-MM-01`` on SQLite; read it with :func:`as_date`)."""
    if db.engine.dialect.name == "postgresql":
        return func.date(func.date_trunc(literal_column("'month'"),
                                         func.timezone(literal_column("'UTC'"), column)))
    return func.strftime("%Y-%m-01", column)


def as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def plus_days(column, days: int):
    """``column`` + ``days`` in SQL (SQLite keeps times as text)."""
    if db.engine.dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d %H:%M:%f", column, f"+{int(days)} days")
    return column + literal_column(f"INTERVAL '{int(days)} days'")


def early_lead():
    """A lead of the partner within :data:`ACTIVATION_DAYS` of approval (SQL EXISTS)."""
    from sqlalchemy import exists

    return exists().where(Lead.partner_id == Partner.id, Lead.created_at >= Partner.approved_at,
                          Lead.created_at < plus_days(Partner.approved_at, ACTIVATION_DAYS))


def within(column, spans: list[tuple[datetime, datetime]]):
    """SQL: ``column`` in one of the half-open ``[start, end)`` spans (false when none)."""
    if not spans:
        return false()
    return or_(*[and_(column >= a, column < b) for a, b in spans])


def spans_of(months, start: date | None = None, end: date | None = None) -> list:
    """The months (1sts) as merged ``[start, end)`` datetime spans, cut to the days
    ``start``..``end`` (included) when given."""
    out = []
    for m in sorted(months):
        a, b = at(m), at(next_month(m))
        if start is not None:
            a = max(a, at(start))
        if end is not None:
            b = min(b, at(end + timedelta(days=1)))
        if a >= b:
            continue
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


class State:
    """Where the roll-up stands: ``through`` (the 1st of the first month not rolled up;
    earlier months are), ``cohorts_through`` (the same for approval cohorts, whose months
    are rolled up once every activation window in them has ended) and ``since`` (rows with
    ``updated_at`` from then on may be newer than the roll-up). All ``None`` before the
    first roll-up."""

    def __init__(self, through=None, cohorts_through=None, since=None, links_through=None,
                 links_to_date=None, so_far=None):
        self.through, self.cohorts_through, self.since = through, cohorts_through, since
        #: The month (``through``) whose partner, month and cohort-revenue rows hold its
        #: figures so far, as the run read them (rewritten every run); ``None``: none.
        self.so_far = so_far
        #: The 1st of the first month without link and landing-page rows (a month gets them
        #: once the daily click roll-up covers all of it).
        self.links_through = links_through
        #: The last day of clicks in that month's link rows so far (its month-to-date rows,
        #: clicks from the 1st through this day; ``None``: no such rows).
        self.links_to_date = links_to_date

    @classmethod
    def load(cls) -> "State":
        row = db.session.get(Setting, STATE_SETTING)
        if row is None:
            return cls()
        v = json.loads(row.value)
        return cls(date.fromisoformat(v["through"]), date.fromisoformat(v["cohorts_through"]),
                   datetime.fromisoformat(v["since"]),
                   date.fromisoformat(v["links_through"]) if v.get("links_through") else None,
                   date.fromisoformat(v["links_to_date"]) if v.get("links_to_date") else None,
                   date.fromisoformat(v["so_far"]) if v.get("so_far") else None)

    def save(self) -> None:
        value = json.dumps({"through": self.through.isoformat(),
                            "cohorts_through": self.cohorts_through.isoformat(),
                            "since": self.since.isoformat(),
                            "links_through": self.links_through.isoformat()
                            if self.links_through else None,
                            "links_to_date": self.links_to_date.isoformat()
                            if self.links_to_date else None,
                            "so_far": self.so_far.isoformat() if self.so_far else None})
        row = db.session.get(Setting, STATE_SETTING)
        if row is None:
            db.session.add(Setting(key=STATE_SETTING, value=value))
        else:
            row.value = value

    def rows_through(self) -> date | None:
        """The 1st of the first month without partner rows (after the month so far)."""
        return next_month(self.so_far) if self.so_far else self.through

    def changed_months(self) -> set[date]:
        """Months whose deals (by confirmation), commissions (by creation) or leads (by
        creation) have rows changed since :attr:`since` (a lead: made, or its creation
        time, partner or link written, ``counted_at``): the next run rewrites them."""
        if self.since is None:
            return set()
        q = union_all(
            select(sql_month(Deal.confirmed_at)).where(Deal.updated_at >= self.since),
            select(sql_month(Commission.created_at)).where(Commission.updated_at >= self.since),
            select(sql_month(Lead.created_at)).where(Lead.counted_at >= self.since))
        return {as_date(m) for (m,) in db.session.execute(q) if m is not None}

    def changed_lead_months(self) -> set[date]:
        """Months (by creation) with a lead made or re-dated since :attr:`since`
        (``counted_at``): the landing pages read those months' leads raw (the partner
        figures put them right per partner and month, :func:`corrections`)."""
        if self.since is None:
            return set()
        q = select(func.distinct(sql_month(Lead.created_at))).where(
            Lead.counted_at >= self.since)
        return {as_date(m) for (m,) in db.session.execute(q) if m is not None}

    def changed_cohorts(self) -> set[date]:
        """Approval months with a lead made or re-dated since :attr:`since` (``counted_at``)
        inside a partner's activation window (the activation count may differ from the
        rolled-up one)."""
        if self.since is None:
            return set()
        q = (select(func.distinct(sql_month(Partner.approved_at)))
             .join(Lead, Lead.partner_id == Partner.id)
             .where(Lead.counted_at >= self.since, Partner.approved_at.is_not(None),
                    Lead.created_at >= Partner.approved_at,
                    Lead.created_at < plus_days(Partner.approved_at, ACTIVATION_DAYS)))
        return {as_date(m) for (m,) in db.session.execute(q) if m is not None}


def corrections(st: State):
    """SQL: per month with partner rows and partner with a deal (by confirmation),
    commission (by creation) or lead (by creation, ``counted_at``) written since
    ``st.since``, what the raw rows hold less what the roll-up holds: ``m`` (the month),
    ``pid``, ``rev`` and ``deals`` (won deals), ``com`` and ``paid`` (commissions, cents),
    ``leads``. Added to the rolled figures they give the raw ones: every other partner's
    rows of those months did not change (rules: "Program roll-ups"; a row's partner and
    month are never rewritten)."""
    zero = literal(0)
    t = ProgramPartnerMonth
    pairs = union(
        select(sql_month(Deal.confirmed_at).label("m"), Deal.partner_id.label("pid"))
        .where(Deal.updated_at >= st.since, Deal.confirmed_at.is_not(None)),
        select(sql_month(Commission.created_at), Commission.partner_id)
        .where(Commission.updated_at >= st.since),
        select(sql_month(Lead.created_at), Lead.partner_id)
        .where(Lead.counted_at >= st.since)).subquery()
    rolled = pairs.c.m < st.rows_through()
    parts = union_all(
        select(pairs.c.m, pairs.c.pid, Deal.value_cents.label("rev"), literal(1).label("deals"),
               zero.label("com"), zero.label("paid"), zero.label("leads"))
        .join(Deal, and_(Deal.partner_id == pairs.c.pid,
                         sql_month(Deal.confirmed_at) == pairs.c.m))
        .where(rolled, Deal.status == "won"),
        select(pairs.c.m, pairs.c.pid, zero, zero, Commission.amount_cents,
               db.case((Commission.status == "paid", Commission.amount_cents), else_=0), zero)
        .join(Commission, and_(Commission.partner_id == pairs.c.pid,
                               sql_month(Commission.created_at) == pairs.c.m))
        .where(rolled),
        select(pairs.c.m, pairs.c.pid, zero, zero, zero, zero, literal(1))
        .join(Lead, and_(Lead.partner_id == pairs.c.pid,
                         sql_month(Lead.created_at) == pairs.c.m))
        .where(rolled),
        select(pairs.c.m, pairs.c.pid, -t.revenue_cents, -t.deals, -t.commission_cents,
               -t.paid_cents, -t.leads)
        .join(t, and_(t.month == pairs.c.m, t.partner_id == pairs.c.pid))
        .where(rolled)).subquery()
    from sqlalchemy import BigInteger, cast

    def total(column, name):  # bigint, as the columns it is added to (not numeric)
        return cast(func.sum(column), BigInteger).label(name)

    return select(parts.c.m, parts.c.pid, total(parts.c.rev, "rev"),
                  total(parts.c.deals, "deals"), total(parts.c.com, "com"),
                  total(parts.c.paid, "paid"), total(parts.c.leads, "leads")) \
        .group_by(parts.c.m, parts.c.pid)


def _first_month() -> date | None:
    firsts = [db.session.scalar(select(func.min(c))) for c in
              (Deal.confirmed_at, Commission.created_at, Lead.created_at)]
    firsts = [f for f in firsts if f is not None]
    if not firsts:
        return None
    first = min(f if isinstance(f, datetime) else datetime.fromisoformat(str(f)) for f in firsts)
    return month_of(first.date())


def _first_cohort() -> date | None:
    first = db.session.scalar(select(func.min(Partner.approved_at)))
    if first is None:
        return None
    first = first if isinstance(first, datetime) else datetime.fromisoformat(str(first))
    return month_of(first.date())


def _roll_month(month: date, cutoff: datetime) -> int:
    """Rewrite one month's partner rows (the month before must be rolled up: its rows
    carry the partners' figures so far), its total and its column of cohort revenue (of
    the partners approved before ``cutoff``)."""
    lo, hi = at(month), at(next_month(month))
    for model in (ProgramPartnerMonth, ProgramMonth, ProgramCohortRevenue):
        db.session.execute(delete(model).where(model.month == month))
    zero = literal(0)
    t = ProgramPartnerMonth
    prev = (month - timedelta(days=1)).replace(day=1)
    parts = union_all(
        select(Deal.partner_id.label("pid"), Deal.value_cents.label("rev"),
               literal(1).label("deals"), zero.label("com"), zero.label("paid"),
               zero.label("leads"), zero.label("rev0"), zero.label("deals0"),
               zero.label("paid0"), zero.label("leads0"))
        .where(Deal.status == "won", Deal.confirmed_at >= lo, Deal.confirmed_at < hi),
        select(Commission.partner_id, zero, zero, Commission.amount_cents,
               db.case((Commission.status == "paid", Commission.amount_cents), else_=0), zero,
               zero, zero, zero, zero)
        .where(Commission.created_at >= lo, Commission.created_at < hi),
        select(Lead.partner_id, zero, zero, zero, zero, literal(1), zero, zero, zero, zero)
        .where(Lead.created_at >= lo, Lead.created_at < hi),
        # every partner of the month before carries on, with its figures so far
        select(t.partner_id, zero, zero, zero, zero, zero,
               t.revenue_before_cents + t.revenue_cents, t.deals_before + t.deals,
               t.paid_before_cents + t.paid_cents, t.leads_before + t.leads)
        .where(t.month == prev)).subquery()
    db.session.execute(ProgramPartnerMonth.__table__.insert().from_select(
        ["month", "partner_id", "revenue_cents", "deals", "commission_cents", "paid_cents",
         "leads", "revenue_before_cents", "deals_before", "paid_before_cents", "leads_before"],
        select(literal(month, db.Date), parts.c.pid, func.sum(parts.c.rev),
               func.sum(parts.c.deals), func.sum(parts.c.com), func.sum(parts.c.paid),
               func.sum(parts.c.leads), func.sum(parts.c.rev0), func.sum(parts.c.deals0),
               func.sum(parts.c.paid0), func.sum(parts.c.leads0)).group_by(parts.c.pid)))
    rows = db.session.scalar(select(func.count()).select_from(t).where(t.month == month)) or 0
    total = db.session.execute(select(
        func.coalesce(func.sum(t.revenue_cents), 0), func.coalesce(func.sum(t.deals), 0),
        func.coalesce(func.sum(t.commission_cents), 0), func.coalesce(func.sum(t.paid_cents), 0))
        .where(t.month == month)).one()
    db.session.add(ProgramMonth(month=month, revenue_cents=int(total[0]), deals=int(total[1]),
                                commission_cents=int(total[2]), paid_cents=int(total[3])))
    cohort = sql_month(Partner.approved_at)
    db.session.execute(ProgramCohortRevenue.__table__.insert().from_select(
        ["cohort", "month", "revenue_cents"],
        select(cohort, literal(month, db.Date), func.sum(Deal.value_cents))
        .join(Deal, Deal.partner_id == Partner.id)
        .where(Partner.approved_at < cutoff, Deal.status == "won",
               Deal.confirmed_at >= lo, Deal.confirmed_at < hi).group_by(cohort)))
    return rows


def _roll_open_cohort_revenue(first: date, through: date, cutoff: datetime) -> None:
    """Rewrite the cohort revenue of the approval months from ``first`` on (the cohorts
    still taking or just done taking partners) for every rolled-up month before
    ``through``, counting the partners approved before ``cutoff``: a partner approved
    after a month was rolled up then counts in its cohort's row from the next run on
    (the analytics add those approved since from the partner rows)."""
    db.session.execute(delete(ProgramCohortRevenue).where(ProgramCohortRevenue.cohort >= first))
    cohort, month = sql_month(Partner.approved_at), sql_month(Deal.confirmed_at)
    db.session.execute(ProgramCohortRevenue.__table__.insert().from_select(
        ["cohort", "month", "revenue_cents"],
        select(cohort, month, func.sum(Deal.value_cents))
        .join(Deal, Deal.partner_id == Partner.id)
        .where(Partner.approved_at >= at(first), Partner.approved_at < cutoff,
               Deal.status == "won", Deal.confirmed_at < at(through))
        .group_by(cohort, month)))


def _roll_links(month: date, last_day: date | None = None) -> None:
    """Rewrite one month's link and landing-page rows: clicks from the daily click roll-ups
    (the whole month is rolled up), leads by creation. With ``last_day``: the month's
    link rows so far (clicks and leads from its 1st through ``last_day``), no page rows."""
    from core.program.models import ReferralClickDay, ReferralLink

    end = last_day + timedelta(days=1) if last_day is not None else next_month(month)
    lo, hi = at(month), at(end)
    for model in (ProgramLinkMonth, ProgramPageMonth):
        db.session.execute(delete(model).where(model.month == month))
    zero = literal(0)
    day = ReferralClickDay.day
    prev = (month - timedelta(days=1)).replace(day=1)
    t = ProgramLinkMonth
    parts = union_all(
        select(ReferralClickDay.link_key.label("link"), ReferralClickDay.clicks.label("clicks"),
               zero.label("leads"), zero.label("before"))
        .where(day >= month, day < end, ReferralClickDay.link_key != 0),
        select(Lead.link_id, zero, literal(1), zero)
        .where(Lead.link_id.is_not(None), Lead.created_at >= lo, Lead.created_at < hi),
        # every link of the month before carries on, with its clicks so far
        select(t.link_id, zero, zero, t.clicks_before + t.clicks).where(t.month == prev)
    ).subquery()
    db.session.execute(ProgramLinkMonth.__table__.insert().from_select(
        ["month", "link_id", "clicks", "leads", "clicks_before"],
        select(literal(month, db.Date), parts.c.link, func.sum(parts.c.clicks),
               func.sum(parts.c.leads), func.sum(parts.c.before)).group_by(parts.c.link)))
    if last_day is not None:
        return
    db.session.execute(ProgramPageMonth.__table__.insert().from_select(
        ["month", "landing_page_id", "clicks", "leads"],
        select(literal(month, db.Date), ReferralLink.landing_page_id, func.sum(t.clicks),
               func.sum(t.leads)).join(ReferralLink, ReferralLink.id == t.link_id)
        .where(t.month == month, ReferralLink.landing_page_id.is_not(None))
        .group_by(ReferralLink.landing_page_id)))


def pipeline_value():
    """A lead's pipeline value in SQL: the won value of a won lead, else the estimate."""
    return func.coalesce(db.case((Lead.status == "won", Lead.won_value_cents),
                                 else_=Lead.estimated_value_cents), 0)


def open_lead():
    """SQL: the lead is in the open pipeline (not removed, no deal)."""
    from sqlalchemy import exists

    return and_(Lead.archived_at.is_(None), ~exists().where(Deal.lead_id == Lead.id))


def _roll_pipeline() -> None:
    """Rewrite the open leads' rows (:class:`ProgramPipelineLead`) and their totals per
    stage (:class:`ProgramPipelineStage`)."""
    t = ProgramPipelineLead
    db.session.execute(delete(t))
    db.session.execute(delete(ProgramPipelineStage))
    db.session.execute(t.__table__.insert().from_select(
        ["lead_id", "status", "value_cents"],
        select(Lead.id, Lead.status, pipeline_value()).where(open_lead())))
    db.session.execute(ProgramPipelineStage.__table__.insert().from_select(
        ["status", "leads", "value_cents"],
        select(t.status, func.count(), func.coalesce(func.sum(t.value_cents), 0))
        .group_by(t.status)))


def _roll_cohort(month: date) -> None:
    """Rewrite one approval month's cohort row (partners approved, activated)."""
    db.session.execute(delete(ProgramCohort).where(ProgramCohort.month == month))
    lo, hi = at(month), at(next_month(month))
    n, act = db.session.execute(
        select(func.count(), func.coalesce(func.sum(db.case((early_lead(), 1), else_=0)), 0))
        .select_from(Partner).where(Partner.approved_at >= lo, Partner.approved_at < hi)).one()
    if n:
        db.session.add(ProgramCohort(month=month, approved=int(n), activated=int(act)))


def _roll_link_months(old: State, new: State, months: set) -> set:
    """The link and landing-page rows: every month whose days of clicks are all rolled up
    and not rolled up yet or changed (``months``), then the next month's link rows so far.
    Sets ``new.links_through`` and ``new.links_to_date``; returns the months rewritten."""
    # links and landing pages: months whose every day of clicks is rolled up
    from core.program.analytics import rolled_up_through

    clicks = rolled_up_through()
    new.links_through = min(new.through, month_of(clicks + timedelta(days=1))) \
        if clicks is not None else None
    links = set()
    if new.links_through is not None:
        start = old.links_through
        if start is None:
            from core.program.models import ReferralClickDay

            firsts = [f for f in (_first_month(), db.session.scalar(
                select(func.min(ReferralClickDay.day)))) if f is not None]
            start = month_of(min(as_date(f) for f in firsts)) if firsts else new.links_through
        links.update(m for m in months_between(start, new.links_through)
                     if m < new.links_through)
        links.update(m for m in months if m < new.links_through)
    for m in sorted(links):
        _roll_links(m)
    # the month after: its link rows so far, so the analytics' top links read two rows per
    # link for a range up to the last rolled-up day of clicks (rewritten every run)
    new.links_to_date = None
    if new.links_through is not None and clicks >= new.links_through:
        _roll_links(new.links_through, last_day=clicks)
        new.links_to_date = clicks
    elif new.links_through is not None:
        db.session.execute(delete(ProgramLinkMonth).where(
            ProgramLinkMonth.month >= new.links_through))
    return links


def roll_up_program(now: datetime | None = None) -> dict:
    """Roll up every finished month not rolled up yet and every rolled-up month changed
    since the last run (deals, commissions, leads: see :meth:`State.changed_months`) with
    the months after it (their partner rows carry the figures so far), and
    every approval cohort whose activation windows have all ended by ``now`` (default: the
    current time) and is not rolled up yet or changed; and this month's rows so far.
    Idempotent. Returns ``{"months": [finished months rewritten], "cohorts": [...],
    "rows": partner-month rows written, this month's included}`` (rules: "Program
    roll-ups")."""
    now = now or now_utc()
    old = State.load()
    new = State(through=month_of(now.date()), since=now - MARGIN)
    # a cohort is closed when 30 days after the end of its month have passed
    new.cohorts_through = month_of((now - timedelta(days=ACTIVATION_DAYS)).date())
    months, cohorts = set(), set()
    if old.through is None:
        first = _first_month()
        if first is not None:
            months.update(months_between(first, new.through - timedelta(days=1)))
        first = _first_cohort()
        if first is not None:
            cohorts.update(months_between(first, new.cohorts_through - timedelta(days=1)))
    else:
        months.update(m for m in months_between(old.through, new.through)
                      if m < new.through)
        months.update(m for m in old.changed_months() if m < new.through)
        cohorts.update(m for m in months_between(old.cohorts_through, new.cohorts_through)
                       if m < new.cohorts_through)
        cohorts.update(m for m in old.changed_cohorts() if m < new.cohorts_through)
    rolled = set(months)
    if months:  # a month's partner rows carry the earlier months': rewrite the later ones too
        rolled.update(months_between(min(months), new.through - timedelta(days=1)))
    # this month so far: its partner, month and cohort-revenue rows as of this run
    rows = sum(_roll_month(m, new.since) for m in sorted(rolled | {new.through}))
    new.so_far = new.through
    _roll_open_cohort_revenue(new.cohorts_through, new.rows_through(), new.since)
    for m in sorted(cohorts):
        _roll_cohort(m)
    links = _roll_link_months(old, new, months)
    _roll_pipeline()
    new.save()
    if db.engine.dialect.name == "postgresql":
        # fresh statistics now: plans for the next reads, not after autovacuum's turn
        for table in ("program_partner_months", "program_months", "program_link_months",
                      "program_page_months", "program_cohorts", "program_cohort_revenue",
                      "program_pipeline_leads", "program_pipeline_stages"):
            db.session.execute(text(f"ANALYZE {table}"))
    db.session.flush()
    return {"months": sorted(rolled), "cohorts": sorted(cohorts), "links": sorted(links),
            "rows": rows}


@job(every=600, timeout=1800)
def roll_up_program_job() -> dict:
    """The worker's roll-up of the program figures every 10 minutes (idempotent; only new
    and changed months are rewritten; see :func:`roll_up_program`)."""
    out = roll_up_program()
    db.session.commit()
    if out["months"]:
        compact_rollups()
    return {"months": len(out["months"]), "cohorts": len(out["cohorts"]), "rows": out["rows"]}


def compact_rollups() -> None:
    """After a committed roll-up that rewrote months: on PostgreSQL, vacuum the partner
    and cohort rows now (rewritten months leave as many dead rows behind), not at
    autovacuum's turn, so the analytics read a compact table."""
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("program_partner_months", "program_cohort_revenue"):
            conn.execute(text(f"VACUUM (ANALYZE) {table}"))
