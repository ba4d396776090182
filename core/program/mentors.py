"""Mentors: Performer-and-above partners who opted in are paired with new partners, by an
admin or by the pairing rule; a DM channel opens between them; the mentor sees the
mentee's checklist, training and pipeline counts (never their clients); the pairing ends
after a set time or when either side ends it (rules: "Mentors")."""

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.accounts.models import User
from core.base.audit import audit
from core.base.errors import Conflict, Forbidden, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.jobs import QUEUE_DEFAULT, job, job_logger
from core.base.timeutil import now_utc
from core.community.notifications import notify
from core.program.models import (
    LEAD_STAGES,
    Lead,
    MentorOptIn,
    Mentorship,
    Partner,
    Tier,
)
from core.program.tiers import required_training_done, standing, tier_by_key

#: The lowest tier that may mentor.
MENTOR_TIER_KEY = "performer"
#: A "new partner" (who may get a mentor): approved at most this many days ago.
NEW_PARTNER_DAYS = 60
#: The pairing rule pairs partners approved at most this many days ago who never had a
#: mentor (older ones are left to an admin).
AUTO_PAIR_DAYS = 14
#: How long a pairing lasts (days): default and bounds an admin may choose.
DEFAULT_DAYS, MIN_DAYS, MAX_DAYS = 90, 7, 365
#: Notification kind of pairing news.
NOTICE_KIND = "mentor"


def can_mentor(partner: Partner) -> bool:
    """Whether ``partner`` may mentor: active, effective tier Performer or above."""
    need = tier_by_key(MENTOR_TIER_KEY)
    return partner.status == "active" and (
        need is None or standing(partner).tier.min_deals >= need.min_deals)


def opt_in_of(partner: Partner) -> MentorOptIn | None:
    """The partner's mentor offer, or ``None``."""
    return db.session.scalar(select(MentorOptIn).where(MentorOptIn.partner_id == partner.id))


def set_opt_in(partner: Partner, active: bool, capacity: int | None = None) -> MentorOptIn:
    """Offer (``active``) or stop offering to mentor; ``capacity`` 1..10 active mentees.
    Stopping ends no pairing. Raises ``Forbidden`` (``tier_locked``) when a partner below
    Performer offers, ``ValidationError`` for a bad capacity. Not committed."""
    if active and not can_mentor(partner):
        raise Forbidden("Mentoring opens at the Performer tier.", code="tier_locked")
    if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int)
                                 or not 1 <= capacity <= 10):
        raise ValidationError("Mentees at once must be 1 to 10.", code="bad_capacity")
    row = opt_in_of(partner)
    if row is None:
        row = MentorOptIn(partner_id=partner.id, active=bool(active), capacity=capacity or 3)
        db.session.add(row)
    else:
        row.active = bool(active)
        if capacity is not None:
            row.capacity = capacity
    db.session.flush()
    return row


def _active_counts(mentor_ids) -> dict[int, int]:
    return dict(db.session.execute(
        select(Mentorship.mentor_id, func.count()).where(
            Mentorship.mentor_id.in_(list(mentor_ids) or [0]), Mentorship.status == "active")
        .group_by(Mentorship.mentor_id)).all())


def is_new_partner(partner: Partner, now: datetime | None = None) -> bool:
    """Active and approved at most ``NEW_PARTNER_DAYS`` ago."""
    now = now or now_utc()
    return partner.status == "active" and partner.approved_at is not None and \
        partner.approved_at >= now - timedelta(days=NEW_PARTNER_DAYS)


def candidates(mentee: Partner, limit: int = 5) -> list[dict]:
    """The mentors the rule proposes for ``mentee``, best first: opted in, active,
    Performer or above, with room (active mentees below their capacity), not the mentee,
    same industry first, then fewest active mentees, then most won deals. Returns
    ``[{"partner", "active_mentees", "capacity"}]``."""
    rows = list(db.session.execute(
        select(Partner, MentorOptIn.capacity).join(MentorOptIn, MentorOptIn.partner_id == Partner.id)
        .join(Tier, Tier.id == Partner.tier_id)
        .where(MentorOptIn.active.is_(True), Partner.status == "active",
               Partner.id != mentee.id)).all())
    counts = _active_counts(p.id for p, _ in rows)
    out = []
    for partner, capacity in rows:
        n = counts.get(partner.id, 0)
        if n < capacity and can_mentor(partner):
            out.append({"partner": partner, "active_mentees": n, "capacity": capacity})
    same = (mentee.industry or "").strip().lower()
    out.sort(key=lambda c: (not (same and c["partner"].industry.strip().lower() == same),
                            c["active_mentees"], -c["partner"].won_deals_count,
                            c["partner"].id))
    return out[:limit]


