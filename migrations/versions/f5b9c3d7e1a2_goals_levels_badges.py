"""goals on partners; XP rules, levels, the badge catalogue and its awards

Monthly goals and experience level (rules: "Goals"); XP amounts and level names staff
set (rules: "XP, levels and streaks"); badges as data (rules: "Badges").

Revision ID: f5b9c3d7e1a2
Revises: f3b5d7e9a1c2
Create Date: 2026-12-07 21:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "f5b9c3d7e1a2"
down_revision = "f3b5d7e9a1c2"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("partners", sa.Column("experience_level", sa.String(20), nullable=True))
    op.add_column("partners", sa.Column("goal_deals", sa.Integer(), nullable=True))
    op.add_column("partners", sa.Column("goal_revenue_cents", sa.BigInteger(), nullable=True))
    op.create_table(
        "xp_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xp_rules")),
        sa.UniqueConstraint("action", name=op.f("uq_xp_rules_action")),
        sa.CheckConstraint("points >= 0 AND points <= 10000", name=op.f("ck_xp_rules_points")),
    )
    op.create_table(
        "levels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("min_xp", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_levels")),
        sa.UniqueConstraint("name", name=op.f("uq_levels_name")),
        sa.UniqueConstraint("min_xp", name=op.f("uq_levels_min_xp")),
        sa.CheckConstraint("min_xp >= 0", name=op.f("ck_levels_min_xp")),
    )
    op.create_table(
        "badges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(60), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("description", sa.String(300), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("icon", sa.String(8), nullable=False),
        sa.Column("rule", sa.String(20), nullable=False),
        sa.Column("metric", sa.String(40), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_badges")),
        sa.UniqueConstraint("key", name=op.f("uq_badges_key")),
        sa.CheckConstraint("threshold >= 1", name=op.f("ck_badges_threshold")),
        sa.CheckConstraint("days IS NULL OR days >= 1", name=op.f("ck_badges_days")),
        sa.CheckConstraint("category IN ('selling', 'learning', 'community', 'teams')",
                           name=op.f("ck_badges_category")),
        sa.CheckConstraint("rule IN ('count', 'within_days', 'streak', 'rank')",
                           name=op.f("ck_badges_rule")),
    )
    op.create_table(
        "badge_awards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("badge_id", sa.Integer(), nullable=False),
        sa.Column("awarded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_badge_awards")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_badge_awards_partner_id_partners")),
        sa.ForeignKeyConstraint(["badge_id"], ["badges.id"],
                                name=op.f("fk_badge_awards_badge_id_badges")),
        sa.UniqueConstraint("partner_id", "badge_id", name=op.f("uq_badge_awards_partner_id")),
    )


def downgrade():
    op.drop_table("badge_awards")
    op.drop_table("badges")
    op.drop_table("levels")
    op.drop_table("xp_rules")
    op.drop_column("partners", "goal_revenue_cents")
    op.drop_column("partners", "goal_deals")
    op.drop_column("partners", "experience_level")
