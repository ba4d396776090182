"""assets: marketing files uploaded by content staff, downloaded by partners (rules: "Resources")

Revision ID: c3a9d5e7f210
Revises: b7e4c2d9a1f3
Create Date: 2026-12-01 08:15:00

"""
import sqlalchemy as sa
from alembic import op

revision = "c3a9d5e7f210"
down_revision = "b7e4c2d9a1f3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "assets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=160), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("min_tier_key", sa.String(length=30), nullable=False),
        sa.Column("co_brandable", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("file_kind", sa.String(length=10), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("stored_name", sa.String(length=80), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("download_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.CheckConstraint("download_count >= 0", name=op.f("ck_assets_download_count")),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_assets_size_bytes")),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"],
                                name=op.f("fk_assets_uploaded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_assets_stored_name")),
    )
    op.create_index("ix_assets_active_category", "assets", ["active", "category"],
                    unique=False)


def downgrade():
    op.drop_index("ix_assets_active_category", table_name="assets")
    op.drop_table("assets")
