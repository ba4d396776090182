"""PDF rendering helpers (WeasyPrint): plain values in, bytes out.

Nothing here knows about Flask requests or ORM objects: callers (the RQ job that
renders statements, for instance) load their rows, turn them into plain dicts and
pass those in.

Resources a rendered document may load
--------------------------------------
Documents are rendered with the fixed base URL :data:`BASE_URL`
(``https://siso-pdf.invalid/``; ``.invalid`` is a reserved top-level domain that never
resolves). :class:`SafeURLFetcher` serves exactly two kinds of URL, without any
network access:

- ``data:`` URIs (inline images, fonts);
- ``https://siso-pdf.invalid/static/<path>``, which is what the app's own
  ``/static/<path>`` (for example ``url_for("static", filename="css/pdf.css")``, or a
  relative ``static/...``) resolves to against :data:`BASE_URL`. It is read from the
  project's ``static/`` folder, and only if the resolved file really lies inside it.

Every other URL (``file:``, any other ``http``/``https`` host, ``ftp:``...) raises
:class:`ForbiddenResourceError`; WeasyPrint catches it, logs a warning and renders
the document without that resource.
"""

import mimetypes
import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jinja2
import weasyprint
from weasyprint.urls import URLFetcherResponse

from core.money.cents import format_cents

#: Project root (the folder holding ``core/``, ``templates/`` and ``static/``).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: Folder the fetcher may read from.
STATIC_DIR = PROJECT_ROOT / "static"
#: Folder holding the Jinja templates (``pdf/statement.html`` among them).
TEMPLATES_DIR = PROJECT_ROOT / "templates"
#: Base URL of every rendered document. Never fetched: see :class:`SafeURLFetcher`.
BASE_URL = "https://siso-pdf.invalid/"
#: URL prefix that :class:`SafeURLFetcher` maps onto :data:`STATIC_DIR`.
STATIC_URL_PREFIX = BASE_URL + "static/"

STATEMENT_TEMPLATE = "pdf/statement.html"


class ForbiddenResourceError(ValueError):
    """A document asked for a URL that :class:`SafeURLFetcher` does not serve."""


