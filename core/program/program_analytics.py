"""Staff program analytics: what the program earns and costs, who and what brings it
(rules: "Analytics")."""

import csv
import io
from collections import defaultdict
from contextlib import contextmanager
from datetime import date, timedelta

from sqlalchemy import (
    and_,
    exists,
    func,
    literal_column,
    select,
    text,
    union,
    union_all,
)

from core.accounts.models import User
from core.base.extensions import db
from core.base.timeutil import now_utc
from core.content.models import LandingPage
from core.money.models import Commission, Deal
from core.program.analytics import _as_date, _bounds, _day_of, clicks_by_link
from core.program.models import (
    LEAD_STAGES,
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
    ReferralLink,
    Tier,
)
from core.program.program_figures import (
    State,
    as_date,
    at,
    corrections,
    month_of,
    months_between,
    next_month,
    spans_of,
    sql_month,
    within,
)

#: An approved partner counts as activated with a lead within this many days.
ACTIVATION_DAYS = 30
TOP = 10


def parse_range(start, end) -> tuple[date, date]:
    """``from``/``to`` (``YYYY-MM-DD``); default the last 12 months (from the 1st of the
    month 11 months ago to today). ``from`` after ``to``, a bad date or over two years
    raises ``ValidationError`` (422), as for the partner's analytics."""
    from core.program.analytics import parse_range as partner_range

    if start is None:
        try:
            last = date.fromisoformat(end) if end else now_utc().date()
        except (TypeError, ValueError):
            last = now_utc().date()  # the bad ``to`` is refused below
        first = last.replace(day=1)
        for _ in range(11):
            first = (first - timedelta(days=1)).replace(day=1)
        start = first.isoformat()
    s, e, _group = partner_range(start, end, "month")
    return s, e


def _plus_days(column, days: int):
    """``column`` + ``days`` in SQL (SQLite keeps times as text, so date arithmetic
    is its ``datetime()`` there)."""
    if db.engine.dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d %H:%M:%f", column, f"+{days} days")
    return column + literal_column(f"INTERVAL '{int(days)} days'")


def _early_lead():
    """A lead of the partner within :data:`ACTIVATION_DAYS` of approval (SQL EXISTS)."""
    return exists().where(Lead.partner_id == Partner.id, Lead.created_at >= Partner.approved_at,
                          Lead.created_at < _plus_days(Partner.approved_at, ACTIVATION_DAYS))


def _month(day: date) -> date:
    return day.replace(day=1)


def _ratio_bps(a: int, b: int) -> int | None:
    return a * 10000 // b if b else None


