"""Achievements: the badges of the tier design and the one place their rules live.

Source: tier design seed 004 ("Gamification & Motivation Elements" → "Visual Progress
System": *Achievement Badges: "First Sale", "Quick Starter", "Team Builder", "Top
Performer"*; "Quick Wins: Easy first achievements, fast tier 1 progression"; "Recognition:
Status and achievements visible to peers"; "Monthly Leaderboards") and the customer's
schema (``achievements``; notifications of type ``achievement``); rules: "Achievements".
The seeds name the badges but not their conditions; these are ours, chosen to match the seed's numbers:

=================  ==========================================================  =============
badge              condition                                                   awarded at
=================  ==========================================================  =============
First Sale         the partner's first confirmed won deal                      deal confirmed
Quick Starter      ``QUICK_STARTER_DEALS`` (3, the Active threshold) confirmed  deal confirmed
                   won deals within ``QUICK_STARTER_DAYS`` (30) of approval
                   (seed: Starter's "Expected Timeline: 30-60 days")
Team Builder       ``TEAM_BUILDER_RECRUITS`` (3) partners recruited with your    a recruit's
                   link have each made a first sale (seed: referral bonus "for   first deal;
                   referring other partners who make their first sale")        scheduled
Top Performer      #1 by confirmed revenue in a calendar month (UTC; ties       scheduled,
                   share #1), decided once, after the month ends                once a month
First Month        ``FIRST_MONTH_DAYS`` (30) days as an active partner          scheduled
<Tier> tier        the partner's *computed* tier reached that tier (Active,    tier change;
                   Performer, Elite; seed: "Partners EARN access ... through    scheduled
                   demonstrated results", so a staff override earns none)
=================  ==========================================================  =============

Awarding rules, the same for every badge:

- An award is made in the transaction of the event that earns it (``confirm_deal``,
  ``refresh_tier``, the scheduled job) and commits or rolls back with it.
- Never twice: ``(partner_id, key)`` is unique and rows are written with ``INSERT ... ON
  CONFLICT DO NOTHING``, so a repeated event, a retried job or two racing transactions
  award a badge once; only the insert that wrote the row notifies.
- Never taken back: a cancelled or refunded deal, a demotion or a suspension does not
  remove a badge already earned (the seed's badges celebrate a moment; the ledger, not
  the badge, tracks money). Conditions are checked on counts that exclude cancelled
  deals, so a reversal can delay a badge not yet earned.
- Only active partners earn badges.
- Each award creates an ``achievement`` notification (live over the socket after commit,
  like every notification) linking to the profile's achievements.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, literal, select, text
from sqlalchemy.orm import aliased

from core.base.extensions import db
from core.base.jobs import QUEUE_DEFAULT, TICK_SECONDS, job
from core.base.models import Setting
from core.base.timeutil import month_bounds, now_utc
from core.community.models import Achievement
from core.community.notifications import notify
from core.money.models import Deal
from core.program.models import Partner, Tier

#: Quick Starter: confirmed won deals needed ...
QUICK_STARTER_DEALS = 3
#: ... within this many days of approval.
QUICK_STARTER_DAYS = 30
#: Team Builder: recruits who have each made a first confirmed sale.
TEAM_BUILDER_RECRUITS = 3
#: First Month: days since approval as an active partner.
FIRST_MONTH_DAYS = 30
#: Prefix of the tier badges' keys (``tier_active``...).
TIER_PREFIX = "tier_"
#: Setting that records the last month whose Top Performer was decided (``YYYY-MM``).
TOP_PERFORMER_SETTING = "achievements.top_performer_month"
#: Where an award's notification leads.
PROFILE_URL = "/partner/profile#achievements"


@dataclass(frozen=True)
class Badge:
    """A badge as partners see it: ``key`` (stable id), ``name``, ``condition`` (what
    earns it, one sentence) and ``icon`` (one character shown next to names)."""

    key: str
    name: str
    condition: str
    icon: str


#: The badges that do not depend on the tier table, in display order.
BADGES = (
    Badge("first_sale", "First Sale", "Close your first confirmed deal.", "★"),
    Badge("quick_starter", "Quick Starter",
          f"Close {QUICK_STARTER_DEALS} confirmed deals within {QUICK_STARTER_DAYS} days "
          "of your approval.", "⚡"),
    Badge("team_builder", "Team Builder",
          f"{TEAM_BUILDER_RECRUITS} partners you recruited with your link each make "
          "their first sale.", "♟"),
    Badge("top_performer", "Top Performer",
          "Be #1 by confirmed revenue in a calendar month.", "♛"),
    Badge("first_month", "First Month",
          f"Stay an active partner for {FIRST_MONTH_DAYS} days.", "◷"),
    # awarded by core.engagement.spotlight.confirm (rules: "Partner of the month")
    Badge("partner_of_the_month", "Partner of the Month",
          "Be chosen partner of the month: proposed for your month's results, confirmed "
          "by the SISO team.", "☀"),
)
BADGES_BY_KEY = {b.key: b for b in BADGES}


def tier_badges(tiers: list[Tier] | None = None) -> list[Badge]:
    """The tier badges, one per tier above the lowest, from the (staff-editable) tier
    table: ``tier_<key>``, "<Name> tier", reached at the tier's ``min_deals``."""
    from core.program.tiers import all_tiers

    tiers = sorted(tiers if tiers is not None else all_tiers(), key=lambda t: t.min_deals)
    return [Badge(TIER_PREFIX + t.key, f"{t.name} tier",
                  f"Reach {t.name}: {t.min_deals} confirmed won deals"
                  + (" and the required training." if t is tiers[1] else "."), "▲")
            for t in tiers[1:]]


