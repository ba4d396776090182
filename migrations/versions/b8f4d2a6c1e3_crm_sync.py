"""crm_sync: updated_at on partners, deals, commissions and payouts (the CRM sync lists
page by it), external_id on partners, leads and deals

The new NOT NULL times are added with a fixed default (SQLite cannot add a column whose
default is an expression) and at once set to each row's creation time.

Revision ID: b8f4d2a6c1e3
Revises: a7e3c1f9b2d4
Create Date: 2026-12-07 15:15:00

"""
import sqlalchemy as sa
from alembic import op

revision = "b8f4d2a6c1e3"
down_revision = "a7e3c1f9b2d4"
branch_labels = None
depends_on = None

#: table -> the column its rows' updated_at starts from
STARTS = {"partners": "created_at", "deals": "confirmed_at", "commissions": "created_at",
          "payouts": "created_at"}
EXTERNAL = ("partners", "leads", "deals")


def upgrade():
    for table, start in STARTS.items():
        op.add_column(table, sa.Column("updated_at", sa.DateTime(timezone=True),
                                       nullable=False,
                                       server_default="2000-01-01 00:00:00+00:00"))
        op.execute(f"UPDATE {table} SET updated_at = {start}")  # noqa: S608 (constants)
    for table in (*STARTS, "leads"):
        op.create_index(f"ix_{table}_updated_at_id", table, ["updated_at", "id"])
    for table in EXTERNAL:
        op.add_column(table, sa.Column("external_id", sa.String(length=100), nullable=True))
        op.create_index(f"uq_{table}_external_id", table, ["external_id"], unique=True)


def downgrade():
    for table in EXTERNAL:
        op.drop_index(f"uq_{table}_external_id", table_name=table)
        op.drop_column(table, "external_id")
    for table in (*STARTS, "leads"):
        op.drop_index(f"ix_{table}_updated_at_id", table_name=table)
    for table in STARTS:
        op.drop_column(table, "updated_at")