def program_analytics(start: date, end: date) -> dict:
    """The program between ``start`` and ``end`` (UTC days, both included); the figures
    of :func:`raw_program_analytics`, read from the worker's monthly roll-ups for the months
    the range holds whole (this month: its rows so far, when the range runs to today), put
    right per month and partner for the deals, commissions and leads written since
    (:func:`~core.program.program_figures.corrections`), and from the raw rows for the rest
    (the range's cut months, cohorts whose activation windows are still open). Before the
    first roll-up: the raw computation (rules: "Program roll-ups")."""
    st = State.load()
    if st.through is None:
        return raw_program_analytics(start, end)
    if db.engine.dialect.name == "postgresql":
        # this transaction only: no JIT compile (tens of ms a statement, for statements that
        # run in a few hundred) and no parallel workers (starting them costs more than
        # they save on statements of tens of ms, on two cores shared with the web)
        db.session.execute(text("SET LOCAL jit = off"))
        db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    lo, hi = _bounds(start, end)
    changed = st.changed_lead_months()  # for the landing pages' leads
    in_range = months_between(start, end)
    # months with partner rows that the range holds whole (this month: up to today)
    rolled = [m for m in in_range if m < st.rows_through() and _whole(m, start, end)]
    raw = spans_of([m for m in in_range if m not in rolled], start, end)
    # deals, commissions and leads written since the roll-up: put right per month and partner
    fix = corrections(st).subquery()
    fixes = [(as_date(m), pid, int(rev or 0), int(com or 0), int(p or 0), approved_at)
             for m, pid, rev, com, p, approved_at in db.session.execute(
                 select(fix.c.m, fix.c.pid, fix.c.rev, fix.c.com, fix.c.paid,
                        Partner.approved_at).join(Partner, Partner.id == fix.c.pid))]

    months = {m: {"revenue_cents": 0, "commission_cents": 0} for m in in_range}
    paid = 0
    if rolled:
        for row in db.session.scalars(select(ProgramMonth).where(ProgramMonth.month.in_(rolled))):
            months[as_date(row.month)]["revenue_cents"] += int(row.revenue_cents)
            months[as_date(row.month)]["commission_cents"] += int(row.commission_cents)
            paid += int(row.paid_cents)
        for m, _pid, rev, com, p, _approved_at in fixes:
            if m in months and m in rolled:
                months[m]["revenue_cents"] += rev
                months[m]["commission_cents"] += com
                paid += p
    if raw:
        month = sql_month(Deal.confirmed_at)
        for m, cents in db.session.execute(
                select(month, func.sum(Deal.value_cents))
                .where(Deal.status == "won", within(Deal.confirmed_at, raw)).group_by(month)):
            months[as_date(m)]["revenue_cents"] += int(cents or 0)
        month = sql_month(Commission.created_at)
        for m, cents, p in db.session.execute(
                select(month, func.sum(Commission.amount_cents),
                       func.sum(db.case((Commission.status == "paid", Commission.amount_cents),
                                        else_=0)))
                .where(within(Commission.created_at, raw)).group_by(month)):
            months[as_date(m)]["commission_cents"] += int(cents or 0)
            paid += int(p or 0)
    revenue = sum(v["revenue_cents"] for v in months.values())
    commission = sum(v["commission_cents"] for v in months.values())

    with _roomy():
        active, top_partners, tiers, industries = _partner_figures(
            rolled, raw, select(fix.c.pid, fix.c.rev, fix.c.deals, fix.c.paid, fix.c.leads)
            .where(fix.c.m.in_(rolled)) if rolled else None)
        links = _links_rolled(st, start, end)
    cohorts_changed = st.changed_cohorts()
    closed = list(db.session.scalars(select(ProgramCohort).where(
        ProgramCohort.month < st.cohorts_through)))
    done = [c for c in closed if as_date(c.month) not in cohorts_changed]
    done_before = [c for c in done if at(next_month(as_date(c.month))) <= hi]
    # the other partners approved before hi: open cohorts, changed ones, the one hi cuts
    # (closed months without a cohort row had no approvals: approved_at is set at approval)
    rest = sorted({m for m in cohorts_changed if m < st.cohorts_through}
                  | {as_date(c.month) for c in done if c not in done_before})
    later = [(at(st.cohorts_through), hi)] if hi > at(st.cohorts_through) else []
    raw_activation = _merged(later + [(a, min(b, hi)) for a, b in spans_of(rest) if a < hi])
    cohort_spans, usable = _raw_cohort_spans(start, end, done)
    # one read of the approvals by day for the activation, the approved count and the cohorts
    by_day = _approvals_by_day(_merged(raw_activation + cohort_spans))
    # approved partners: the closed cohorts' (an approval count never changes) and the later
    if later:
        approved = sum(c.approved for c in closed) + sum(
            n for d, (n, _a) in by_day.items() if _inside(d, later))
    else:
        approved = db.session.scalar(select(func.count()).select_from(Partner).where(
            Partner.approved_at.is_not(None), Partner.approved_at < hi)) or 0
    activated = sum(c.activated for c in done_before) + sum(
        a for d, (_n, a) in by_day.items() if _inside(d, raw_activation))

    return _answer(start, end, months, approved, active, activated, revenue, commission,
                   paid, top_partners=top_partners, tiers=tiers,
                   industries=industries, links=links,
                   landing_pages=_pages_rolled(st, start, end, changed),
                   cohorts=_cohorts_rolled(st, start, end, fixes, usable, by_day,
                                           {as_date(c.month): c for c in done}),
                   pipeline=_pipeline_rolled(st))


def _whole(month: date, start: date, end: date) -> bool:
    """Whether the range ``start``..``end`` (UTC days) holds all of ``month`` (its 1st), or
    all of it that has happened (a range running to today)."""
    return month >= start and (next_month(month) - timedelta(days=1) <= end
                               or end >= now_utc().date())


def _full_join_sum(run, rest, key: str, columns: tuple[str, ...]):
    """SQL: the ``run`` rows (one per ``key``) and the ``rest`` rows (one per ``key``)
    joined, each column of ``columns`` added (a missing side counts 0): what a second
    aggregation over both would give, without re-aggregating the run's rows."""
    return select(func.coalesce(run.c[key], rest.c[key]).label(key),
                  *[(func.coalesce(run.c[k], 0) + func.coalesce(rest.c[k], 0)).label(k)
                    for k in columns]) \
        .select_from(run.join(rest, rest.c[key] == run.c[key], full=True))


def _answer(start: date, end: date, months: dict, approved: int, active: int,
            activated: int, revenue: int, commission: int, paid: int, **lists) -> dict:
    """The program analytics' answer (rules: "Analytics") from its sums (cents) and its
    lists (``top_partners``, ``tiers``, ``industries``, ``links``, ``landing_pages``,
    ``cohorts``, ``pipeline``): the one shape the roll-ups' reading and the raw
    computation both return."""
    return {
        "from": start, "to": end,
        "months": [{"month": k, **v} for k, v in sorted(months.items())],
        "partners": {"approved": approved, "active": active, "activated": activated,
                     "activation_rate_bps": _ratio_bps(activated, approved)},
        "revenue_cents": revenue, "commission_cents": commission,
        "commission_paid_cents": paid,
        "revenue_per_partner_cents": revenue // active if active else 0,
        "roi_bps": _ratio_bps(revenue, paid),
        **{key: lists[key] for key in ("top_partners", "tiers", "industries", "links",
                                       "landing_pages", "cohorts", "pipeline")},
    }


