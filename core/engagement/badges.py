"""Badges as data (rules: "Badges"): the catalogue staff extend in the back office, what
each rule type means, the worker's scheduled awarding and each partner's progress.

Rule types (``Badge.rule``):

- ``count``: the partner's ``metric`` is at least ``threshold`` (all time).
- ``within_days``: ``metric`` reached ``threshold`` within ``days`` days of approval
  (counting only what happened in that window; ledger metrics and revenue only).
- ``streak``: a weekly streak (``core.engagement.streaks``) of ``threshold`` weeks, the
  longest one ever counting.
- ``rank``: top ``threshold`` (ties share a rank) of active partners by ``metric`` in a
  finished calendar month (UTC), decided once per month by the worker.

Awarding: only the worker's scheduled job (:func:`award_badges`) awards catalogue badges,
to active partners; an award is never taken back (a cancelled deal or a badge staff
switch off keeps the badges already held); ``(partner_id, badge_id)`` is unique and the
insert skips pairs already held, so a retried or doubled job awards once. Each award
notifies the partner (kind ``achievement``) with a link to the badge page.
"""

import re
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select

from core.base.audit import audit
from core.base.errors import ValidationError
from core.base.extensions import db
from core.base.jobs import QUEUE_DEFAULT, TICK_SECONDS, job
from core.base.models import Setting
from core.base.timeutil import month_bounds, now_utc
from core.engagement.models import BADGE_CATEGORIES, BADGE_RULES, Badge, BadgeAward, XpEntry
from core.engagement.streaks import streak_from_weeks, week_start
from core.program.models import Partner

#: Metrics counted from the XP ledger: metric → XP action.
LEDGER_METRICS = {"leads_logged": "lead_logged", "stages_moved": "stage_moved",
                  "deals_won": "deal_won", "modules_passed": "module_passed",
                  "playbooks_published": "playbook_published",
                  "events_attended": "event_attended"}
#: Every metric a badge may count, with the words partners read ("3 of 10 <label>").
METRICS = {
    "leads_logged": "leads logged", "stages_moved": "stage moves",
    "deals_won": "deals won", "modules_passed": "modules passed",
    "playbooks_published": "playbooks published", "events_attended": "events attended",
    "xp": "XP", "revenue_cents": "revenue (cents)",
    "messages_posted": "chat messages", "upvotes_received": "upvotes on your playbooks",
    "recruits": "partners recruited", "recruits_selling": "recruits with a sale",
    "team_members": "team members", "team_deals": "deals by your team",
}
#: Metrics that can be measured inside a time window (``within_days`` and ``rank``).
WINDOW_METRICS = tuple(LEDGER_METRICS) + ("xp", "revenue_cents")
#: Labels of the categories, in display order.
CATEGORY_LABELS = {"selling": "Selling", "learning": "Learning", "community": "Community",
                   "teams": "Teams"}
#: Setting recording the last month whose rank badges were decided (``YYYY-MM``).
RANK_SETTING = "engagement.badges.rank_month"
#: Where an award's notification leads.
BADGES_URL = "/partner/badges"

_KEY = re.compile(r"^[a-z0-9_]{2,60}$")


# --- the catalogue ----------------------------------------------------------------------

def check_badge(values: dict) -> None:
    """Refuse a catalogue row staff cannot save (rules: "Badges"). ``values`` holds
    ``key``, ``name``, ``description``, ``category``, ``icon``, ``rule``, ``metric``,
    ``threshold``, ``days``. Raises ``ValidationError`` with a sentence: a key of 2–60
    lower-case letters, digits or underscores; a name; a known category and rule; a
    metric of ``METRICS`` (of ``WINDOW_METRICS`` for ``within_days`` and ``rank``; none
    needed for ``streak``); a threshold of 1..1,000,000,000; ``days`` 1..3650 for
    ``within_days`` only."""
    key = values.get("key") or ""
    if not _KEY.match(key):
        raise ValidationError("A badge key is 2 to 60 lower-case letters, digits or "
                              "underscores, like first_deal.")
    name = values.get("name") or ""
    if not name.strip() or len(name) > 80:
        raise ValidationError("A badge needs a name of at most 80 characters.")
    if values.get("category") not in BADGE_CATEGORIES:
        raise ValidationError(f"Choose a category: {', '.join(BADGE_CATEGORIES)}.")
    rule = values.get("rule")
    if rule not in BADGE_RULES:
        raise ValidationError(f"Choose a rule type: {', '.join(BADGE_RULES)}.")
    metric = values.get("metric") or ""
    if rule in ("within_days", "rank") and metric not in WINDOW_METRICS:
        raise ValidationError(f"A {rule} badge counts one of: {', '.join(WINDOW_METRICS)}.")
    if rule == "count" and metric not in METRICS:
        raise ValidationError(f"A count badge counts one of: {', '.join(METRICS)}.")
    threshold = values.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or \
            not 1 <= threshold <= 1_000_000_000:
        raise ValidationError("The badge's number (count, weeks or rank) is a whole number "
                              "from 1 to 1,000,000,000.")
    days = values.get("days")
    if rule == "within_days":
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
            raise ValidationError("A within-days badge needs the number of days after "
                                  "approval, from 1 to 3650.")
    elif days is not None:
        raise ValidationError("Days apply to within-days badges only; leave them empty.")


