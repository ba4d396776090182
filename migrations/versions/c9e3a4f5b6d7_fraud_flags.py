"""fraud flags: findings of the fraud rules, decided by staff (rules: "Fraud rules")

Revision ID: c9e3a4f5b6d7
Revises: b8d2f3e4a5c6
Create Date: 2026-12-07 17:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = "c9e3a4f5b6d7"
down_revision = "b8d2f3e4a5c6"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "fraud_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(30), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("dedupe_key", sa.String(120), nullable=False, server_default=""),
        sa.Column("status", sa.String(10), nullable=False, server_default="open"),
        sa.Column("reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('open', 'dismissed', 'rejected')",
                           name=op.f("ck_fraud_flags_status")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_fraud_flags_partner_id_partners")),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_fraud_flags_lead_id_leads")),
        sa.ForeignKeyConstraint(["link_id"], ["referral_links.id"],
                                name=op.f("fk_fraud_flags_link_id_referral_links")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"],
                                name=op.f("fk_fraud_flags_decided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_flags")),
        sa.UniqueConstraint("rule", "lead_id", "dedupe_key", name="uq_fraud_flags_rule_lead_key"),
    )
    op.create_index("ix_fraud_flags_status", "fraud_flags", ["status"])
    op.create_index("ix_fraud_flags_lead_id", "fraud_flags", ["lead_id"])


def downgrade():
    op.drop_index("ix_fraud_flags_lead_id", "fraud_flags")
    op.drop_index("ix_fraud_flags_status", "fraud_flags")
    op.drop_table("fraud_flags")