@contextmanager
def _roomy():
    """On PostgreSQL, 32 MB of ``work_mem`` for the statements inside (aggregating 50,000
    partners or 100,000 links in memory), then the default again: with it the activation
    check hashed every lead instead of probing the open cohorts' partners (260 ms, not 20)."""
    if db.engine.dialect.name != "postgresql":
        yield
        return
    db.session.execute(text("SET LOCAL work_mem = '32MB'"))
    try:
        yield
    finally:
        db.session.execute(text("SET LOCAL work_mem TO DEFAULT"))


def _pipeline_rolled(st) -> list[dict]:
    """:func:`_pipeline` from the roll-up's totals per stage, less the roll-up's rows of the
    leads changed since (the lead, or a deal on it, written at or after ``since``), plus
    the changed leads' current state."""
    from core.program.program_figures import open_lead, pipeline_value

    t = ProgramPipelineLead
    changed = union(select(Lead.id).where(Lead.updated_at >= st.since),
                    select(Deal.lead_id).where(Deal.updated_at >= st.since)).subquery()
    ids = select(changed.c[0])
    rows = {s: [0, 0] for s in LEAD_STAGES}

    def add(q, sign):
        for s, n, v in db.session.execute(q):
            r = rows.setdefault(s, [0, 0])
            r[0] += sign * int(n)
            r[1] += sign * int(v or 0)

    stage = ProgramPipelineStage
    add(select(stage.status, stage.leads, stage.value_cents), 1)
    add(select(t.status, func.count(), func.sum(t.value_cents)).where(t.lead_id.in_(ids))
        .group_by(t.status), -1)
    add(select(Lead.status, func.count(), func.sum(pipeline_value()))
        .where(Lead.id.in_(ids), open_lead()).group_by(Lead.status), 1)
    return [{"stage": s, "leads": rows[s][0], "value_cents": rows[s][1]} for s in LEAD_STAGES]


def _per_partner_sums(rolled: list[date], raw: list, fix=None):
    """The per-partner sums over the rolled months (two partner rows per run of months),
    ``fix`` (the corrections of :func:`corrections` as ``(pid, rev, deals, paid, leads)``)
    and the raw spans, as a SQL CTE ``per_partner`` (``pid``, ``rev`` cents, ``deals``,
    ``paid`` cents, ``leads``), or ``None`` when there is nothing to read."""
    from sqlalchemy import literal
    from sqlalchemy.orm import aliased

    zero = literal(0)
    parts, raw_parts = [], []
    for a, b in _runs(rolled):  # a run of months: the last row's figures so far, less the first's
        last, first = ProgramPartnerMonth, aliased(ProgramPartnerMonth)

        def so_far(before, figure, first_before):
            return before + figure - func.coalesce(first_before, 0)

        parts.append(
            select(last.partner_id.label("pid"),
                   so_far(last.revenue_before_cents, last.revenue_cents,
                          first.revenue_before_cents).label("rev"),
                   so_far(last.deals_before, last.deals, first.deals_before).label("deals"),
                   so_far(last.paid_before_cents, last.paid_cents,
                          first.paid_before_cents).label("paid"),
                   so_far(last.leads_before, last.leads, first.leads_before).label("leads"))
            .outerjoin(first, and_(first.partner_id == last.partner_id, first.month == a))
            .where(last.month == b))
    if raw:
        raw_parts = [
            select(Deal.partner_id.label("pid"), Deal.value_cents.label("rev"),
                   literal(1).label("deals"), zero.label("paid"), zero.label("leads"))
            .where(Deal.status == "won", within(Deal.confirmed_at, raw)),
            select(Commission.partner_id, zero, zero, Commission.amount_cents, zero)
            .where(Commission.status == "paid", within(Commission.created_at, raw)),
            select(Lead.partner_id, zero, zero, zero, literal(1))
            .where(within(Lead.created_at, raw))]
    if fix is not None:  # (pid, rev, deals, paid, leads): the rolled months' corrections
        f = fix.subquery()
        raw_parts.append(select(f.c.pid.label("pid"), f.c.rev.label("rev"),
                                f.c.deals.label("deals"), f.c.paid.label("paid"),
                                f.c.leads.label("leads")))
    def summed(selects):
        u = (union_all(*selects) if len(selects) > 1 else selects[0]).subquery()
        return select(u.c.pid, func.sum(u.c.rev).label("rev"),
                      func.sum(u.c.deals).label("deals"), func.sum(u.c.paid).label("paid"),
                      func.sum(u.c.leads).label("leads")).group_by(u.c.pid)

    if not parts and not raw_parts:
        return None
    if len(parts) != 1 or not raw_parts:
        return summed(parts + raw_parts).cte("per_partner")
    # one run (a row per partner) beside the raw rows summed per partner: joined, not
    # summed again (the run's 50,000 rows skip a second aggregation)
    return _full_join_sum(parts[0].subquery(), summed(raw_parts).subquery(), "pid",
                          ("rev", "deals", "paid", "leads")).cte("per_partner")


