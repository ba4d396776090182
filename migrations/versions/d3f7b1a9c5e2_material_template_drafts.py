"""material_templates: draft_html, draft_css, published_at, preview_partner_id

Staff edit a template as a draft, preview it with a chosen partner's branding and
referral link, then publish it; only published content reaches partners (rules:
"Materials"). Existing templates (the built-in ones among them) are published as they
are; one with no preview rendered says so ("none") instead of "pending".

Revision ID: d3f7b1a9c5e2
Revises: c9e3a4f5b6d7
Create Date: 2026-12-07 17:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "d3f7b1a9c5e2"
down_revision = "c9e3a4f5b6d7"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("material_templates") as batch:
        batch.add_column(sa.Column("draft_html", sa.Text(), nullable=True))
        batch.add_column(sa.Column("draft_css", sa.Text(), nullable=True))
        batch.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("preview_partner_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_material_templates_preview_partner_id_partners",
                                 "partners", ["preview_partner_id"], ["id"])
    t = sa.table("material_templates", sa.column("published_at"), sa.column("created_at"),
                 sa.column("preview_status"), sa.column("preview_path"))
    op.execute(t.update().values(published_at=t.c.created_at))
    op.execute(t.update().where(t.c.preview_path == "").values(preview_status="none"))


def downgrade():
    t = sa.table("material_templates", sa.column("preview_status"))
    op.execute(t.update().where(t.c.preview_status == "none").values(preview_status="pending"))
    with op.batch_alter_table("material_templates") as batch:
        batch.drop_constraint("fk_material_templates_preview_partner_id_partners",
                              type_="foreignkey")
        batch.drop_column("preview_partner_id")
        batch.drop_column("published_at")
        batch.drop_column("draft_css")
        batch.drop_column("draft_html")
