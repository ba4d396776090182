"""team_invites: invitations team leaders e-mail to addresses

Each row is one address invited by one Performer+ partner, kept for the limits of
"Team invitations" (20 a day per leader, each address once in 30 days).

Revision ID: d1f6b2c4e8a3
Revises: c9e5a1b3d7f2
Create Date: 2026-12-07 14:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "d1f6b2c4e8a3"
down_revision = "c9e5a1b3d7f2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "team_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_team_invites_partner_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_invites")),
    )
    op.create_index("ix_team_invites_email_created_at", "team_invites",
                    ["email", "created_at"])
    op.create_index("ix_team_invites_partner_id_created_at", "team_invites",
                    ["partner_id", "created_at"])


def downgrade():
    op.drop_index("ix_team_invites_partner_id_created_at", table_name="team_invites")
    op.drop_index("ix_team_invites_email_created_at", table_name="team_invites")
    op.drop_table("team_invites")
