"""partners search: trigram indexes on name, e-mail, company and referral code (PostgreSQL)

The back office searches partners with ILIKE '%term%' on users.name, users.email,
partners.company_name and partners.referral_code (admin/views/partners.py
PartnerView._apply_search). A B-tree cannot serve a leading wildcard, so every search
read both tables whole: 250 ms per query at 50,000 partners (BENCHMARKS.md "Admin
lists"). pg_trgm's GIN indexes serve those ILIKEs. On SQLite the same names are plain
indexes (the models declare one schema for both); SQLite still scans for a leading
wildcard, which is fine at the sizes it is the default for.

Revision ID: e5f6a7b8c9d0
Revises: d4e1f2a3b5c6
Create Date: 2026-12-01 10:30:00

"""
from alembic import op

revision = "e5f6a7b8c9d0"
down_revision = "d4e1f2a3b5c6"
branch_labels = None
depends_on = None

INDEXES = [("ix_users_name_trgm", "users", "name"),
           ("ix_users_email_trgm", "users", "email"),
           ("ix_partners_company_name_trgm", "partners", "company_name"),
           ("ix_partners_referral_code_trgm", "partners", "referral_code")]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # A trusted extension since PostgreSQL 13: the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        op.create_index(name, table, [column], postgresql_using="gin",
                        postgresql_ops={column: "gin_trgm_ops"})


def downgrade():
    for name, table, _column in INDEXES:
        op.drop_index(name, table_name=table)
