"""outbox of jobs: written with the transaction that asks for them

- ``outbox_jobs``: one row per job a committed transaction asked for and RQ has not
  taken yet (``core.base.outbox``): deleted once RQ has the job; sent by the sweeper
  when Redis could not take it at the commit. New table, no existing rows.

Revision ID: d8a4f6c2e9b7
Revises: c5d2a9e7f3b1
Create Date: 2026-12-07 14:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "d8a4f6c2e9b7"
down_revision = "c5d2a9e7f3b1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outbox_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("job", sa.String(length=200), nullable=False),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("job_id", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_jobs")),
    )
    op.create_index("ix_outbox_jobs_created_at", "outbox_jobs", ["created_at"])


def downgrade():
    op.drop_index("ix_outbox_jobs_created_at", table_name="outbox_jobs")
    op.drop_table("outbox_jobs")