def catalogue(tiers: list[Tier] | None = None) -> list[Badge]:
    """Every badge a partner can earn, in display order (fixed badges, then tiers)."""
    return list(BADGES) + tier_badges(tiers)


# --- awarding ------------------------------------------------------------------------------

def _insert_ignoring_duplicates(rows: list[dict]) -> list[tuple[int, str]]:
    """Insert achievement rows, skipping any ``(partner_id, key)`` already held (also one
    a concurrent transaction is writing). Returns the ``(partner_id, key)`` pairs
    actually inserted. One statement."""
    if not rows:
        return []
    if db.engine.dialect.name == "postgresql" and \
            len({r["awarded_at"] for r in rows}) == 1:
        # One short statement whatever the number of rows (prepared once): the pairs as
        # two arrays. A multi-row VALUES is compiled and parsed afresh for each size.
        return [tuple(r) for r in db.session.execute(text(
            "INSERT INTO achievements (partner_id, key, awarded_at) "
            "SELECT p, k, :at FROM unnest(CAST(:pids AS integer[]), CAST(:keys AS text[])) "
            "AS t(p, k) ON CONFLICT (partner_id, key) DO NOTHING "
            "RETURNING partner_id, key"),
            {"pids": [r["partner_id"] for r in rows], "keys": [r["key"] for r in rows],
             "at": rows[0]["awarded_at"]}).all()]
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = (insert(Achievement).values(rows)
            .on_conflict_do_nothing(index_elements=["partner_id", "key"])
            .returning(Achievement.partner_id, Achievement.key))
    return [tuple(r) for r in db.session.execute(stmt).all()]


def _badge(key: str, tiers=None) -> Badge:
    if key in BADGES_BY_KEY:
        return BADGES_BY_KEY[key]
    for b in tier_badges(tiers):
        if b.key == key:
            return b
    return Badge(key, key.replace("_", " ").title(), "", "•")


