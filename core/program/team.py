"""The partner's team (rules: "Team invitations"; team tools at Performer).

- Everyone gets a chat entry point: their team's channel when they lead one or belong to
  one they may read, else ``#general``.
- A partner whose *effective* tier is Performer or up leads a team: the partners whose
  ``team_leader_id`` is theirs. They see each member's confirmed deals and the team
  override they earned from that member, read from the ledger (``team_override``
  commissions not reversed, less clawbacks of paid ones), and their invite link.
- Below Performer the page says what unlocks team tools.
"""

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from core.accounts.models import User
from core.base.audit import audit
from core.base.errors import DomainError, Forbidden, ValidationError
from core.base.extensions import db
from core.base.jobs import QUEUE_EMAIL, job, job_logger
from core.base.mail import public_url, send_email
from core.base.timeutil import now_utc
from core.community import chat
from core.community.models import Channel
from core.money.models import Commission, Deal
from core.program.models import Partner, TeamInvite, Tier
from core.program.tiers import standing, tier_by_key

#: Tier that unlocks leading a team (the same key the team chat channels use).
TEAM_TIER_KEY = chat.TEAM_TIER_KEY
#: Most members listed on the page.
MAX_MEMBERS = 500


def can_lead_team(partner: Partner, st=None) -> bool:
    """Whether ``partner`` leads a team: active, and an effective tier at least
    :data:`TEAM_TIER_KEY`'s (``st``: their ``standing``, if already read)."""
    need = tier_by_key(TEAM_TIER_KEY)
    st = st or standing(partner)
    return need is not None and partner.status == "active" and st.tier.min_deals >= need.min_deals


def _team_locked(partner: Partner) -> Forbidden:
    need = tier_by_key(TEAM_TIER_KEY)
    name = need.name if need else "Performer"
    more = max(0, (need.min_deals if need else 0) - partner.won_deals_count)
    tail = f": {more} more confirmed deal{'s' if more != 1 else ''} to go." if more else "."
    return Forbidden(f"Team tools unlock at {name}{tail}", code="team_locked")


def _chat_entry(partner: Partner, leads: bool) -> dict:
    """The channel to open from the team page: ``{"slug", "name", "kind"}``."""
    channel = None
    if leads:
        channel = chat.ensure_team_channel(partner)
    elif partner.team_leader_id is not None:
        channel = db.session.scalar(select(Channel).where(
            Channel.team_leader_id == partner.team_leader_id))
        if channel is not None and not chat.can_read(partner.user, channel):
            channel = None
    if channel is None:
        channel = db.session.scalar(select(Channel).where(Channel.slug == "general"))
    if channel is None:
        return {"slug": "general", "name": "general-chat", "kind": "public"}
    return {"slug": channel.slug, "name": channel.name, "kind": channel.kind}


def override_by_member(leader_id: int, member_ids=None) -> dict[int, int]:
    """Team override cents the leader earned, by closing partner: ``{member_id: cents}``.

    Sums ``team_override`` commissions that are not reversed, plus the (negative)
    adjustments that claw back paid ones; ``member_ids`` limits it to some partners.
    """
    orig = aliased(Commission)
    kept = (select(Commission.source_partner_id, func.sum(Commission.amount_cents))
            .where(Commission.partner_id == leader_id, Commission.type == "team_override",
                   Commission.status != "reversed"))
    clawed = (select(Commission.source_partner_id, func.sum(Commission.amount_cents))
              .join(orig, orig.id == Commission.adjusts_id)
              .where(Commission.partner_id == leader_id, Commission.type == "adjustment",
                     orig.type == "team_override"))
    if member_ids is not None:
        kept = kept.where(Commission.source_partner_id.in_(member_ids))
        clawed = clawed.where(Commission.source_partner_id.in_(member_ids))
    out: dict[int, int] = {}
    for q in (kept, clawed):
        for pid, cents in db.session.execute(q.group_by(Commission.source_partner_id)).all():
            if pid is not None:
                out[pid] = out.get(pid, 0) + int(cents or 0)
    return out


