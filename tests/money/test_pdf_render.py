"""PDF rendering (core/pdf.py, templates/pdf/statement.html), with real WeasyPrint.

No mocks: statements are rendered to real PDFs and read back with pypdf; a real local
HTTP server proves that nothing is fetched while rendering.
"""

import http.server
import io
import logging
import os
import re
import shutil
import subprocess
import threading

import pypdf
import pytest
from conftest import TEST_OUTPUT

from core.base.pdf import (
    STATIC_URL_PREFIX,
    ForbiddenResourceError,
    SafeURLFetcher,
    render_pdf,
    write_atomically,
)
from core.money.statement_pdf import cents_filter, render_statement_html, render_statement_pdf

OUTPUT_DIR = TEST_OUTPUT

TYPES = [("base", "earned"), ("team_override", "earned"), ("referral", "earned"),
         ("bonus", "earned"), ("adjustment", "reversed"), ("payout", "paid")]


def make_context(lines=None, name="Jane O'Brien", **overrides):
    """A statement context of plain values, as the statement job builds it."""
    ctx = {
        "partner": {"name": name, "email": "jane@brightside.example",
                    "company_name": "Brightside Ltd", "id": 42},
        "period_label": "November 2026",
        "period": "2026-11",
        "version": 2,
        "issued_at": "22 Nov 2026",
        "figures": {"opening_cents": 150000, "earned_cents": 48250, "reversed_cents": 5000,
                    "paid_cents": 100000, "closing_cents": 93250},
        "lines": lines if lines is not None else [],
    }
    ctx.update(overrides)
    return ctx


def three_lines():
    return [
        {"date": "2026-11-03", "ref": "C-12", "description": "Acme Corp, annual plan",
         "type": "base", "kind": "earned", "amount_cents": 48250},
        {"date": "2026-11-09", "ref": "C-7", "description": "Reversed: Globex refund",
         "type": "adjustment", "kind": "reversed", "amount_cents": -5000},
        {"date": "2026-11-20", "ref": "P-3", "description": "Payout po_8KQ2",
         "type": "payout", "kind": "paid", "amount_cents": -100000},
    ]


def many_lines(n):
    lines = []
    for i in range(n):
        type_, kind = TYPES[i % len(TYPES)]
        amount = 1000 + i * 137
        lines.append({"date": f"2026-11-{i % 30 + 1:02d}", "ref": f"C-{1000 + i}",
                      "description": f"Deal {i} for Initech, renewal", "type": type_,
                      "kind": kind, "amount_cents": amount if kind == "earned" else -amount})
    return lines


def pdf_pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def squash(text: str) -> str:
    """Text without whitespace, so a string the layout wrapped over lines still matches."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def sample_pdf():
    return render_statement_pdf(make_context(three_lines()))


@pytest.fixture(scope="module")
def long_pdf():
    return render_statement_pdf(make_context(many_lines(200)))


@pytest.fixture
def recording_server():
    """A local HTTP server on a free port that records every request it gets."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            seen.append(self.path)
            body = b"root:x:0:0:leaked"
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_cents_filter_formats_with_integers():
    """Money reads as dollars with thousands separators; negatives carry a minus."""
    assert cents_filter(150000) == "$1,500.00"
    assert cents_filter(-150000) == "-$1,500.00"
    assert cents_filter(5) == "$0.05"
    assert cents_filter(0) == "$0.00"
    assert cents_filter(123456789012345678) == "$1,234,567,890,123,456.78"


def test_statement_shows_partner_period_amounts_and_closing(sample_pdf):
    """A partner's one-page statement shows who it is for, the month and every amount."""
    pages = pdf_pages_text(sample_pdf)
    assert len(pages) == 1
    text = pages[0]
    for expected in ("SISO Partners", "Jane O'Brien", "Brightside Ltd", "jane@brightside.example",
                     "Partner ID 42", "November 2026", "Statement version 2, issued 22 Nov 2026",
                     "C-12", "Acme Corp, annual plan", "Reversed: Globex refund", "Payout po_8KQ2"):
        assert expected in text, expected
    # Summary: opening, earned, reversed (negative), paid out (negative), closing.
    assert "Opening balance $1,500.00" in text
    assert "Earned $482.50" in text
    assert "Reversed -$50.00" in text
    assert "Paid out -$1,000.00" in text
    assert "Closing balance $932.50" in text
    # Every line amount.
    for amount in ("$482.50", "-$50.00", "-$1,000.00"):
        assert amount in text
    assert "Commission" in text and "Adjustment" in text and "Payout" in text
    # Footer margin boxes.
    assert "SISO Partners · Statement November 2026 · Jane O'Brien" in text
    assert "Page 1 of 1" in text


