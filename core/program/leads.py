"""Leads and the pipeline (rules: "Leads"): create, edit, move, mark won."""

import re

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core.base.audit import audit
from core.base.errors import Conflict, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.timeutil import now_utc
from core.money.cents import MAX_DEAL_CENTS
from core.program.models import ACTIVITY_TYPES, LEAD_STAGES, Lead, LeadActivity, Partner
from core.webhooks.events import emit

#: Editable lead fields and their length limits (characters).
LEAD_TEXT_FIELDS = {
    "company_name": 200, "contact_name": 120, "contact_email": 254, "contact_phone": 40,
    "project_type": 80, "next_action": 200, "notes": 5000,
}


def cents_field(value, field: str, *, allow_zero: bool = True) -> int:
    """Validate an amount in cents: an int (not bool), 0/1..$1,000,000.

    Raises ``ValidationError`` naming the field.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be a whole number of cents, e.g. 150000 for $1,500.")
    low = 0 if allow_zero else 1
    if value < low:
        raise ValidationError(f"{field} must be {'zero or more' if allow_zero else 'more than zero'}.")
    if value > MAX_DEAL_CENTS:
        raise ValidationError(f"{field} is above the $1,000,000 limit per deal.")
    return value


def _clean_fields(data: dict, *, creating: bool) -> dict:
    clean = {}
    for field, limit in LEAD_TEXT_FIELDS.items():
        if field not in data or data[field] is None:
            continue
        value = data[field]
        if not isinstance(value, str):
            raise ValidationError(f"{field} must be text.")
        value = value.strip()
        if len(value) > limit:
            raise ValidationError(f"{field} is at most {limit} characters.")
        clean[field] = value
    if creating and not clean.get("company_name"):
        raise ValidationError("company_name is required: who is the lead?")
    if "company_name" in clean and not clean["company_name"]:
        raise ValidationError("company_name cannot be empty.")
    email = clean.get("contact_email")
    if email and ("@" not in email or " " in email):
        raise ValidationError("contact_email is not a valid e-mail address.")
    if data.get("estimated_value_cents") is not None:
        clean["estimated_value_cents"] = cents_field(data["estimated_value_cents"],
                                                     "estimated_value_cents")
    return clean


def create_lead(partner: Partner, data: dict, actor_id: int, source: str = "portal",
                attribution: str = "") -> Lead:
    """Create a lead in stage ``new`` for ``partner`` from a dict of lead fields.

    Unknown keys (``partner_id``, ``status``...) are ignored: a partner cannot set them.
    Raises ``ValidationError`` for a missing ``company_name`` or bad values.
    """
    fields = _clean_fields(data, creating=True)
    lead = Lead(partner_id=partner.id, status="new", source=source, attribution=attribution,
                **fields)
    db.session.add(lead)
    db.session.flush()
    db.session.add(LeadActivity(lead_id=lead.id, user_id=actor_id, activity_type="status_change",
                                notes="Lead created"))
    emit("lead.created", lead)
    from core.engagement.xp import record_action

    record_action(partner.id, "lead_logged", f"lead:{lead.id}")  # rules: "XP, levels and streaks"
    from core.program.fraud import check_new_lead

    check_new_lead(lead)  # rules: "Fraud rules"
    return lead


#: What a device-made lead id may look like (a UUID, or any 8–64 letters, digits, hyphens).
CLIENT_REF_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")


def create_lead_once(partner: Partner, data: dict, actor_id: int, client_ref: str,
                     source: str = "portal") -> tuple[Lead, bool]:
    """Create a lead the partner's device named ``client_ref``, once (rules:
    "Leads": leads added offline are sent when back online, with no duplicates).

    A second call with the same ``client_ref`` for the same partner (the queue resending
    after the first answer was lost, or a double tap) returns the first lead, unchanged,
    also when both calls race (the unique constraint on ``(partner_id, client_ref)``
    decides; the loser reads the winner's row). Returns ``(lead, created)``.
    Raises ``ValidationError`` for a malformed ``client_ref`` or bad lead fields (as
    :func:`create_lead`)."""
    from sqlalchemy.exc import IntegrityError

    if not isinstance(client_ref, str) or not CLIENT_REF_RE.match(client_ref):
        raise ValidationError("This lead's device id is malformed; reload the page and "
                              "add it again.")

    def existing():
        return db.session.scalar(select(Lead).where(Lead.partner_id == partner.id,
                                                    Lead.client_ref == client_ref))

    found = existing()
    if found is not None:
        return found, False
    try:
        with db.session.begin_nested():
            lead = create_lead(partner, data, actor_id, source=source)
            lead.client_ref = client_ref
            db.session.flush()
    except IntegrityError:
        found = existing()
        if found is None:
            raise
        return found, False
    return lead, True


def get_partner_lead(partner: Partner, lead_id) -> Lead:
    """Return the partner's own lead in their pipeline; anyone else's, unknown or removed
    (rules: "Removing a lead") raises ``NotFound``."""
    lead = get_row(Lead, lead_id)
    if lead is None or lead.partner_id != partner.id or lead.archived_at is not None:
        raise NotFound("No such lead.")
    return lead


def archive_lead(lead: Lead, actor_id: int) -> Lead:
    """Remove a lead from its partner's pipeline: kept for the record (``archived_at`` set,
    audited ``lead.archived``), gone from the partner's lists and counts.

    Raises ``Conflict`` (409) for a won lead or one whose deal staff confirmed: that sale
    is on the books. Not committed. Rules: "Removing a lead".
    """
    if lead.deal is not None:
        raise Conflict("This lead's deal is confirmed; it stays on your record.",
                       code="deal_confirmed")
    if lead.status == "won":
        raise Conflict("A won lead cannot be removed: staff are confirming its deal. If the "
                       "sale fell through, move it to lost first.", code="lead_won")
    lead.archived_at = now_utc()
    audit(actor_id, "lead.archived", "lead", lead.id, {"status": lead.status},
          {"archived_at": lead.archived_at.isoformat()})
    return lead


def update_lead(lead: Lead, data: dict) -> Lead:
    """Edit a lead's descriptive fields (not its stage, owner or value once won)."""
    fields = _clean_fields(data, creating=False)
    for key, value in fields.items():
        setattr(lead, key, value)
    lead.updated_at = now_utc()
    return lead