def team_overview(partner: Partner) -> dict:
    """What ``/partner/team`` shows (and ``GET /api/partner/team`` returns).

    Returns ``{"chat": {"slug", "name", "kind"}, "leads_team": bool,
    "unlock": {"tier", "min_deals", "deals_needed"} | None,
    "leader": {"name"} | None (the partner's own team leader),
    "override_rate_bps": int, "members": [{"partner_id", "name", "tier", "status",
    "deals", "override_cents"}], "override_total_cents": int, "referral_code": str}``.
    ``members`` is empty unless the partner leads a team. May create the leader's team
    channel (flushed, not committed).
    """
    st = standing(partner)
    need = tier_by_key(TEAM_TIER_KEY)
    leads = can_lead_team(partner, st)
    unlock = None
    if not leads and need is not None:
        unlock = {"tier": need.name, "min_deals": need.min_deals,
                  "deals_needed": max(0, need.min_deals - partner.won_deals_count)}
    leader = None
    if partner.team_leader_id is not None:
        name = db.session.scalar(select(User.name).join(Partner, Partner.user_id == User.id)
                                 .where(Partner.id == partner.team_leader_id))
        leader = {"name": name} if name else None
    members, total = [], 0
    if leads:
        deals = (select(func.count(Deal.id)).where(Deal.partner_id == Partner.id,
                                                   Deal.status == "won")
                 .correlate(Partner).scalar_subquery())
        rows = db.session.execute(
            select(Partner.id, User.name, Tier.name, Partner.status, deals)
            .join(User, User.id == Partner.user_id).join(Tier, Tier.id == Partner.tier_id)
            .where(Partner.team_leader_id == partner.id)
            .order_by(User.name, Partner.id).limit(MAX_MEMBERS)).all()
        earned = override_by_member(partner.id, [r[0] for r in rows])
        for pid, name, tier, status, n in rows:
            cents = earned.get(pid, 0)
            total += cents
            members.append({"partner_id": pid, "name": name, "tier": tier, "status": status,
                            "deals": int(n or 0), "override_cents": cents})
    return {"chat": _chat_entry(partner, leads), "leads_team": leads, "unlock": unlock,
            "leader": leader, "override_rate_bps": st.tier.team_override_bps,
            "members": members, "override_total_cents": total,
            "referral_code": partner.referral_code}


# --- invitations ----------------------------------------------------------------------------

#: Addresses a team leader may invite in any 24 hours.
INVITES_PER_DAY = 20
#: Days before the same address may be invited again (by anyone).
INVITE_REPEAT_DAYS = 30


def recruiting_path(partner: Partner) -> str:
    """The path of the partner's recruiting link: the application form with their code."""
    return f"/partner/register?ref={partner.referral_code}"


def _addresses(emails, own: str) -> list[str]:
    """The distinct normalised addresses of ``emails``, in order; raises
    ``ValidationError`` naming the first bad one, or the partner's own."""
    from core.accounts.users import normalise_email

    out: list[str] = []
    for i, raw in enumerate(emails):
        try:
            email = normalise_email(raw)
        except ValidationError:
            shown = raw if isinstance(raw, str) and len(raw) <= 80 else f"number {i + 1}"
            raise ValidationError(f"“{shown}” is not an e-mail address; nothing was sent.",
                                  code="bad_address") from None
        if email == own:
            raise ValidationError("That is your own address; nothing was sent.",
                                  code="bad_address")
        if email not in out:
            out.append(email)
    return out