def _runs(months: list[date]) -> list[tuple[date, date]]:
    """The months (1sts) as runs of consecutive months ``(first, last)``."""
    runs = []
    for m in sorted(months):
        if runs and next_month(runs[-1][1]) == m:
            runs[-1] = (runs[-1][0], m)
        else:
            runs.append((m, m))
    return runs


def _partner_figures(rolled: list[date], raw: list, fix=None) -> tuple[int, list, list, list]:
    """``(partners with a lead, top partners, tiers, industries)`` over the rolled months and
    the raw spans, in one SQL statement over the per-partner sums (the grouping happens in
    the database: 50,000 partners never reach Python; tiers and industries come as one
    tier x industry grouping, summed per side here). Tiers and industries: active
    partners and their revenue, revenue down, then the name as the database sorts it (no
    name last on PostgreSQL, first on SQLite), as :func:`_by` orders them."""
    from sqlalchemy import cast, literal, null, union_all
    from sqlalchemy.types import BigInteger, Integer, String

    pp = _per_partner_sums(rolled, raw, fix)
    if pp is None:
        return 0, [], *_partner_groups(None)

    def row(kind, ident, name, tag, a, b, c):
        return (literal(kind).label("kind"), cast(ident, Integer).label("ident"),
                cast(name, String).label("name"), cast(tag, String).label("tag"),
                cast(a, BigInteger).label("a"), cast(b, BigInteger).label("b"),
                cast(c, BigInteger).label("c"))

    active = select(*row("active", null(), null(), null(), func.count(), 0, 0)) \
        .where(pp.c.leads > 0)
    best = (select(pp.c.pid, pp.c.rev, pp.c.deals, pp.c.paid).where(pp.c.deals > 0)
            .order_by(pp.c.rev.desc(), pp.c.pid).limit(TOP).subquery())
    top = (select(best, User.name).join(Partner, Partner.id == best.c.pid)
           .join(User, User.id == Partner.user_id).subquery())
    # tier x industry in one pass over the active partners; each side summed below
    group = (select(Tier.name.label("tier"), Partner.industry.label("industry"),
                    func.count().label("n"), func.coalesce(func.sum(pp.c.rev), 0).label("rev"))
             .select_from(Partner).outerjoin(Tier, Tier.id == Partner.tier_id)
             .outerjoin(pp, pp.c.pid == Partner.id).where(Partner.status == "active")
             .group_by(Tier.name, Partner.industry).subquery())
    parts = [active,
             select(*row("top", top.c.pid, top.c.name, null(), top.c.rev, top.c.deals,
                         top.c.paid)),
             select(*row("group", null(), group.c.industry, group.c.tier, group.c.n,
                         group.c.rev, 0))]
    n_active, tops = 0, []
    groups = {"tier": defaultdict(lambda: [0, 0]), "industry": defaultdict(lambda: [0, 0])}
    for kind, ident, name, tag, a, b, c in db.session.execute(union_all(*parts)):
        if kind == "active":
            n_active = int(a)
        elif kind == "top":
            tops.append((int(a), ident, name, int(b), int(c)))
        else:  # a tier x industry cell: to its industry, and to its tier when it has one
            sides = [("industry", name)] + ([("tier", tag)] if tag is not None else [])
            for side, key in sides:
                groups[side][key][0] += int(a)
                groups[side][key][1] += int(b)
    tops.sort(key=lambda t: (-t[0], t[1]))
    top_list = [{"partner_id": pid, "name": name, "deals": d, "revenue_cents": r,
                 "commission_paid_cents": p, "roi_bps": _ratio_bps(r, p)}
                for r, pid, name, d, p in tops]
    return n_active, top_list, *_partner_groups(
        {side: [(k, n, rev) for k, (n, rev) in g.items()] for side, g in groups.items()})


def _partner_groups(groups: dict | None) -> tuple[list[dict], list[dict]]:
    """The tiers' and industries' rows from ``{"tier": [(name, partners, revenue cents)],
    "industry": [...]}`` (``None``: every active partner with no revenue), ordered as
    :func:`_by` orders them."""
    if groups is None:
        groups = {"tier": [], "industry": []}
        for kind, column in (("tier", Tier.name), ("industry", Partner.industry)):
            q = select(column, func.count()).select_from(Partner)
            q = q.join(Tier, Tier.id == Partner.tier_id) if kind == "tier" else q
            groups[kind] = [(name, int(n), 0) for name, n in db.session.execute(
                q.where(Partner.status == "active").group_by(column))]
    none_last = db.engine.dialect.name == "postgresql"

    def ordered(rows):
        rows = sorted(rows, key=lambda r: (
            -r[2], (r[0] is None) if none_last else (r[0] is not None), r[0] or ""))
        return [{"name": name or "(none)", "partners": n, "revenue_cents": rev}
                for name, n, rev in rows[:20]]

    return ordered(groups["tier"]), ordered(groups["industry"])


