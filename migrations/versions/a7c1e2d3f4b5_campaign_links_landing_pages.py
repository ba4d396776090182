"""campaign links and landing pages (rules: "Links and attribution")

Staff publish landing pages; a partner's campaign link ``/r/<code>/<slug>`` points at one
(or at an allow-listed SISO URL) with UTM values and a sub-id. A click records which link
was clicked (``referral_clicks.link_id``).

Revision ID: a7c1e2d3f4b5
Revises: e7a1c3f5b9d2
Create Date: 2026-12-07 17:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "a7c1e2d3f4b5"
down_revision = "e7a1c3f5b9d2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "landing_pages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slug", sa.String(60), nullable=False, unique=True),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("hero", sa.String(300), nullable=False, server_default=""),
        sa.Column("body", sa.Text(), nullable=False, server_default=""),
        sa.Column("service", sa.String(80), nullable=False, server_default=""),
        sa.Column("status", sa.String(10), nullable=False, server_default="draft"),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'published')", name=op.f("ck_landing_pages_status")),
    )
    op.create_table(
        "referral_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("partner_id", sa.Integer(), sa.ForeignKey("partners.id"), nullable=False),
        sa.Column("slug", sa.String(40), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("landing_page_id", sa.Integer(), sa.ForeignKey("landing_pages.id"),
                  nullable=True),
        sa.Column("target_url", sa.String(500), nullable=False, server_default=""),
        sa.Column("utm_source", sa.String(100), nullable=False, server_default=""),
        sa.Column("utm_medium", sa.String(100), nullable=False, server_default=""),
        sa.Column("utm_campaign", sa.String(100), nullable=False, server_default=""),
        sa.Column("sub_id", sa.String(100), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("partner_id", "slug", name="uq_referral_links_partner_slug"),
    )
    op.create_index("ix_referral_links_partner_id", "referral_links", ["partner_id"])
    with op.batch_alter_table("referral_clicks") as batch:
        batch.add_column(sa.Column("link_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_referral_clicks_link_id_referral_links", "referral_links",
                                 ["link_id"], ["id"])


def downgrade():
    with op.batch_alter_table("referral_clicks") as batch:
        batch.drop_constraint("fk_referral_clicks_link_id_referral_links", type_="foreignkey")
        batch.drop_column("link_id")
    op.drop_index("ix_referral_links_partner_id", "referral_links")
    op.drop_table("referral_links")
    op.drop_table("landing_pages")
