"""Marketing assets uploaded by content staff and downloaded by partners (issue 4
"Assets", issue 5 "/partner/resources")."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.timeutil import UTCDateTime, now_utc


class Asset(db.Model):
    """One uploaded file (PDF, PNG, JPEG, MP4 or HTML template) with its catalogue data.

    The file lives at ``STORAGE_DIR/assets/<stored_name>``; ``stored_name`` is made by the
    server (random hex + the kind's extension), ``original_name`` is only ever displayed.
    """

    __tablename__ = "assets"
    __table_args__ = (
        CheckConstraint("download_count >= 0", name="download_count"),
        CheckConstraint("size_bytes >= 0", name="size_bytes"),
        Index("ix_assets_active_category", "active", "category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(160))
    #: One of ``core.assets.CATEGORIES``.
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
