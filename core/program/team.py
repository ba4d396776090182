"""The partner's team (PRD "Team Collaboration"; tier design: team tools at Performer).

- Everyone gets a chat entry point: their team's channel when they lead one or belong to
  one they may read, else ``#general``.
- A partner whose *effective* tier is Performer or up leads a team: the partners whose
  ``team_leader_id`` is theirs. They see each member's confirmed deals and the team
  override they earned from that member, read from the ledger (``team_override``
  commissions not reversed, less clawbacks of paid ones), and their invite link.
- Below Performer the page says what unlocks team tools.
"""

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from core.accounts.models import User
from core.base.extensions import db
from core.community import chat
from core.community.models import Channel
from core.money.models import Commission, Deal
from core.program.models import Partner, Tier
from core.program.tiers import standing, tier_by_key

#: Tier that unlocks leading a team (the same key the team chat channels use).
TEAM_TIER_KEY = chat.TEAM_TIER_KEY
#: Most members listed on the page.
MAX_MEMBERS = 500


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
    leads = need is not None and partner.status == "active" and \
        st.tier.min_deals >= need.min_deals
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
