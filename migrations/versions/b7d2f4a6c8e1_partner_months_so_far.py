"""program_partner_months: each partner's figures of all earlier months beside the month's
(a row every month from the partner's first figure on), so a run of rolled months is two
rows' difference per partner, as for the links; program_pipeline_stages: the open pipeline's
totals per stage; leads.counted_at: when a lead was made or its creation time, partner or
link last written, what the roll-ups count it by (a stage moved no longer makes its month
read raw); partners.approved_at indexed (the program's approved partners are counted
by it). The roll-up state is cleared: the worker's next run
writes every month again with the new columns, and until then the analytics read the raw
rows (rules: "Program roll-ups").

Revision ID: b7d2f4a6c8e1
Revises: a4c8e2f6b0d3
Create Date: 2026-12-08 00:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "b7d2f4a6c8e1"
down_revision = "a4c8e2f6b0d3"
branch_labels = None
depends_on = None

COLUMNS = (("revenue_before_cents", sa.BigInteger()), ("deals_before", sa.Integer()),
           ("paid_before_cents", sa.BigInteger()), ("leads_before", sa.Integer()))


def upgrade():
    with op.batch_alter_table("program_partner_months") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=False, server_default="0"))
    op.create_index("ix_partners_approved_at", "partners", ["approved_at"])
    op.create_table(
        "program_pipeline_stages",
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("leads", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("value_cents", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("status", name=op.f("pk_program_pipeline_stages")),
    )
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("counted_at", sa.DateTime(timezone=True), nullable=True,
                                   server_default=sa.func.now()))
    op.execute("UPDATE leads SET counted_at = updated_at")
    with op.batch_alter_table("leads") as batch:
        batch.alter_column("counted_at", existing_type=sa.DateTime(timezone=True),
                           nullable=False)
    op.create_index("ix_leads_counted_at", "leads", ["counted_at"])
    op.execute("DELETE FROM settings WHERE key = 'program_rolled_up'")


def downgrade():
    op.drop_index("ix_leads_counted_at", "leads")
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("counted_at")
    op.drop_table("program_pipeline_stages")
    op.drop_index("ix_partners_approved_at", "partners")
    with op.batch_alter_table("program_partner_months") as batch:
        for name, _kind in COLUMNS:
            batch.drop_column(name)
    op.execute("DELETE FROM settings WHERE key = 'program_rolled_up'")