def award(wanted: list[tuple[int, int, str]], at: datetime | None = None,
          tiers: list[Tier] | None = None) -> list[tuple[int, str]]:
    """Award badges in the current transaction, each at most once ever.

    Args: ``wanted`` a list of ``(partner_id, user_id, key)``; ``at`` the award time
    (aware UTC; now by default); ``tiers`` the tier rows if already loaded (names of
    tier badges). Returns the ``(partner_id, key)`` pairs newly awarded; each of those
    gets an ``achievement`` notification, pushed live after commit. Badges already held
    are skipped silently. One INSERT (none when ``wanted`` is empty).
    """
    at = at or now_utc()
    users = {(pid, key): uid for pid, uid, key in wanted}
    made = _insert_ignoring_duplicates(
        [{"partner_id": pid, "key": key, "awarded_at": at} for pid, key in users])
    for pid, key in made:
        badge = _badge(key, tiers)
        notify(users[(pid, key)], "achievement", f"Achievement unlocked: {badge.name}",
               badge.condition, PROFILE_URL)
    return made


def _approved_at(partner: Partner) -> datetime:
    """When the partner's active time started: approval, or sign-up for partners made
    active without the approval step (imports, tests)."""
    return partner.approved_at or partner.created_at


def deal_badges_wanted(partner: Partner, count: int, recruiter: Partner | None,
                       first: bool, at: datetime | None,
                       recruits_sold: dict[int, int]) -> list[tuple[int, int, str]]:
    """Badges a confirmed deal earns, as ``(partner_id, user_id, key)`` wishes for
    :func:`award` (called by ``core.money.commissions.confirm_deals``, same transaction).

    Args: ``partner`` the closing partner (active, row locked by the deal count);
    ``count`` their confirmed won deals including this one; ``recruiter`` their active
    recruiter or ``None``; ``first`` whether this is their first counted deal; ``at``
    the confirmation time (aware UTC).
    First Sale; Quick Starter when ``count`` reaches ``QUICK_STARTER_DEALS`` within
    ``QUICK_STARTER_DAYS`` of approval; and, on a recruit's first deal, Team Builder to
    the recruiter once ``TEAM_BUILDER_RECRUITS`` recruits have sold (``recruits_sold``:
    :func:`recruits_with_a_sale_many` of the batch's recruiters, read once per batch).
    """
    at = at or now_utc()
    wanted = [(partner.id, partner.user_id, "first_sale")]
    if count >= QUICK_STARTER_DEALS and \
            at <= _approved_at(partner) + timedelta(days=QUICK_STARTER_DAYS):
        wanted.append((partner.id, partner.user_id, "quick_starter"))
    if first and recruiter is not None and \
            recruits_sold.get(recruiter.id, 0) >= TEAM_BUILDER_RECRUITS:
        wanted.append((recruiter.id, recruiter.user_id, "team_builder"))
    return wanted


def tier_badges_wanted(partner: Partner, new: Tier, tiers: list[Tier] | None = None
                       ) -> list[tuple[int, int, str]]:
    """Tier badges a computed promotion to ``new`` earns, as wishes for :func:`award`:
    the badge of every tier above the lowest up to ``new`` (a threshold edit can skip
    one). Partners who are not active earn none."""
    if partner.status != "active":
        return []
    from core.program.tiers import all_tiers

    tiers = sorted(tiers if tiers is not None else all_tiers(), key=lambda t: t.min_deals)
    return [(partner.id, partner.user_id, TIER_PREFIX + t.key) for t in tiers[1:]
            if t.min_deals <= new.min_deals]


def recruits_with_a_sale(recruiter_id: int) -> int:
    """How many partners recruited by ``recruiter_id`` have at least one confirmed won
    deal that is not cancelled (one query)."""
    return recruits_with_a_sale_many([recruiter_id]).get(recruiter_id, 0)


def recruits_with_a_sale_many(recruiter_ids) -> dict[int, int]:
    """:func:`recruits_with_a_sale` for several recruiters in one query: ``{recruiter_id:
    count}``, holding only recruiters with at least one selling recruit."""
    ids = list(set(recruiter_ids))
    if not ids:
        return {}
    return dict(db.session.execute(
        select(Partner.recruiter_id, func.count()).where(
            Partner.recruiter_id.in_(ids), Partner.won_deals_count > 0)
        .group_by(Partner.recruiter_id)).all())


