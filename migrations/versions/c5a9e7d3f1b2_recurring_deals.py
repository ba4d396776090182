"""recurring_deals: monthly deals paid per invoice; the terms locked at confirmation,
the invoices, the invoice of each commission, and each tier's recurring months

Revision ID: c5a9e7d3f1b2
Revises: b8f4d2a6c1e3
Create Date: 2026-12-07 14:35:00

"""
import sqlalchemy as sa
from alembic import op

revision = "c5a9e7d3f1b2"
down_revision = "b8f4d2a6c1e3"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("tiers", sa.Column("recurring_months", sa.Integer(), nullable=False,
                                     server_default="12"))
    op.add_column("leads", sa.Column("billing", sa.String(length=10), nullable=False,
                                     server_default="one_time"))
    op.add_column("deals", sa.Column("billing", sa.String(length=10), nullable=False,
                                     server_default="one_time"))
    op.add_column("deals", sa.Column("stripe_subscription_id", sa.String(length=64),
                                     nullable=True))
    op.create_index("uq_deals_stripe_subscription_id", "deals", ["stripe_subscription_id"],
                    unique=True)
    for name in ("months_allowed", "base_rate_bps", "leader_id", "override_rate_bps",
                 "recruiter_id", "referral_rate_bps"):
        op.add_column("deals", sa.Column(name, sa.Integer(), nullable=True))
    op.add_column("deals", sa.Column("referral_due", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.add_column("commissions", sa.Column("invoice_id", sa.Integer(), nullable=True))
    op.create_index("ix_commissions_invoice_id", "commissions", ["invoice_id"])
    op.create_table(
        "deal_invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("external_invoice_id", sa.String(length=100), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("month_number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_cents > 0 AND amount_cents <= 100000000",
                           name=op.f("ck_deal_invoices_amount")),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_deal_invoices_period")),
        sa.CheckConstraint("status IN ('paid', 'refunded')", name=op.f("ck_deal_invoices_status")),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"],
                                name=op.f("fk_deal_invoices_deal_id_deals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_invoices")),
        sa.UniqueConstraint("external_invoice_id",
                            name=op.f("uq_deal_invoices_external_invoice_id")),
    )
    op.create_index("ix_deal_invoices_deal_id", "deal_invoices", ["deal_id"])


def downgrade():
    op.drop_index("ix_deal_invoices_deal_id", table_name="deal_invoices")
    op.drop_table("deal_invoices")
    op.drop_index("ix_commissions_invoice_id", table_name="commissions")
    op.drop_column("commissions", "invoice_id")
    op.drop_column("deals", "referral_due")
    for name in ("months_allowed", "base_rate_bps", "leader_id", "override_rate_bps",
                 "recruiter_id", "referral_rate_bps"):
        op.drop_column("deals", name)
    op.drop_index("uq_deals_stripe_subscription_id", table_name="deals")
    op.drop_column("deals", "stripe_subscription_id")
    op.drop_column("deals", "billing")
    op.drop_column("leads", "billing")
    op.drop_column("tiers", "recurring_months")
