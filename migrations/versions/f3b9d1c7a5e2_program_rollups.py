"""program roll-ups: the staff program analytics' monthly figures per partner, per month and
per approval cohort, kept by the worker (rules: "Analytics")

``program_partner_months``, ``program_months``, ``program_link_months``,
``program_page_months``, ``program_pipeline_leads``, ``program_cohorts`` and ``program_cohort_revenue`` hold finished
months; the analytics add what changed since the
last roll-up from the raw rows. Leads get indexes by creation time and by partner and
creation time (the periods' leads, the activation check).

Revision ID: f3b9d1c7a5e2
Revises: f1c5a7e9b3d2
Create Date: 2026-12-07 21:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "f3b9d1c7a5e2"
down_revision = "f1c5a7e9b3d2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "program_partner_months",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("deals", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("commission_cents", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("paid_cents", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("leads", sa.Integer(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_program_partner_months_partner_id_partners")),
        sa.PrimaryKeyConstraint("month", "partner_id", name=op.f("pk_program_partner_months")),
    )
    op.create_table(
        "program_months",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("deals", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("commission_cents", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("paid_cents", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_program_months")),
    )
    op.create_table(
        "program_link_months",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("leads", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("clicks_before", sa.BigInteger(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(["link_id"], ["referral_links.id"],
                                name=op.f("fk_program_link_months_link_id_referral_links")),
        sa.PrimaryKeyConstraint("month", "link_id", name=op.f("pk_program_link_months")),
    )
    op.create_table(
        "program_page_months",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("landing_page_id", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("leads", sa.Integer(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(["landing_page_id"], ["landing_pages.id"],
                                name=op.f("fk_program_page_months_landing_page_id_landing_pages")),
        sa.PrimaryKeyConstraint("month", "landing_page_id", name=op.f("pk_program_page_months")),
    )
    op.create_table(
        "program_pipeline_leads",
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("value_cents", sa.BigInteger(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"],
                                name=op.f("fk_program_pipeline_leads_lead_id_leads")),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_program_pipeline_leads")),
    )
    op.create_table(
        "program_cohorts",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("approved", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("activated", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_program_cohorts")),
    )
    op.create_table(
        "program_cohort_revenue",
        sa.Column("cohort", sa.Date(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("cohort", "month", name=op.f("pk_program_cohort_revenue")),
    )
    op.create_index("ix_leads_created_at", "leads", ["created_at"])
    op.create_index("ix_leads_partner_id_created_at", "leads", ["partner_id", "created_at"])
    op.create_index("ix_leads_link_id_created_at", "leads", ["link_id", "created_at"])
    # a landing page's clicks: the few links to it, day by day
    op.create_index("ix_referral_click_days_link_key_day", "referral_click_days",
                    ["link_key", "day"])


def downgrade():
    op.drop_index("ix_referral_click_days_link_key_day", "referral_click_days")
    op.drop_index("ix_leads_link_id_created_at", "leads")
    op.drop_index("ix_leads_partner_id_created_at", "leads")
    op.drop_index("ix_leads_created_at", "leads")
    op.drop_table("program_cohort_revenue")
    op.drop_table("program_cohorts")
    op.drop_table("program_pipeline_leads")
    op.drop_table("program_page_months")
    op.drop_table("program_link_months")
    op.drop_table("program_months")
    op.drop_table("program_partner_months")