def _missing(key) -> object:
    """SQL condition: the partner in ``Partner`` does not hold ``key`` (a value or an
    expression)."""
    return ~exists().where(Achievement.partner_id == Partner.id, Achievement.key == key)


def _previous_month(now: datetime) -> tuple[str, datetime, datetime]:
    year, month = (now.year - 1, 12) if now.month == 1 else (now.year, now.month - 1)
    start, end = month_bounds(year, month)
    return f"{year:04d}-{month:02d}", start, end


def top_performers(start: datetime, end: datetime) -> list[tuple[int, int]]:
    """``(partner_id, user_id)`` of the active partners with the most confirmed revenue
    (won deals not cancelled, ``start <= confirmed_at < end``), ties included; empty
    when nobody closed a deal. One query."""
    revenue = func.sum(Deal.value_cents).label("revenue")
    per = (select(Partner.id.label("pid"), Partner.user_id.label("uid"), revenue)
           .join(Deal, Deal.partner_id == Partner.id)
           .where(Partner.status == "active", Deal.status == "won",
                  Deal.confirmed_at >= start, Deal.confirmed_at < end)
           .group_by(Partner.id, Partner.user_id).subquery())
    best = select(func.max(per.c.revenue)).scalar_subquery()
    return [tuple(r) for r in db.session.execute(
        select(per.c.pid, per.c.uid).where(per.c.revenue == best).order_by(per.c.pid)).all()]


def award_scheduled(now: datetime | None = None) -> dict:
    """The scheduled checks (``core.community.achievements.award_achievements``, every tick; idempotent).

    - **First Month**: active partners approved ``FIRST_MONTH_DAYS`` days ago or more.
    - **Top Performer** of the previous calendar month (UTC), decided once: the month is
      recorded in the ``TOP_PERFORMER_SETTING`` setting in the same transaction, so later
      runs (or a later cancellation changing last month's figures) never crown a second
      winner. A month the job never ran in (no worker for a whole month) is skipped.
    - **Team Builder** and the **First Sale** and **tier** badges, for partners who
      qualify but do not hold them: partners who qualified before achievements existed,
      and a Team Builder missed when two recruits' first deals were confirmed at the
      same moment (each transaction counts the other's recruit only once committed).

    Returns ``{"awarded": int, "top_performer_month": "YYYY-MM" | None}`` (the month
    decided by this run). A constant number of queries whatever the number of partners.
    """
    now = now or now_utc()
    wanted: list[tuple[int, int, str]] = []
    active = Partner.status == "active"
    started = func.coalesce(Partner.approved_at, Partner.created_at)
    wanted += [(pid, uid, "first_month") for pid, uid in db.session.execute(
        select(Partner.id, Partner.user_id).where(
            active, started <= now - timedelta(days=FIRST_MONTH_DAYS),
            _missing("first_month"))).all()]
    wanted += [(pid, uid, "first_sale") for pid, uid in db.session.execute(
        select(Partner.id, Partner.user_id).where(
            active, Partner.won_deals_count > 0, _missing("first_sale"))).all()]
    recruit = aliased(Partner)
    sold = (select(func.count()).select_from(recruit)
            .where(recruit.recruiter_id == Partner.id, recruit.won_deals_count > 0)
            .correlate(Partner).scalar_subquery())
    wanted += [(pid, uid, "team_builder") for pid, uid in db.session.execute(
        select(Partner.id, Partner.user_id).where(
            active, sold >= TEAM_BUILDER_RECRUITS, _missing("team_builder"))).all()]
    from core.program.tiers import all_tiers

    tiers = all_tiers()
    if len(tiers) > 1:
        current, badge_tier = aliased(Tier), aliased(Tier)
        key = literal(TIER_PREFIX) + badge_tier.key
        wanted += [(pid, uid, TIER_PREFIX + tkey) for pid, uid, tkey in db.session.execute(
            select(Partner.id, Partner.user_id, badge_tier.key)
            .join(current, current.id == Partner.tier_id)
            .join(badge_tier, badge_tier.min_deals <= current.min_deals)
            .where(active, badge_tier.min_deals > tiers[0].min_deals, _missing(key))).all()]
    decided = None
    period, start, end = _previous_month(now)
    setting = db.session.get(Setting, TOP_PERFORMER_SETTING)
    if setting is None or setting.value < period:
        wanted += [(pid, uid, "top_performer") for pid, uid in top_performers(start, end)]
        if setting is None:
            db.session.add(Setting(key=TOP_PERFORMER_SETTING, value=period))
        else:
            setting.value = period
        decided = period
    made = award(wanted, now, tiers)
    return {"awarded": len(made), "top_performer_month": decided}


