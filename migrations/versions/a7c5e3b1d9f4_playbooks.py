"""playbook library: playbooks and their upvotes

- ``playbooks``: sales scripts and playbooks by industry (seed 001 "Playbook Library",
  seed 003 "Basic Playbook Library"), written by staff or submitted by partners for
  review (draft / submitted / published / rejected), with the reviewer's note and an
  upvote count (``core/playbooks.py``). Title and body get trigram GIN indexes on
  PostgreSQL for the library's ILIKE search (pg_trgm is created by e5f6a7b8c9d0); on
  SQLite they are plain indexes, as for the partner search.
- ``playbook_upvotes``: one row per user and playbook (unique), so an upvote cannot be
  doubled, also by two requests at once.

New tables only: no existing rows to move.

Revision ID: a7c5e3b1d9f4
Revises: f1a9c3e5b7d2
Create Date: 2026-12-01 13:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "a7c5e3b1d9f4"
down_revision = "f1a9c3e5b7d2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "playbooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("industry", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("review_note", sa.String(length=1000), server_default="", nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("upvote_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('script', 'playbook')", name=op.f("ck_playbooks_kind")),
        sa.CheckConstraint("status IN ('draft', 'submitted', 'published', 'rejected')",
                           name=op.f("ck_playbooks_status")),
        sa.CheckConstraint("upvote_count >= 0", name=op.f("ck_playbooks_upvote_count")),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"],
                                name=op.f("fk_playbooks_author_id_users")),
        sa.ForeignKeyConstraint(["reviewed_by_id"], ["users.id"],
                                name=op.f("fk_playbooks_reviewed_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbooks")),
    )
    op.create_index("ix_playbooks_status_industry", "playbooks", ["status", "industry"])
    op.create_index("ix_playbooks_author_id", "playbooks", ["author_id"])
    for column in ("title", "body"):
        op.create_index(f"ix_playbooks_{column}_trgm", "playbooks", [column],
                        postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})
    op.create_table(
        "playbook_upvotes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("playbook_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["playbook_id"], ["playbooks.id"],
                                name=op.f("fk_playbook_upvotes_playbook_id_playbooks")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_playbook_upvotes_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbook_upvotes")),
        sa.UniqueConstraint("playbook_id", "user_id",
                            name=op.f("uq_playbook_upvotes_playbook_id")),
    )
    op.create_index("ix_playbook_upvotes_user_id", "playbook_upvotes", ["user_id"])


def downgrade():
    op.drop_index("ix_playbook_upvotes_user_id", table_name="playbook_upvotes")
    op.drop_table("playbook_upvotes")
    for column in ("title", "body"):
        op.drop_index(f"ix_playbooks_{column}_trgm", table_name="playbooks")
    op.drop_index("ix_playbooks_author_id", table_name="playbooks")
    op.drop_index("ix_playbooks_status_industry", table_name="playbooks")
    op.drop_table("playbooks")
