"""e-mail verification time on users; e-mail copy sent time on notifications

Partners now prove their e-mail address (rules: "E-mail": a signed 48-hour link);
``users.email_verified_at`` records when. Everyone who exists before this migration --
staff, seeded demo partners, partners who registered before verification existed -- is
taken as verified, so nobody already using the portal is suddenly refused a payout.

Notifications of what matters (approval, commission approved, payout sent or failed,
tier up, ticket reply) also go out by e-mail from an RQ job; ``notifications.emailed_at``
lets a redelivered job (RQ delivers at least once) see that the copy already went.

Revision ID: f2c7a9e4b1d3
Revises: f1a2b3c4d5e6
Create Date: 2026-12-02 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "f2c7a9e4b1d3"
down_revision = "f1a2b3c4d5e6"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email_verified_at", sa.DateTime(timezone=True),
                                   nullable=True))
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True))
    # Data migration through sa.table(), not the models (STYLE.md "Migrations"): every
    # existing account counts as verified, at the time of this migration.
    users = sa.table("users", sa.column("email_verified_at", sa.DateTime(timezone=True)))
    op.execute(users.update().where(users.c.email_verified_at.is_(None))
               .values(email_verified_at=sa.func.current_timestamp()))


def downgrade():
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("emailed_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_verified_at")
