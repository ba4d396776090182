"""leads: archived_at, set when a partner removes a lead from their pipeline

A removed lead is kept (its activities, attribution and audit trail stay for staff) and
left out of the partner's lists and counts (rules: "Removing a lead").

Revision ID: a7c3e9f1b2d4
Revises: e2b7c9d4a6f1
Create Date: 2026-12-07 13:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "a7c3e9f1b2d4"
down_revision = "e2b7c9d4a6f1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("archived_at")