def _link_split(st, start: date, end: date, changed: set):
    """(months read from the link roll-ups, the rest as ``(first day, last day)`` ranges)."""
    in_range = months_between(start, end)
    rolled = [m for m in in_range if st.links_through is not None and m < st.links_through
              and m not in changed and m >= start and next_month(m) - timedelta(days=1) <= end]
    days = [(a.date(), (b - timedelta(days=1)).date())
            for a, b in spans_of([m for m in in_range if m not in rolled], start, end)]
    return rolled, days


def _links_rolled(st, start: date, end: date) -> list[dict]:
    """:func:`_links` from the monthly link roll-ups (the range's whole rolled-up months,
    and the next month's rows so far when the range holds all their days: each link's
    clicks before the last one plus its clicks, less its clicks before the first one)
    plus the raw rest (the daily click roll-ups, then the raw clicks after them), ranked in
    one SQL statement."""
    from sqlalchemy import literal

    from core.program.analytics import rolled_up_through
    from core.program.models import ReferralClick, ReferralClickDay

    # rolled-up clicks never change (a changed month's leads do not matter here): the
    # whole rolled months of the range are one run, read as two rows' difference per link
    rolled, days = _link_split(st, start, end, set())
    run = (rolled[0], rolled[-1]) if rolled else None
    # the run goes on into the month with link rows so far when the range holds all of them
    so_far, to_date = st.links_through, st.links_to_date
    if to_date is not None and end >= to_date and start <= so_far and (
            (rolled and next_month(rolled[-1]) == so_far) or (not rolled and start == so_far)):
        run = (run[0] if run else so_far, so_far)
        days = [(a, b) for a, b in days if b < run[0]] \
            + ([(to_date + timedelta(days=1), end)] if end > to_date else [])
    through = rolled_up_through()
    parts, run_rows = [], None
    if run:
        from sqlalchemy.orm import aliased

        last, first = ProgramLinkMonth, aliased(ProgramLinkMonth)
        run_rows = (
            select(last.link_id.label("k"),
                   (last.clicks_before + last.clicks
                    - func.coalesce(first.clicks_before, 0)).label("n"))
            .outerjoin(first, and_(first.link_id == last.link_id, first.month == run[0]))
            .where(last.month == run[1]))
    for a, b in days:
        if through is not None and a <= through:
            d = ReferralClickDay
            parts.append(select(d.link_key.label("k"), d.clicks.label("n")).where(
                d.day >= a, d.day <= min(b, through), d.link_key != 0))
        raw_from = max(a, through + timedelta(days=1)) if through is not None else a
        if raw_from <= b:
            lo, hi = _bounds(raw_from, b)
            parts.append(select(ReferralClick.link_id.label("k"), literal(1).label("n")).where(
                ReferralClick.link_id.is_not(None), ReferralClick.created_at >= lo,
                ReferralClick.created_at < hi))
    per_link = None
    if parts:  # the rest summed per link
        u = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery()
        per_link = select(u.c.k, func.sum(u.c.n).label("n")).group_by(u.c.k).subquery()
    if run_rows is not None:  # the run (a row per link) joined to it, not summed again
        r = run_rows.subquery()
        per_link = r if per_link is None else _full_join_sum(r, per_link, "k", ("n",)).subquery()
    top = []
    if per_link is not None:
        top = [(k, int(n)) for k, n in db.session.execute(
            select(per_link.c.k, per_link.c.n).where(per_link.c.n > 0)
            .order_by(per_link.c.n.desc(), per_link.c.k).limit(TOP))]
    return _link_rows(top, start, end)


def _link_rows(top: list[tuple[int, int]], start: date, end: date) -> list[dict]:
    """The top links' rows from ``[(link_id, clicks), ...]``, best first: each link's
    partner, name and leads created in ``[start, end]``. Two queries."""
    ids = [k for k, _ in top]
    lo, hi = _bounds(start, end)
    leads = dict(db.session.execute(select(Lead.link_id, func.count()).where(
        Lead.link_id.in_(ids), Lead.created_at >= lo, Lead.created_at < hi)
        .group_by(Lead.link_id)).all()) if ids else {}
    rows = {r.id: r for r in db.session.scalars(select(ReferralLink).where(
        ReferralLink.id.in_(ids)))}
    return [{"link_id": k, "partner_id": rows[k].partner_id, "name": rows[k].name,
             "clicks": n, "leads": int(leads.get(k, 0))} for k, n in top]