class SafeURLFetcher(weasyprint.URLFetcher):
    """WeasyPrint URL fetcher that never touches the network or arbitrary files.

    Pass an instance as ``url_fetcher=`` to :class:`weasyprint.HTML` (as
    :func:`render_pdf` does). ``fetch(url)`` returns a
    :class:`weasyprint.urls.URLFetcherResponse` for:

    - a ``data:`` URI, decoded in memory;
    - ``STATIC_URL_PREFIX + <path>`` (``https://siso-pdf.invalid/static/<path>``), read
      from :data:`STATIC_DIR`. Query strings and fragments are ignored, the path is
      percent-decoded, then resolved (``..`` and symlinks included) and must still lie
      inside :data:`STATIC_DIR`.

    Anything else raises :class:`ForbiddenResourceError` (a missing static file raises
    ``FileNotFoundError``). WeasyPrint turns these into a logged warning and skips the
    resource, unless the fetcher was built with ``fail_on_errors=True``, in which
    case the rendering stops. Redirects are never followed.
    """

    def __init__(self, **kwargs):
        """Build the fetcher; ``kwargs`` go to :class:`weasyprint.URLFetcher`
        (``fail_on_errors=True`` turns a refused resource into a failed rendering).
        ``allowed_protocols`` and ``allow_redirects`` are fixed and cannot be changed."""
        kwargs.update(allowed_protocols=("data",), allow_redirects=False)
        super().__init__(**kwargs)

    def fetch(self, url, headers=None):
        """Return the resource at ``url`` as a ``URLFetcherResponse``.

        ``headers`` is accepted for API compatibility and ignored. Raises
        :class:`ForbiddenResourceError` for any URL outside the two served kinds, and
        ``FileNotFoundError`` for a static path that is not an existing file.
        """
        if not isinstance(url, str):
            raise ForbiddenResourceError(f"Refused non-string URL: {url!r}")
        if url[:5].lower() == "data:":
            # urllib's DataHandler decodes it in memory; the base class only opens
            # the "data" protocol (see __init__), so nothing else can get through.
            return super().fetch(url)
        if url.startswith(STATIC_URL_PREFIX):
            return self._fetch_static(url)
        raise ForbiddenResourceError(f"Refused to fetch {url[:200]!r} while rendering a PDF")

    @staticmethod
    def _fetch_static(url: str) -> URLFetcherResponse:
        parts = urlsplit(url)
        rel = unquote(parts.path)[len(urlsplit(STATIC_URL_PREFIX).path):]
        if not rel or "\x00" in rel or "\\" in rel or rel.startswith("/"):
            raise ForbiddenResourceError(f"Refused static path {rel[:200]!r}")
        root = STATIC_DIR.resolve()
        path = (root / rel).resolve()
        if not path.is_relative_to(root):
            raise ForbiddenResourceError(f"Refused static path outside static/: {rel[:200]!r}")
        if not path.is_file():
            raise FileNotFoundError(f"No such static file: {rel[:200]!r}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})


def render_pdf(html: str) -> bytes:
    """Render an HTML document to PDF.

    ``html`` is a complete HTML document (str). It is rendered with
    ``base_url=BASE_URL`` and a fresh :class:`SafeURLFetcher`, so only ``data:`` URIs
    and files under ``static/`` can be loaded; other resources are skipped with a
    warning. Returns the PDF file as bytes. Errors from WeasyPrint itself (invalid
    input type, out of memory...) propagate.
    """
    return render_pdf_with_pages(html)[0]


def render_pdf_with_pages(html: str) -> tuple[bytes, int]:
    """Like :func:`render_pdf`, and also return the page count: ``(pdf_bytes, pages)``."""
    document = weasyprint.HTML(string=html, base_url=BASE_URL,
                               url_fetcher=SafeURLFetcher()).render()
    return document.write_pdf(), len(document.pages)


def write_atomically(path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never half.

    ``path`` is a str or ``os.PathLike``; its folder is created if missing. The bytes go
    to a temporary file in the same folder, are flushed and fsynced, then moved over
    ``path`` with ``os.replace`` (atomic on POSIX and Windows when both are on one
    filesystem). If anything fails the temporary file is removed and the error
    (``OSError``, ``TypeError`` for non-bytes data) propagates; a worker killed
    mid-write may leave a ``.<name>.*.tmp`` file beside ``path``, but never a
    truncated ``path``. The new file has mode 0600 (owner read/write), as
    ``tempfile.mkstemp`` creates it. Returns ``None``.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    # Make the rename itself durable; not every platform can open a folder.
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def cents_filter(cents) -> str:
    """Jinja filter ``cents``: ``150000`` → ``$1,500.00``, ``-150000`` → ``-$1,500.00``.

    Integer arithmetic only (see :func:`core.money.cents.format_cents`); ``None`` renders as
    an empty string. Raises ``ValueError``/``TypeError`` for a value ``int()`` refuses.
    """
    if cents is None:
        return ""
    return format_cents(int(cents))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cents"] = cents_filter
    return env


_ENV = None


def render_statement_html(context: dict) -> str:
    """Render ``templates/pdf/statement.html`` to an HTML string.

    ``context`` holds plain values only::

        partner      {"name": str, "email": str, "company_name": str, "id": int}
        period_label "November 2026"
        period       "2026-11"
        version      int
        issued_at    "22 Nov 2026"
        figures      {"opening_cents", "earned_cents", "reversed_cents",
                      "paid_cents", "closing_cents"}  (ints; reversed/paid positive)
        lines        [{"date": "2026-11-03", "ref": "C-12", "description": str,
                       "type": "base"|"team_override"|"referral"|"bonus"|
                               "adjustment"|"payout",
                       "kind": "earned"|"reversed"|"paid",
                       "amount_cents": int (signed as it moves the balance)}]

    Uses a standalone Jinja environment (autoescape on, ``StrictUndefined``), so no
    Flask app is needed and a missing key raises ``jinja2.UndefinedError``.
    """
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV.get_template(STATEMENT_TEMPLATE).render(**context)


def render_statement_pdf(context: dict) -> bytes:
    """Render a monthly partner statement to PDF bytes.

    ``context`` is as for :func:`render_statement_html`; errors are those of
    :func:`render_statement_html` and :func:`render_pdf`.
    """
    return render_pdf(render_statement_html(context))
