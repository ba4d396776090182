"""analytics: daily click roll-ups and the campaign link of each lead (rules: "Analytics")

``referral_click_days`` holds one row per partner, link and day, kept by the worker from
``referral_clicks``; ``leads.link_id`` names the campaign link a lead came through, so
the funnel can be read per link.

Revision ID: b8d2f3e4a5c6
Revises: a7c1e2d3f4b5
Create Date: 2026-12-07 17:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "b8d2f3e4a5c6"
down_revision = "a7c1e2d3f4b5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "referral_click_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("link_key", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("unique_clicks", sa.Integer(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_referral_click_days_partner_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_click_days")),
        sa.UniqueConstraint("partner_id", "link_key", "day",
                            name="uq_referral_click_days_partner_link_day"),
    )
    op.create_index("ix_referral_click_days_day", "referral_click_days", ["day"])
    # the roll-up and the analytics read clicks of one partner by time
    op.create_index("ix_referral_clicks_partner_created", "referral_clicks",
                    ["partner_id", "created_at"])
    op.create_index("ix_referral_clicks_created_at", "referral_clicks", ["created_at"])
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("link_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_leads_link_id_referral_links", "referral_links",
                                 ["link_id"], ["id"])


def downgrade():
    with op.batch_alter_table("leads") as batch:
        batch.drop_constraint("fk_leads_link_id_referral_links", type_="foreignkey")
        batch.drop_column("link_id")
    op.drop_index("ix_referral_clicks_created_at", "referral_clicks")
    op.drop_index("ix_referral_clicks_partner_created", "referral_clicks")
    op.drop_index("ix_referral_click_days_day", "referral_click_days")
    op.drop_table("referral_click_days")
