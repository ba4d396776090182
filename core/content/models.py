"""Content: training modules, completions and quizzes; marketing resources; material
templates, partner branding and material renders."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.base.extensions import db
from core.base.timeutil import UTCDateTime, now_utc


class Resource(db.Model):
    """One uploaded file (PDF, PNG, JPEG, MP4 or HTML template) with its catalogue data.

    The file lives at ``STORAGE_DIR/assets/<stored_name>``; ``stored_name`` is made by the
    server (random hex + the kind's extension), ``original_name`` is only ever displayed.
    """

    __tablename__ = "resources"
    __table_args__ = (
        CheckConstraint("download_count >= 0", name="download_count"),
        CheckConstraint("size_bytes >= 0", name="size_bytes"),
        Index("ix_resources_active_category", "active", "category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(160))
    #: One of ``core.content.resources.CATEGORIES``.
    category: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(String(1000), default="")
    #: Lowest tier (``tiers.key``) that may download it.
    min_tier_key: Mapped[str] = mapped_column(String(30), default="starter")
    #: A template partners can have co-branded (on /partner/materials).
    co_brandable: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    #: pdf | png | jpeg | mp4 | html (from the content, checked against the extension).
    file_kind: Mapped[str] = mapped_column(String(10))
    size_bytes: Mapped[int] = mapped_column(default=0)
    #: SHA-256 of the stored bytes (after re-encoding for images).
    sha256: Mapped[str] = mapped_column(String(64))
    #: The uploader's file name, for display only (never used as a path).
    original_name: Mapped[str] = mapped_column(String(255), default="")
    #: Server-made file name under ``STORAGE_DIR/assets/``.
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    download_count: Mapped[int] = mapped_column(default=0, server_default="0")
    active: Mapped[bool] = mapped_column(default=True, server_default=sa_true())

    uploaded_by = relationship("User")

    def __str__(self) -> str:
        return self.title



#: Render states shared by material renders (statements use pending | ready | failed).
RENDER_STATUSES = ("pending", "rendering", "ready", "failed")



class MaterialTemplate(db.Model):
    """A co-branded material template uploaded by content staff: a Jinja HTML fragment
    with named slots and its CSS, rendered per partner by a worker."""

    __tablename__ = "material_templates"
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
    #: Partner branding replaces SISO's masthead (rules: "Materials": white-label is Performer+).
    white_label: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    #: Body of the document: a Jinja fragment (sandboxed) using the slots in core.content.materials.
    html: Mapped[str] = mapped_column(Text)
    #: Stylesheet: a Jinja template whose only variable is ``brand`` (validated colours).
    css: Mapped[str] = mapped_column(Text, default="")
    #: Bumped on every change of html, css or tier rules; part of a render's content key.
    version: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    #: Shipped with the app (``core.content.materials.BUILTIN_TEMPLATES``).
    builtin: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    #: Unpublished edits of the body and stylesheet (``None``: no draft); partners get
    #: ``html``/``css`` until staff publish (rules: "Materials").
    draft_html: Mapped[str | None] = mapped_column(Text)
    draft_css: Mapped[str | None] = mapped_column(Text)
    #: When it was first published; ``None`` keeps it from partners.
    published_at: Mapped[object | None] = mapped_column(UTCDateTime)
    #: Whose branding and referral link the preview shows (``None``: sample branding).
    preview_partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    #: Preview PDF of the draft (or of the published content when there is no draft),
    #: relative to ``STORAGE_DIR``; empty until rendered.
    preview_path: Mapped[str] = mapped_column(String(300), default="")
    #: none (not asked for since the last save) | pending | ready | failed
    preview_status: Mapped[str] = mapped_column(String(20), default="none")
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
    #: ``#rrggbb`` (lower case), validated by core.content.branding.
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
    """One partner's co-branded PDF (content-keyed): of one material template version, or
    of one co-brandable resource (rules: "Co-branded resources"), never both."""

    __tablename__ = "material_renders"
    __table_args__ = (
        UniqueConstraint("partner_id", "content_key"),
        Index("ix_material_renders_status", "status"),
        CheckConstraint("(template_id IS NULL) <> (resource_id IS NULL)", name="one_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("material_templates.id"))
    #: The co-brandable resource this PDF brands, when it is not a template's.
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id"))
    #: The template's version (0 for a resource).
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
    template = relationship("MaterialTemplate")
    resource = relationship("Resource")

    @property
    def title(self) -> str:
        """What the partner sees it as: the template's name, or the resource's title."""
        if self.template is not None:
            return self.template.name
        return f"{self.resource.title} (co-branded)"

    @property
    def file_stem(self) -> str:
        """The download's file name without ``.pdf``: ``siso-<template key>`` or
        ``siso-resource-<id>``."""
        return f"siso-{self.template.key}" if self.template is not None \
            else f"siso-resource-{self.resource_id}"



class TrainingModule(db.Model):
    """A training module; ``required`` ones gate leaving starter (rules: "Tiers")."""

    def __str__(self) -> str:
        return self.title

    __tablename__ = "training_modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    #: Training channel, e.g. ``getting-started`` (rules: "Training").
    channel: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    #: A video to watch (our own or a trusted host's URL), empty when none.
    video_url: Mapped[str] = mapped_column(String(300), default="", server_default="")
    #: Tier key needed to open the module, empty for everyone (rules: "Training").
    min_tier_key: Mapped[str] = mapped_column(String(30), default="", server_default="")
    #: Percentage of right answers needed to pass the quiz.
    pass_mark_percent: Mapped[int] = mapped_column(default=80, server_default="80")
    #: When the module was added (the dashboard announces new modules); modules older
    #: than the column carry the time of its migration.
    created_at: Mapped[object | None] = mapped_column(UTCDateTime, default=now_utc)



class TrainingCompletion(db.Model):
    """A partner's completion of a training module."""

    __tablename__ = "training_completions"
    __table_args__ = (UniqueConstraint("partner_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    module_id: Mapped[int] = mapped_column(ForeignKey("training_modules.id"))
    completed_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    #: Quiz score in percent when the module has a quiz, else None.
    score_percent: Mapped[int | None]



class QuizQuestion(db.Model):
    """A multiple-choice question of a training module's quiz."""

    __tablename__ = "quiz_questions"
    __table_args__ = (Index("ix_quiz_questions_module_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("training_modules.id"))
    prompt: Mapped[str] = mapped_column(String(500))
    #: Choices, one per line.
    choices: Mapped[str] = mapped_column(Text)
    #: Index (0-based) of the right choice.
    correct_index: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)

    module = relationship("TrainingModule")

    @property
    def choice_list(self) -> list[str]:
        """The choices as a list."""
        return [c for c in self.choices.splitlines() if c.strip()]


class LandingPage(db.Model):
    """A landing page content staff write and publish (rules: "Links and attribution"):
    shown at a partner's campaign link with the partner's branding. Markdown body,
    rendered and sanitised by ``core.content.landing.render_body``."""

    __tablename__ = "landing_pages"
    __table_args__ = (CheckConstraint("status IN ('draft', 'published')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: URL-safe name, unique (``a-z0-9-``, 2–60).
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    hero: Mapped[str] = mapped_column(String(300), default="")
    #: Markdown (CommonMark plus tables); raw HTML is shown as text.
    body: Mapped[str] = mapped_column(Text, default="")
    #: The service the page sells (free text, e.g. "Websites", "Web apps").
    service: Mapped[str] = mapped_column(String(80), default="")
    #: ``draft`` (staff preview only) or ``published``.
    status: Mapped[str] = mapped_column(String(10), default="draft")
    published_at: Mapped[object | None] = mapped_column(UTCDateTime)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    def __str__(self) -> str:
        return self.title


class LearningPath(db.Model):
    """Training modules grouped into an ordered path; passing every one of them earns a
    certificate (rules: "Learning paths and certificates")."""

    __tablename__ = "learning_paths"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    #: Inactive paths are hidden from partners and issue no new certificates.
    active: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)

    steps = relationship("LearningPathStep", order_by="LearningPathStep.position",
                         cascade="all, delete-orphan")

    def __str__(self) -> str:
        return self.title


class LearningPathStep(db.Model):
    """A module's place in a path (1 = first)."""

    __tablename__ = "learning_path_steps"
    __table_args__ = (UniqueConstraint("path_id", "module_id"),
                      UniqueConstraint("path_id", "position",
                                       name="uq_learning_path_steps_position"),
                      CheckConstraint("position >= 1", name="position"))

    id: Mapped[int] = mapped_column(primary_key=True)
    path_id: Mapped[int] = mapped_column(ForeignKey("learning_paths.id"))
    module_id: Mapped[int] = mapped_column(ForeignKey("training_modules.id"))
    position: Mapped[int]

    module = relationship("TrainingModule")


#: A certificate's render states.
CERTIFICATE_STATUSES = ("pending", "ready", "failed")


class Certificate(db.Model):
    """A partner's certificate for a learning path, at most one per path, with a public
    verification code (rules: "Learning paths and certificates"). The name and the
    path's title are kept as printed."""

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("partner_id", "path_id"), UniqueConstraint("code"),
                      CheckConstraint("status IN ('pending', 'ready', 'failed')",
                                      name="status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    path_id: Mapped[int] = mapped_column(ForeignKey("learning_paths.id"))
    #: ``XXXX-XXXX-XXXX-XXXX`` (80 random bits), printed on the PDF and used by /verify.
    code: Mapped[str] = mapped_column(String(19))
    #: The partner's name and the path's title as printed.
    holder_name: Mapped[str] = mapped_column(String(200))
    path_title: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    #: The PDF in the file store, relative; empty until rendered.
    file_path: Mapped[str] = mapped_column(String(300), default="", server_default="")
    error: Mapped[str] = mapped_column(Text, default="", server_default="")

    partner = relationship("Partner")
    path = relationship("LearningPath")
