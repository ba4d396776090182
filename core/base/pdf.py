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

import contextlib
import mimetypes
import os
import re
import resource
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import weasyprint
from weasyprint.urls import URLFetcherResponse

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


#: WeasyPrint's user-agent rules that style every element's list marker and footnote and
#: note pseudo-elements (``::marker``, ``::footnote-call``...). A document without lists or
#: footnotes never shows them, yet WeasyPrint computes six pseudo-element styles for each
#: of its elements because of them: most of its style work on a statement.
_UNUSED_PSEUDO_RULE = re.compile(
    r"^::(marker|footnote-call|footnote-marker|note-call|note-marker|note-callback)\b")
_LEAN_UA = None


def _lean_user_agent_stylesheet() -> "weasyprint.CSS":
    """WeasyPrint's HTML user-agent stylesheet without :data:`_UNUSED_PSEUDO_RULE`'s rules,
    parsed once per process."""
    global _LEAN_UA
    if _LEAN_UA is None:
        source = (Path(weasyprint.__file__).parent / "css" / "html5_ua.css").read_text(
            encoding="utf-8")
        _LEAN_UA = weasyprint.CSS(string="\n".join(
            line for line in source.splitlines() if not _UNUSED_PSEUDO_RULE.match(line)))
    return _LEAN_UA


class _ListlessHTML(weasyprint.HTML):
    """An HTML document with no list (``ul``/``ol``/``li``, ``display: list-item``) and no
    footnote: styled with :func:`_lean_user_agent_stylesheet`. It looks the same, pixel for
    pixel (tests/money/test_pdf_render.py), in less time (BENCHMARKS.md "Statements")."""

    def _ua_stylesheets(self, forms=False):
        return [_lean_user_agent_stylesheet()]


def render_pdf(html: str, stylesheets=None, font_config=None, listless: bool = False) -> bytes:
    """Render an HTML document to PDF.

    ``html`` is a complete HTML document (str). It is rendered with
    ``base_url=BASE_URL`` and a fresh :class:`SafeURLFetcher`, so only ``data:`` URIs
    and files under ``static/`` can be loaded; other resources are skipped with a
    warning. ``stylesheets`` (``weasyprint.CSS`` objects, parsed once by the caller) and
    ``font_config`` (a ``FontConfiguration`` kept by the caller) spare WeasyPrint
    parsing the same stylesheet and building a font map for every document.
    ``listless=True`` promises a document without lists and footnotes, so WeasyPrint can
    skip styling list markers and footnote calls (:class:`_ListlessHTML`). Returns the
    PDF file as bytes. Errors from WeasyPrint itself (invalid input type, out of
    memory...) propagate.
    """
    return render_pdf_with_pages(html, stylesheets, font_config, listless)[0]


def render_pdf_with_pages(html: str, stylesheets=None, font_config=None,
                          listless: bool = False) -> tuple[bytes, int]:
    """Like :func:`render_pdf`, and also return the page count: ``(pdf_bytes, pages)``."""
    document_class = _ListlessHTML if listless else weasyprint.HTML
    document = document_class(string=html, base_url=BASE_URL,
                              url_fetcher=SafeURLFetcher()).render(
        stylesheets=stylesheets, font_config=font_config)
    return document.write_pdf(), len(document.pages)


def static_stylesheet(path: Path, font_config=None) -> "weasyprint.CSS":
    """``path`` (a stylesheet under ``templates/``) parsed as a ``weasyprint.CSS`` with
    the document base URL and :class:`SafeURLFetcher`, for :func:`render_pdf`'s
    ``stylesheets``. Raises ``OSError`` for a missing file."""
    return weasyprint.CSS(string=path.read_text(encoding="utf-8"), base_url=BASE_URL,
                          url_fetcher=SafeURLFetcher(), font_config=font_config)


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


#: Default extra address space a render may use, in MB (``PDF_MEMORY_LIMIT_MB``).
DEFAULT_MEMORY_LIMIT_MB = 1024


def _vm_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def render_limits():
    """Cap this process's address space while the block runs (``RLIMIT_AS`` soft limit
    = size now + ``PDF_MEMORY_LIMIT_MB``), and lift it again on the way out, also when
    the block raises ``MemoryError`` (the traceback still holds the big objects, and RQ
    needs memory to record the failure).

    Only outside the process that set ``app.extensions["siso_pid"]`` (the worker
    supervisor), i.e. in its worker child: in the supervisor, in a web process
    (``RQ_ASYNC=False``, no ``siso_pid``) or with a limit of 0 it does nothing (rules:
    "Jobs and retries")."""
    from core.base.jobs import get_app

    app = get_app()
    limit_mb = int(app.config.get("PDF_MEMORY_LIMIT_MB", DEFAULT_MEMORY_LIMIT_MB))
    parent = app.extensions.get("siso_pid")
    if parent is None or parent == os.getpid() or limit_mb <= 0:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _vm_bytes() + limit_mb * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
