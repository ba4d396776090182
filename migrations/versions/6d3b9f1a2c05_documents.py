"""documents: material templates, partner branding, material renders, statement batches

Also loads the three built-in material templates (service overview deck, one-page case
study, FAQ sheet) from templates/pdf/materials/ as data.

Revision ID: 6d3b9f1a2c05
Revises: 8c4a7e2f9b01
Create Date: 2026-11-22 06:10:00

"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "6d3b9f1a2c05"
down_revision = "8c4a7e2f9b01"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "document_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("min_tier_key", sa.String(length=30), nullable=False),
        sa.Column("white_label", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("css", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("builtin", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("preview_path", sa.String(length=300), nullable=False),
        sa.Column("preview_status", sa.String(length=20), nullable=False),
        sa.Column("preview_error", sa.Text(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_document_templates_version")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"],
                                name=op.f("fk_document_templates_updated_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_templates")),
        sa.UniqueConstraint("key", name=op.f("uq_document_templates_key")),
    )
    op.create_table(
        "partner_brandings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=80), nullable=False),
        sa.Column("contact_line", sa.String(length=160), nullable=False),
        sa.Column("brand_color", sa.String(length=7), nullable=False),
        sa.Column("logo_path", sa.String(length=300), nullable=False),
        sa.Column("logo_sha256", sa.String(length=64), nullable=False),
        sa.Column("logo_width", sa.Integer(), nullable=False),
        sa.Column("logo_height", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_partner_brandings_partner_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_brandings")),
        sa.UniqueConstraint("partner_id", name=op.f("uq_partner_brandings_partner_id")),
    )
    op.create_table(
        "material_renders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("content_key", sa.String(length=64), nullable=False),
        sa.Column("referral_url", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("file_path", sa.String(length=300), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("request_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rendered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_material_renders_partner_id_partners")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_material_renders_requested_by_id_users")),
        sa.ForeignKeyConstraint(["template_id"], ["document_templates.id"],
                                name=op.f("fk_material_renders_template_id_document_templates")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material_renders")),
        sa.UniqueConstraint("partner_id", "content_key",
                            name=op.f("uq_material_renders_partner_id")),
    )
    op.create_index("ix_material_renders_status", "material_renders", ["status"])
    op.create_table(
        "statement_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("zip_status", sa.String(length=20), nullable=False),
        sa.Column("zip_path", sa.String(length=300), nullable=False),
        sa.Column("zip_error", sa.Text(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_statement_batches_requested_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_batches")),
    )
    op.create_table(
        "statement_batch_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["statement_batches.id"],
                                name=op.f("fk_statement_batch_items_batch_id_statement_batches")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_statement_batch_items_partner_id_partners")),
        sa.ForeignKeyConstraint(["statement_id"], ["statements.id"],
                                name=op.f("fk_statement_batch_items_statement_id_statements")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_batch_items")),
        sa.UniqueConstraint("batch_id", "partner_id",
                            name=op.f("uq_statement_batch_items_batch_id")),
        sa.UniqueConstraint("statement_id", name=op.f("uq_statement_batch_items_statement_id")),
    )

    # Data: the built-in templates, as they ship today (plain dicts, not the models).
    from core.content.materials import builtin_template_rows

    templates = sa.table(
        "document_templates",
        *(sa.column(c) for c in ("key", "name", "kind", "description", "min_tier_key",
                                 "white_label", "html", "css", "version", "active", "builtin",
                                 "preview_path", "preview_status", "preview_error",
                                 "created_at", "updated_at")))
    now = datetime.now(UTC)
    op.bulk_insert(templates, [dict(row, version=1, active=True, builtin=True, preview_path="",
                                    preview_status="pending", preview_error="",
                                    created_at=now, updated_at=now)
                               for row in builtin_template_rows()])


def downgrade():
    op.drop_table("statement_batch_items")
    op.drop_table("statement_batches")
    op.drop_index("ix_material_renders_status", table_name="material_renders")
    op.drop_table("material_renders")
    op.drop_table("partner_brandings")
    op.drop_table("document_templates")
