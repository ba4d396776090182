"""achievements, and the dashboard onboarding checklist's dismissal

- ``achievements``: one badge per partner and key (tier design seed 004 "Achievement
  Badges"; PRD 002 schema ``achievements``), awarded by ``core/achievements.py``. Rows
  are only added, never removed, so no existing data needs moving: partners who already
  qualify get their First Sale and tier badges from the scheduled sweep
  (``core.community.achievements.award_achievements``).
- ``partners.onboarding_dismissed_at``: when a partner hid the dashboard's onboarding
  checklist (nullable: no default needed).

Revision ID: f1a9c3e5b7d2
Revises: f2c7a9e4b1d3
Create Date: 2026-12-03 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "f1a9c3e5b7d2"
down_revision = "f2c7a9e4b1d3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "achievements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("awarded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_achievements_partner_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_achievements")),
        sa.UniqueConstraint("partner_id", "key", name=op.f("uq_achievements_partner_id")),
    )
    op.create_index("ix_achievements_key", "achievements", ["key"])
    with op.batch_alter_table("partners") as batch:
        batch.add_column(sa.Column("onboarding_dismissed_at", sa.DateTime(timezone=True),
                                   nullable=True))


def downgrade():
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("onboarding_dismissed_at")
    op.drop_index("ix_achievements_key", table_name="achievements")
    op.drop_table("achievements")