def invite_to_team(partner: Partner, actor_id: int, emails) -> list[dict]:
    """E-mail an invitation carrying ``partner``'s recruiting link to each address of
    ``emails`` (a list of 1 to :data:`INVITES_PER_DAY` strings). Rules: "Team
    invitations".

    Returns ``[{"email", "status"}]`` in the order given, ``status`` ``invited`` (queued
    after commit) or ``invited_recently`` (invited by anyone in the last
    :data:`INVITE_REPEAT_DAYS` days: not sent again). All or nothing: raises
    ``Forbidden`` (``team_locked``: the partner does not lead a team;
    ``email_unverified``), ``ValidationError`` (a bad address, the partner's own, none
    or too many) or ``DomainError`` 429 ``invite_limit`` (more than the day's limit
    left), and then nothing is stored or sent. Audited ``team.invite``; not committed.
    """
    from core.accounts.email_links import require_verified_email

    if not can_lead_team(partner):
        raise _team_locked(partner)
    require_verified_email(partner.user, "invite people to your team")
    if not isinstance(emails, list) or not 1 <= len(emails) <= INVITES_PER_DAY:
        raise ValidationError(f"Send 1 to {INVITES_PER_DAY} addresses.")
    addresses = _addresses(emails, partner.user.email.lower())
    now = now_utc()
    # One leader's invitations at a time (PostgreSQL): the day's count cannot be raced.
    db.session.execute(select(Partner.id).where(Partner.id == partner.id).with_for_update())
    recent = set(db.session.scalars(select(TeamInvite.email).where(
        TeamInvite.email.in_(addresses),
        TeamInvite.created_at > now - timedelta(days=INVITE_REPEAT_DAYS))))
    fresh = [e for e in addresses if e not in recent]
    used = db.session.scalar(select(func.count()).select_from(TeamInvite).where(
        TeamInvite.partner_id == partner.id,
        TeamInvite.created_at > now - timedelta(days=1))) or 0
    if used + len(fresh) > INVITES_PER_DAY:
        left = max(0, INVITES_PER_DAY - used)
        raise DomainError(f"You can invite {INVITES_PER_DAY} people a day and have {left} "
                          f"left today; nothing was sent.", code="invite_limit", status=429)
    rows = [TeamInvite(partner_id=partner.id, email=e, created_at=now) for e in fresh]
    db.session.add_all(rows)
    db.session.flush()
    for row in rows:
        send_team_invite.after_commit(row.id, job_id=f"team-invite-{row.id}")
    audit(actor_id, "team.invite", "partner", partner.id, None,
          {"invited": len(rows), "skipped_recent": len(recent)})
    return [{"email": e, "status": "invited_recently" if e in recent else "invited"}
            for e in addresses]


@job(queue=QUEUE_EMAIL, retries=3)
def send_team_invite(invite_id: int) -> str:
    """Send one team invitation e-mail, once. An address that has an account by now is
    not e-mailed (and nobody is told). Returns ``"sent"``, ``"already_sent"``,
    ``"has_account"`` or ``"gone"``."""
    from core.accounts.email_links import user_by_email

    row = db.session.get(TeamInvite, invite_id)
    if row is None:
        return "gone"
    if row.emailed_at is not None:
        return "already_sent"
    if user_by_email(row.email) is not None:
        return "has_account"
    leader = db.session.get(Partner, row.partner_id)
    send_email(row.email, "team_invite", inviter=leader.user.name,
               company=leader.company_name, link=public_url(recruiting_path(leader)))
    row.emailed_at = now_utc()
    job_logger(__name__).info("team invitation %s e-mailed for partner %s", invite_id,
                              row.partner_id)
    return "sent"


# --- performance ------------------------------------------------------------------------------

#: Periods team performance is reported by, and the most periods one answer holds.
PERIODS = ("month", "quarter", "year")
MAX_PERIODS = 24


