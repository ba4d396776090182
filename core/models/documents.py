"""Document factory: co-branded material templates, partner branding, material renders,
and monthly statement batches (issue 6)."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.timeutil import UTCDateTime, now_utc

#: Render states shared by material renders (statements use pending | ready | failed).
RENDER_STATUSES = ("pending", "rendering", "ready", "failed")


class DocumentTemplate(db.Model):
    """A co-branded material template uploaded by content staff: a Jinja HTML fragment
    with named slots and its CSS, rendered per partner by a worker."""

    __tablename__ = "document_templates"
    __table_args__ = (CheckConstraint("version >= 1", name="version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable key, e.g. ``service-overview``.
    key: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: deck | case_study | faq | one_pager | other
    kind: Mapped[str] = mapped_column(String(30), default="other")
    description: Mapped[str] = mapped_column(String(500), default="")
    #: Lowest tier (``tiers.key``) allowed to request it; white-label needs performer+.
    min_tier_key: Mapped[str] = mapped_column(String(30), default="starter")
    #: Partner branding replaces SISO's masthead (PRD: white-label is Performer+).
    white_label: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    #: Body of the document: a Jinja fragment (sandboxed) using the slots in core.documents.
    html: Mapped[str] = mapped_column(Text)
    #: Stylesheet: a Jinja template whose only variable is ``brand`` (validated colours).
    css: Mapped[str] = mapped_column(Text, default="")
    #: Bumped on every change of html, css or tier rules; part of a render's content key.
    version: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    #: Shipped with the app (``core.documents.BUILTIN_TEMPLATES``).
    builtin: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    #: Preview PDF (sample branding) relative to ``STORAGE_DIR``; empty until rendered.
    preview_path: Mapped[str] = mapped_column(String(300), default="")
    #: pending | ready | failed
    preview_status: Mapped[str] = mapped_column(String(20), default="pending")
    preview_error: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"


class PartnerBranding(db.Model):
    """What a partner puts on their co-branded materials (set once, editable)."""

    __tablename__ = "partner_brandings"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    #: One line: phone, e-mail, website...
    contact_line: Mapped[str] = mapped_column(String(160), default="")
    #: ``#rrggbb`` (lower case), validated by core.branding.
    brand_color: Mapped[str] = mapped_column(String(7), default="#0f766e")
    #: Re-encoded PNG relative to ``STORAGE_DIR``; empty for none.
    logo_path: Mapped[str] = mapped_column(String(300), default="")
    #: SHA-256 of the stored PNG (part of a render's content key).
    logo_sha256: Mapped[str] = mapped_column(String(64), default="")
    logo_width: Mapped[int] = mapped_column(default=0)
    logo_height: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)

    partner = relationship("Partner")


class MaterialRender(db.Model):
    """One partner's PDF of one template version with one branding (content-keyed)."""

    __tablename__ = "material_renders"
    __table_args__ = (
        UniqueConstraint("partner_id", "content_key"),
        Index("ix_material_renders_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    template_id: Mapped[int] = mapped_column(ForeignKey("document_templates.id"))
    template_version: Mapped[int]
    #: SHA-256 over template version and content, branding, logo and referral link.
    content_key: Mapped[str] = mapped_column(String(64))
    #: The referral link encoded in the QR code.
    referral_url: Mapped[str] = mapped_column(String(300))
    #: pending | rendering | ready | failed
    status: Mapped[str] = mapped_column(String(20), default="pending")
    file_path: Mapped[str] = mapped_column(String(300), default="")
    size_bytes: Mapped[int] = mapped_column(default=0)
    pages: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: How many times a partner asked for this exact document (cache hits included).
    request_count: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    rendered_at: Mapped[object | None] = mapped_column(UTCDateTime)

    partner = relationship("Partner")
    template = relationship("DocumentTemplate")


class StatementBatch(db.Model):
    """Finance's "statements for everyone with activity in a month" run."""

    __tablename__ = "statement_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    month: Mapped[int]
    #: Number of statements issued in the batch.
    total: Mapped[int] = mapped_column(default=0)
    #: none | pending | ready | failed (the ZIP of all PDFs)
    zip_status: Mapped[str] = mapped_column(String(20), default="none")
    zip_path: Mapped[str] = mapped_column(String(300), default="")
    zip_error: Mapped[str] = mapped_column(Text, default="")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    completed_at: Mapped[object | None] = mapped_column(UTCDateTime)

    items = relationship("StatementBatchItem", back_populates="batch")

    @property
    def period(self) -> str:
        """``YYYY-MM``."""
        return f"{self.year:04d}-{self.month:02d}"

    def __str__(self) -> str:
        return f"Batch #{self.id} {self.period}"


class StatementBatchItem(db.Model):
    """One statement of a batch."""

    __tablename__ = "statement_batch_items"
    __table_args__ = (UniqueConstraint("batch_id", "partner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("statement_batches.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), unique=True)

    batch = relationship("StatementBatch", back_populates="items")
    statement = relationship("Statement")
