"""statement lines frozen at issue

A statement's lines are stored when it is issued (``statements.lines_json``), so its PDF
lists exactly the ledger events behind its frozen totals, whenever it is rendered. The
column joins the ledger guard: once written it never changes.

Revision ID: b7e2c4a91d10
Revises: 6d3b9f1a2c05
Create Date: 2026-12-01 07:05:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7e2c4a91d10"
down_revision = "6d3b9f1a2c05"
branch_labels = None
depends_on = None

OLD_COLS = ["opening_cents", "earned_cents", "reversed_cents", "paid_cents", "closing_cents",
            "partner_id", "year", "month", "version"]
NEW_COLS = OLD_COLS + ["lines_json"]


def _guard(dialect: str, cols: list[str]) -> list[str]:
    """The statements table's "fixed columns" trigger (as core/ledger_guard.py makes it)."""
    if dialect == "postgresql":
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in cols)
        return ["DROP TRIGGER IF EXISTS ledger_fixed ON statements",
                f"CREATE TRIGGER ledger_fixed BEFORE UPDATE OF {', '.join(cols)} "
                f"ON statements FOR EACH ROW WHEN ({changed}) "
                "EXECUTE FUNCTION siso_ledger_guard()"]
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in cols)
    return ["DROP TRIGGER IF EXISTS ledger_fixed_statements",
            f"CREATE TRIGGER ledger_fixed_statements BEFORE UPDATE OF {', '.join(cols)} "
            f"ON statements WHEN {changed} "
            "BEGIN SELECT RAISE(ABORT, 'ledger amounts never change'); END"]


def upgrade():
    # Plain ADD COLUMN (no batch copy on SQLite), so the table's triggers stay in place.
    op.add_column("statements", sa.Column("lines_json", sa.Text(), server_default="",
                                          nullable=False))
    for stmt in _guard(op.get_bind().dialect.name, NEW_COLS):
        op.execute(stmt)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_fixed ON statements")
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_fixed_statements")
    with op.batch_alter_table("statements") as batch_op:
        batch_op.drop_column("lines_json")
    if dialect != "postgresql":  # SQLite's batch copy dropped the table's triggers
        op.execute("DROP TRIGGER IF EXISTS ledger_no_delete_statements")
        op.execute("CREATE TRIGGER ledger_no_delete_statements BEFORE DELETE ON statements "
                   "BEGIN SELECT RAISE(ABORT, 'ledger rows are never deleted'); END")
    for stmt in _guard(dialect, OLD_COLS):
        op.execute(stmt)