def audit_badge(actor_id: int | None, badge: Badge, created: bool) -> None:
    """Audit a catalogue change (``badge.create`` / ``badge.update``) with its rule."""
    audit(actor_id, "badge.create" if created else "badge.update", "badge", badge.id, None,
          {k: getattr(badge, k) for k in ("key", "name", "category", "rule", "metric",
                                         "threshold", "days", "active")})


def active_badges() -> list[Badge]:
    """The active catalogue in display order (category, position, id)."""
    order = {c: i for i, c in enumerate(BADGE_CATEGORIES)}
    rows = db.session.scalars(select(Badge).where(Badge.active.is_(True))).all()
    return sorted(rows, key=lambda b: (order.get(b.category, 9), b.position, b.id))


# --- metrics ------------------------------------------------------------------------------

def _started():
    return func.coalesce(Partner.approved_at, Partner.created_at)


def metric_values(metric: str, partner_ids: list[int] | None = None,
                  start: datetime | None = None, end: datetime | None = None,
                  window_days: int | None = None) -> dict[int, int]:
    """``{partner_id: value}`` of ``metric`` for active partners (all of them, or
    ``partner_ids``), partners at 0 left out. One query.

    ``start``/``end`` (aware UTC, end exclusive) limit a window metric to a period;
    ``window_days`` limits it to what happened in each partner's first that many days
    after approval (sign-up for partners made active without it). Raises
    ``ValidationError`` for an unknown metric or a window on a metric that has none."""
    from sqlalchemy.orm import aliased

    from core.community.models import Message, Playbook, PlaybookUpvote

    if metric not in METRICS:
        raise ValidationError(f"Unknown badge metric: {metric}.")
    if (start is not None or window_days is not None) and metric not in WINDOW_METRICS:
        raise ValidationError(f"{metric} cannot be counted in a window.")
    where = [Partner.status == "active"]
    if partner_ids is not None:
        where.append(Partner.id.in_(partner_ids))
    if metric in WINDOW_METRICS:
        return _window_metric(metric, where, start, end, window_days)
    if metric == "messages_posted":
        stmt = (select(Partner.id, func.count(Message.id))
                .join(Message, Message.user_id == Partner.user_id)
                .where(*where, Message.deleted_at.is_(None)).group_by(Partner.id))
    elif metric == "upvotes_received":
        stmt = (select(Partner.id, func.count(PlaybookUpvote.id))
                .join(Playbook, Playbook.author_id == Partner.user_id)
                .join(PlaybookUpvote, PlaybookUpvote.playbook_id == Playbook.id)
                .where(*where).group_by(Partner.id))
    else:
        other = aliased(Partner)
        link = other.recruiter_id if metric.startswith("recruits") else other.team_leader_id
        value = func.sum(other.won_deals_count) if metric == "team_deals" \
            else func.count(other.id)
        cond = [other.won_deals_count > 0] if metric == "recruits_selling" else []
        stmt = (select(Partner.id, value).join(other, link == Partner.id)
                .where(*where, other.status == "active", *cond).group_by(Partner.id))
    return {pid: int(v) for pid, v in db.session.execute(stmt).all() if v}


def _window_metric(metric: str, where: list, start, end, window_days) -> dict[int, int]:
    """:func:`metric_values` of a ledger metric, XP or revenue (see there)."""
    from core.money.models import Deal

    if metric == "revenue_cents":
        amount, at = Deal.value_cents, Deal.confirmed_at
        where = [*where, Deal.status == "won"]
        joined = select(Partner.id).join(Deal, Deal.partner_id == Partner.id)
    else:
        amount, at = (XpEntry.points if metric == "xp" else None), XpEntry.earned_at
        if metric != "xp":
            where = [*where, XpEntry.action == LEDGER_METRICS[metric]]
        joined = select(Partner.id).join(XpEntry, XpEntry.partner_id == Partner.id)
    if start is not None:
        where = [*where, at >= start, at < end]
    if window_days is not None:
        # compared in Python: date arithmetic in SQL differs between databases
        out: dict[int, int] = defaultdict(int)
        stmt = joined.add_columns(_started(), at, amount if amount is not None
                                  else at).where(*where)
        for pid, began, when, value in db.session.execute(stmt).all():
            if when <= began + timedelta(days=window_days):
                out[pid] += int(value) if amount is not None else 1
        return {pid: v for pid, v in out.items() if v}
    value = func.sum(amount) if amount is not None else func.count()
    stmt = joined.add_columns(value).where(*where).group_by(Partner.id)
    return {pid: int(v) for pid, v in db.session.execute(stmt).all() if v}


