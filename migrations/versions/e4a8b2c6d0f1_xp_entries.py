"""xp_entries: the append-only XP ledger

XP for the actions the program wants, once per source (rules: "XP, levels and streaks").

Revision ID: e4a8b2c6d0f1
Revises: d3f7b1a9c5e2
Create Date: 2026-12-07 21:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "e4a8b2c6d0f1"
down_revision = "d3f7b1a9c5e2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "xp_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("source_key", sa.String(80), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("earned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xp_entries")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_xp_entries_partner_id_partners")),
        sa.UniqueConstraint("partner_id", "source_key", name=op.f("uq_xp_entries_partner_id")),
        sa.CheckConstraint("points >= 0", name=op.f("ck_xp_entries_points")),
    )
    op.create_index("ix_xp_entries_partner_at", "xp_entries", ["partner_id", "earned_at"])


def downgrade():
    op.drop_index("ix_xp_entries_partner_at", table_name="xp_entries")
    op.drop_table("xp_entries")
