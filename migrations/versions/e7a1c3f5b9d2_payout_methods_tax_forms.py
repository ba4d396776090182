"""payout_methods, tax_forms, paypal_events; payouts.payee, payout_transfers.batch_key

A partner's chosen payout method (bank numbers encrypted), the tax forms they submit
(TIN encrypted), PayPal webhook events handled once, and where each payout goes.

Revision ID: e7a1c3f5b9d2
Revises: c5a9e7d3f1b2
Create Date: 2026-12-07 14:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "e7a1c3f5b9d2"
down_revision = "c5a9e7d3f1b2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "payout_methods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("paypal_receiver", sa.String(length=254), nullable=False),
        sa.Column("paypal_recipient_type", sa.String(length=10), nullable=False),
        sa.Column("bank_holder", sa.String(length=200), nullable=False),
        sa.Column("bank_scheme", sa.String(length=4), nullable=False),
        sa.Column("bank_iban_enc", sa.Text(), nullable=False),
        sa.Column("bank_routing_enc", sa.Text(), nullable=False),
        sa.Column("bank_account_enc", sa.Text(), nullable=False),
        sa.Column("bank_last4", sa.String(length=4), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_payout_methods_partner_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_methods")),
        sa.UniqueConstraint("partner_id", name=op.f("uq_payout_methods_partner_id")),
    )
    op.create_table(
        "tax_forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("form", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("tin_kind", sa.String(length=10), nullable=False),
        sa.Column("tin_enc", sa.Text(), nullable=False),
        sa.Column("tin_last4", sa.String(length=4), nullable=False),
        sa.Column("details_json", sa.Text(), nullable=False),
        sa.Column("signature_name", sa.String(length=200), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("reject_reason", sa.String(length=500), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("file_path", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_tax_forms_partner_id_partners")),
        sa.ForeignKeyConstraint(["reviewed_by_id"], ["users.id"],
                                name=op.f("fk_tax_forms_reviewed_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_forms")),
    )
    op.create_index("ix_tax_forms_partner_id", "tax_forms", ["partner_id"])
    op.create_index("ix_tax_forms_status", "tax_forms", ["status"])
    op.create_table(
        "paypal_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paypal_events")),
    )
    # A plain ADD COLUMN: SQLite's batch mode would copy the table and lose the
    # ledger guard's triggers on it.
    op.add_column("payouts", sa.Column("payee", sa.String(length=254), nullable=False,
                                       server_default=""))
    op.add_column("payout_transfers", sa.Column("batch_key", sa.String(length=64),
                                                nullable=False, server_default=""))
    op.create_index("ix_payout_transfers_batch_key", "payout_transfers", ["batch_key"])


def downgrade():
    op.drop_index("ix_payout_transfers_batch_key", table_name="payout_transfers")
    op.drop_column("payout_transfers", "batch_key")
    op.drop_column("payouts", "payee")
    op.drop_table("paypal_events")
    op.drop_index("ix_tax_forms_status", table_name="tax_forms")
    op.drop_index("ix_tax_forms_partner_id", table_name="tax_forms")
    op.drop_table("tax_forms")
    op.drop_table("payout_methods")