def _streaks(partner_ids: list[int] | None, now: datetime) -> dict[int, dict]:
    """``{partner_id: streak}`` for active partners with XP (one query)."""
    stmt = (select(Partner.id, Partner.timezone, XpEntry.earned_at)
            .join(XpEntry, XpEntry.partner_id == Partner.id)
            .where(Partner.status == "active"))
    if partner_ids is not None:
        stmt = stmt.where(Partner.id.in_(partner_ids))
    weeks: dict[int, set] = defaultdict(set)
    zones: dict[int, str] = {}
    for pid, tz, at in db.session.execute(stmt).all():
        zones[pid] = tz or "UTC"
        weeks[pid].add(week_start(at, zones[pid]))
    return {pid: streak_from_weeks(w, week_start(now, zones[pid])) for pid, w in weeks.items()}


def _previous_month(now: datetime) -> tuple[str, datetime, datetime]:
    year, month = (now.year - 1, 12) if now.month == 1 else (now.year, now.month - 1)
    start, end = month_bounds(year, month)
    return f"{year:04d}-{month:02d}", start, end


def ranks(values: dict[int, int]) -> dict[int, int]:
    """Competition ranks of ``{partner_id: value}`` (highest first, ties share a rank:
    1, 1, 3), values of 0 left out."""
    ordered = sorted((v for v in values.values() if v > 0), reverse=True)
    first = {}
    for i, v in enumerate(ordered):
        first.setdefault(v, i + 1)
    return {pid: first[v] for pid, v in values.items() if v > 0}


# --- awarding -----------------------------------------------------------------------------

def qualifying(badges: list[Badge], now: datetime, partner_ids: list[int] | None = None,
               rank_month: tuple[datetime, datetime] | None = None) -> set[tuple[int, int]]:
    """``(partner_id, badge_id)`` pairs whose rule holds now, for active partners.

    ``rank_month`` (``(start, end)``) is the finished month rank badges are decided for;
    ``None`` leaves rank badges out. One query per metric (and window) in use."""
    out: set[tuple[int, int]] = set()
    cache: dict = {}

    def values(metric, **kw):
        key = (metric, tuple(sorted(kw.items())))
        if key not in cache:
            cache[key] = metric_values(metric, partner_ids, **kw)
        return cache[key]

    streaks = None
    for b in badges:
        if b.rule == "count":
            got = values(b.metric)
        elif b.rule == "within_days":
            got = values(b.metric, window_days=b.days)
        elif b.rule == "streak":
            if streaks is None:
                streaks = _streaks(partner_ids, now)
            got = {pid: s["best"] for pid, s in streaks.items()}
        elif rank_month is not None:
            ranked = ranks(values(b.metric, start=rank_month[0], end=rank_month[1]))
            out |= {(pid, b.id) for pid, r in ranked.items() if r <= b.threshold}
            continue
        else:
            continue
        out |= {(pid, b.id) for pid, v in got.items() if v >= b.threshold}
    return out


def _insert_awards(pairs: list[tuple[int, int]], at: datetime) -> list[tuple[int, int]]:
    """Insert awards, skipping pairs already held (also by a racing transaction); returns
    the pairs inserted. One statement."""
    if not pairs:
        return []
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = (insert(BadgeAward).values([{"partner_id": p, "badge_id": b, "awarded_at": at}
                                       for p, b in pairs])
            .on_conflict_do_nothing(index_elements=["partner_id", "badge_id"])
            .returning(BadgeAward.partner_id, BadgeAward.badge_id))
    return [tuple(r) for r in db.session.execute(stmt).all()]


#: Most badges of one run that each get a notice of their own; more make one notice.
NOTICES_ONE_BY_ONE = 2


