"""Content's API shapes: marketing resources with their lock state, and training
modules, progress and quizzes.

Times are ISO 8601 UTC, sizes bytes.
"""

from typing import Annotated, ClassVar, Literal

from core.base.schemas import (
    MISSING,
    Answer,
    ClosedRequest,
    Field,
    Id,
    Page,
    Request,
    Shape,
    Time,
    Unknown,
)
from core.content.resources import CATEGORIES, KINDS


class Resource(Shape):
    """A marketing file; ``download_url`` is null while tier-locked."""

    id: int
    title: str
    category: Literal[tuple(CATEGORIES)]
    description: str
    min_tier: str
    unlocks_at: str = Field(description="Name of the tier that unlocks it")
    unlocked: bool
    co_brandable: bool = Field(description="A co-branded version can be requested on "
                                           "/partner/materials")
    file_kind: Literal[tuple(KINDS)]
    size_bytes: int
    download_count: int
    created_at: Time
    download_url: str | None = Field(description="null while tier-locked")

    @classmethod
    def of(cls, item: dict, download_url: str | None) -> "Resource":
        """One ``core.content.resources.resources_for`` item, with its download link."""
        a = item["resource"]
        return cls(id=a.id, title=a.title, category=a.category, description=a.description,
                   min_tier=a.min_tier_key, unlocks_at=item["tier"], unlocked=item["unlocked"],
                   co_brandable=a.co_brandable, file_kind=a.file_kind,
                   size_bytes=a.size_bytes, download_count=a.download_count,
                   created_at=a.created_at,
                   download_url=download_url if item["unlocked"] else None)


class ResourcePage(Page):
    """Active marketing files, by category, newest first within one."""

    items: list[Resource]
    next_cursor: None = None


class DownloadRequest(Request):
    """Record a download of a resource and get a link to the file."""

    resource_id: Annotated[Id, Unknown("No such resource.")]


class DownloadLink(Answer):
    """A recorded download: a link that fetches the file without a login, for 10 minutes
    (hand it to the phone's downloader or share sheet); fetching it does not count
    again."""

    resource_id: int
    title: str
    filename: str
    content_type: str
    size_bytes: int
    download_url: str
    expires_at: Time


#: What a download answers: the file, as stored (its own type, else octet-stream).
DOWNLOAD = {kind: {"type": "string", "format": "binary"} for kind in
            ["application/octet-stream"] + [k[3].split(";")[0] for k in KINDS.values()]}


# --- co-branded materials -------------------------------------------------------------------

class MaterialTemplate(Shape):
    """A template partners can have made with their branding; ``allowed`` false while
    tier-locked (``unlocks_at`` names the tier)."""

    id: int
    name: str
    kind: str
    description: str
    white_label: bool
    allowed: bool
    unlocks_at: str


class Render(Answer):
    """A co-branded PDF being made or made: of a material template or a co-brandable
    resource. Poll ``status_url`` until ``status`` is ready (then ``download_url``) or
    failed (then ``error`` says why)."""

    id: int
    status: Literal["pending", "rendering", "ready", "failed"]
    title: str
    template_id: int | None
    resource_id: int | None
    pages: int = Field(ge=0)
    size_bytes: int = Field(ge=0)
    error: str
    created_at: Time
    rendered_at: Time | None
    status_url: str
    download_url: str | None = Field(description="Only once ready")


class Materials(Answer):
    """Templates for your tier and your co-branded PDFs (newest first, at most 50)."""

    templates: list[MaterialTemplate]
    renders: list[Render]


class Customize(ClosedRequest):
    """What to co-brand: a material template (``template_id``) or a co-brandable resource
    (``resource_id``), exactly one of the two."""

    extra_refusal: ClassVar[str] = "Send template_id or resource_id, nothing else ({fields})."

    template_id: Annotated[Id, Unknown("No such material.")] = Field(MISSING)
    resource_id: Annotated[Id, Unknown("No such resource.")] = Field(MISSING)


#: A module named in a body: anything but an existing module's id is a 404.
_NO_MODULE = Unknown("No such training module.")


class TrainingModule(Shape):
    """A training module with its lock, completion and best quiz score."""

    id: int
    slug: str
    title: str
    channel: str
    required: bool
    min_tier: str | None
    unlocked: bool
    completed: bool
    score_percent: int | None
    questions: int
    pass_mark_percent: int

    @classmethod
    def of(cls, row: dict) -> "TrainingModule":
        """One ``core.content.training.modules_for`` row."""
        m = row["module"]
        return cls(id=m.id, slug=m.slug, title=m.title, channel=m.channel,
                   required=m.required, min_tier=m.min_tier_key or None,
                   unlocked=row["unlocked"], completed=row["completed"],
                   score_percent=row["score_percent"], questions=row["questions"],
                   pass_mark_percent=m.pass_mark_percent)


class ModulePage(Page):
    """Every module, locked ones too, in order."""

    items: list[TrainingModule]
    next_cursor: None = None


class TrainingProgress(Answer):
    """Modules completed, overall and of the required ones."""

    completed: int
    total: int
    required_completed: int
    required_total: int
    percent: int


class CompleteModule(Request):
    """A module without a quiz, read to the end."""

    module_id: Annotated[Id, _NO_MODULE]


class QuizAnswers(Request):
    """A quiz: the chosen choice index for every question (by question id)."""

    module_id: Annotated[Id, _NO_MODULE]
    answers: dict[str, int]


class QuizResult(Answer):
    """Passed or not, the score (null for a module without a quiz), the pass mark, and
    which questions were answered wrongly (their ids, to read again)."""

    passed: bool
    score_percent: int | None
    pass_mark_percent: int
    correct: int
    total: int
    wrong_question_ids: list[int] = Field(default_factory=list)
