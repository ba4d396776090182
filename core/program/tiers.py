"""Tiers: computed tier, effective tier, progress (rules: "Tiers")."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from core.base.audit import audit
from core.base.extensions import db
from core.base.timeutil import now_utc
from core.community.notifications import notify
from core.content.models import TrainingCompletion, TrainingModule
from core.program.models import Partner, Tier, TierOverride

#: Seed tiers: the table in rules: "Tiers" (rates in bps, holding days).
SEED_TIERS = [
    dict(key="starter", name="Starter", min_deals=0, base_rate_bps=2000,
         referral_rate_bps=0, team_override_bps=0, holding_days=14,
         features="Basic dashboard\nCore training\n3-5 marketing materials\nCommission tracker"),
    dict(key="active", name="Active", min_deals=3, base_rate_bps=2200,
         referral_rate_bps=500, team_override_bps=0, holding_days=14,
         features="22% commission\n5% referral bonuses\nAdvanced marketing materials\n"
                  "Priority support (4h)\nActive+ partner lounge"),
    dict(key="performer", name="Performer", min_deals=10, base_rate_bps=2500,
         referral_rate_bps=500, team_override_bps=1000, holding_days=7,
         features="25% commission\n10% team override\nTeam building tools\n"
                  "White-label materials\n1:1 strategy calls"),
    dict(key="elite", name="Elite", min_deals=25, base_rate_bps=3000,
         referral_rate_bps=500, team_override_bps=1000, holding_days=7,
         features="30% commission\nCustom deal structures\nCo-marketing campaigns\n"
                  "Executive dashboard\nVIP support"),
]


def all_tiers() -> list[Tier]:
    """Return the tiers ordered by threshold (lowest first)."""
    return list(db.session.scalars(select(Tier).order_by(Tier.min_deals)))


def tier_by_key(key: str) -> Tier | None:
    """Return the tier with ``key`` or ``None``."""
    return db.session.scalar(select(Tier).where(Tier.key == key))


def required_training_counts(partner_id) -> tuple:
    """SQL scalar subqueries ``(passed, required)``: the partner's passed required modules
    and all required modules. ``partner_id`` is an int or a column to correlate with."""
    required = (select(func.count()).select_from(TrainingModule)
                .where(TrainingModule.required).scalar_subquery())
    passed = (select(func.count()).select_from(TrainingCompletion)
              .join(TrainingModule, TrainingModule.id == TrainingCompletion.module_id)
              .where(TrainingCompletion.partner_id == partner_id, TrainingModule.required)
              .scalar_subquery())
    return passed, required


def required_training_done(partner_id: int) -> tuple[int, int]:
    """Return ``(passed, required)`` counts of required training modules for a partner
    (both counted in one query)."""
    passed, required = db.session.execute(
        select(*required_training_counts(partner_id))).one()
    if not required:
        return 0, 0
    return passed, required


def computed_tier(won_deals: int, training_ok: bool, tiers: list[Tier] | None = None) -> Tier:
    """Highest tier whose ``min_deals`` the count reaches; leaving the lowest tier also
    needs the required training passed (rules: "Tiers").

    Args: ``won_deals`` confirmed won deals not cancelled; ``training_ok`` whether every
    required module is passed (true when none are required).
    """
    tiers = tiers or all_tiers()
    best = tiers[0]
    for tier in tiers:
        if won_deals >= tier.min_deals:
            best = tier
    if not training_ok:
        return tiers[0]
    return best


def override_in_force(at):
    """SQL condition: a ``TierOverride`` row is in force at ``at`` (not revoked, not expired).

    ``at`` is an aware datetime, or a ``bindparam`` filled in when the query runs."""
    return and_(TierOverride.revoked_at.is_(None),
                or_(TierOverride.expires_at.is_(None), TierOverride.expires_at > at))


def active_override(partner_id: int, at: datetime | None = None) -> TierOverride | None:
    """Return the override in force for a partner (newest, not revoked, not expired)."""
    at = at or now_utc()
    return db.session.scalar(
        select(TierOverride)
        .where(TierOverride.partner_id == partner_id, override_in_force(at))
        .order_by(TierOverride.id.desc()).limit(1))


def active_overrides(partner_ids, at: datetime | None = None) -> dict[int, TierOverride]:
    """``active_override`` for several partners in one query: ``{partner_id: override}``,
    holding only the partners that have one in force."""
    at = at or now_utc()
    found: dict[int, TierOverride] = {}
    ids = list(set(partner_ids))
    if not ids:
        return found
    for row in db.session.scalars(
            select(TierOverride)
            .where(TierOverride.partner_id.in_(ids), override_in_force(at))
            .order_by(TierOverride.id.desc())):
        found.setdefault(row.partner_id, row)  # the newest one per partner
    return found


@dataclass(frozen=True)
class Standing:
    """A partner's effective terms: ``tier`` (Tier), ``base_rate_bps`` (int), ``why`` (str)."""

    tier: Tier
    base_rate_bps: int
    why: str