def active_mentorship_of(mentee_id: int) -> Mentorship | None:
    """The mentee's active pairing, or ``None``."""
    return db.session.scalar(select(Mentorship).where(
        Mentorship.mentee_id == mentee_id, Mentorship.status == "active"))


def pair(actor: User | None, mentor_id, mentee_id, days: int = DEFAULT_DAYS,
         now: datetime | None = None) -> Mentorship:
    """Pair a mentor with a new partner for ``days`` (7..365); ``actor`` is the admin, or
    ``None`` for the pairing rule. Opens (or reuses) the DM channel between them, tells
    both, audits ``mentorship.pair``.

    Raises ``Forbidden`` (actor not an admin), ``NotFound`` (unknown partners),
    ``ValidationError`` (bad days; mentor not opted in, below Performer or at capacity;
    mentee not a new partner; the same person), ``Conflict`` (``already_paired``: the
    mentee has an active mentor, also when two pairings race). Not committed."""
    from core.community.chat import open_dm

    now = now or now_utc()
    if actor is not None and not actor.has_role():
        raise Forbidden("Only admins pair mentors.")
    if isinstance(days, bool) or not isinstance(days, int) or not MIN_DAYS <= days <= MAX_DAYS:
        raise ValidationError(f"A pairing lasts {MIN_DAYS} to {MAX_DAYS} days.", code="bad_days")
    mentor, mentee = get_row(Partner, mentor_id), get_row(Partner, mentee_id)
    if mentor is None or mentee is None:
        raise NotFound("No such partner.")
    if mentor.id == mentee.id:
        raise ValidationError("A partner cannot mentor themselves.", code="same_partner")
    offer = opt_in_of(mentor)
    if offer is None or not offer.active or not can_mentor(mentor):
        raise ValidationError(f"{mentor.name} has not offered to mentor (Performer tier and "
                              "above, opted in).", code="not_a_mentor")
    if _active_counts([mentor.id]).get(mentor.id, 0) >= offer.capacity:
        raise ValidationError(f"{mentor.name} already mentors {offer.capacity} partners.",
                              code="mentor_full")
    if not is_new_partner(mentee, now):
        raise ValidationError(f"Mentors are for partners approved in the last "
                              f"{NEW_PARTNER_DAYS} days.", code="not_new")
    if active_mentorship_of(mentee.id) is not None:
        raise Conflict(f"{mentee.name} already has a mentor.", code="already_paired")
    row = Mentorship(mentor_id=mentor.id, mentee_id=mentee.id, active_mentee_id=mentee.id,
                     status="active", paired_by_id=actor.id if actor else None,
                     started_at=now, ends_at=now + timedelta(days=days))
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        raise Conflict(f"{mentee.name} already has a mentor.", code="already_paired") from None
    row.channel_id = open_dm(mentor.user, mentee.user_id).id
    notify(mentee.user_id, NOTICE_KIND, f"{mentor.name} is your mentor",
           f"Ask them anything in your direct messages, until {row.ends_at:%d %b %Y}.",
           "/partner/mentoring")
    notify(mentor.user_id, NOTICE_KIND, f"You are mentoring {mentee.name}",
           "See their progress and say hello.", "/partner/mentoring")
    audit(actor.id if actor else None, "mentorship.pair", "mentorship", row.id, after={
        "mentor_id": mentor.id, "mentee_id": mentee.id, "ends_at": row.ends_at.isoformat(),
        "by": "admin" if actor else "rule"})
    return row


def _finish(row: Mentorship, reason: str, by: User | None, now: datetime) -> None:
    row.status, row.active_mentee_id = "ended", None
    row.ended_at, row.end_reason, row.ended_by_id = now, reason, by.id if by else None
    audit(by.id if by else None, "mentorship.end", "mentorship", row.id,
          before={"status": "active"}, after={"status": "ended", "reason": reason})


def end(user: User, mentorship_id) -> Mentorship:
    """End an active pairing early: its mentor, its mentee or an admin may. The other side
    is told; audited (``mentorship.end``). Raises ``NotFound`` (unknown, or not theirs:
    the same answer), ``Conflict`` (``already_ended``). Not committed."""
    row = get_row(Mentorship, mentorship_id)
    partner = user.partner
    side = None
    if row is not None and partner is not None:
        side = "mentor" if row.mentor_id == partner.id else \
            "mentee" if row.mentee_id == partner.id else None
    if row is None or (side is None and not user.has_role()):
        raise NotFound("No such mentorship.")
    if row.status != "active":
        raise Conflict("This mentorship has already ended.", code="already_ended")
    _finish(row, side or "staff", user, now_utc())
    for pid in (row.mentor_id, row.mentee_id):
        if partner is None or pid != partner.id:
            other = db.session.get(Partner, pid)
            notify(other.user_id, NOTICE_KIND, "Your mentorship has ended",
                   "Thank you for taking part.", "/partner/mentoring")
    return row


