"""audit rows name the API key a change came through

- ``audit_log.api_key_id``: the staff API key (``api_tokens`` row of kind ``key``) the
  actor used, so a change made with a key is traced to that key (and its name), not
  only to its owner. Null for existing rows.

A plain ``ADD COLUMN`` (no table copy): on SQLite a copy would drop the ledger guard's
triggers on ``audit_log``.

Revision ID: b3f8e1c2d4a5
Revises: a7c5e3b1d9f4
Create Date: 2026-12-07 11:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "b3f8e1c2d4a5"
down_revision = "a7c5e3b1d9f4"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        # Alembic refuses a constraint in SQLite's ADD COLUMN; SQLite itself takes it.
        op.execute("ALTER TABLE audit_log ADD COLUMN api_key_id INTEGER "
                   "CONSTRAINT fk_audit_log_api_key_id_api_tokens REFERENCES api_tokens (id)")
        return
    op.add_column("audit_log", sa.Column(
        "api_key_id", sa.Integer(),
        sa.ForeignKey("api_tokens.id", name="fk_audit_log_api_key_id_api_tokens"),
        nullable=True))


#: The ledger guard's triggers on ``audit_log`` (SQLite), put back after a table copy.
SQLITE_AUDIT_TRIGGERS = [
    "CREATE TRIGGER ledger_no_delete_audit_log BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'ledger rows are never deleted'); END",
    "CREATE TRIGGER ledger_fixed_audit_log BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'ledger amounts never change'); END",
]


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_audit_log_api_key_id_api_tokens", "audit_log",
                           type_="foreignkey")
        op.drop_column("audit_log", "api_key_id")
        return
    # SQLite cannot drop a column with a foreign key in place: copy the table, which
    # drops its triggers, then put the ledger guard back.
    with op.batch_alter_table("audit_log", recreate="always") as batch:
        batch.drop_column("api_key_id")
    for statement in SQLITE_AUDIT_TRIGGERS:
        op.execute(statement)
