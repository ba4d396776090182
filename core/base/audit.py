"""Audit trail: every change on money, access or tiers writes one row (rules: "Money").

Two kinds of rows:

- ``audit`` records a change; the row joins the caller's transaction, so it is committed
  with the change it describes (and disappears with it on a rollback).
- ``audit_refusal`` records a *refused* attempt on money (approving one's own payout,
  below the minimum, a stale state transition, a webhook with a bad signature...). The
  request that made the attempt is rolled back, so this row is written in its own short
  transaction on a separate connection, right after the caller's transaction ends
  (commit or rollback), or at once when no transaction is open (rules: "Bad input":
  "an audit row where it was an attempt on money, and no change").
"""

import json
import logging

from flask import g, has_app_context
from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError

from core.base.bulkwrite import buffer_row
from core.base.extensions import db
from core.base.models import AuditLog
from core.base.timeutil import now_utc

log = logging.getLogger(__name__)

def _dumps(value: dict | None) -> str:
    return json.dumps(value, default=str, sort_keys=True) if value else ""


#: Every ``object_type`` the code writes, and ``asset``, what resources were called in
#: rows written before they were renamed (the audit screen's "Target type" choices;
#: a test checks each ``audit(...)`` call in the code uses one of these).
OBJECT_TYPES = ("api_token", "asset", "badge", "bonus_pool", "certificate", "challenge",
                "channel", "commission", "deal", "event", "fraud_flag", "landing_page", "lead",
                "learning_path", "level", "material_template", "mentorship", "message",
                "spotlight",
                "partner", "payout", "playbook", "referral_link", "resource", "setting",
                "statement", "statement_batch", "tax_form", "tier", "user",
                "webhook_endpoint", "xp_rule")


def staff_choices() -> list[tuple[str, str]]:
    """``(user id, "Name <email>")`` of every staff member, by name: who can appear as an
    audit row's actor (with the system, which has no user)."""
    from sqlalchemy import select

    from core.accounts.models import User

    return [(str(uid), f"{name} <{email}>") for uid, name, email in db.session.execute(
        select(User.id, User.name, User.email).where(User.is_staff).order_by(User.name))]


def audit(actor_id: int | None, action: str, object_type: str, object_id: int | None,
          before: dict | None = None, after: dict | None = None) -> AuditLog | None:
    """Add an audit row to the session (committed with the change it records).

    Args: ``actor_id`` user id or ``None`` for the system; ``action`` such as
    ``"payout.approve"``; ``before``/``after`` small JSON-able dicts of the fields changed.
    Returns the ``AuditLog`` row (not yet committed), or ``None`` inside
    ``core.base.bulkwrite.bulk_rows``, which writes the row with the batch's others.
    """
    values = dict(actor_id=actor_id, action=action, object_type=object_type,
                  object_id=object_id, before=_dumps(before), after=_dumps(after),
                  api_key_id=acting_api_key_id())
    if buffer_row(AuditLog, values):
        return None
    row = AuditLog(**values)
    db.session.add(row)
    return row


def acting_api_key_id() -> int | None:
    """The id of the staff API key the current request authenticated with (set by the
    API's bearer check as ``g.api_key_id``), or ``None`` (pages, login tokens, jobs)."""
    return g.get("api_key_id") if has_app_context() else None


def audit_key_use(key_id: int, owner_id: int, key_name: str, method: str, path: str) -> None:
    """Record one use of a staff API key: an ``api_key.use`` row naming the key, the
    method and the path (rules: "API keys and scopes"). Written at once in its own
    transaction (the request has changed nothing yet), so reads, which commit nothing,
    are recorded too. Raises nothing."""
    write_refusals(db.engine, [{
        "actor_id": owner_id, "action": "api_key.use", "object_type": "api_token",
        "object_id": key_id, "before": "", "created_at": now_utc(), "api_key_id": key_id,
        "after": _dumps({"key": key_name, "method": method, "path": path[:300]})}])


def audit_refusal(actor_id: int | None, action: str, object_type: str,
                  object_id: int | None, reason: str, details: dict | None = None) -> None:
    """Record a refused attempt on money; the row survives the caller's rollback.

    Args: ``actor_id`` user id or ``None`` (system, or an unauthenticated caller such as
    a webhook sender); ``action`` such as ``"payout.approve.refused"``; ``object_id``
    the object's id or ``None`` when there is none; ``reason`` a short machine-readable
    why (``"own payout"``, ``"state"``, ``"bad signature"``...); ``details`` a small
    JSON-able dict (stored with the reason as the row's ``after``).

    The row is not added to the caller's session: it is written in its own transaction
    on another connection once the caller's transaction has ended (so it never waits on
    the caller's locks, also on SQLite), or immediately when no transaction is open.
    Raises nothing: a failure to write is logged (the refusal itself is what the caller
    is about to raise).
    """
    _write_outside(actor_id=actor_id, action=action, object_type=object_type,
                   object_id=object_id, after=_dumps({"refused": reason, **(details or {})}))


def _write_outside(**values) -> None:
    """Write one audit row in its own transaction on another connection: once the
    session's open transaction has ended, or at once when none is open."""
    row = {"before": "", "created_at": now_utc(), "api_key_id": acting_api_key_id(), **values}
    from core.base import outbox

    engine = db.engine
    if db.session().in_transaction():
        outbox.current().refusals.append((write_refusals, engine, row))
    else:
        write_refusals(engine, [row])


def write_refusals(engine, rows: list[dict]) -> None:
    """Insert audit rows of refused attempts in a transaction of their own on
    ``engine``; raises nothing (a failure is logged)."""
    try:
        with engine.begin() as conn:
            conn.execute(insert(AuditLog.__table__), rows)
    except SQLAlchemyError:
        # The actor may exist only in the transaction that was rolled back: keep the row,
        # with the actor's id in the details instead of the foreign key.
        try:
            with engine.begin() as conn:
                conn.execute(insert(AuditLog.__table__), [
                    dict(r, actor_id=None, after=_dumps(
                        {**json.loads(r["after"]), "actor_id": r["actor_id"]}))
                    for r in rows])
        except SQLAlchemyError:
            log.exception("could not write %d refusal audit row(s): %r", len(rows), rows)
