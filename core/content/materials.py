"""Co-branded materials: templates, their safe rendering, and partners' requests
(rules: "Materials"; white-label is Performer+).

How a material is built
-----------------------
A :class:`~core.models.MaterialTemplate` has two parts written by content staff:

- ``html``: the document body, a Jinja fragment rendered in a **sandboxed** environment
  with autoescape on. Its named slots are :data:`BODY_SLOTS`: ``partner.display_name``,
  ``partner.contact_line``, ``partner.company_name``, ``logo`` (a ``data:`` URI or ``""``),
  ``qr`` (the referral link's QR code as a ``data:`` URI), ``referral_url``,
  ``white_label`` (bool), ``today`` (``"November 2026"``) and ``brand`` (colours).
  The fragment may not contain ``<style>`` and may not put a slot inside a ``style=``
  attribute, so partner text never lands in CSS.
- ``css``: a Jinja stylesheet whose only variable is ``brand``: ``brand.primary``,
  ``brand.primary_dark``, ``brand.tint``, ``brand.on_primary``, every one a validated
  ``#rrggbb`` (:func:`core.content.branding.brand_palette`).

The app wraps both in its own skeleton and renders through :func:`core.base.pdf.render_pdf`
(only ``data:`` URIs and the app's static files can load). Every render is keyed by a
SHA-256 *content key* over the template version and content, the branding, the logo's
hash and the referral link: asking again for the same key returns the stored file.
"""

import hashlib
import io
import json
import re
import secrets

import jinja2
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import escape
from sqlalchemy import inspect, select

from core.base.audit import audit
from core.base.errors import Conflict, Forbidden, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.jobs import QUEUE_PDF, job, job_logger
from core.base.pdf import TEMPLATES_DIR, render_limits, render_pdf_with_pages
from core.base.timeutil import now_utc
from core.community.notifications import notify
from core.content.branding import DEFAULT_COLOR, brand_palette, data_uri, get_branding, qr_png
from core.content.models import MaterialRender, MaterialTemplate
from core.money.models import Statement
from core.ops.storage import get_storage
from core.program.models import Partner
from core.program.tiers import standing, tier_by_key

#: Variables a template body may use (its named slots).
BODY_SLOTS = frozenset({"partner", "logo", "qr", "referral_url", "white_label", "today",
                        "brand"})
#: Variables a template stylesheet may use.
CSS_SLOTS = frozenset({"brand"})
TEMPLATE_KINDS = ("deck", "case_study", "faq", "one_pager", "other")
#: Tier white-label templates need at least (tier design: "White-label materials").
WHITE_LABEL_TIER = "performer"
#: Bump when the skeleton or base CSS changes, so stored renders are not reused.
RENDERER_VERSION = 1
#: Folder of the built-in templates' files.
BUILTIN_DIR = TEMPLATES_DIR / "pdf" / "materials"
#: Built-in templates (rules: "Materials": three real ones from the seeds' Marketing Kit).
BUILTIN_TEMPLATES = [
    dict(key="service-overview", name="SISO service overview deck", kind="deck",
         min_tier_key="starter", white_label=False,
         description="Five landscape slides: what SISO builds, how a project runs, "
                     "typical prices, and how to start with you."),
    dict(key="case-study", name="Case study: TechCorp website (one page)", kind="case_study",
         min_tier_key="starter", white_label=False,
         description="One A4 page: a $2,500 website project from brief to results."),
    dict(key="faq-sheet", name="Client FAQ sheet", kind="faq", min_tier_key="starter",
         white_label=False,
         description="The questions clients ask before they buy a website or web app."),
    dict(key="white-label-overview", name="Service overview, white-label (your brand)",
         kind="one_pager", min_tier_key="performer", white_label=True,
         description="A one-page service sheet under your own brand, for Performer and "
                     "Elite partners."),
]

SAMPLE_BRANDING = {"display_name": "Northwind Digital", "contact_line":
                   "Alex Rivera · alex@northwind.example · +1 555 0100",
                   "brand_color": "#1d4ed8", "company_name": "Northwind Digital LLC"}