def _pages_rolled(st, start: date, end: date, changed: set) -> list[dict]:
    """:func:`_landing_pages` from the monthly landing-page roll-ups plus the raw rest."""
    rolled, days = _link_split(st, start, end, changed)
    clicks, leads = defaultdict(int), defaultdict(int)
    if rolled:
        t = ProgramPageMonth
        for pid, c, n in db.session.execute(
                select(t.landing_page_id, func.sum(t.clicks), func.sum(t.leads))
                .where(t.month.in_(rolled)).group_by(t.landing_page_id)):
            clicks[pid] += int(c or 0)
            leads[pid] += int(n or 0)
    for a, b in days:
        for pid, c in clicks_by_link(a, b, group_by="page").items():
            clicks[pid] += c
        lo, hi = _bounds(a, b)
        for pid, n in db.session.execute(
                select(ReferralLink.landing_page_id, func.count())
                .join(Lead, Lead.link_id == ReferralLink.id)
                .where(Lead.created_at >= lo, Lead.created_at < hi,
                       ReferralLink.landing_page_id.is_not(None))
                .group_by(ReferralLink.landing_page_id)):
            leads[pid] += int(n)
    pages = db.session.scalars(select(LandingPage).order_by(LandingPage.title))
    return [{"landing_page_id": p.id, "title": p.title, "clicks": clicks.get(p.id, 0),
             "leads": int(leads.get(p.id, 0))} for p in pages]


def _raw_cohort_spans(start: date, end: date, done: list) -> tuple[list, list[date]]:
    """(the spans of the range's cohort months counted from the raw rows, the months read
    from the cohort roll-ups: closed, unchanged and wholly in the range)."""
    in_range = months_between(start, end)
    closed = {as_date(c.month) for c in done}
    usable = [c for c in in_range if c in closed and c >= start
              and next_month(c) - timedelta(days=1) <= end]
    return spans_of([c for c in in_range if c not in usable], start, end), usable


def _merged(spans: list) -> list:
    """The ``[start, end)`` spans sorted and merged."""
    out = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _inside(day: date, spans: list) -> bool:
    """Whether the UTC day ``day`` lies in one of the day-aligned ``[start, end)`` spans."""
    moment = at(day)
    return any(a <= moment < b for a, b in spans)


def _approvals_by_day(spans: list) -> dict:
    """``{UTC day: (partners approved, of them activated)}`` for the partners approved
    within the ``[start, end)`` spans (one query; activation: a lead within
    :data:`ACTIVATION_DAYS` of approval)."""
    if not spans:
        return {}
    day = _day_of(Partner.approved_at)
    return {_as_date(d): (int(n), int(act or 0)) for d, n, act in db.session.execute(
        select(day, func.count(), func.sum(db.case((_early_lead(), 1), else_=0)))
        .where(within(Partner.approved_at, spans)).group_by(day))}


def _cohorts_rolled(st, start: date, end: date, fixes: list, usable: list, by_day: dict,
                    done: dict) -> list[dict]:
    """Cohorts of approval months within the range. Counts: closed, unchanged cohorts from
    the roll-ups (``usable``), the others from the approvals by day (``by_day``). Revenue of
    a cohort month wholly in the range (or up to today): its rolled-up cohort revenue, plus
    the partner rows for its partners approved since the last roll-up, plus the
    corrections of its partners (``fixes``, from :func:`corrections` with each partner's
    approval time), plus its deals confirmed since the rolled months; a cohort month the
    range cuts: raw."""
    in_range = months_between(start, end)
    whole = [c for c in in_range if _whole(c, start, end)]
    out = _cohort_counts(spans_of([c for c in in_range if c not in usable], start, end),
                         revenue_spans=spans_of([c for c in in_range if c not in whole],
                                                start, end), by_day=by_day)
    for c in usable:
        out[c] = {"approved": done[c].approved, "activated": done[c].activated,
                  "revenue_cents": 0}
    if not whole:
        return _cohort_rows(out)
    cohort = sql_month(Partner.approved_at)
    spans = spans_of(whole)
    members = within(Partner.approved_at, spans)
    r, t = ProgramCohortRevenue, ProgramPartnerMonth
    rows_through = st.rows_through()
    parts = union_all(
        select(r.cohort.label("c"), r.revenue_cents.label("rev"))
        .where(r.cohort.in_(whole), r.month < rows_through),
        select(cohort, t.revenue_cents).join(t, t.partner_id == Partner.id)
        .where(members, Partner.approved_at >= st.since, t.month < rows_through),
        select(cohort, Deal.value_cents).join(Deal, Deal.partner_id == Partner.id)
        .where(members, Deal.status == "won", Deal.confirmed_at >= at(rows_through))).subquery()
    for c, rev in db.session.execute(select(parts.c.c, func.sum(parts.c.rev))
                                     .group_by(parts.c.c)):
        row = out[as_date(c)]
        row["revenue_cents"] += int(rev or 0)
    for _m, _pid, rev, _com, _paid, approved_at in fixes:
        if approved_at is not None and any(a <= approved_at < b for a, b in spans):
            out[month_of(approved_at.date())]["revenue_cents"] += rev
    return _cohort_rows(out)


