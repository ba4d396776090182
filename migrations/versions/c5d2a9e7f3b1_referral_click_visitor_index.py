"""referral clicks: index on (partner, visitor) for the 30-minute repeat check

``referral_clicks.ip_hash`` now holds the visitor's daily pseudonym (HMAC of IP and user
agent under a key that rotates daily); a visit looks up the same visitor's click of the
last 30 minutes on that partner's link, so the pair is indexed. Existing rows keep
their hashes.

Revision ID: c5d2a9e7f3b1
Revises: b3f8e1c2d4a5
Create Date: 2026-12-07 12:30:00

"""
from alembic import op

revision = "c5d2a9e7f3b1"
down_revision = "b3f8e1c2d4a5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_referral_clicks_partner_visitor", "referral_clicks",
                    ["partner_id", "ip_hash"])


def downgrade():
    op.drop_index("ix_referral_clicks_partner_visitor", table_name="referral_clicks")
