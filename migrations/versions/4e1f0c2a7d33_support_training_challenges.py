"""support tickets, training videos/tiers/quizzes, challenges

Revision ID: 4e1f0c2a7d33
Revises: 74cf2dcefaf0
Create Date: 2026-11-22 06:05:00

"""
import sqlalchemy as sa
from alembic import op

revision = "4e1f0c2a7d33"
down_revision = "74cf2dcefaf0"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "support_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("respond_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"],
                                name=op.f("fk_support_tickets_assignee_id_users")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_support_tickets_partner_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_tickets")),
    )
    op.create_index("ix_support_tickets_partner_id", "support_tickets", ["partner_id"])
    op.create_index("ix_support_tickets_status", "support_tickets", ["status"])
    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"],
                                name=op.f("fk_ticket_messages_author_id_users")),
        sa.ForeignKeyConstraint(["ticket_id"], ["support_tickets.id"],
                                name=op.f("fk_ticket_messages_ticket_id_support_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_messages")),
    )
    op.create_index("ix_ticket_messages_ticket_id", "ticket_messages", ["ticket_id"])
    op.create_table(
        "quiz_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("prompt", sa.String(length=500), nullable=False),
        sa.Column("choices", sa.Text(), nullable=False),
        sa.Column("correct_index", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["module_id"], ["training_modules.id"],
                                name=op.f("fk_quiz_questions_module_id_training_modules")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz_questions")),
    )
    op.create_index("ix_quiz_questions_module_id", "quiz_questions", ["module_id"])
    op.create_table(
        "challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("metric", sa.String(length=10), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("prize_cents", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("awarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("target > 0", name=op.f("ck_challenges_target")),
        sa.CheckConstraint("prize_cents >= 0", name=op.f("ck_challenges_prize")),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_challenges_window")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_challenges_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenges")),
    )
    with op.batch_alter_table("training_modules") as batch:
        batch.add_column(sa.Column("video_url", sa.String(length=300), server_default="",
                                   nullable=False))
        batch.add_column(sa.Column("min_tier_key", sa.String(length=30), server_default="",
                                   nullable=False))
        batch.add_column(sa.Column("pass_mark_percent", sa.Integer(), server_default="80",
                                   nullable=False))
    with op.batch_alter_table("training_completions") as batch:
        batch.add_column(sa.Column("score_percent", sa.Integer(), nullable=True))
    # Seed quiz questions for the two required modules (seeds: "certification quiz").
    modules = sa.table("training_modules", sa.column("id"), sa.column("slug"),
                       sa.column("min_tier_key"))
    conn = op.get_bind()
    ids = dict(conn.execute(sa.select(modules.c.slug, modules.c.id)).all())
    questions = sa.table("quiz_questions", sa.column("module_id"), sa.column("prompt"),
                         sa.column("choices"), sa.column("correct_index"),
                         sa.column("position"))
    rows = []
    if "siso-overview" in ids:
        rows += [
            {"module_id": ids["siso-overview"], "position": 0, "correct_index": 1,
             "prompt": "What does SISO build for its clients?",
             "choices": "Accounting software\nWebsites and web apps\nPrinted brochures"},
            {"module_id": ids["siso-overview"], "position": 1, "correct_index": 0,
             "prompt": "What is the average SISO deal size?",
             "choices": "About $1,500\nAbout $150\nAbout $150,000"},
        ]
    if "sales-fundamentals" in ids:
        rows += [
            {"module_id": ids["sales-fundamentals"], "position": 0, "correct_index": 2,
             "prompt": "A prospect says the price is too high. What comes first?",
             "choices": "Offer a discount\nEnd the call\nAsk what result they need and what it is worth"},
            {"module_id": ids["sales-fundamentals"], "position": 1, "correct_index": 0,
             "prompt": "When do you log a lead as won?",
             "choices": "When the client has agreed and the value is known\nAfter the first call\nWhen you send a proposal"},
        ]
    if rows:
        op.bulk_insert(questions, rows)
    if "advanced-techniques" in ids:
        conn.execute(modules.update().where(modules.c.slug == "advanced-techniques")
                     .values(min_tier_key="active"))


def downgrade():
    with op.batch_alter_table("training_completions") as batch:
        batch.drop_column("score_percent")
    with op.batch_alter_table("training_modules") as batch:
        batch.drop_column("pass_mark_percent")
        batch.drop_column("min_tier_key")
        batch.drop_column("video_url")
    op.drop_table("challenges")
    op.drop_index("ix_quiz_questions_module_id", table_name="quiz_questions")
    op.drop_table("quiz_questions")
    op.drop_index("ix_ticket_messages_ticket_id", table_name="ticket_messages")
    op.drop_table("ticket_messages")
    op.drop_index("ix_support_tickets_status", table_name="support_tickets")
    op.drop_index("ix_support_tickets_partner_id", table_name="support_tickets")
    op.drop_table("support_tickets")
