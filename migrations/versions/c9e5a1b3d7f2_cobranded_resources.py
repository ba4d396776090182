"""material_renders: co-branded resources beside templates

A partner's co-branded PDF is made from a material template or, now, from a co-brandable
resource (rules: "Co-branded resources"): ``template_id`` may be empty, ``resource_id``
names the resource, and exactly one of the two is set.

Revision ID: c9e5a1b3d7f2
Revises: b8d4f0a2c3e5
Create Date: 2026-12-07 14:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = "c9e5a1b3d7f2"
down_revision = "b8d4f0a2c3e5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("material_renders") as batch:
        batch.add_column(sa.Column("resource_id", sa.Integer(), nullable=True))
        batch.alter_column("template_id", existing_type=sa.Integer(), nullable=True)
        batch.create_foreign_key(op.f("fk_material_renders_resource_id_resources"), "resources",
                                 ["resource_id"], ["id"])
        batch.create_check_constraint(op.f("ck_material_renders_one_source"),
                                      "(template_id IS NULL) <> (resource_id IS NULL)")


def downgrade():
    op.execute("DELETE FROM material_renders WHERE template_id IS NULL")
    with op.batch_alter_table("material_renders") as batch:
        batch.drop_constraint(op.f("ck_material_renders_one_source"), type_="check")
        batch.drop_constraint(op.f("fk_material_renders_resource_id_resources"), type_="foreignkey")
        batch.alter_column("template_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("resource_id")
