"""staff two-factor: TOTP secret and last accepted step on users (rules: "Sessions and log-in")

Revision ID: b7e4c2d9a1f3
Revises: b7e2d4c19a60
Create Date: 2026-12-01 07:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = "b7e4c2d9a1f3"
down_revision = "b7e2d4c19a60"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_secret")
