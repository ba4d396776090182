"""leads: client_ref, the device's id for a lead, unique per partner (offline queue)

The portal queues leads written offline and sends them when the phone is back online;
a send whose answer is lost is sent again. ``client_ref`` (made on the device) with a
unique constraint per partner makes the second send find the first lead instead of
creating a copy (rules: "Leads": "no duplicates").

Revision ID: f1a2b3c4d5e6
Revises: e5f6a7b8c9d0
Create Date: 2026-12-01 10:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = "f1a2b3c4d5e6"
down_revision = "e5f6a7b8c9d0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("client_ref", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_leads_partner_id_client_ref",
                                       ["partner_id", "client_ref"])


def downgrade():
    with op.batch_alter_table("leads") as batch:
        batch.drop_constraint("uq_leads_partner_id_client_ref", type_="unique")
        batch.drop_column("client_ref")
