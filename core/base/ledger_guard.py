"""The ledger and the audit log are append-only (rules: "Ledger"): no row of these tables
is deleted and their amounts never change.

Enforced twice: in the ORM (mapper events on each guarded model, :func:`guard`: a clear
``LedgerViolation`` for our own code) and in the database with triggers (for anything
else that connects). The trigger DDL here is what the migration installs.
"""

from sqlalchemy import event, inspect

#: table → columns whose value is fixed once written (``"*"``: the whole row).
GUARDED = {
    "commissions": ("amount_cents", "partner_id", "type", "deal_id"),
    "payouts": ("amount_cents", "partner_id"),
    "payout_transfers": ("amount_cents", "payout_id", "idempotency_key"),
    "deals": ("value_cents", "partner_id", "lead_id"),
    "statements": ("opening_cents", "earned_cents", "reversed_cents", "paid_cents",
                   "closing_cents", "partner_id", "year", "month", "version", "lines_json"),
    "audit_log": ("*",),
}


class LedgerViolation(RuntimeError):
    """Code tried to delete a ledger row or change a fixed amount."""


def create_sql(dialect: str) -> list[str]:
    """DDL statements creating the guard triggers for ``dialect`` (sqlite | postgresql)."""
    out = []
    if dialect == "postgresql":
        out.append(
            "CREATE OR REPLACE FUNCTION siso_ledger_guard() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'ledger rows are never deleted (%)', "
            "TG_TABLE_NAME; END IF; RAISE EXCEPTION 'ledger amounts never change (%)', "
            "TG_TABLE_NAME; END $$")
    for table, cols in GUARDED.items():
        if dialect == "postgresql":
            out.append(f"CREATE TRIGGER ledger_no_delete BEFORE DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION siso_ledger_guard()")
            if cols == ("*",):
                out.append(f"CREATE TRIGGER ledger_fixed BEFORE UPDATE ON {table} "
                           "FOR EACH ROW EXECUTE FUNCTION siso_ledger_guard()")
            else:
                changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in cols)
                out.append(f"CREATE TRIGGER ledger_fixed BEFORE UPDATE OF {', '.join(cols)} "
                           f"ON {table} FOR EACH ROW WHEN ({changed}) "
                           "EXECUTE FUNCTION siso_ledger_guard()")
        else:
            out.append(f"CREATE TRIGGER ledger_no_delete_{table} BEFORE DELETE ON {table} "
                       "BEGIN SELECT RAISE(ABORT, 'ledger rows are never deleted'); END")
            if cols == ("*",):
                out.append(f"CREATE TRIGGER ledger_fixed_{table} BEFORE UPDATE ON {table} "
                           "BEGIN SELECT RAISE(ABORT, 'ledger amounts never change'); END")
            else:
                changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in cols)
                out.append(f"CREATE TRIGGER ledger_fixed_{table} BEFORE UPDATE OF "
                           f"{', '.join(cols)} ON {table} WHEN {changed} "
                           "BEGIN SELECT RAISE(ABORT, 'ledger amounts never change'); END")
    return out


def drop_sql(dialect: str) -> list[str]:
    """DDL statements removing the guard triggers."""
    out = []
    for table in GUARDED:
        if dialect == "postgresql":
            out += [f"DROP TRIGGER IF EXISTS ledger_no_delete ON {table}",
                    f"DROP TRIGGER IF EXISTS ledger_fixed ON {table}"]
        else:
            out += [f"DROP TRIGGER IF EXISTS ledger_no_delete_{table}",
                    f"DROP TRIGGER IF EXISTS ledger_fixed_{table}"]
    if dialect == "postgresql":
        out.append("DROP FUNCTION IF EXISTS siso_ledger_guard()")
    return out


def _refuse_delete(mapper, connection, target) -> None:
    raise LedgerViolation(f"{target.__table__.name} rows are never deleted")


def _refuse_change(mapper, connection, target) -> None:
    cols = GUARDED[target.__table__.name]
    state = inspect(target)
    for attr in state.attrs:
        if (cols == ("*",) or attr.key in cols) and attr.history.deleted and \
                attr.history.added and attr.history.deleted[0] is not None:
            raise LedgerViolation(f"{target.__table__.name}.{attr.key} never changes once "
                                  "written")


def guard(model) -> None:
    """Refuse, in the ORM, deleting a row of ``model`` (a ledger table of
    :data:`GUARDED`) or changing one of its fixed columns: ``LedgerViolation`` before the
    statement is sent (the database's triggers refuse it for anyone else)."""
    event.listen(model, "before_delete", _refuse_delete)
    event.listen(model, "before_update", _refuse_change)
