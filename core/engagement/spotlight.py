"""Partner of the month (rules: "Partner of the month").

Once a calendar month (UTC) is over, the worker proposes the top :data:`CANDIDATES`
active partners of that month by :func:`score`; an admin confirms one of them in the back
office, once (a second confirmation is a 409). Confirming is audited
(``spotlight.confirm``), posts the news in #announcements, awards the
``partner_of_the_month`` badge and puts the spotlight card on every partner's dashboard.
"""

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from core.accounts.models import User
from core.base.audit import audit
from core.base.errors import Conflict, Forbidden, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.jobs import QUEUE_DEFAULT, TICK_SECONDS, job
from core.base.timeutil import month_bounds, now_utc
from core.content.models import TrainingCompletion
from core.engagement.models import SpotlightCandidate, SpotlightMonth
from core.money.models import Deal
from core.program.models import Partner

#: How many candidates the worker proposes.
CANDIDATES = 3
#: Points per confirmed won deal, per whole $100 of its revenue, per module passed.
POINTS_PER_DEAL = 50
POINTS_PER_100_DOLLARS = 1
POINTS_PER_MODULE = 10
#: The badge (``achievements.key``) the confirmed partner gets.
BADGE_KEY = "partner_of_the_month"
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def score(won_deals: int, revenue_cents: int, modules_passed: int) -> int:
    """A partner's score for a month: :data:`POINTS_PER_DEAL` per confirmed won deal,
    :data:`POINTS_PER_100_DOLLARS` per whole $100 of that revenue (cents in), and
    :data:`POINTS_PER_MODULE` per training module passed (rules: "Partner of the month")."""
    return (won_deals * POINTS_PER_DEAL + revenue_cents // 10_000 * POINTS_PER_100_DOLLARS
            + modules_passed * POINTS_PER_MODULE)


def period_label(period: str) -> str:
    """``"2026-11"`` as ``"November 2026"``."""
    year, month = period.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def previous_period(now: datetime) -> tuple[str, datetime, datetime]:
    """The calendar month (UTC) before the one holding ``now``: ``("YYYY-MM", start,
    end)`` with ``end`` exclusive."""
    year, month = (now.year - 1, 12) if now.month == 1 else (now.year, now.month - 1)
    start, end = month_bounds(year, month)
    return f"{year:04d}-{month:02d}", start, end


def rank_candidates(start: datetime, end: datetime, exclude: set[int] | None = None,
                    limit: int = CANDIDATES) -> list[dict]:
    """The best active partners of ``[start, end)`` who closed at least one confirmed
    won deal in it (cancelled deals do not count), best first.

    Returns ``[{"partner_id", "won_deals", "revenue_cents", "modules_passed",
    "score"}]``, at most ``limit``; ties go to more revenue, then the lower partner id.
    ``exclude``: partner ids left out (last month's partner of the month). Two queries."""
    sales = dict((pid, (n, int(rev or 0))) for pid, n, rev in db.session.execute(
        select(Deal.partner_id, func.count(Deal.id), func.sum(Deal.value_cents))
        .join(Partner, Partner.id == Deal.partner_id)
        .where(Partner.status == "active", Deal.status == "won",
               Deal.confirmed_at >= start, Deal.confirmed_at < end)
        .group_by(Deal.partner_id)).all())
    for pid in exclude or ():
        sales.pop(pid, None)
    if not sales:
        return []
    modules = dict(db.session.execute(
        select(TrainingCompletion.partner_id, func.count()).where(
            TrainingCompletion.partner_id.in_(list(sales)),
            TrainingCompletion.completed_at >= start, TrainingCompletion.completed_at < end)
        .group_by(TrainingCompletion.partner_id)).all())
    rows = [{"partner_id": pid, "won_deals": n, "revenue_cents": rev,
             "modules_passed": int(modules.get(pid, 0)),
             "score": score(n, rev, int(modules.get(pid, 0)))}
            for pid, (n, rev) in sales.items()]
    rows.sort(key=lambda r: (-r["score"], -r["revenue_cents"], r["partner_id"]))
    return rows[:limit]


def propose(now: datetime | None = None) -> SpotlightMonth | None:
    """Propose the candidates for the month before ``now`` (UTC), once: returns the new
    month row, or ``None`` when it was proposed already. A month with no sale gets a row
    with no candidates (nothing to confirm). Last month's partner of the month is not
    proposed again. A concurrent proposer's row wins (savepoint on the unique period)."""
    now = now or now_utc()
    period, start, end = previous_period(now)
    if db.session.scalar(select(SpotlightMonth.id).where(SpotlightMonth.period == period)):
        return None
    before, _, _ = previous_period(start)
    last = db.session.scalar(select(SpotlightMonth.partner_id).where(
        SpotlightMonth.period == before))
    ranked = rank_candidates(start, end, exclude={last} if last else None)
    try:
        with db.session.begin_nested():
            month = SpotlightMonth(period=period, proposed_at=now)
            db.session.add(month)
            db.session.flush()
            for i, r in enumerate(ranked, 1):
                db.session.add(SpotlightCandidate(month_id=month.id, rank=i, **r))
            db.session.flush()
    except IntegrityError:
        return None
    if ranked:
        from core.community.notifications import notify

        for user in db.session.scalars(select(User).where(User.is_staff,
                                                          User.roles.contains("admin"))):
            if "admin" in user.role_set:
                notify(user.id, "spotlight", f"Partner of the month: {period_label(period)}",
                       f"{len(ranked)} candidates are waiting for your choice.",
                       "/admin/spotlight/")
    return month


