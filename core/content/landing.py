"""Landing pages content staff write, preview and publish; shown at partners' campaign
links with the partner's branding (rules: "Links and attribution")."""

import re

from sqlalchemy import select

from core.base.audit import audit
from core.base.errors import NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.timeutil import now_utc
from core.content.models import LandingPage
from core.content.training import render_module_body

_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?")


def render_body(source: str) -> str:
    """A landing page's Markdown as safe HTML: the same CommonMark and nh3 cleaning as
    training modules (raw HTML shown as text; no scripts, styles, images or forms)."""
    return render_module_body(source)


def check_page(slug: str, title: str) -> None:
    """Refuse a bad slug (``a-z0-9-``, 1–60, no leading/trailing hyphen) or an empty
    title with ``ValidationError`` (422)."""
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
        raise ValidationError("slug: lower-case letters, digits and hyphens, at most 60.")
    if not (title or "").strip():
        raise ValidationError("title is required.")


def set_status(page: LandingPage, status: str, actor_id: int | None) -> LandingPage:
    """Publish (``published``) or take back to ``draft`` a landing page; audited as
    ``landing_page.publish`` / ``landing_page.unpublish``. A draft is seen only by staff
    (preview); links to it show the default landing until it is published."""
    if status not in ("draft", "published"):
        raise ValidationError("status must be draft or published.")
    before = page.status
    page.status = status
    if status == "published" and before != "published":
        page.published_at = now_utc()
    audit(actor_id, "landing_page.publish" if status == "published"
          else "landing_page.unpublish", "landing_page", page.id, before={"status": before},
          after={"status": status})
    return page


def published_pages() -> list[LandingPage]:
    """Published landing pages, by title (what a partner may point a link at)."""
    return list(db.session.scalars(select(LandingPage).where(LandingPage.status == "published")
                                   .order_by(LandingPage.title, LandingPage.id)))


def published_page(page_id) -> LandingPage:
    """A published landing page by id; anything else raises ``NotFound``."""
    page = get_row(LandingPage, page_id)
    if page is None or page.status != "published":
        raise NotFound("No such landing page.")
    return page
