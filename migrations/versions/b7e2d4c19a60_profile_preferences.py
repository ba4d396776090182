"""partner time zone and contact preferences; training module creation time

The profile page (rules: "Partners") keeps a partner's time zone and
whether they want e-mail and portal notifications. The dashboard's activity feed
announces new training modules, so modules now record when they were added, and it
reads the newest promotions from the audit log by action (index).

Revision ID: b7e2d4c19a60
Revises: b7e2c4a91d10
Create Date: 2026-12-01 07:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "b7e2d4c19a60"
down_revision = "b7e2c4a91d10"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("partners") as batch:
        batch.add_column(sa.Column("timezone", sa.String(length=64), server_default="UTC",
                                   nullable=False))
        batch.add_column(sa.Column("notify_email", sa.Boolean(), server_default=sa.true(),
                                   nullable=False))
        batch.add_column(sa.Column("notify_portal", sa.Boolean(), server_default=sa.true(),
                                   nullable=False))
    # Nullable: SQLite cannot add a NOT NULL column without a constant default. Modules
    # that exist now are dated now; new ones get their time from the model's default.
    with op.batch_alter_table("training_modules") as batch:
        batch.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE training_modules SET created_at = CURRENT_TIMESTAMP")
    op.create_index("ix_audit_log_action_id", "audit_log", ["action", "id"])


def downgrade():
    op.drop_index("ix_audit_log_action_id", table_name="audit_log")
    with op.batch_alter_table("training_modules") as batch:
        batch.drop_column("created_at")
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("notify_portal")
        batch.drop_column("notify_email")
        batch.drop_column("timezone")
