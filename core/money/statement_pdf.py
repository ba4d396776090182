"""A statement as a PDF: its template (``templates/pdf/statement.html``) rendered from
plain values by WeasyPrint (rules: "Statements")."""

import jinja2

from core.base.pdf import TEMPLATES_DIR, render_pdf, static_stylesheet
from core.money.cents import format_cents

STATEMENT_TEMPLATE = "pdf/statement.html"
#: The statement's stylesheet, beside its template.
STATEMENT_STYLESHEET = "pdf/statement.css"


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


_STYLE = None


def statement_stylesheet():
    """``(stylesheet, font configuration)`` of every statement: ``templates/pdf/
    statement.css`` parsed once per process, and one WeasyPrint font configuration kept
    with it (statements load no web fonts, so it never grows). Rendering with them is
    what keeps a one-page statement near WeasyPrint's own speed (BENCHMARKS.md)."""
    global _STYLE
    if _STYLE is None:
        from weasyprint.text.fonts import FontConfiguration

        fonts = FontConfiguration()
        _STYLE = (static_stylesheet(TEMPLATES_DIR / STATEMENT_STYLESHEET, fonts), fonts)
    return _STYLE


def render_statement_pdf(context: dict) -> bytes:
    """Render a monthly partner statement to PDF bytes.

    ``context`` is as for :func:`render_statement_html`; errors are those of
    :func:`render_statement_html` and :func:`render_pdf`.
    """
    css, fonts = statement_stylesheet()
    return render_pdf(render_statement_html(context), stylesheets=[css], font_config=fonts,
                      listless=True)
