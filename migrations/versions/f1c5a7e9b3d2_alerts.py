"""alerts: notification preferences per kind and channel, the log of reminders and
alerts sent, and a lead's follow-up day

(rules: "Notification preferences", "Follow-up reminders", "Performance alerts").

Revision ID: f1c5a7e9b3d2
Revises: a7c3e9f1b5d4
Create Date: 2026-12-07 21:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "f1c5a7e9b3d2"
down_revision = "a7c3e9f1b5d4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notification_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("portal", sa.Boolean(), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("push", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_preferences")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_notification_preferences_user_id_users")),
        sa.UniqueConstraint("user_id", "kind",
                            name=op.f("uq_notification_preferences_user_id")),
    )
    op.create_table(
        "alerts_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("period_key", sa.String(60), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts_sent")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_alerts_sent_partner_id_partners")),
        sa.UniqueConstraint("partner_id", "kind", "period_key",
                            name=op.f("uq_alerts_sent_partner_id")),
    )
    op.create_index("ix_alerts_sent_partner_id_sent_at", "alerts_sent",
                    ["partner_id", "sent_at"])
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("next_action_on", sa.Date(), nullable=True))
    op.create_index("ix_leads_next_action_on", "leads", ["next_action_on"])


def downgrade():
    op.drop_index("ix_leads_next_action_on", table_name="leads")
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("next_action_on")
    op.drop_index("ix_alerts_sent_partner_id_sent_at", table_name="alerts_sent")
    op.drop_table("alerts_sent")
    op.drop_table("notification_preferences")