def standing(partner: Partner, overrides: dict[int, TierOverride] | None = None) -> Standing:
    """Effective tier and base rate: a staff override in force, else the computed tier
    (rules: "Tiers"). ``partner.tier`` holds the last computed tier.

    ``overrides``, when given, is ``active_overrides(ids)`` for ids that include this
    partner's (it saves the lookup); otherwise the override is looked up here.
    """
    if overrides is None:
        override = active_override(partner.id)
    else:
        override = overrides.get(partner.id)
    tier = partner.tier
    why = f"{partner.won_deals_count} confirmed won deals"
    if override is not None and override.tier_id is not None:
        tier = override.tier
        why = f"staff override: {override.reason}"
    rate = tier.base_rate_bps
    if override is not None and override.base_rate_bps is not None:
        rate = override.base_rate_bps
        why += f"; custom base rate: {override.reason}"
    return Standing(tier=tier, base_rate_bps=rate, why=why)


def tier_change(partner: Partner, *, tiers: list[Tier] | None = None,
                training: tuple[int, int] | None = None) -> tuple[Tier | None, Tier] | None:
    """Recompute the partner's computed tier from their deal count and required training
    (rules: "Tiers") and set it on the loaded partner (written at the flush),
    announcing nothing. Returns ``(old, new)`` when it changed (``old`` is ``None`` for a
    partner who had none), else ``None``. ``tiers``/``training`` as for :func:`refresh_tier`.
    """
    passed, required = training if training is not None else required_training_done(partner.id)
    new = computed_tier(partner.won_deals_count, passed >= required, tiers)
    old = partner.tier
    if old is not None and new.id == old.id:
        return None
    partner.tier = new
    partner.tier_id = new.id
    partner.tier_since = now_utc()
    if old is not None and new.min_deals < old.min_deals:
        from core.community.chat import kick_after_commit  # chat imports this module

        kick_after_commit(partner.user_id, "Your tier changed.")
    return old, new


def announce_tier_change(partner: Partner, old: Tier | None, new: Tier,
                         actor_id: int | None = None, *, tiers: list[Tier] | None = None,
                         badges: list | None = None) -> None:
    """Audit and notify a tier change :func:`tier_change` made (rules: "Tiers": a
    promotion or a demotion creates a notification and an audit row); a promotion also
    earns the tier badges (``core.community.achievements``). Nothing for a first tier (``old`` None).

    ``badges``, when given, is a list the badge wishes ``(partner_id, user_id, key)`` are
    appended to, for the caller to award in one statement with others; otherwise they are
    awarded here.
    """
    if old is None:
        return
    promoted = new.min_deals > old.min_deals
    audit(actor_id, "tier.promote" if promoted else "tier.demote", "partner", partner.id,
          {"tier": old.key}, {"tier": new.key, "won_deals": partner.won_deals_count})
    from core.webhooks.events import emit  # the webhooks read this package's shapes

    emit("partner.tier_changed", partner)
    if promoted:
        from core.community.achievements import award, tier_badges_wanted

        notify(partner.user_id, "tier_up", f"You reached {new.name}!",
               f"Your base rate is now {new.base_rate_bps / 100:g}%.",
               "/partner/tier-progression")
        wanted = tier_badges_wanted(partner, new, tiers)
        if badges is not None:
            badges.extend(wanted)
        else:
            award(wanted, tiers=tiers)
    else:
        notify(partner.user_id, "tier_down", f"Your tier is now {new.name}",
               "A deal was cancelled, so your confirmed deal count dropped.",
               "/partner/tier-progression")