def _cohort_rows(out: dict) -> list[dict]:
    return [{"month": k, **v, "activation_rate_bps": _ratio_bps(v["activated"], v["approved"])}
            for k, v in sorted(out.items())]


def raw_program_analytics(start: date, end: date) -> dict:
    """The definition of :func:`program_analytics`, computed from every raw row (what the
    roll-ups must always equal; the tests compare both). The program between ``start`` and ``end`` (UTC days, both included).

    Returns ``{"from", "to", "months": [{"month", "revenue_cents", "commission_cents"}],
    "partners": {"approved", "active", "activated", "activation_rate_bps"},
    "revenue_cents", "commission_cents", "commission_paid_cents",
    "revenue_per_partner_cents", "roi_bps", "top_partners", "tiers", "industries",
    "links", "landing_pages", "cohorts", "pipeline"}``. Revenue: won deals confirmed in
    the range (cancelled left out); commission: commissions created in the range (all
    types, adjustments included); paid: those of them paid. ROI: revenue ÷ commission
    paid, in basis points (null when nothing was paid). Activation: approved partners
    with a lead within 30 days of approval."""
    lo, hi = _bounds(start, end)
    won = [Deal.status == "won", Deal.confirmed_at >= lo, Deal.confirmed_at < hi]
    made = [Commission.created_at >= lo, Commission.created_at < hi]
    months = defaultdict(lambda: {"revenue_cents": 0, "commission_cents": 0})
    m = _month(start)
    while m <= end:
        months[m]
        m = (m.replace(day=28) + timedelta(days=4)).replace(day=1)
    for day, cents in db.session.execute(select(_day_of(Deal.confirmed_at),
                                                func.sum(Deal.value_cents))
                                         .where(*won).group_by(_day_of(Deal.confirmed_at))):
        months[_month(_as_date(day))]["revenue_cents"] += int(cents or 0)
    for day, cents in db.session.execute(select(_day_of(Commission.created_at),
                                                func.sum(Commission.amount_cents))
                                         .where(*made).group_by(_day_of(Commission.created_at))):
        months[_month(_as_date(day))]["commission_cents"] += int(cents or 0)
    revenue = sum(v["revenue_cents"] for v in months.values())
    commission = sum(v["commission_cents"] for v in months.values())
    paid = int(db.session.scalar(select(func.coalesce(func.sum(Commission.amount_cents), 0))
                                 .where(*made, Commission.status == "paid")) or 0)

    approved = db.session.scalar(select(func.count()).select_from(Partner).where(
        Partner.approved_at.is_not(None), Partner.approved_at < hi)) or 0
    active = db.session.scalar(select(func.count(func.distinct(Lead.partner_id))).where(
        Lead.created_at >= lo, Lead.created_at < hi)) or 0
    early = _early_lead()
    activated = db.session.scalar(select(func.count()).select_from(Partner).where(
        Partner.approved_at.is_not(None), Partner.approved_at < hi, early)) or 0

    return _answer(start, end, months, approved, active, activated, revenue, commission,
                   paid, top_partners=_top_partners(won, made),
                   tiers=_by(Tier.name, won, join_tier=True),
                   industries=_by(Partner.industry, won), links=_links(start, end),
                   landing_pages=_landing_pages(start, end),
                   cohorts=_cohorts(_bounds(start, end)), pipeline=_pipeline())


def _top_partners(won, made) -> list[dict]:
    rows = db.session.execute(
        select(Deal.partner_id, func.sum(Deal.value_cents).label("rev"), func.count())
        .where(*won).group_by(Deal.partner_id).order_by(func.sum(Deal.value_cents).desc(),
                                                        Deal.partner_id).limit(TOP)).all()
    ids = [r[0] for r in rows]
    paid = dict(db.session.execute(select(Commission.partner_id, func.sum(Commission.amount_cents))
                                   .where(*made, Commission.status == "paid",
                                          Commission.partner_id.in_(ids))
                                   .group_by(Commission.partner_id)).all()) if ids else {}
    names = {p.id: p for p in db.session.scalars(select(Partner).where(Partner.id.in_(ids)))}
    out = []
    for pid, rev, deals in rows:
        p = names[pid]
        out.append({"partner_id": pid, "name": p.user.name, "deals": int(deals),
                    "revenue_cents": int(rev or 0),
                    "commission_paid_cents": int(paid.get(pid) or 0),
                    "roi_bps": _ratio_bps(int(rev or 0), int(paid.get(pid) or 0))})
    return out