@job(queue=QUEUE_DEFAULT, every=TICK_SECONDS)
def propose_spotlight() -> str:
    """Scheduled (every worker tick): :func:`propose` for last month if not done yet.
    Returns the period proposed, or ``""``. Idempotent."""
    month = propose()
    return month.period if month else ""


def confirm(actor: User, month_id, partner_id, citation="") -> SpotlightMonth:
    """An admin confirms one of a month's candidates as partner of the month.

    Args: ``actor`` (staff with the admin role), ``month_id``, ``partner_id`` (one of
    the month's candidates), ``citation`` (optional, up to 300 characters, shown with
    the spotlight). Once per month: a compare-and-set on ``partner_id``. In the same
    transaction: the audit row ``spotlight.confirm``, the ``partner_of_the_month``
    badge (with its notification) and a message in #announcements from the admin
    (skipped when there is no such channel).
    Raises ``Forbidden`` (not an admin), ``NotFound``, ``ValidationError`` (not a
    candidate, citation too long), ``Conflict`` (already confirmed, 409)."""
    from core.community import achievements, chat
    from core.community.moderation import announcements_channel

    if actor is None or not actor.is_staff or not actor.has_role():
        raise Forbidden("Only an admin can confirm the partner of the month.")
    month = get_row(SpotlightMonth, month_id)
    if month is None:
        raise NotFound("No such month.")
    if month.partner_id is not None:
        raise Conflict(f"The partner of the month for {period_label(month.period)} "
                       "was already confirmed.")
    candidate = next((c for c in month.candidates if c.partner_id == partner_id), None)
    if candidate is None:
        raise ValidationError("Choose one of the month's proposed candidates.")
    citation = (citation or "").strip() if isinstance(citation, str | type(None)) else None
    if citation is None or len(citation) > 300 or any(ord(ch) < 32 for ch in citation):
        raise ValidationError("The citation must be one line of at most 300 characters.")
    res = db.session.execute(update(SpotlightMonth).where(
        SpotlightMonth.id == month.id, SpotlightMonth.partner_id.is_(None)).values(
        partner_id=candidate.partner_id, citation=citation, confirmed_by_id=actor.id,
        confirmed_at=now_utc()))
    if res.rowcount != 1:
        raise Conflict(f"The partner of the month for {period_label(month.period)} "
                       "was already confirmed.")
    db.session.refresh(month)
    partner = candidate.partner
    audit(actor.id, "spotlight.confirm", "spotlight", month.id, None,
          {"period": month.period, "partner_id": partner.id, "rank": candidate.rank,
           "score": candidate.score})
    achievements.award([(partner.id, partner.user_id, BADGE_KEY)])
    try:
        channel = announcements_channel()
    except NotFound:
        channel = None
    if channel is not None:
        body = (f"🏆 Partner of the month for {period_label(month.period)}: "
                f"{partner.user.name}! {candidate.won_deals} deals won, "
                f"${candidate.revenue_cents // 100:,} in confirmed revenue.")
        if citation:
            body += f" {citation}"
        chat.post_message(actor, channel, body[:2000], slow_mode=False)
    return month


def current(now: datetime | None = None) -> dict | None:
    """The spotlight every dashboard shows: the latest confirmed partner of the month
    whose month is one of the two before ``now``'s (so it stays up until the next one
    is confirmed, and never longer than a month after that), else ``None``.

    Returns ``{"period", "label", "partner_id", "name", "company", "citation",
    "won_deals", "revenue_cents"}``."""
    now = now or now_utc()
    last, start, _ = previous_period(now)
    before, _, _ = previous_period(start)
    month = db.session.scalar(select(SpotlightMonth).where(
        SpotlightMonth.period.in_([last, before]), SpotlightMonth.partner_id.is_not(None))
        .order_by(SpotlightMonth.period.desc()).limit(1))
    if month is None:
        return None
    cand = next((c for c in month.candidates if c.partner_id == month.partner_id), None)
    return {"period": month.period, "label": period_label(month.period),
            "partner_id": month.partner_id, "name": month.partner.user.name,
            "company": month.partner.company_name or "", "citation": month.citation,
            "won_deals": cand.won_deals if cand else 0,
            "revenue_cents": cand.revenue_cents if cand else 0}


def months(limit: int = 24) -> list[SpotlightMonth]:
    """Proposed months, newest first (the back office's list)."""
    return list(db.session.scalars(select(SpotlightMonth).order_by(
        SpotlightMonth.period.desc()).limit(limit)))