def refresh_tier(partner: Partner, actor_id: int | None = None, *,
                 tiers: list[Tier] | None = None,
                 training: tuple[int, int] | None = None) -> bool:
    """Recompute the partner's computed tier; on a change, audit it and notify them
    (:func:`tier_change` then :func:`announce_tier_change`).

    Returns True when the tier changed. A reversed deal can demote (rules: "Tiers");
    a promotion also awards the tier badges (``core.community.achievements.tier_badges_wanted``), which
    a later demotion does not take back.
    A caller that already read them in this transaction may pass ``tiers`` (``all_tiers()``)
    and ``training`` (``required_training_done(partner.id)``) to save the queries.
    """
    change = tier_change(partner, tiers=tiers, training=training)
    if change is None:
        return False
    announce_tier_change(partner, *change, actor_id, tiers=tiers)
    return True


def tier_status(partner: Partner) -> dict:
    """The tier progression figures (rules: "Tiers"): current and next tier, deals done and needed,
    requirements checklist and percentage to the next tier.

    Returns a JSON-able dict: ``{"current_tier": {...}, "next_tier": {...}|None,
    "deals_done": int, "deals_needed": int, "progress_percent": int (0-100),
    "requirements": [{"name", "done", "target", "met"}], "base_rate_bps": int,
    "effective_reason": str, "days_in_tier": int}``.
    """
    tiers = all_tiers()
    st = standing(partner)
    current = st.tier
    higher = [t for t in tiers if t.min_deals > current.min_deals]
    nxt = higher[0] if higher else None
    done = partner.won_deals_count
    passed, required = required_training_done(partner.id)
    days = max(0, (now_utc() - partner.tier_since).days)
    reqs = []
    if nxt is not None:
        needed = max(0, nxt.min_deals - done)
        span = max(1, nxt.min_deals - current.min_deals)
        pct = 100 if needed == 0 else int(100 * max(0, done - current.min_deals) / span)
        reqs.append({"name": "Confirmed won deals", "done": done, "target": nxt.min_deals,
                     "met": needed == 0})
    else:
        needed, pct = 0, 100
    if required:
        reqs.append({"name": "Required training modules", "done": passed,
                     "target": required, "met": passed >= required})
    reqs.append({"name": "Days in tier", "done": days, "target": None, "met": True})
    return {
        "current_tier": _tier_view(current),
        "next_tier": _tier_view(nxt) if nxt else None,
        "deals_done": done,
        "deals_needed": needed,
        "progress_percent": min(100, pct),
        "requirements": reqs,
        "base_rate_bps": st.base_rate_bps,
        "effective_reason": st.why,
        "days_in_tier": days,
    }


def _tier_view(t: Tier) -> dict:
    """A tier in the ``Tier`` shape (``core.program.schemas``): rates, holding days and
    the feature lines."""
    from core.program.schemas import Tier as TierShape

    return TierShape.model_validate(t).model_dump()


