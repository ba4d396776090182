"""commissions: index on (source_partner_id, type) for the one-time referral check

confirm_deal asks, on a recruit's first confirmed deal, whether a referral commission for
that recruit exists; without an index that scans the whole commissions table
(BENCHMARKS.md "Confirming deals").

Revision ID: d4e1f2a3b5c6
Revises: c3d8a5f1e207
Create Date: 2026-12-01 09:00:00

"""
from alembic import op

revision = "d4e1f2a3b5c6"
down_revision = "c3d8a5f1e207"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_commissions_source_partner_id_type", "commissions",
                    ["source_partner_id", "type"])


def downgrade():
    op.drop_index("ix_commissions_source_partner_id_type", table_name="commissions")