def _by(column, won, join_tier: bool = False) -> list[dict]:
    """Partners and revenue grouped by ``column`` (a tier's name or the industry)."""
    q = select(column, func.count(func.distinct(Partner.id)),
               func.coalesce(func.sum(Deal.value_cents), 0)).select_from(Partner)
    if join_tier:
        q = q.join(Tier, Tier.id == Partner.tier_id)
    q = q.outerjoin(Deal, and_(Deal.partner_id == Partner.id, *won)) \
        .where(Partner.status == "active").group_by(column) \
        .order_by(func.coalesce(func.sum(Deal.value_cents), 0).desc(), column).limit(20)
    return [{"name": name or "(none)", "partners": int(n), "revenue_cents": int(rev or 0)}
            for name, n, rev in db.session.execute(q)]


def _links(start: date, end: date) -> list[dict]:
    clicks = clicks_by_link(start, end)
    top = sorted(clicks.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    return _link_rows(top, start, end)


def _landing_pages(start: date, end: date) -> list[dict]:
    lo, hi = _bounds(start, end)
    clicks = clicks_by_link(start, end, group_by="page")
    leads = dict(db.session.execute(
        select(ReferralLink.landing_page_id, func.count()).join(Lead, Lead.link_id == ReferralLink.id)
        .where(Lead.created_at >= lo, Lead.created_at < hi,
               ReferralLink.landing_page_id.is_not(None))
        .group_by(ReferralLink.landing_page_id)).all())
    pages = db.session.scalars(select(LandingPage).order_by(LandingPage.title))
    return [{"landing_page_id": p.id, "title": p.title, "clicks": clicks.get(p.id, 0),
             "leads": int(leads.get(p.id, 0))} for p in pages]


def _cohorts(*spans) -> list[dict]:
    """Partners by approval month (approved within the ``[start, end)`` datetime spans):
    approved, activated, revenue of their deals confirmed since."""
    return _cohort_rows(_cohort_counts(spans))


def _cohort_counts(spans, revenue_spans=None, by_day: dict | None = None) -> dict:
    """``{cohort month: {"approved", "activated", "revenue_cents"}}`` from the raw rows for
    the partners approved within ``spans`` (their counts from ``by_day``, the approvals by
    day of :func:`_approvals_by_day` covering the spans, when given); revenue only for
    those approved within ``revenue_spans`` (default: ``spans``)."""
    out = defaultdict(lambda: {"approved": 0, "activated": 0, "revenue_cents": 0})
    revenue_spans = spans if revenue_spans is None else revenue_spans
    if not spans:
        return out
    if by_day is None:
        by_day = _approvals_by_day(list(spans))
    for d, (n, act) in sorted(by_day.items()):
        if _inside(d, list(spans)):
            c = out[_month(d)]
            c["approved"] += n
            c["activated"] += act
    day = _day_of(Partner.approved_at)
    if not revenue_spans:
        return out
    for d, rev in db.session.execute(
            select(day, func.sum(Deal.value_cents)).join(Deal, Deal.partner_id == Partner.id)
            .where(within(Partner.approved_at, list(revenue_spans)), Deal.status == "won")
            .group_by(day)):
        out[_month(_as_date(d))]["revenue_cents"] += int(rev or 0)
    return out


def _pipeline() -> list[dict]:
    """Open pipeline by stage now: leads and value (estimated value; a won lead not yet
    confirmed counts its won value), removed and confirmed leads left out."""
    value = func.coalesce(func.sum(db.case((Lead.status == "won", Lead.won_value_cents),
                                           else_=Lead.estimated_value_cents)), 0)
    confirmed = exists().where(Deal.lead_id == Lead.id)
    rows = dict((s, (int(n), int(v))) for s, n, v in db.session.execute(
        select(Lead.status, func.count(), value).where(Lead.archived_at.is_(None), ~confirmed)
        .group_by(Lead.status)))
    return [{"stage": s, "leads": rows.get(s, (0, 0))[0], "value_cents": rows.get(s, (0, 0))[1]}
            for s in LEAD_STAGES]


def program_csv(data: dict) -> str:
    """The figures as CSV sections: months, top partners, cohorts, pipeline."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["section", "key", "a", "b", "c"])
    for m in data["months"]:
        w.writerow(["month", m["month"].isoformat(), m["revenue_cents"], m["commission_cents"], ""])
    for p in data["top_partners"]:
        name = p["name"]
        name = "'" + name if name[:1] in ("=", "+", "-", "@", "\t", "\r") else name
        w.writerow(["partner", name, p["revenue_cents"], p["commission_paid_cents"],
                    "" if p["roi_bps"] is None else p["roi_bps"]])
    for c in data["cohorts"]:
        w.writerow(["cohort", c["month"].isoformat(), c["approved"], c["activated"],
                    c["revenue_cents"]])
    for s in data["pipeline"]:
        w.writerow(["pipeline", s["stage"], s["leads"], s["value_cents"], ""])
    w.writerow(["total", "", data["revenue_cents"], data["commission_cents"],
                data["commission_paid_cents"]])
    return out.getvalue()
