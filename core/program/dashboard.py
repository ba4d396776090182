"""The partner dashboard (rules: "Partners"): its figures and the activity feed.

The feed mixes the partner's own notifications with events every partner may see:

- deals other partners closed (confirmed, not cancelled): who, never the amount or the
  client;
- other partners' promotions (``tier.promote`` in the audit log): who and the new tier;
- training modules added in the last ``NEW_TRAINING_DAYS`` days;
- announcements: top-level messages in read-only public channels the partner may read.

Other partners appear as first name and initial ("Sarah T."). Each source is one small
query bounded by ``limit``, so the dashboard costs the same whatever the data size.
"""

import json
from datetime import timedelta

from sqlalchemy import func, select

from core.accounts.models import User
from core.base.extensions import db
from core.base.models import AuditLog
from core.base.timeutil import now_utc
from core.community import chat
from core.community.models import Channel, Message, Notification
from core.content.models import TrainingModule
from core.money.models import Deal
from core.program.models import Lead, Partner, Tier

#: Training modules added this recently are announced.
NEW_TRAINING_DAYS = 30
#: Longest announcement excerpt shown, in characters.
EXCERPT_CHARS = 140


def short_name(name: str) -> str:
    """``"Sarah Thompson"`` → ``"Sarah T."``; a single name stays as it is."""
    parts = (name or "").split()
    if not parts:
        return "A partner"
    if len(parts) == 1:
        return parts[0]
    return f"{parts[0]} {parts[-1][0].upper()}."


def _excerpt(body: str) -> str:
    text = " ".join((body or "").replace("*", "").replace("`", "").split())
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS - 1].rstrip() + "…"


def activity_feed(partner: Partner, limit: int = 10) -> list[dict]:
    """The dashboard's feed, newest first, at most ``limit`` items.

    Each item is ``{"kind": "notice" | "deal" | "tier_up" | "training" | "announcement",
    "at": datetime, "text": str, "detail": str, "url": str, "mine": bool}``. Items about
    other partners carry no amount and no client name.
    """
    items: list[dict] = []
    for n in db.session.scalars(select(Notification).where(
            Notification.user_id == partner.user_id)
            .order_by(Notification.id.desc()).limit(limit)):
        items.append({"kind": "notice", "at": n.created_at, "text": n.title, "detail": n.body,
                      "url": n.url, "mine": True})
    deals = db.session.execute(
        select(Deal.confirmed_at, User.name).join(Partner, Partner.id == Deal.partner_id)
        .join(User, User.id == Partner.user_id)
        .where(Deal.status == "won", Deal.partner_id != partner.id, Partner.status == "active")
        .order_by(Deal.confirmed_at.desc()).limit(limit)).all()
    for at, name in deals:
        items.append({"kind": "deal", "at": at, "text": f"{short_name(name)} closed a deal!",
                      "detail": "", "url": "", "mine": False})
    tier_names = dict(db.session.execute(select(Tier.key, Tier.name)).all())
    promos = db.session.execute(
        select(AuditLog.created_at, AuditLog.after, User.name)
        .join(Partner, Partner.id == AuditLog.object_id).join(User, User.id == Partner.user_id)
        .where(AuditLog.action == "tier.promote", AuditLog.object_type == "partner",
               AuditLog.object_id != partner.id, Partner.status == "active")
        .order_by(AuditLog.id.desc()).limit(limit)).all()
    for at, after, name in promos:
        try:
            key = json.loads(after or "{}").get("tier")
        except ValueError:
            key = None
        tier = tier_names.get(key, "a new tier")
        items.append({"kind": "tier_up", "at": at, "text": f"{short_name(name)} reached {tier}!",
                      "detail": "", "url": "", "mine": False})
    since = now_utc() - timedelta(days=NEW_TRAINING_DAYS)
    for m in db.session.scalars(select(TrainingModule).where(TrainingModule.created_at >= since)
                                .order_by(TrainingModule.created_at.desc(),
                                          TrainingModule.id.desc()).limit(2)):
        items.append({"kind": "training", "at": m.created_at,
                      "text": f"New training module: {m.title}", "detail": "",
                      "url": f"/partner/training/{m.id}", "mine": False})
    if partner.status == "active":
        boards = [c for c in db.session.scalars(select(Channel).where(
            Channel.kind == "public", Channel.read_only)) if chat.can_read(partner.user, c)]
        if boards:
            slugs = {c.id: c.slug for c in boards}
            for msg in db.session.scalars(
                    select(Message).where(Message.channel_id.in_(list(slugs)),
                                          Message.parent_id.is_(None),
                                          Message.deleted_at.is_(None))
                    .order_by(Message.id.desc()).limit(3)):
                items.append({"kind": "announcement", "at": msg.created_at,
                              "text": _excerpt(msg.body), "detail": "",
                              "url": f"/partner/chat/{slugs[msg.channel_id]}#m{msg.id}",
                              "mine": False})
    items.sort(key=lambda i: i["at"], reverse=True)
    return items[:limit]


def home(partner: Partner) -> dict:
    """Everything ``/partner/dashboard`` shows for one partner.

    Returns ``{"tier": tier_status(), "money": month_glance() (this and last month's
    earnings, the change, the approved balance), "open_leads": int, "rank": leaderboard row of this month by deals
    | None (active partners with a deal this month), "feed": activity_feed(),
    "ref_stats": referral link counts}``.
    """
    from core.community.leaderboard import leaderboard
    from core.money.earnings import month_glance
    from core.program.referrals import link_stats
    from core.program.tiers import tier_status

    open_leads = db.session.scalar(select(func.count()).select_from(Lead).where(
        Lead.partner_id == partner.id, Lead.status.not_in(("won", "lost")),
        Lead.archived_at.is_(None))) or 0
    rank = None
    if partner.status == "active":
        rank = leaderboard("month", "deals", me=partner.id, top=1, badges=False)["me"]
    return {"tier": tier_status(partner), "money": month_glance(partner.id),
            "open_leads": open_leads, "rank": rank, "feed": activity_feed(partner),
            "ref_stats": link_stats(partner.id)}
