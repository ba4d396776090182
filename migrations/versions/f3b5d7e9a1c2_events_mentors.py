"""events, event_rsvps, calendar_feed_keys, mentor_opt_ins, mentorships

The event calendar with RSVPs and each partner's calendar-feed key (rules: "Events"), and
mentor pairings (rules: "Mentors").

Revision ID: f3b5d7e9a1c2
Revises: e4a8b2c6d0f1
Create Date: 2026-12-07 21:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "f3b5d7e9a1c2"
down_revision = "e4a8b2c6d0f1"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("starts_at", TZ, nullable=False),
        sa.Column("ends_at", TZ, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("host", sa.String(120), nullable=False),
        sa.Column("join_url", sa.String(500), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("min_tier_key", sa.String(20), server_default="", nullable=False),
        sa.Column("rsvp_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cancelled_at", TZ, nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_events_created_by_id_users")),
        sa.CheckConstraint("kind IN ('webinar', 'live_training', 'qa')",
                           name=op.f("ck_events_kind")),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_events_ends_after_start")),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_events_capacity")),
        sa.CheckConstraint("rsvp_count >= 0 AND rsvp_count <= capacity",
                           name=op.f("ck_events_rsvp_count")),
    )
    op.create_index("ix_events_starts_at", "events", ["starts_at"])
    op.create_table(
        "event_rsvps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("cancelled_at", TZ, nullable=True),
        sa.Column("reminded_24h_at", TZ, nullable=True),
        sa.Column("reminded_1h_at", TZ, nullable=True),
        sa.Column("attended_at", TZ, nullable=True),
        sa.Column("attendance_marked_by_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_rsvps")),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"],
                                name=op.f("fk_event_rsvps_event_id_events")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_event_rsvps_partner_id_partners")),
        sa.ForeignKeyConstraint(["attendance_marked_by_id"], ["users.id"],
                                name=op.f("fk_event_rsvps_attendance_marked_by_id_users")),
        sa.UniqueConstraint("event_id", "partner_id", name=op.f("uq_event_rsvps_event_id")),
    )
    op.create_index("ix_event_rsvps_partner_id", "event_rsvps", ["partner_id"])
    op.create_table(
        "calendar_feed_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feed_keys")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_calendar_feed_keys_partner_id_partners")),
        sa.UniqueConstraint("partner_id", name=op.f("uq_calendar_feed_keys_partner_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feed_keys_token_hash")),
    )
    op.create_table(
        "mentor_opt_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("capacity", sa.Integer(), server_default="3", nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentor_opt_ins")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_mentor_opt_ins_partner_id_partners")),
        sa.UniqueConstraint("partner_id", name=op.f("uq_mentor_opt_ins_partner_id")),
        sa.CheckConstraint("capacity BETWEEN 1 AND 10", name=op.f("ck_mentor_opt_ins_capacity")),
    )
    op.create_table(
        "mentorships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("mentee_id", sa.Integer(), nullable=False),
        sa.Column("active_mentee_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("paired_by_id", sa.Integer(), nullable=True),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("ends_at", TZ, nullable=False),
        sa.Column("ended_at", TZ, nullable=True),
        sa.Column("end_reason", sa.String(10), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentorships")),
        sa.ForeignKeyConstraint(["mentor_id"], ["partners.id"],
                                name=op.f("fk_mentorships_mentor_id_partners")),
        sa.ForeignKeyConstraint(["mentee_id"], ["partners.id"],
                                name=op.f("fk_mentorships_mentee_id_partners")),
        sa.ForeignKeyConstraint(["active_mentee_id"], ["partners.id"],
                                name=op.f("fk_mentorships_active_mentee_id_partners")),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"],
                                name=op.f("fk_mentorships_channel_id_channels")),
        sa.ForeignKeyConstraint(["paired_by_id"], ["users.id"],
                                name=op.f("fk_mentorships_paired_by_id_users")),
        sa.ForeignKeyConstraint(["ended_by_id"], ["users.id"],
                                name=op.f("fk_mentorships_ended_by_id_users")),
        sa.UniqueConstraint("active_mentee_id", name=op.f("uq_mentorships_active_mentee_id")),
        sa.CheckConstraint("mentor_id <> mentee_id", name=op.f("ck_mentorships_not_self")),
        sa.CheckConstraint("status IN ('active', 'ended')", name=op.f("ck_mentorships_status")),
        sa.CheckConstraint("ends_at > started_at", name=op.f("ck_mentorships_ends_after_start")),
    )
    op.create_index("ix_mentorships_mentor_id_status", "mentorships", ["mentor_id", "status"])
    op.create_index("ix_mentorships_mentee_id", "mentorships", ["mentee_id"])


def downgrade():
    op.drop_index("ix_mentorships_mentee_id", table_name="mentorships")
    op.drop_index("ix_mentorships_mentor_id_status", table_name="mentorships")
    op.drop_table("mentorships")
    op.drop_table("mentor_opt_ins")
    op.drop_table("calendar_feed_keys")
    op.drop_index("ix_event_rsvps_partner_id", table_name="event_rsvps")
    op.drop_table("event_rsvps")
    op.drop_index("ix_events_starts_at", table_name="events")
    op.drop_table("events")
