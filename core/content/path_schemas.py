"""API shapes of learning paths and certificates (rules: "Learning paths and
certificates"). Times are ISO 8601 UTC."""

from typing import Literal

from core.base.schemas import Answer, Field, Page, Shape, Time


class PathStep(Shape):
    """A module's place in a path and whether you passed it."""

    position: int
    module_id: int
    title: str
    completed: bool
    unlocked: bool = Field(description="False while the module's tier lock applies")


class CertificateShape(Shape):
    """A certificate you hold; ``download_url`` once the worker has made the PDF."""

    id: int
    code: str = Field(description="Verification code, XXXX-XXXX-XXXX-XXXX")
    status: Literal["pending", "ready", "failed"]
    issued_at: Time
    verify_url: str = Field(description="The public verification page")
    download_url: str | None = Field(description="null until ready")


class LearningPath(Shape):
    """An active learning path with your progress."""

    id: int
    slug: str
    title: str
    description: str
    done: int
    total: int
    percent: int
    next_module_id: int | None = Field(description="The first module not yet passed")
    steps: list[PathStep]
    certificate: CertificateShape | None


class LearningPathPage(Page):
    """Active learning paths, by title."""

    items: list[LearningPath]
    next_cursor: None = None


class CertificateCheck(Answer):
    """A certificate as anyone may check it (public)."""

    code: str
    valid: bool
    holder_name: str
    path_title: str
    issued_at: Time