def set_override(partner_id, actor_id: int, tier_key=None, base_rate_bps=None, reason=None,
                 expires_at=None) -> TierOverride | None:
    """Set (or clear) a staff override of a partner's tier and/or base rate.

    Args: ``tier_key`` a tier key or ``None``; ``base_rate_bps`` 0..10000 or ``None``;
    ``reason`` required text (≤500); ``expires_at`` an aware datetime in the future or
    ``None``. Both ``None`` clears the override. The previous override is revoked, never
    edited. Audited; a change of effective tier notifies the partner (rules:
    "Tiers"). Returns the new override or ``None`` when cleared. Raises
    ``NotFound``, ``ValidationError``.
    """
    from core.base.errors import NotFound, ValidationError
    from core.base.extensions import get_row

    partner = get_row(Partner, partner_id)
    if partner is None:
        raise NotFound("No such partner.")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise ValidationError("Give a reason for the override (up to 500 characters).")
    tier = None
    if tier_key is not None:
        tier = tier_by_key(tier_key) if isinstance(tier_key, str) else None
        if tier is None:
            raise ValidationError("tier must be one of: " + ", ".join(t.key for t in all_tiers()))
    if base_rate_bps is not None and (isinstance(base_rate_bps, bool) or
                                      not isinstance(base_rate_bps, int) or
                                      not 0 <= base_rate_bps <= 10000):
        raise ValidationError("base_rate_bps must be a whole number from 0 to 10000 (100%).")
    if expires_at is not None and (not isinstance(expires_at, datetime) or
                                   expires_at.tzinfo is None or expires_at <= now_utc()):
        raise ValidationError("expires_at must be a future time with a time zone.")
    before = standing(partner)
    now = now_utc()
    current = active_override(partner.id)
    if current is not None:
        current.revoked_at = now
    from core.community.chat import kick_after_commit  # chat imports this module

    kick_after_commit(partner.user_id, "Your tier changed.")
    row = None
    if tier is not None or base_rate_bps is not None:
        row = TierOverride(partner_id=partner.id, tier_id=tier.id if tier else None,
                           base_rate_bps=base_rate_bps, reason=reason.strip(),
                           expires_at=expires_at, created_by_id=actor_id)
        db.session.add(row)
        db.session.flush()
    after = standing(partner)
    audit(actor_id, "tier.override" if row else "tier.override_cleared", "partner", partner.id,
          {"tier": before.tier.key, "base_rate_bps": before.base_rate_bps},
          {"tier": after.tier.key, "base_rate_bps": after.base_rate_bps,
           "reason": reason.strip(), "expires_at": expires_at})
    if (before.tier.id, before.base_rate_bps) != (after.tier.id, after.base_rate_bps):
        from core.webhooks.events import emit  # the webhooks read this package's shapes

        emit("partner.tier_changed", partner)
        notify(partner.user_id, "tier_up" if after.tier.min_deals >= before.tier.min_deals
               else "tier_down", f"Your terms changed: {after.tier.name}, "
               f"{after.base_rate_bps / 100:g}% base rate", reason.strip(),
               "/partner/tier-progression")
    return row


#: Tier fields staff may edit, with their allowed ranges.
TIER_FIELDS = {"name": None, "min_deals": (0, 10_000), "base_rate_bps": (0, 10_000),
               "referral_rate_bps": (0, 10_000), "team_override_bps": (0, 10_000),
               "holding_days": (0, 365), "recurring_months": (0, 600), "features": None}


def update_tier(tier_id, actor_id: int, changes: dict) -> Tier:
    """Edit a tier row (staff; rules: "Tiers": a table, editable in admin), audited.

    ``changes`` maps fields of ``TIER_FIELDS`` to new values (ints in range; rates in
    bps). Thresholds must stay strictly increasing with the lowest at 0 deals. New
    rates apply to deals confirmed from now on; the ledger is never rewritten.
    Raises ``NotFound``, ``ValidationError``.
    """
    from core.base.errors import NotFound, ValidationError
    from core.base.extensions import get_row

    tier = get_row(Tier, tier_id)
    if tier is None:
        raise NotFound("No such tier.")
    before, after = {}, {}
    for key, value in changes.items():
        if key not in TIER_FIELDS:
            raise ValidationError(f"{key} cannot be edited.")
        limits = TIER_FIELDS[key]
        if limits is None:
            if not isinstance(value, str) or (key == "name" and not value.strip()) or \
                    len(value) > (60 if key == "name" else 2000):
                raise ValidationError(f"{key} must be text (name 1-60, features up to 2,000).")
            value = value.strip()
        elif isinstance(value, bool) or not isinstance(value, int) or \
                not limits[0] <= value <= limits[1]:
            raise ValidationError(f"{key} must be a whole number from {limits[0]} to {limits[1]}.")
        if getattr(tier, key) != value:
            before[key], after[key] = getattr(tier, key), value
            setattr(tier, key, value)
    ordered = sorted(all_tiers(), key=lambda t: t.min_deals)
    if ordered[0].min_deals != 0 or len({t.min_deals for t in ordered}) != len(ordered):
        raise ValidationError("Thresholds must be different for each tier, the lowest at 0 deals.")
    if after:
        audit(actor_id, "tier.edit", "tier", tier.id, before, after)
    return tier
