"""referral link clicks

Revision ID: 5a2b3c4d5e6f
Revises: 4e1f0c2a7d33
Create Date: 2026-11-22 06:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "5a2b3c4d5e6f"
down_revision = "4e1f0c2a7d33"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "referral_clicks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("ip_hash", sa.String(length=64), nullable=False),
        sa.Column("referrer_host", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_referral_clicks_lead_id_leads")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_referral_clicks_partner_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_clicks")),
    )
    op.create_index("ix_referral_clicks_partner_id", "referral_clicks", ["partner_id"])


def downgrade():
    op.drop_index("ix_referral_clicks_partner_id", table_name="referral_clicks")
    op.drop_table("referral_clicks")
