"""What a CRM writes (rules: "CRM sync"): leads kept by the CRM's own id, and the CRM's
ids of partners and deals."""

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.base.audit import audit
from core.base.errors import Conflict, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.program.leads import _clean_fields, create_lead, move_lead
from core.program.models import LEAD_STAGES, Lead, Partner

#: What a CRM's id may look like: 1 to 100 letters, digits and ``_ . : -``.
EXTERNAL_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def check_external_id(value) -> str:
    """``value`` when it is a valid CRM id; ``ValidationError`` (422) otherwise."""
    if not isinstance(value, str) or not EXTERNAL_ID_RE.match(value):
        raise ValidationError("external_id must be 1 to 100 letters, digits, or _ . : - "
                              "characters.")
    return value


def _by_external_id(external_id: str) -> Lead | None:
    return db.session.scalar(select(Lead).where(Lead.external_id == external_id))


def _create(partner: Partner, external_id: str, fields: dict, actor_id: int) -> tuple[Lead, bool]:
    """Create the lead, once: a concurrent PUT of the same id reads the winner's row.
    Everything that can refuse the request is checked before: on SQLite (pysqlite) a
    savepoint opened before any write is released as a commit."""
    try:
        with db.session.begin_nested():
            lead = create_lead(partner, fields, actor_id, source="crm")
            lead.external_id = external_id
            db.session.flush()
    except IntegrityError:
        found = _by_external_id(external_id)
        if found is None:
            raise
        return found, False
    return lead, True


def _checked(data: dict) -> tuple[dict, str | None, int | None]:
    """The lead fields, stage and won value of an upsert, each checked before anything is
    written. Raises ``ValidationError``."""
    status, value = data.get("status"), data.get("deal_value_cents")
    if value is not None and status != "won":
        raise ValidationError("deal_value_cents is only accepted with status 'won'.")
    if status == "won" and value is None:
        raise ValidationError("deal_value_cents is required to mark a lead won.")
    if status is not None and status not in LEAD_STAGES:
        raise ValidationError(f"status must be one of: {', '.join(LEAD_STAGES)}.")
    fields = _clean_fields({k: v for k, v in data.items()
                            if k not in ("status", "deal_value_cents")}, creating=False)
    if "billing" in data:
        if data["billing"] not in ("one_time", "monthly"):
            raise ValidationError("billing must be one_time or monthly.")
        fields["billing"] = data["billing"]
    return fields, status, value


def upsert_lead(external_id, partner_id, data: dict, actor_id: int) -> tuple[Lead, bool]:
    """Create or update the lead the CRM calls ``external_id`` for partner ``partner_id``
    (idempotent: the same call twice changes nothing the second time).

    ``data`` holds lead fields (``company_name`` required to create; the others of
    ``core.program.leads.LEAD_TEXT_FIELDS``, ``estimated_value_cents``) and optionally
    ``billing`` (``one_time`` or ``monthly``: rules "Recurring deals"),
    ``status`` (a pipeline stage) with ``deal_value_cents`` (cents, required for
    ``won``): a won lead waits in the confirmation queue for staff or the bulk confirm.
    Returns ``(lead, created)``. Raises ``NotFound`` (no such partner), ``Conflict``
    (the lead is another partner's, the partner is not active, or its deal is already
    confirmed and the stage would change), ``ValidationError`` (bad fields)."""
    external_id = check_external_id(external_id)
    partner = get_row(Partner, partner_id)
    if partner is None:
        raise NotFound("No such partner.")
    fields, status, value = _checked(data)
    lead = _by_external_id(external_id)
    created = False
    if lead is None:
        if partner.status != "active":
            raise Conflict(f"This partner is {partner.status}; leads are logged for active "
                           "partners only.")
        if not fields.get("company_name"):
            raise ValidationError("company_name is required: who is the lead?")
        lead, created = _create(partner, external_id,
                                {k: v for k, v in fields.items() if k != "billing"}, actor_id)
    if lead.partner_id != partner.id:
        raise Conflict("This external_id belongs to a lead of another partner.")
    changed = {k: v for k, v in fields.items() if getattr(lead, k) != v}
    if "billing" in changed and lead.deal is not None:
        raise Conflict("This lead's deal is confirmed; how it is billed can no longer "
                       "change.", code="locked")
    for key, v in changed.items():
        setattr(lead, key, v)
    if status is not None and (status != lead.status or
                               (status == "won" and value != lead.won_value_cents)):
        move_lead(lead, status, actor_id, value)
        changed["status"] = status
    if created or changed:
        audit(actor_id, "lead.crm_upsert", "lead", lead.id, None,
              {"external_id": external_id, "created": created, "changed": sorted(changed)})
    return lead, created


def set_external_id(model, row_id, external_id, actor_id: int):
    """Set (or clear, with ``None``) the CRM's id of a partner or deal row. Returns the
    row. Raises ``NotFound``, ``ValidationError`` (malformed), ``Conflict`` (another row
    of that kind has it)."""
    row = get_row(model, row_id)
    if row is None:
        raise NotFound(f"No such {model.__name__.lower()}.")
    if external_id is not None:
        check_external_id(external_id)
        other = db.session.scalar(select(model.id).where(model.external_id == external_id,
                                                         model.id != row.id))
        if other is not None:
            raise Conflict(f"Another {model.__name__.lower()} (#{other}) has this external_id.")
    if row.external_id != external_id:
        audit(actor_id, f"{model.__tablename__[:-1]}.external_id", model.__tablename__[:-1],
              row.id, {"external_id": row.external_id}, {"external_id": external_id})
        row.external_id = external_id
    return row