def expire_due(now: datetime | None = None) -> int:
    """End every active pairing whose ``ends_at`` has passed (reason ``expired``); both
    sides are told. Returns how many. Idempotent."""
    now = now or now_utc()
    rows = list(db.session.scalars(select(Mentorship).where(
        Mentorship.status == "active", Mentorship.ends_at <= now).with_for_update()))
    for row in rows:
        _finish(row, "expired", None, now)
        for pid in (row.mentor_id, row.mentee_id):
            notify(db.session.get(Partner, pid).user_id, NOTICE_KIND,
                   "Your mentorship has come to its end", "Thank you for taking part.",
                   "/partner/mentoring")
    return len(rows)


def auto_pair(now: datetime | None = None) -> int:
    """The pairing rule: each active partner approved at most ``AUTO_PAIR_DAYS`` ago who
    never had a mentor gets the first of :func:`candidates` (if any). Returns how many
    were paired. Idempotent (a paired partner is skipped next time)."""
    now = now or now_utc()
    ever = select(Mentorship.mentee_id)
    mentees = list(db.session.scalars(select(Partner).where(
        Partner.status == "active", Partner.approved_at >= now - timedelta(days=AUTO_PAIR_DAYS),
        Partner.id.not_in(ever)).order_by(Partner.approved_at, Partner.id)))
    paired = 0
    for mentee in mentees:
        if can_mentor(mentee):
            continue
        found = candidates(mentee, limit=1)
        if not found:
            break
        try:
            with db.session.begin_nested():
                pair(None, found[0]["partner"].id, mentee.id, now=now)
            paired += 1
        except (Conflict, ValidationError, NotFound, Forbidden):
            continue
    return paired


@job(queue=QUEUE_DEFAULT, every=3600)
def mentorship_rounds() -> dict:
    """Hourly: end pairings whose time is up (:func:`expire_due`), then run the pairing
    rule (:func:`auto_pair`). Idempotent. Returns ``{"ended", "paired"}``."""
    out = {"ended": expire_due(), "paired": auto_pair()}
    if any(out.values()):
        job_logger(__name__).info("mentorships: %s ended, %s paired", out["ended"], out["paired"])
    return out


# --- what each side sees ------------------------------------------------------------------

def mentorships_of(partner: Partner) -> dict:
    """``{"mentor": active Mentorship where partner is the mentee or None, "mentees":
    [active Mentorships where partner is the mentor]}``."""
    return {"mentor": active_mentorship_of(partner.id),
            "mentees": list(db.session.scalars(select(Mentorship).where(
                Mentorship.mentor_id == partner.id, Mentorship.status == "active")
                .order_by(Mentorship.started_at)))}


def mentee_progress(viewer: Partner, mentorship_id) -> dict:
    """What a mentor sees of their mentee: ``{"mentorship", "mentee_name", "checklist"
    (``core.program.onboarding.checklist`` or ``None`` when done or hidden), "training":
    {"passed_required", "required", "passed"}, "pipeline": {stage: count}}``. Counts
    only: never a lead's company, contact or value. Raises ``NotFound`` unless ``viewer``
    is the mentor of this active pairing (the same answer for any other id)."""
    from core.content.models import TrainingCompletion
    from core.payments.methods import paypal_offered, stripe_offered
    from core.payments.tax import tax_form_required
    from core.program.onboarding import checklist

    row = get_row(Mentorship, mentorship_id)
    if row is None or row.mentor_id != viewer.id or row.status != "active":
        raise NotFound("No such mentorship.")
    mentee = row.mentee
    passed_required, required = required_training_done(mentee.id)
    passed = db.session.scalar(select(func.count()).select_from(TrainingCompletion).where(
        TrainingCompletion.partner_id == mentee.id)) or 0
    counts = dict(db.session.execute(
        select(Lead.status, func.count()).where(Lead.partner_id == mentee.id,
                                                Lead.archived_at.is_(None))
        .group_by(Lead.status)).all())
    return {"mentorship": row, "mentee_name": mentee.name,
            "checklist": checklist(mentee, stripe_offered() or paypal_offered(),
                                   tax_form_required()),
            "training": {"passed_required": passed_required, "required": required,
                         "passed": passed},
            "pipeline": {stage: int(counts.get(stage, 0)) for stage in LEAD_STAGES}}