BASE_CSS = """
html { font-family: "DejaVu Sans", sans-serif; font-size: 10pt; line-height: 1.45;
       color: #1f2937; }
body { margin: 0; }
img { max-width: 100%; }
"""

_STYLE_TAG = re.compile(r"<\s*/?\s*style", re.I)
_STYLE_ATTR_SLOT = re.compile(r"""style\s*=\s*("[^"]*\{[{%]|'[^']*\{[{%])""", re.I)
_ENV = None
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


#: Longest string or list a template expression may build with ``*`` or ``+``, and the
#: largest number it may raise to a power (rules: "Template sandbox").
MAX_TEMPLATE_VALUE = 1_000_000
MAX_TEMPLATE_EXPONENT = 1_000
#: Most characters a rendered material (or its stylesheet) may have.
MAX_RENDER_CHARS = 8_000_000
#: Caps of the trial render a template save runs in a child process (``core.base.isolate``).
TRIAL_RENDER_SECONDS = 5
TRIAL_RENDER_MEMORY_MB = 256


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with bounded arithmetic: ``*`` and ``+`` may not build a
    string or list longer than :data:`MAX_TEMPLATE_VALUE`, ``**`` takes exponents up to
    :data:`MAX_TEMPLATE_EXPONENT`, and ``%`` is arithmetic only (no string formatting).
    Anything else is a ``jinja2.sandbox.SecurityError`` with a sentence for people."""

    intercepted_binops = frozenset({"*", "+", "**", "%"})

    def call_binop(self, context, operator, left, right):
        from jinja2.sandbox import SecurityError

        if operator == "%" and isinstance(left, str | bytes):
            raise SecurityError("String formatting with % is not available in templates.")
        if operator == "**" and isinstance(right, int) and abs(right) > MAX_TEMPLATE_EXPONENT:
            raise SecurityError(f"Exponents above {MAX_TEMPLATE_EXPONENT} are not available "
                                "in templates.")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | bytes | list | tuple) and isinstance(times, int) \
                        and len(seq) * max(times, 0) > MAX_TEMPLATE_VALUE:
                    raise SecurityError("That multiplication would make a value of more "
                                        f"than {MAX_TEMPLATE_VALUE:,} items.")
        if operator == "+" and isinstance(left, str | bytes | list | tuple) \
                and hasattr(right, "__len__") and len(left) + len(right) > MAX_TEMPLATE_VALUE:
            raise SecurityError(f"That would make a value of more than {MAX_TEMPLATE_VALUE:,} "
                                "items.")
        return super().call_binop(context, operator, left, right)


def _env() -> BoundedSandbox:
    global _ENV
    if _ENV is None:
        # No constant folding: the optimizer would run a filter on constants (such as
        # ``'a'|center(10**9)``) while the template is parsed, outside every cap.
        _ENV = BoundedSandbox(autoescape=True, undefined=jinja2.StrictUndefined,
                              optimized=False)
    return _ENV


def _render_bounded(source: str, **context) -> str:
    """Render ``source`` in the bounded sandbox, stopping once the output passes
    :data:`MAX_RENDER_CHARS` (``jinja2.TemplateError``)."""
    parts, size = [], 0
    for chunk in _env().from_string(source).generate(**context):
        size += len(chunk)
        if size > MAX_RENDER_CHARS:
            raise jinja2.TemplateError(f"the rendered document is over {MAX_RENDER_CHARS:,} "
                                       "characters")
        parts.append(chunk)
    return "".join(parts)


def validate_template(html, css) -> None:
    """Check a template's body and stylesheet before it is saved.

    Raises ``ValidationError`` when: the body is empty or over 200,000 characters; it
    holds a ``<style>`` tag or a slot inside a ``style=`` attribute; either part is not
    valid Jinja; it uses a variable that is not a slot (:data:`BODY_SLOTS`,
    :data:`CSS_SLOTS`); the CSS holds ``</style``; or a trial render with sample branding
    fails or passes its caps. Everything that compiles the template runs in a child
    process under :data:`TRIAL_RENDER_SECONDS` and :data:`TRIAL_RENDER_MEMORY_MB`
    (``core.base.isolate``): compiling already evaluates constant expressions (rules:
    "Template sandbox").
    """
    from core.base.isolate import CapExceeded, ChildError, run_capped

    if not isinstance(html, str) or not html.strip():
        raise ValidationError("The template body (HTML) is required.")
    css = css or ""
    if len(html) > 200_000 or len(css) > 200_000:
        raise ValidationError("A template part can be at most 200,000 characters.")
    if _STYLE_TAG.search(html):
        raise ValidationError("Put styles in the CSS field, not in a <style> tag in the HTML.")
    if _STYLE_ATTR_SLOT.search(html):
        raise ValidationError("Slots cannot be used inside a style= attribute.")
    if _STYLE_TAG.search(css):
        raise ValidationError("The CSS cannot contain a style tag.")
    try:
        run_capped(_check_template, html, css, seconds=TRIAL_RENDER_SECONDS,
                   memory_mb=TRIAL_RENDER_MEMORY_MB)
    except CapExceeded as exc:
        raise ValidationError(f"The template does not render: {exc.message}. Make it "
                              "smaller or simpler.") from None
    except ChildError as exc:
        if exc.kind == "ValidationError":
            raise ValidationError(exc.message) from None
        raise ValidationError(f"The template does not render: {exc.message}") from None


def _check_template(html: str, css: str) -> int:
    """The Jinja checks and trial render of :func:`validate_template` (run in a capped
    child): returns the trial document's size; raises ``ValidationError`` or
    ``jinja2.TemplateError``."""
    for part, text, allowed in (("HTML", html, BODY_SLOTS), ("CSS", css, CSS_SLOTS)):
        try:
            names = meta.find_undeclared_variables(_env().parse(text))
        except jinja2.TemplateSyntaxError as exc:
            raise ValidationError(f"{part} line {exc.lineno}: {exc.message}") from None
        unknown = sorted(names - allowed)
        if unknown:
            raise ValidationError(f"{part} uses unknown slot(s): {', '.join(unknown)}. "
                                  f"Available: {', '.join(sorted(allowed))}.")
    return len(render_material_html({"name": "check", "html": html, "css": css},
                                    sample_context("https://example.invalid/r/CHECK")))


def render_material_html(template: dict, context: dict) -> str:
    """Render a material to a complete HTML document.

    ``template`` is ``{"name", "html", "css"}`` (str), ``context`` the plain slot values
    of :func:`material_context`. The CSS sees only ``brand`` (re-validated hex colours);
    the body is autoescaped. Raises ``jinja2.TemplateError`` for a broken template.
    """
    brand = brand_palette(context["brand"]["primary"])
    css = _render_bounded(template.get("css") or "", brand=brand)
    if _STYLE_TAG.search(css):
        raise jinja2.TemplateError("stylesheet closes its style tag")
    body = _render_bounded(template["html"], **dict(context, brand=brand))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(template['name'])}</title>"
            "<meta name=\"author\" content=\"SISO\">"
            f"<style>{BASE_CSS}</style>\n<style>\n{css}\n</style></head>\n"
            f"<body>\n{body}\n</body></html>")


def _month_label(dt) -> str:
    return f"{MONTHS[dt.month - 1]} {dt.year}"


def sample_context(referral_url: str) -> dict:
    """Slot values with :data:`SAMPLE_BRANDING` (previews and template checks)."""
    return {"partner": {k: SAMPLE_BRANDING[k] for k in ("display_name", "contact_line",
                                                        "company_name")},
            "logo": "", "qr": data_uri("image/png", qr_png(referral_url)),
            "referral_url": referral_url, "white_label": False,
            "today": _month_label(now_utc()),
            "brand": {"primary": SAMPLE_BRANDING["brand_color"]}}


def branding_values(partner: Partner) -> dict:
    """The partner's branding as plain values, with defaults when none is set:
    ``{"display_name", "contact_line", "company_name", "brand_color", "logo_path",
    "logo_sha256"}``."""
    row = get_branding(partner.id)
    if row is None:
        return {"display_name": partner.company_name or partner.user.name,
                "contact_line": f"{partner.user.name} · {partner.user.email}",
                "company_name": partner.company_name, "brand_color": DEFAULT_COLOR,
                "logo_path": "", "logo_sha256": ""}
    return {"display_name": row.display_name, "contact_line": row.contact_line,
            "company_name": partner.company_name, "brand_color": row.brand_color,
            "logo_path": row.logo_path, "logo_sha256": row.logo_sha256}


def material_context(branding: dict, referral_url: str, white_label: bool) -> dict:
    """Plain slot values for a render (nothing here is an ORM object).

    ``branding`` as from :func:`branding_values`; the logo file is read from the file
    store and inlined as a ``data:`` URI; the QR code encodes ``referral_url``.
    """
    logo = ""
    if branding["logo_path"]:
        logo = data_uri("image/png", get_storage().read_bytes(branding["logo_path"]))
    return {"partner": {k: branding[k] for k in ("display_name", "contact_line",
                                                  "company_name")},
            "logo": logo, "qr": data_uri("image/png", qr_png(referral_url)),
            "referral_url": referral_url, "white_label": bool(white_label),
            "today": _month_label(now_utc()), "brand": {"primary": branding["brand_color"]}}


def content_key(template: MaterialTemplate, branding: dict, referral_url: str) -> str:
    """SHA-256 hex of everything that shapes a material's PDF: renderer and template
    version, template content, branding values, logo hash and referral link. (The
    month printed as ``today`` is not part of it: a stored file stays valid.)"""
    payload = {
        "renderer": RENDERER_VERSION, "template_id": template.id,
        "version": template.version,
        "html": hashlib.sha256(template.html.encode()).hexdigest(),
        "css": hashlib.sha256((template.css or "").encode()).hexdigest(),
        "white_label": bool(template.white_label),
        "branding": {k: branding[k] for k in ("display_name", "contact_line", "company_name",
                                              "brand_color", "logo_sha256")},
        "referral_url": referral_url,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def resource_content_key(resource, branding: dict, referral_url: str) -> str:
    """SHA-256 hex of everything that shapes a co-branded resource: the band's design
    version, the resource's stored file and hash, branding values, logo hash and
    referral link."""
    from core.content.cobrand import BAND_SHARE

    payload = {
        "renderer": RENDERER_VERSION, "band": BAND_SHARE, "resource_id": resource.id,
        "stored": resource.stored_name, "sha256": resource.sha256,
        "branding": {k: branding[k] for k in ("display_name", "contact_line", "company_name",
                                              "brand_color", "logo_sha256")},
        "referral_url": referral_url,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def render_key_now(render: MaterialRender) -> str:
    """The content key ``render`` would have if it were asked for now (its template or
    resource, the partner's branding as it is now)."""
    branding = branding_values(render.partner)
    if render.resource_id is not None:
        return resource_content_key(render.resource, branding, render.referral_url)
    return content_key(render.template, branding, render.referral_url)


def _tier_rank(key: str) -> int:
    tier = tier_by_key(key)
    return tier.min_deals if tier is not None else 10**9


def required_tier_key(template: MaterialTemplate) -> str:
    """The tier a template needs: its own setting, raised to performer for white-label."""
    key = template.min_tier_key or "starter"
    if template.white_label and _tier_rank(key) < _tier_rank(WHITE_LABEL_TIER):
        return WHITE_LABEL_TIER
    return key


def tier_allows(partner: Partner, template: MaterialTemplate) -> bool:
    """True when the partner's effective tier reaches the template's required tier."""
    return standing(partner).tier.min_deals >= _tier_rank(required_tier_key(template))


def templates_for(partner: Partner) -> list[dict]:
    """Active, published templates for the materials page, in a stable order:
    ``[{"template": MaterialTemplate, "allowed": bool, "tier": "Performer"}]``."""
    rows = db.session.scalars(select(MaterialTemplate).where(
        MaterialTemplate.active, MaterialTemplate.published_at.is_not(None))
        .order_by(MaterialTemplate.id))
    out = []
    for t in rows:
        tier = tier_by_key(required_tier_key(t))
        out.append({"template": t, "allowed": tier_allows(partner, t),
                    "tier": tier.name if tier else required_tier_key(t)})
    return out


def request_material(partner: Partner, user_id: int, template_id,
                     referral_url: str) -> tuple[MaterialRender, bool]:
    """A partner asks for a template rendered with their branding.

    Returns ``(render, queued)``: ``queued`` is False when the same content was already
    rendered (or is being rendered) and the stored row is returned as is. Otherwise a
    render job is enqueued after commit (queue ``pdf``, time limit ``PDF_JOB_TIMEOUT``).
    Raises ``NotFound`` (no such active template), ``Forbidden`` (tier too low) or
    ``ValidationError`` (bad referral link).
    """
    template = get_row(MaterialTemplate, template_id)
    if template is None or not template.active or template.published_at is None:
        raise NotFound("No such material.")
    if not tier_allows(partner, template):
        tier = tier_by_key(required_tier_key(template))
        raise Forbidden(f"{template.name} unlocks at {tier.name if tier else 'a higher'} tier.")
    _check_referral_url(referral_url)
    key = content_key(template, branding_values(partner), referral_url)
    return _queue_render(partner, user_id, key, referral_url,
                         template_id=template.id, template_version=template.version)


def request_cobranded_resource(partner: Partner, user_id: int, resource_id,
                               referral_url: str) -> tuple[MaterialRender, bool]:
    """A partner asks for a co-brandable resource with their band under every page
    (rules: "Co-branded resources").

    Returns ``(render, queued)`` as :func:`request_material`. Raises ``NotFound`` (no such
    active resource), ``Forbidden`` (tier-locked, naming the tier), ``Conflict`` (the
    resource is not co-brandable, or not a PDF or image) or ``ValidationError`` (bad
    referral link).
    """
    from core.content.resources import COBRAND_KINDS, resource_for_download

    resource = resource_for_download(partner, resource_id)
    if not resource.co_brandable:
        raise Conflict(f"“{resource.title}” is not co-brandable; download it as it is.",
                       code="not_co_brandable")
    if resource.file_kind not in COBRAND_KINDS:
        raise Conflict(f"“{resource.title}” is a {resource.file_kind.upper()} file; only PDFs "
                       "and images can be co-branded.", code="not_co_brandable")
    _check_referral_url(referral_url)
    key = resource_content_key(resource, branding_values(partner), referral_url)
    return _queue_render(partner, user_id, key, referral_url,
                         resource_id=resource.id, template_version=0)


def _check_referral_url(referral_url) -> None:
    if not isinstance(referral_url, str) or not referral_url.startswith(("http://", "https://")) \
            or len(referral_url) > 300:
        raise ValidationError("The referral link must be an http(s) URL of at most 300 "
                              "characters.")


def _queue_render(partner: Partner, user_id: int, key: str, referral_url: str,
                  **source) -> tuple[MaterialRender, bool]:
    """The partner's render of content ``key``: the stored one when it is ready or under
    way, else a (new or failed) row queued for the worker after commit."""
    row = db.session.scalar(select(MaterialRender).where(
        MaterialRender.partner_id == partner.id, MaterialRender.content_key == key))
    if row is not None:
        row.request_count += 1
        if row.status == "ready" and get_storage().exists(row.file_path):
            return row, False
        if row.status in ("pending", "rendering"):
            return row, False
        row.status, row.error = "pending", ""
    else:
        row = MaterialRender(partner_id=partner.id, content_key=key, referral_url=referral_url,
                             status="pending", requested_by_id=user_id, **source)
        db.session.add(row)
    db.session.flush()
    render_material.after_commit(row.id, job_id=f"material-{row.id}-{row.request_count}")
    return row, True


def render_job_inputs(render: MaterialRender) -> tuple[dict, dict]:
    """Plain inputs for the render job: ``(template_fields, context)`` as used by
    :func:`render_material_html`. Uses the branding as it is now; the job compares the
    content key and refuses to write a file under a key that no longer matches."""
    t = render.template
    branding = branding_values(render.partner)
    fields = {"name": t.name, "html": t.html, "css": t.css}
    return fields, material_context(branding, render.referral_url, t.white_label)


def material_ready(render: MaterialRender, rel_path: str, size: int, pages: int) -> None:
    """Record a rendered material and tell the partner (stored + live notification)."""
    render.status, render.file_path, render.error = "ready", rel_path, ""
    render.size_bytes, render.pages, render.rendered_at = size, pages, now_utc()
    notify(render.partner.user_id, "material", f"{render.title} is ready",
           "Your co-branded PDF is ready to download.", "/partner/materials")


def get_render_for(user, render_id) -> MaterialRender:
    """A material render the user may download: only the partner it was made for.

    Raises ``NotFound`` for anyone else (never tells whether it exists)."""
    row = get_row(MaterialRender, render_id)
    if row is None or user.partner is None or row.partner_id != user.partner.id:
        raise NotFound("No such material.")
    return row


def partner_renders(partner_id: int, limit: int = 50) -> list[MaterialRender]:
    """The partner's material renders, newest first."""
    return list(db.session.scalars(select(MaterialRender).where(
        MaterialRender.partner_id == partner_id).order_by(MaterialRender.id.desc())
        .limit(limit)))


def prepare_template_change(template: MaterialTemplate, created: bool, actor_id: int,
                            changed: bool) -> None:
    """Validate a template a staff form just filled in (rules: "Materials", drafts).

    The form edits the draft (``draft_html``/``draft_css``): saving never changes what
    partners get. A draft equal to the published content is dropped; a changed draft
    needs a new preview (its status goes back to ``none``). A new template is created
    unpublished, version 1, its content the draft. ``changed`` says whether the access
    rules (tier, white-label) changed: those apply at once and bump the version.
    Raises ``ValidationError`` (see :func:`validate_template`, unknown tier or kind).
    """
    if template.draft_html is None:
        template.draft_html = template.html
    if template.draft_css is None:
        template.draft_css = template.css or ""
    validate_template(template.draft_html, template.draft_css)
    if tier_by_key(template.min_tier_key or "") is None:
        raise ValidationError("Unknown tier; use starter, active, performer or elite.")
    if template.kind not in TEMPLATE_KINDS:
        raise ValidationError(f"Kind must be one of {', '.join(TEMPLATE_KINDS)}.")
    if created:
        template.version = 1
        template.html, template.css = template.draft_html, template.draft_css
        template.published_at = None
        template.preview_status, template.preview_error = "none", ""
    elif changed:
        template.version = (template.version or 0) + 1
    if not created and (template.draft_html, template.draft_css or "") == \
            (template.html, template.css or ""):
        template.draft_html = template.draft_css = None
    state = inspect(template)
    if created or any(state.attrs[k].history.has_changes() for k in ("draft_html", "draft_css")):
        template.preview_status, template.preview_error, template.preview_path = "none", "", ""
    template.updated_by_id = actor_id
    template.updated_at = now_utc()


def has_draft(template: MaterialTemplate) -> bool:
    """Whether the template has content partners do not get yet: a saved draft, or
    never published."""
    return template.draft_html is not None or template.published_at is None


def request_preview(template_id, partner_id, actor_id: int) -> MaterialTemplate:
    """Render the template's draft (or its published content when there is no draft)
    with a partner's real branding and their referral link's QR code, for staff to check
    before publishing (rules: "Materials", drafts). The render job runs after commit.
    Raises ``NotFound`` (template or partner)."""
    template = get_row(MaterialTemplate, template_id)
    if template is None:
        raise NotFound("No such template.")
    partner = get_row(Partner, partner_id)
    if partner is None:
        raise NotFound("No such partner.")
    template.preview_partner_id = partner.id
    template.preview_status, template.preview_error, template.preview_path = "pending", "", ""
    audit(actor_id, "material_template.preview", "material_template", template.id, None,
          {"partner_id": partner.id, "draft": has_draft(template)})
    db.session.flush()
    render_preview.after_commit(template.id,
                                job_id=f"preview-{template.id}-{secrets.token_hex(6)}")
    return template


def publish_template(template_id, actor_id: int) -> MaterialTemplate:
    """Publish a template's draft (rules: "Materials", drafts): partners get it from now
    on, as a new version (the first publication stays version 1). Needs a ready preview
    of that draft. Audited ``material_template.publish``. Raises ``NotFound``,
    ``Conflict`` (nothing to publish, or no ready preview of the draft)."""
    template = get_row(MaterialTemplate, template_id)
    if template is None:
        raise NotFound("No such template.")
    if not has_draft(template):
        raise Conflict("Nothing to publish: this template has no unpublished changes.")
    if template.preview_status != "ready":
        raise Conflict("Preview the draft first: publishing needs a ready preview of it.")
    before = template.version
    if template.draft_html is not None:
        template.html, template.css = template.draft_html, template.draft_css or ""
        template.draft_html = template.draft_css = None
    if template.published_at is not None:
        template.version = (template.version or 0) + 1
    template.published_at = template.published_at or now_utc()
    template.updated_by_id, template.updated_at = actor_id, now_utc()
    audit(actor_id, "material_template.publish", "material_template", template.id,
          {"version": before}, {"version": template.version})
    return template


def builtin_template_rows() -> list[dict]:
    """The built-in templates as plain dicts (``BUILTIN_TEMPLATES`` plus ``html`` and
    ``css`` read from ``templates/pdf/materials/<key>.html|.css``)."""
    rows = []
    for spec in BUILTIN_TEMPLATES:
        html = (BUILTIN_DIR / f"{spec['key']}.html").read_text(encoding="utf-8")
        css = (BUILTIN_DIR / f"{spec['key']}.css").read_text(encoding="utf-8")
        rows.append(dict(spec, html=html, css=css))
    return rows


def install_builtin_templates() -> int:
    """Insert the built-in templates whose key is missing (the migration ships them; this
    restores them on a database that lost them, e.g. in tests). Returns how many."""
    have = set(db.session.scalars(select(MaterialTemplate.key)))
    added = 0
    for row in builtin_template_rows():
        if row["key"] not in have:
            db.session.add(MaterialTemplate(builtin=True, version=1, published_at=now_utc(),
                                            **row))
            added += 1
    db.session.flush()
    return added


# --- failures (recorded by the worker; see jobs.limits) -------------------------------

def record_render_failure(kind: str, obj_id: int, message: str, final: bool) -> None:
    """Store why a render job failed, visibly, and tell whoever asked for it.

    ``kind`` is ``statement`` | ``material`` | ``preview`` | ``batch_zip``; ``message`` a
    sentence for people (shown in the back office and the portal). When ``final`` is
    False (RQ will retry) the row stays pending with the error noted; when True it is
    marked ``failed`` and the requester gets a notification.
    """
    from core.money.models import StatementBatch

    message = message[:2000]
    if kind == "statement":
        st = db.session.get(Statement, obj_id)
        if st is None or st.status == "ready":
            return
        st.error = message
        if final:
            st.status = "failed"
            notify(st.requested_by_id, "statement",
                   f"Statement {st.period} for partner #{st.partner_id} failed",
                   message, "/admin/statements/")
    elif kind == "material":
        row = db.session.get(MaterialRender, obj_id)
        if row is None or row.status == "ready":
            return
        row.error = message
        if final:
            row.status = "failed"
            notify(row.requested_by_id, "material", f"{row.title} could not be made",
                   message, "/partner/materials")
    elif kind == "preview":
        t = db.session.get(MaterialTemplate, obj_id)
        if t is not None and final:
            t.preview_status, t.preview_error = "failed", message
            if t.updated_by_id:
                notify(t.updated_by_id, "material", f"Preview of {t.name} failed", message,
                       "/admin/materials/")
    elif kind == "batch_zip":
        b = db.session.get(StatementBatch, obj_id)
        if b is not None and final:
            b.zip_status, b.zip_error = "failed", message
            notify(b.requested_by_id, "statement", f"ZIP of statement batch #{b.id} failed",
                   message, "/admin/statement-batches/")


# --- rendering (worker) --------------------------------------------------------------------

#: Referral link printed on previews (a sample; previews are never handed out).
PREVIEW_REFERRAL_URL = "https://partners.siso.example/partner/register?ref=SAMPLE"


@job(queue=QUEUE_PDF, timeout="PDF_JOB_TIMEOUT", retries=1, render_kind="material")
def render_material(render_id: int) -> str:
    """Render a partner's material to ``materials/<partner>/<key>.pdf`` in the file store.

    Marks the row ``rendering`` (committed, so the portal shows progress), renders, writes
    atomically and marks it ready with a notification. If the branding or template changed
    since the request (the content key no longer matches), the row fails with a message
    asking the partner to request it again. Returns the stored relative path.
    """
    log = job_logger(__name__)
    row = db.session.get(MaterialRender, render_id)
    if row is None:
        log.warning("material render %s vanished", render_id)
        return ""
    store = get_storage()
    rel = f"materials/{row.partner_id}/{row.content_key}.pdf"
    if row.status == "ready" and row.file_path and store.exists(row.file_path):
        return row.file_path
    if render_key_now(row) != row.content_key:
        row.status = "failed"
        row.error = ("Your branding or the template changed since you asked; request it again."
                     if row.resource_id is None else
                     "Your branding or the resource changed since you asked; request it again.")
        return ""
    row.status = "rendering"
    db.session.commit()
    from core.content.cobrand import CobrandError

    try:
        with render_limits():
            pdf, pages = _render_row(row)
    except CobrandError as exc:  # the source itself is the problem: retrying cannot help
        record_render_failure("material", render_id, str(exc), final=True)
        return ""
    store.put_bytes(rel, pdf)
    row = db.session.get(MaterialRender, render_id)
    material_ready(row, rel, len(pdf), pages)
    log.info("material %s rendered to %s (%d pages)", render_id, rel, pages)
    return rel


def _render_row(row: MaterialRender) -> tuple[bytes, int]:
    """The PDF of a render (a template's, or a co-branded resource) and its page count.
    Raises ``core.content.cobrand.CobrandError`` for a source that cannot be co-branded."""
    if row.resource_id is None:
        fields, ctx = render_job_inputs(row)
        return render_pdf_with_pages(render_material_html(fields, ctx))
    from core.content import cobrand
    from core.content.resources import mime_type, storage_key

    resource = row.resource
    ctx = material_context(branding_values(row.partner), row.referral_url, False)
    data = get_storage().read_bytes(storage_key(resource))
    if resource.file_kind == "pdf":
        return cobrand.cobrand_pdf(data, ctx)
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        size = img.size
    return cobrand.cobrand_image(data, mime_type(resource), ctx, size)


@job(queue=QUEUE_PDF, timeout="PDF_JOB_TIMEOUT", render_kind="preview")
def render_preview(template_id: int) -> str:
    """Render a template's draft (or published content) for staff to check, to
    ``previews/template-<id>-<hash>.pdf`` in the file store: with the branding and the
    referral link (``PUBLIC_BASE_URL/r/<code>``) of the partner staff chose, or
    :data:`SAMPLE_BRANDING` when none was chosen. Idempotent per content and partner."""
    from core.base.mail import public_url

    t = db.session.get(MaterialTemplate, template_id)
    if t is None or t.preview_status != "pending":
        return ""
    html = t.draft_html if t.draft_html is not None else t.html
    css = t.draft_css if t.draft_html is not None else (t.css or "")
    partner = db.session.get(Partner, t.preview_partner_id) if t.preview_partner_id else None
    if partner is not None:
        url = public_url(f"/r/{partner.referral_code}")
        ctx = material_context(branding_values(partner), url, t.white_label)
    else:
        ctx = sample_context(PREVIEW_REFERRAL_URL)
        ctx["white_label"] = t.white_label
    digest = hashlib.sha256(json.dumps([html, css, t.white_label, t.preview_partner_id,
                                        RENDERER_VERSION]).encode()).hexdigest()[:16]
    rel = f"previews/template-{t.id}-{digest}.pdf"
    with render_limits():
        pdf, _ = render_pdf_with_pages(render_material_html(
            {"name": t.name, "html": html, "css": css}, ctx))
    get_storage().put_bytes(rel, pdf)
    t = db.session.get(MaterialTemplate, template_id)
    if t.preview_status == "pending":  # not saved again meanwhile
        t.preview_status, t.preview_path, t.preview_error = "ready", rel, ""
    return rel