def move_lead(lead: Lead, status, actor_id: int, deal_value_cents=None) -> Lead:
    """Move a lead to another pipeline stage; ``won`` needs ``deal_value_cents`` (> 0).

    A lead whose deal staff confirmed cannot move any more. Raises ``ValidationError``
    for an unknown stage or a bad value, ``Conflict``-like ``ValidationError`` when locked.
    """
    if status not in LEAD_STAGES:
        raise ValidationError(f"status must be one of: {', '.join(LEAD_STAGES)}.")
    if lead.deal is not None:
        raise ValidationError("This lead's deal is confirmed; its stage can no longer change.",
                              code="locked", status=409)
    if status == "won":
        if deal_value_cents is None:
            raise ValidationError("deal_value_cents is required to mark a lead won.")
        lead.won_value_cents = cents_field(deal_value_cents, "deal_value_cents",
                                           allow_zero=False)
    elif deal_value_cents is not None:
        raise ValidationError("deal_value_cents is only accepted with status 'won'.")
    else:
        lead.won_value_cents = None
    if status != lead.status:
        db.session.add(LeadActivity(lead_id=lead.id, user_id=actor_id,
                                    activity_type="status_change",
                                    notes=f"{lead.status} → {status}"))
        lead.status = status
        lead.stage_changed_at = now_utc()
        lead.updated_at = now_utc()
        emit("lead.status_changed", lead)
        if status not in ("new", "lost"):
            from core.engagement.xp import record_action

            # once per lead and stage: moving back and forth earns nothing more
            record_action(lead.partner_id, "stage_moved", f"stage:{lead.id}:{status}")
        if status == "won":
            emit("lead.won", lead)
    if status == "won":
        from core.program.fraud import check_won_value

        check_won_value(lead)  # rules: "Fraud rules"
    lead.updated_at = now_utc()
    return lead


def add_activity(lead: Lead, activity_type, notes, actor_id: int) -> LeadActivity:
    """Log a call, e-mail, meeting or note on a lead (notes up to 5,000 characters)."""
    if activity_type not in ACTIVITY_TYPES or activity_type == "status_change":
        raise ValidationError("activity_type must be call, email, meeting or note.")
    if not isinstance(notes, str) or len(notes) > 5000:
        raise ValidationError("notes must be text of at most 5,000 characters.")
    row = LeadActivity(lead_id=lead.id, user_id=actor_id, activity_type=activity_type,
                       notes=notes.strip())
    db.session.add(row)
    return row


def pipeline(partner: Partner, per_stage: int = 100) -> tuple[dict, dict]:
    """The partner's pipeline board: ``(by_stage, counts)``.

    ``by_stage`` maps every stage of ``LEAD_STAGES`` to its newest ``per_stage`` leads
    (newest first), ``counts`` to how many leads the stage holds in all, so a column can
    say "newest 100 of 340" instead of silently dropping the rest. Three queries whatever
    the number of leads (the window query, the leads' deals, a count by stage).
    """
    rank = func.row_number().over(partition_by=Lead.status,
                                  order_by=Lead.id.desc()).label("rank")
    ranked = (select(Lead.id.label("id"), rank).where(Lead.partner_id == partner.id,
                                                       Lead.archived_at.is_(None))
              .subquery())
    rows = db.session.scalars(
        select(Lead).join(ranked, ranked.c.id == Lead.id).where(ranked.c.rank <= per_stage)
        .options(selectinload(Lead.deal)).order_by(Lead.id.desc()))
    by_stage = {stage: [] for stage in LEAD_STAGES}
    for lead in rows:
        by_stage.setdefault(lead.status, []).append(lead)
    counts = {stage: 0 for stage in LEAD_STAGES}
    counts.update(db.session.execute(
        select(Lead.status, func.count()).where(Lead.partner_id == partner.id,
                                                Lead.archived_at.is_(None))
        .group_by(Lead.status)).all())
    return by_stage, counts


def partner_leads(partner: Partner, status: str | None = None, after_id: int | None = None,
                  limit: int = 50) -> list[Lead]:
    """The partner's leads in their pipeline (removed ones left out), newest first,
    optionally of one stage, paged by id cursor (leads with ids below ``after_id``)."""
    q = select(Lead).where(Lead.partner_id == partner.id, Lead.archived_at.is_(None))
    if status:
        q = q.where(Lead.status == status)
    if after_id:
        q = q.where(Lead.id < after_id)
    return list(db.session.scalars(q.order_by(Lead.id.desc()).limit(limit)))
