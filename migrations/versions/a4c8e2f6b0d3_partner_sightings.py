"""partner_sightings: a partner's sign-up and log-ins as keyed hashes of the client address
and device cookie, kept 30 days, for the fraud rule on recruits signing up from their
recruiter's network or device (rules: "Fraud rules")

Revision ID: a4c8e2f6b0d3
Revises: f3b9d1c7a5e2
Create Date: 2026-12-07 21:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = "a4c8e2f6b0d3"
down_revision = "f3b9d1c7a5e2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "partner_sightings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("ip_hash", sa.String(length=64), nullable=False, server_default=""),
        sa.Column("device_hash", sa.String(length=64), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_partner_sightings_partner_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_sightings")),
    )
    op.create_index("ix_partner_sightings_partner_id_created_at", "partner_sightings",
                    ["partner_id", "created_at"])
    op.create_index("ix_partner_sightings_created_at", "partner_sightings", ["created_at"])


def downgrade():
    op.drop_index("ix_partner_sightings_created_at", "partner_sightings")
    op.drop_index("ix_partner_sightings_partner_id_created_at", "partner_sightings")
    op.drop_table("partner_sightings")
