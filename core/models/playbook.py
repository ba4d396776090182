"""The playbook library (seed 001 "Playbook Library", "Partners share what works for
them"; seed 003 "Basic Playbook Library: 5-10 essential sales scripts"): sales scripts
and playbooks by industry, and the partners' upvotes. The rules are in
``core/playbooks.py``."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.timeutil import UTCDateTime, now_utc

#: What a playbook is: a ``script`` (words to say or send) or a ``playbook`` (a method).
PLAYBOOK_KINDS = ("script", "playbook")
#: ``draft`` (staff, not shown), ``submitted`` (a partner's, waiting for review),
#: ``published`` (every partner reads it), ``rejected`` (a partner's, with the note why).
PLAYBOOK_STATUSES = ("draft", "submitted", "published", "rejected")


class Playbook(db.Model):
    """A sales script or playbook, written by staff or submitted by a partner."""

    __tablename__ = "playbooks"
    __table_args__ = (
        CheckConstraint("kind IN ('script', 'playbook')", name="kind"),
        CheckConstraint("status IN ('draft', 'submitted', 'published', 'rejected')",
                        name="status"),
        CheckConstraint("upvote_count >= 0", name="upvote_count"),
        # The library lists published ones by industry; authors list their own.
        Index("ix_playbooks_status_industry", "status", "industry"),
        Index("ix_playbooks_author_id", "author_id"),
        # Search (ILIKE '%word%'): trigram GIN on PostgreSQL, plain on SQLite (as
        # ix_partners_company_name_trgm).
        Index("ix_playbooks_title_trgm", "title", postgresql_using="gin",
              postgresql_ops={"title": "gin_trgm_ops"}),
        Index("ix_playbooks_body_trgm", "body", postgresql_using="gin",
              postgresql_ops={"body": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 5–120 characters, one line.
    title: Mapped[str] = mapped_column(String(120))
    #: One of ``core.playbooks.INDUSTRIES`` (the profile's industry list, plus "Any
    #: industry").
    industry: Mapped[str] = mapped_column(String(80))
    #: script | playbook
    kind: Mapped[str] = mapped_column(String(10))
    #: Markdown, 50–20,000 characters; shown through ``core.training.render_module_body``.
    body: Mapped[str] = mapped_column(Text)
    #: Who wrote it: a staff member or a partner's user.
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: draft | submitted | published | rejected
    status: Mapped[str] = mapped_column(String(12), default="draft")
    #: The reviewer's note to the author (why it was rejected, or a thank-you).
    review_note: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[object | None] = mapped_column(UTCDateTime)
    #: When it was last published ("newest" sorts by it); ``None`` until then.
    published_at: Mapped[object | None] = mapped_column(UTCDateTime)
    #: Upvotes, kept equal to its ``playbook_upvotes`` rows by atomic updates.
    upvote_count: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)

    author = relationship("User", foreign_keys=[author_id])
    reviewed_by = relationship("User", foreign_keys=[reviewed_by_id])

    def __str__(self) -> str:
        return self.title


class PlaybookUpvote(db.Model):
    """One user's upvote of one playbook, at most once (``playbook_id`` + ``user_id``)."""

    __tablename__ = "playbook_upvotes"
    __table_args__ = (UniqueConstraint("playbook_id", "user_id"),
                      Index("ix_playbook_upvotes_user_id", "user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbooks.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