def _period_start(when, period: str):
    month = {"month": when.month, "quarter": (when.month - 1) // 3 * 3 + 1, "year": 1}[period]
    return when.replace(month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


def _step_back(start, period: str):
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    index = start.year * 12 + start.month - 1 - months
    return start.replace(year=index // 12, month=index % 12 + 1)


def _label(start, period: str) -> str:
    if period == "month":
        return f"{start.year}-{start.month:02d}"
    if period == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def _windows(period: str, count: int, now) -> list[tuple]:
    """``count`` calendar periods (UTC) up to the one holding ``now``, newest first:
    ``[(start, end, label)]``, the newest ending at ``now``."""
    start = _period_start(now, period)
    out = [(start, now, _label(start, period))]
    while len(out) < count:
        prev = _step_back(out[-1][0], period)
        out.append((prev, out[-1][0], _label(prev, period)))
    return out


def team_performance(partner: Partner, period: str = "month", count: int = 6) -> dict:
    """What a team leader's members did, by calendar period (UTC). Rules: "Team
    performance".

    Returns ``{"period", "periods": [{"label", "starts_at", "ends_at", "members":
    [{"partner_id", "name", "deals", "revenue_cents", "commission_cents",
    "override_cents"}], "totals": {...the four sums}}]}``, newest period first (the
    current one up to now). Members are the partner's team as it is now, by name.
    ``deals``/``revenue_cents``: deals confirmed in the period and not cancelled;
    ``commission_cents``: the member's own commissions created in it (reversed ones
    left out, clawbacks subtracted); ``override_cents``: the leader's team override from
    that member, likewise. Raises ``Forbidden`` (``team_locked``) for a partner who does
    not lead a team, ``ValidationError`` for an unknown period or count outside 1..24.
    """
    if not can_lead_team(partner):
        raise _team_locked(partner)
    if period not in PERIODS:
        raise ValidationError(f"period must be one of: {', '.join(PERIODS)}.")
    if not isinstance(count, int) or not 1 <= count <= MAX_PERIODS:
        raise ValidationError(f"count must be 1 to {MAX_PERIODS}.")
    windows = _windows(period, count, now_utc())
    since = windows[-1][0]
    members = db.session.execute(
        select(Partner.id, User.name).join(User, User.id == Partner.user_id)
        .where(Partner.team_leader_id == partner.id)
        .order_by(User.name, Partner.id).limit(MAX_MEMBERS)).all()
    sums = _by_period(_member_facts(partner.id, [m[0] for m in members], since), windows)
    periods = []
    for i, (start, end, label) in enumerate(windows):
        rows = [{"partner_id": pid, "name": name,
                 **{fact: sums[fact].get((pid, i), 0) for fact in _FACTS}}
                for pid, name in members]
        periods.append({"label": label, "starts_at": start, "ends_at": end, "members": rows,
                        "totals": {fact: sum(r[fact] for r in rows) for fact in _FACTS}})
    return {"period": period, "periods": periods}


_FACTS = ("deals", "revenue_cents", "commission_cents", "override_cents")


def _by_period(facts: dict[str, list], windows: list[tuple]) -> dict[str, dict]:
    """``{fact: {(member_id, period index): sum}}`` of :func:`_member_facts`' rows."""
    sums: dict[str, dict] = {fact: {} for fact in _FACTS}
    for fact, items in facts.items():
        for pid, at, value in items:
            for i, (start, end, _label) in enumerate(windows):
                if start <= at < end:
                    sums[fact][(pid, i)] = sums[fact].get((pid, i), 0) + value
                    break
    return sums


def _member_facts(leader_id: int, ids: list[int], since) -> dict[str, list]:
    """``{fact: [(member_id, time, amount)]}`` since ``since``, four queries."""
    if not ids:
        return {fact: [] for fact in _FACTS}
    deals = db.session.execute(select(Deal.partner_id, Deal.confirmed_at, Deal.value_cents)
                               .where(Deal.partner_id.in_(ids), Deal.status == "won",
                                      Deal.confirmed_at >= since)).all()
    orig = aliased(Commission)
    own = db.session.execute(select(Commission.partner_id, Commission.created_at,
                                    Commission.amount_cents)
                             .where(Commission.partner_id.in_(ids),
                                    Commission.status != "reversed",
                                    Commission.created_at >= since)).all()
    kept = select(Commission.source_partner_id, Commission.created_at, Commission.amount_cents) \
        .where(Commission.partner_id == leader_id, Commission.type == "team_override",
               Commission.status != "reversed", Commission.source_partner_id.in_(ids),
               Commission.created_at >= since)
    clawed = select(Commission.source_partner_id, Commission.created_at,
                    Commission.amount_cents).join(orig, orig.id == Commission.adjusts_id) \
        .where(Commission.partner_id == leader_id, Commission.type == "adjustment",
               orig.type == "team_override", Commission.source_partner_id.in_(ids),
               Commission.created_at >= since)
    override = db.session.execute(kept).all() + db.session.execute(clawed).all()
    return {"deals": [(p, at, 1) for p, at, _v in deals],
            "revenue_cents": [(p, at, int(v)) for p, at, v in deals],
            "commission_cents": [(p, at, int(v)) for p, at, v in own],
            "override_cents": [(p, at, int(v)) for p, at, v in override]}
