"""Tables every feature shares: the audit log, the program settings and the outbox of
jobs waiting for the queue."""

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.base.extensions import db
from core.base.ledger_guard import guard
from core.base.timeutil import UTCDateTime, now_utc


class AuditLog(db.Model):
    """Who did what to which object, with the state before and after (JSON text)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_object", "object_type", "object_id"),
        Index("ix_audit_log_created_at", "created_at"),
        #: The dashboard feed reads the newest rows of one action (``tier.promote``).
        Index("ix_audit_log_action_id", "action", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Null for the system (jobs, schedules).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None]
    before: Mapped[str] = mapped_column(Text, default="")
    after: Mapped[str] = mapped_column(Text, default="")
    #: The staff API key the actor used, when the change came through one (rules:
    #: "API keys and scopes"); null for pages, login tokens and the system.
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)

    actor = relationship("User")
    api_key = relationship("ApiToken")


guard(AuditLog)


class Setting(db.Model):
    """A staff-editable program setting (e.g. ``payout_minimum_cents``)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class OutboxJob(db.Model):
    """A job a committed transaction asked for that RQ has not taken yet (rules: "Unit of
    work"): written in the transaction, deleted once RQ has the job, sent by the sweeper
    when Redis could not take it at the commit (``core.base.outbox``)."""

    __tablename__ = "outbox_jobs"
    __table_args__ = (Index("ix_outbox_jobs_created_at", "created_at"),)

    #: Made by the writer (a random hex id), so the row is known before it is flushed.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: The job's dotted name (``core.base.jobs.JOBS``).
    job: Mapped[str] = mapped_column(String(200))
    #: The job's arguments, a JSON list.
    args: Mapped[str] = mapped_column(Text, default="[]")
    #: The RQ job id asked for (one job per object), or null for ``outbox-<id>``.
    job_id: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