def test_sample_statement_png_for_people_to_look_at(sample_pdf):
    """Save page 1 as PNG (tests/output/) so a person can check the layout by eye."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils (pdftoppm) is not installed")
    OUTPUT_DIR.mkdir(exist_ok=True)
    pdf_path = OUTPUT_DIR / "statement-sample.pdf"
    write_atomically(pdf_path, sample_pdf)
    prefix = OUTPUT_DIR / "statement-sample"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile",
                    str(pdf_path), str(prefix)], check=True, timeout=60)
    png = prefix.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_empty_month_says_no_activity():
    """A month without ledger events still gives a statement, saying so."""
    text = pdf_pages_text(render_statement_pdf(make_context([])))[0]
    assert "No activity this month." in text
    assert "Closing balance $932.50" in text


def test_long_statement_breaks_pages_and_repeats_the_header(long_pdf):
    """200 lines run over several pages; each page repeats the column headings and
    says which page of how many it is."""
    pages = pdf_pages_text(long_pdf)
    n = len(pages)
    assert n > 1
    for i, text in enumerate(pages, start=1):
        assert "DATE REFERENCE DESCRIPTION TYPE AMOUNT" in text, f"page {i}"
        assert f"Page {i} of {n}" in text
        assert "SISO Partners · Statement November 2026 · Jane O'Brien" in text
    assert "Page 1 of " in pages[0]
    joined = "\n".join(pages)
    # Every line is there exactly once (no row lost or repeated at a page break).
    for i in range(200):
        assert joined.count(f"C-{1000 + i} ") == 1, i


def test_partner_text_is_escaped_and_nothing_is_fetched(recording_server, caplog):
    """Markup typed into a partner's name or a line description prints as text and
    makes the renderer load nothing: no file, no network."""
    base, seen = recording_server
    payloads = [
        '<img src="file:///etc/passwd">',
        f'<link rel=stylesheet href="{base}/x.css">',
        f"<img src={base}/a.png>",
        "<style>body{background:url(file:///etc/passwd)}</style>",
        f"<div style=\"background:url('{base}/bg.png')\">x</div>",
    ]
    lines = [{"date": f"2026-11-0{i + 1}", "ref": f"C-{i}", "description": p,
              "type": "adjustment", "kind": "reversed", "amount_cents": -100}
             for i, p in enumerate(payloads)]
    ctx = make_context(lines, name=payloads[0] + " " + payloads[2])
    ctx["partner"]["company_name"] = payloads[1]

    html = render_statement_html(ctx)
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    assert '<img src="file' not in html and "<link rel=stylesheet" not in html

    with caplog.at_level(logging.INFO, logger="weasyprint"):
        pdf = render_statement_pdf(ctx)
    text = "\n".join(pdf_pages_text(pdf))
    for p in payloads:
        assert squash(p) in squash(text), p
    assert "root:" not in text
    assert seen == []


def test_fetcher_refuses_file_and_network_inside_weasyprint(recording_server, caplog):
    """Even raw HTML (not escaped) that points at files and servers renders without
    loading any of them: the fetcher refuses and WeasyPrint skips the resource."""
    base, seen = recording_server
    html = f"""<!DOCTYPE html><html><head>
      <link rel="stylesheet" href="{base}/x.css">
      <link rel="stylesheet" href="file:///etc/passwd">
      <style>
        @import url("{base}/import.css");
        @font-face {{ font-family: X; src: url("{base}/font.woff") }}
        body {{ background: url(file:///etc/passwd); font-family: X, "DejaVu Sans" }}
        p {{ background-image: url("{base}/bg.png") }}
      </style></head><body>
      <p>Hello statement</p>
      <img src="file:///etc/passwd"><img src="{base}/a.png"><img src="/etc/passwd">
      <img src="ftp://127.0.0.1/x.png"><object data="{base}/o.svg"></object>
      <img src="/static/../../../etc/passwd"><img src="static/%2e%2e/%2e%2e/etc/passwd">
      <svg width="10" height="10"><image href="{base}/s.png" width="10" height="10"/></svg>
    </body></html>"""
    with caplog.at_level(logging.INFO, logger="weasyprint"):
        pdf = render_pdf(html)
    assert pdf.startswith(b"%PDF-")
    assert "Hello statement" in pdf_pages_text(pdf)[0]
    assert seen == []
    refused = caplog.text
    assert "Refused to fetch 'file:///etc/passwd'" in refused
    assert f"Refused to fetch '{base}/a.png'" in refused


def test_fetcher_raises_for_file_and_http_urls_directly(recording_server):
    """SafeURLFetcher.fetch raises for file:, http:, https:, ftp: and paths out of
    static/, without opening a connection."""
    base, seen = recording_server
    fetcher = SafeURLFetcher()
    for url in ("file:///etc/passwd", "FILE:///etc/passwd", f"{base}/a.png",
                "https://127.0.0.1:9/a.png", "ftp://127.0.0.1/a", "/etc/passwd",
                "https://siso-pdf.invalid/core/pdf.py",
                STATIC_URL_PREFIX + "../core/pdf.py",
                STATIC_URL_PREFIX + "%2e%2e/core/pdf.py",
                STATIC_URL_PREFIX + "css/../../core/pdf.py",
                STATIC_URL_PREFIX + "%2Fetc%2Fpasswd",
                STATIC_URL_PREFIX + "..%5c..%5ccore%5cpdf.py"):
        with pytest.raises(ForbiddenResourceError):
            fetcher.fetch(url)
    # Inside static/ but missing: a different error (the mapping is right, no file).
    with pytest.raises(FileNotFoundError):
        fetcher.fetch(STATIC_URL_PREFIX + "css/no-such-file.css")
    assert seen == []


def test_fetcher_serves_data_uris():
    """Inline data: URIs (a logo, a QR code) still work."""
    response = SafeURLFetcher().fetch("data:text/plain;base64,aGVsbG8=")
    try:
        assert response.read() == b"hello"
        assert response.content_type == "text/plain"
    finally:
        response.close()


def test_write_atomically_replaces_without_leftovers(tmp_path):
    """Writing a PDF leaves exactly the final file: no temp file, old content replaced."""
    target = tmp_path / "statements" / "42" / "2026-11-v2.pdf"
    write_atomically(target, b"%PDF-first")
    write_atomically(str(target), b"%PDF-second")
    assert target.read_bytes() == b"%PDF-second"
    assert os.listdir(target.parent) == [target.name]


def test_write_atomically_failure_keeps_old_file(tmp_path):
    """A failed write removes its temp file and leaves the previous file intact."""
    target = tmp_path / "s.pdf"
    write_atomically(target, b"%PDF-old")
    with pytest.raises(TypeError):
        write_atomically(target, "not bytes")
    assert target.read_bytes() == b"%PDF-old"
    assert os.listdir(tmp_path) == ["s.pdf"]


# --- statements rendered the fast way look the same (BENCHMARKS.md "Statements") ---------

def _page_images(pdf: bytes, folder, name) -> list:
    """Each page of ``pdf`` as a greyscale image (pdftoppm, 100 dpi)."""
    import subprocess

    from PIL import Image

    path = folder / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "100", "-gray", str(path), str(folder / name)],
                   check=True)
    return [Image.open(p) for p in sorted(folder.glob(f"{name}-*.pgm"))]


@pytest.mark.parametrize("lines", [3, 150])
def test_statement_with_shared_stylesheet_looks_like_one_with_its_style_inline(tmp_path,
                                                                              lines):
    """The statement job renders with the stylesheet parsed once per process and one font
    configuration for every document, without WeasyPrint's list-marker and footnote rules;
    page by page, pixel for pixel, that PDF is the one WeasyPrint makes from the same HTML
    with the stylesheet inline, its full user-agent stylesheet and fresh fonts (a second
    statement, rendered after the first, too)."""
    from PIL import ImageChops

    from core.base.pdf import TEMPLATES_DIR, render_pdf
    from core.money.statement_pdf import (
        STATEMENT_STYLESHEET,
        render_statement_html,
        render_statement_pdf,
    )

    line = {"date": "2026-11-03", "ref": "C-12", "type": "base", "kind": "earned",
            "description": "Commission on deal D-12, Acme Corp website redesign",
            "amount_cents": 15000}
    ctx = {"partner": {"name": "Ana Silva", "email": "ana@example.com",
                       "company_name": "Silva Consulting", "id": 1042},
           "period_label": "November 2026", "period": "2026-11", "version": 2,
           "issued_at": "01 Dec 2026",
           "figures": {"opening_cents": 120000, "earned_cents": 15000 * lines,
                       "reversed_cents": 0, "paid_cents": 100000,
                       "closing_cents": 20000 + 15000 * lines},
           "lines": [dict(line, ref=f"C-{i}") for i in range(lines)]}
    # Statements are rendered as list-less documents (no list marker or footnote styles).
    assert not re.search(r"<(ul|ol|li)\b|list-item|float:\s*footnote", render_statement_html(ctx)
                         + (TEMPLATES_DIR / STATEMENT_STYLESHEET).read_text())
    render_statement_pdf(dict(ctx, version=1))  # the shared fonts have served one already
    fast = _page_images(render_statement_pdf(ctx), tmp_path, "fast")
    css = (TEMPLATES_DIR / STATEMENT_STYLESHEET).read_text()
    inline = render_statement_html(ctx).replace("</head>", f"<style>{css}</style></head>")
    plain = _page_images(render_pdf(inline), tmp_path, "plain")
    assert len(fast) == len(plain) == (1 if lines == 3 else 7)
    for a, b in zip(fast, plain, strict=True):
        assert a.size == b.size
        assert ImageChops.difference(a, b).getbbox() is None