def award_badges_now(now: datetime | None = None) -> dict:
    """Award every catalogue badge whose rule now holds (rules: "Badges"); idempotent.

    Rank badges are decided for the previous calendar month (UTC) once: the month is
    recorded in the ``RANK_SETTING`` setting in the same transaction. Returns
    ``{"awarded": int, "rank_month": "YYYY-MM" | None}``. Each new award notifies its
    partner (kind ``achievement``), pushed after commit; more than
    ``NOTICES_ONE_BY_ONE`` at once (a first run over a partner's history) make one notice
    naming them."""
    from core.community.notifications import notify

    now = now or now_utc()
    badges = active_badges()
    period, start, end = _previous_month(now)
    setting = db.session.get(Setting, RANK_SETTING)
    decide = setting is None or setting.value < period
    wanted = qualifying(badges, now, rank_month=(start, end) if decide else None)
    held = set(db.session.execute(select(BadgeAward.partner_id, BadgeAward.badge_id)).all())
    made = _insert_awards(sorted(wanted - held), now)
    if decide:
        if setting is None:
            db.session.add(Setting(key=RANK_SETTING, value=period))
        else:
            setting.value = period
    by_id = {b.id: b for b in badges}
    users = dict(db.session.execute(select(Partner.id, Partner.user_id).where(
        Partner.id.in_({p for p, _ in made}))).all()) if made else {}
    earned: dict[int, list[Badge]] = {}
    for pid, bid in made:
        earned.setdefault(pid, []).append(by_id[bid])
    for pid, got in earned.items():
        if len(got) <= NOTICES_ONE_BY_ONE:
            for b in got:
                notify(users[pid], "achievement", f"Badge earned: {b.name}", b.description,
                       BADGES_URL)
        else:  # a first run over a partner's history: one notice, not a flood
            names = ", ".join(b.name for b in got[:3])
            more = f" and {len(got) - 3} more" if len(got) > 3 else ""
            notify(users[pid], "achievement", f"{len(got)} badges earned",
                   f"{names}{more}. See them all on your badge page.", BADGES_URL)
    return {"awarded": len(made), "rank_month": period if decide else None}


@job(queue=QUEUE_DEFAULT, every=TICK_SECONDS)
def award_badges() -> dict:
    """The worker's scheduled badge awarding, every tick: :func:`award_badges_now`."""
    return award_badges_now()


# --- reading ------------------------------------------------------------------------------

def badge_board(partner: Partner, now: datetime | None = None) -> dict:
    """The badge page of one partner: every active badge with their standing.

    Returns ``{"earned": int, "total": int, "categories": [{"key", "label", "badges":
    [{"key", "name", "description", "icon", "rule", "earned": bool, "awarded_at":
    datetime | None, "done": int | None, "target": int, "percent": int, "closed":
    bool (a within-days window that ended unearned)}]}]}``. Badges earned and later
    switched off by staff are listed too (never taken back)."""
    now = now or now_utc()
    held = dict(db.session.execute(select(BadgeAward.badge_id, BadgeAward.awarded_at)
                                   .where(BadgeAward.partner_id == partner.id)).all())
    badges = active_badges()
    badges += [b for b in db.session.scalars(select(Badge).where(
        Badge.id.in_(list(held)), Badge.active.is_(False)))] if held else []
    ids = [partner.id]
    cache: dict = {}
    streak = None
    started = partner.approved_at or partner.created_at
    cats = {c: [] for c in BADGE_CATEGORIES}
    for b in badges:
        done, closed = None, False
        if b.rule == "count":
            key = (b.metric, None)
            if key not in cache:
                cache[key] = metric_values(b.metric, ids).get(partner.id, 0)
            done = cache[key]
        elif b.rule == "within_days":
            key = (b.metric, b.days)
            if key not in cache:
                cache[key] = metric_values(b.metric, ids, window_days=b.days).get(partner.id, 0)
            done = cache[key]
            closed = started is not None and now > started + timedelta(days=b.days)
        elif b.rule == "streak":
            if streak is None:
                streak = _streaks(ids, now).get(partner.id, {"best": 0})
            done = streak["best"]
        earned = b.id in held
        target = b.threshold
        percent = 100 if earned else (min(100, int(100 * done / target)) if done is not None
                                       else 0)
        cats[b.category].append({
            "key": b.key, "name": b.name, "description": b.description, "icon": b.icon,
            "rule": b.rule, "earned": earned, "awarded_at": held.get(b.id),
            "done": None if done is None else min(done, target), "target": target,
            "percent": percent, "closed": closed and not earned})
    return {"earned": sum(1 for b in badges if b.id in held), "total": len(badges),
            "categories": [{"key": c, "label": CATEGORY_LABELS[c], "badges": rows}
                           for c, rows in cats.items() if rows]}
