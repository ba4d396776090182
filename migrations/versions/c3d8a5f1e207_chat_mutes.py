"""chat moderation: partners muted for a time by support staff (rules: "Chat")

Revision ID: c3d8a5f1e207
Revises: c3a9d5e7f210
Create Date: 2026-12-01 08:15:00

"""
import sqlalchemy as sa
from alembic import op

revision = "c3d8a5f1e207"
down_revision = "c3a9d5e7f210"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "chat_mutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("muted_by_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("length(reason) > 0", name=op.f("ck_chat_mutes_reason_not_empty")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_chat_mutes_user_id_users")),
        sa.ForeignKeyConstraint(["muted_by_id"], ["users.id"],
                                name=op.f("fk_chat_mutes_muted_by_id_users")),
        sa.ForeignKeyConstraint(["lifted_by_id"], ["users.id"],
                                name=op.f("fk_chat_mutes_lifted_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_mutes")),
    )
    with op.batch_alter_table("chat_mutes") as batch:
        batch.create_index("ix_chat_mutes_user_id_until", ["user_id", "until"], unique=False)


def downgrade():
    with op.batch_alter_table("chat_mutes") as batch:
        batch.drop_index("ix_chat_mutes_user_id_until")
    op.drop_table("chat_mutes")
