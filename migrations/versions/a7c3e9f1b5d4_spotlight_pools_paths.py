"""spotlight, bonus pools, learning paths and certificates

Partner of the month (proposed candidates, one confirmed per month), team bonus pools and
their shares, learning paths of training modules and their certificates (rules: "Partner
of the month", "Bonus pools", "Learning paths and certificates").

Revision ID: a7c3e9f1b5d4
Revises: f5b9c3d7e1a2
Create Date: 2026-12-07 21:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "a7c3e9f1b5d4"
down_revision = "f5b9c3d7e1a2"
branch_labels = None
depends_on = None


def _dt(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "spotlight_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        _dt("proposed_at"),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("citation", sa.String(300), nullable=False, server_default=""),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        _dt("confirmed_at", True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spotlight_months")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_spotlight_months_partner_id_partners")),
        sa.ForeignKeyConstraint(["confirmed_by_id"], ["users.id"],
                                name=op.f("fk_spotlight_months_confirmed_by_id_users")),
        sa.UniqueConstraint("period", name=op.f("uq_spotlight_months_period")),
    )
    op.create_table(
        "spotlight_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("won_deals", sa.Integer(), nullable=False),
        sa.Column("revenue_cents", sa.Integer(), nullable=False),
        sa.Column("modules_passed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spotlight_candidates")),
        sa.ForeignKeyConstraint(["month_id"], ["spotlight_months.id"],
                                name=op.f("fk_spotlight_candidates_month_id_spotlight_months")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_spotlight_candidates_partner_id_partners")),
        sa.UniqueConstraint("month_id", "partner_id",
                            name=op.f("uq_spotlight_candidates_month_id")),
        sa.UniqueConstraint("month_id", "rank", name="uq_spotlight_candidates_rank"),
        sa.CheckConstraint("rank >= 1", name=op.f("ck_spotlight_candidates_rank")),
    )
    op.create_table(
        "bonus_pools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("leader_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(10), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("pool_cents", sa.Integer(), nullable=False),
        _dt("starts_at"), _dt("ends_at"),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        _dt("created_at"), _dt("settled_at", True),
        sa.Column("settled_by_id", sa.Integer(), nullable=True),
        sa.Column("paid_cents", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bonus_pools")),
        sa.ForeignKeyConstraint(["leader_id"], ["partners.id"],
                                name=op.f("fk_bonus_pools_leader_id_partners")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_bonus_pools_created_by_id_users")),
        sa.ForeignKeyConstraint(["settled_by_id"], ["users.id"],
                                name=op.f("fk_bonus_pools_settled_by_id_users")),
        sa.CheckConstraint("pool_cents > 0", name=op.f("ck_bonus_pools_pool")),
        sa.CheckConstraint("target > 0", name=op.f("ck_bonus_pools_target")),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_bonus_pools_window")),
        sa.CheckConstraint("metric IN ('deals', 'revenue')", name=op.f("ck_bonus_pools_metric")),
    )
    op.create_index("ix_bonus_pools_leader_id", "bonus_pools", ["leader_id"])
    op.create_table(
        "bonus_pool_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("contribution", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("commission_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bonus_pool_shares")),
        sa.ForeignKeyConstraint(["pool_id"], ["bonus_pools.id"],
                                name=op.f("fk_bonus_pool_shares_pool_id_bonus_pools")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_bonus_pool_shares_partner_id_partners")),
        sa.ForeignKeyConstraint(["commission_id"], ["commissions.id"],
                                name=op.f("fk_bonus_pool_shares_commission_id_commissions")),
        sa.UniqueConstraint("pool_id", "partner_id", name=op.f("uq_bonus_pool_shares_pool_id")),
        sa.CheckConstraint("amount_cents >= 0", name=op.f("ck_bonus_pool_shares_amount")),
    )
    op.create_table(
        "learning_paths",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(80), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.String(1000), nullable=False, server_default=""),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        _dt("created_at"), _dt("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_paths")),
        sa.UniqueConstraint("slug", name=op.f("uq_learning_paths_slug")),
    )
    op.create_table(
        "learning_path_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path_id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_path_steps")),
        sa.ForeignKeyConstraint(["path_id"], ["learning_paths.id"],
                                name=op.f("fk_learning_path_steps_path_id_learning_paths")),
        sa.ForeignKeyConstraint(["module_id"], ["training_modules.id"],
                                name=op.f("fk_learning_path_steps_module_id_training_modules")),
        sa.UniqueConstraint("path_id", "module_id", name=op.f("uq_learning_path_steps_path_id")),
        sa.UniqueConstraint("path_id", "position", name="uq_learning_path_steps_position"),
        sa.CheckConstraint("position >= 1", name=op.f("ck_learning_path_steps_position")),
    )
    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("path_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(19), nullable=False),
        sa.Column("holder_name", sa.String(200), nullable=False),
        sa.Column("path_title", sa.String(200), nullable=False),
        _dt("issued_at"),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("file_path", sa.String(300), nullable=False, server_default=""),
        sa.Column("error", sa.Text(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_certificates_partner_id_partners")),
        sa.ForeignKeyConstraint(["path_id"], ["learning_paths.id"],
                                name=op.f("fk_certificates_path_id_learning_paths")),
        sa.UniqueConstraint("partner_id", "path_id", name=op.f("uq_certificates_partner_id")),
        sa.UniqueConstraint("code", name=op.f("uq_certificates_code")),
        sa.CheckConstraint("status IN ('pending', 'ready', 'failed')",
                           name=op.f("ck_certificates_status")),
    )


def downgrade():
    op.drop_table("certificates")
    op.drop_table("learning_path_steps")
    op.drop_table("learning_paths")
    op.drop_table("bonus_pool_shares")
    op.drop_index("ix_bonus_pools_leader_id", table_name="bonus_pools")
    op.drop_table("bonus_pools")
    op.drop_table("spotlight_candidates")
    op.drop_table("spotlight_months")