# --- reading -------------------------------------------------------------------------------

def achievements_for(partner: Partner) -> list[dict]:
    """Every badge with the partner's standing, for the profile page and
    ``GET /api/partner/achievements``, in display order.

    Returns ``[{"key", "name", "condition", "icon", "earned": bool,
    "awarded_at": datetime | None (UTC), "progress": {"done": int, "target": int} | None,
    "closes_at": datetime | None}]``: ``progress`` counts toward the condition where it
    is a count (deals, recruits, days; ``None`` for Top Performer, and for Quick Starter
    once its window has closed unearned); ``closes_at`` is the end of Quick Starter's
    window (``None`` before approval). Three queries (the partner's badges, the tiers,
    their recruits' sales).
    """
    from core.program.tiers import all_tiers

    held = dict(db.session.execute(select(Achievement.key, Achievement.awarded_at)
                                   .where(Achievement.partner_id == partner.id)).all())
    tiers = sorted(all_tiers(), key=lambda t: t.min_deals)
    deals = partner.won_deals_count
    now = now_utc()
    start = _approved_at(partner) if partner.status == "active" else None
    days = max(0, (now - start).days) if start else 0
    progress = {
        "first_sale": (min(deals, 1), 1),
        "quick_starter": (min(deals, QUICK_STARTER_DEALS), QUICK_STARTER_DEALS),
        "team_builder": (min(recruits_with_a_sale(partner.id), TEAM_BUILDER_RECRUITS),
                         TEAM_BUILDER_RECRUITS),
        "first_month": (min(days, FIRST_MONTH_DAYS), FIRST_MONTH_DAYS),
    }
    for t in tiers[1:]:
        progress[TIER_PREFIX + t.key] = (min(deals, t.min_deals), t.min_deals)
    closes = start + timedelta(days=QUICK_STARTER_DAYS) if start else None
    if closes is not None and closes < now and "quick_starter" not in held:
        del progress["quick_starter"]  # the window has closed: nothing left to count
    out = []
    for b in catalogue(tiers):
        done = progress.get(b.key)
        out.append({
            "key": b.key, "name": b.name, "condition": b.condition, "icon": b.icon,
            "earned": b.key in held, "awarded_at": held.get(b.key),
            "progress": {"done": done[0], "target": done[1]} if done else None,
            "closes_at": closes if b.key == "quick_starter" else None,
        })
    return out


def badges_by_partner(partner_ids) -> dict[int, list[str]]:
    """The non-tier badge keys each partner holds, in display order (the leaderboard
    shows them next to names; the tier is shown there already). ``{partner_id: [key]}``
    for partners holding any; one query, none for an empty list."""
    ids = list(set(partner_ids))
    if not ids:
        return {}
    order = {b.key: i for i, b in enumerate(BADGES)}
    found: dict[int, list[str]] = {}
    for pid, key in db.session.execute(
            select(Achievement.partner_id, Achievement.key).where(
                Achievement.partner_id.in_(ids), Achievement.key.in_(list(order)))).all():
        found.setdefault(pid, []).append(key)
    return {pid: sorted(keys, key=order.__getitem__) for pid, keys in found.items()}


@job(queue=QUEUE_DEFAULT, every=TICK_SECONDS)
def award_achievements() -> dict:
    """The scheduled checks (First Month, last month's Top Performer, badges missed by
    events), run by every worker's ticker: :func:`award_scheduled`. Idempotent."""
    return award_scheduled()
