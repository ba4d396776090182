"""Co-branded materials (rules: "Materials"), end to end: branding form with a real logo upload,
requests from the portal, a real RQ worker (supervisor and child), real WeasyPrint, and
the PDFs read back: text with pypdf, the QR code decoded from the rendered page with zxing-cpp (a real
barcode reader on pdftoppm's PNG), page counts, and the first page saved as PNG under
tests/output/ for a person to look at."""

import io
import os
import subprocess
from pathlib import Path

import pypdf
import pytest
import zxingcpp
from conftest import TEST_OUTPUT, login, make_partner, submit
from PIL import Image

from core.base.errors import ValidationError
from core.base.extensions import db
from core.base.jobs import QUEUE_PDF, get_queue
from core.community.models import Notification
from core.content.branding import normalise_color, process_logo
from core.content.materials import install_builtin_templates
from core.content.models import MaterialRender, MaterialTemplate, PartnerBranding

OUTPUT = TEST_OUTPUT


def png_bytes(size=(240, 80), color=(29, 78, 216), fmt="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


def pdf_text(data: bytes) -> tuple[list[str], pypdf.PdfReader]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return [p.extract_text() for p in reader.pages], reader


def page_png(pdf: bytes, page: int, name: str, dpi: int = 110) -> Path:
    """Render one page of a PDF to tests/output/<name>.png with pdftoppm."""
    OUTPUT.mkdir(exist_ok=True)
    src = OUTPUT / f"{name}.pdf"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page),
                    "-singlefile", str(src), str(OUTPUT / name)], check=True, timeout=60)
    return OUTPUT / f"{name}.png"


def decode_qr(png: Path) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(png).convert("L"))]


@pytest.fixture
def templates(app):
    with app.app_context():
        install_builtin_templates()
        db.session.commit()
        rows = {t.key: t.id for t in db.session.scalars(db.select(MaterialTemplate))}
        db.session.remove()
    return rows


def request_pdf(client, template_id):
    return submit(client, "/partner/materials", {},
                  post_url=f"/partner/materials/{template_id}/request")


def test_partner_brands_requests_and_downloads_all_three_materials(app, templates, run_worker):
    """A partner sets their branding with a logo, asks for the deck, the case study and
    the FAQ sheet, sees them being made, gets a notification when each is ready and
    downloads PDFs that carry their name, contact line, amounts and a QR code that opens
    their referral link. Another partner gets 404 for the same file."""
    with app.app_context():
        p = make_partner("Maya Chen", email="maya@example.com")
        code = p.referral_code
        other = make_partner("Omar Reyes", email="omar@example.com")
        assert other.id != p.id
    client = app.test_client()
    assert login(client, "maya@example.com").status_code == 302

    page = client.get("/partner/branding").get_data(as_text=True)
    from conftest import csrf_from

    resp = client.post("/partner/branding", data={
        "csrf_token": csrf_from(page), "display_name": "Chen Growth Partners",
        "contact_line": "Maya Chen · maya@chengrowth.example · +1 555 0142",
        "brand_color": "#7C3AED", "logo": (io.BytesIO(png_bytes()), "logo.png")},
        content_type="multipart/form-data")
    assert resp.status_code == 303, resp.get_data(as_text=True)
    with app.app_context():
        b = db.session.scalar(db.select(PartnerBranding))
        assert b.brand_color == "#7c3aed" and b.logo_width == 240

    for key in ("service-overview", "case-study", "faq-sheet"):
        assert request_pdf(client, templates[key]).status_code == 303
    # A starter cannot have the white-label sheet (Performer+).
    assert request_pdf(client, templates["white-label-overview"]).status_code == 303
    page = client.get("/partner/materials").get_data(as_text=True)
    assert "unlocks at Performer" in page and "queued" in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(MaterialRender)) == 3
        ids = {r.template.key: r.id for r in db.session.scalars(db.select(MaterialRender))}
    assert client.get(f"/partner/materials/renders/{ids['faq-sheet']}").get_json()["status"] \
        == "pending"

    run_worker()

    with app.app_context():
        notes = [n.title for n in db.session.scalars(db.select(Notification).where(
            Notification.kind == "material"))]
    assert sorted(notes) == ["Case study: TechCorp website (one page) is ready",
                             "Client FAQ sheet is ready", "SISO service overview deck is ready"]

    referral = f"http://localhost/r/{code}"  # the client landing page, not recruiting
    expected_pages = {"service-overview": 5, "case-study": 1, "faq-sheet": 1}
    for key, rid in ids.items():
        status = client.get(f"/partner/materials/renders/{rid}").get_json()
        assert status["status"] == "ready", status
        resp = client.get(status["download_url"])
        assert resp.status_code == 200 and resp.mimetype == "application/pdf"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        pages, reader = pdf_text(resp.data)
        assert len(pages) == expected_pages[key], key
        text = "\n".join(pages)
        assert "Chen Growth Partners" in text
        assert "maya@chengrowth.example" in text
        assert referral in text.replace("\n", "")
        png = page_png(resp.data, 1, f"material-{key}-page1")
        assert png.read_bytes()[:4] == b"\x89PNG"
        # The QR code sits on the last page of the deck, on page 1 of the one-pagers.
        qr_page = page_png(resp.data, len(pages), f"material-{key}-qr", dpi=150)
        assert decode_qr(qr_page) == [referral], key
        if key == "service-overview":
            for amount in ("$1,500", "$3,500", "$4,500", "$8,000"):
                assert amount in text
        if key == "case-study":
            assert "$2,500" in text and "TechCorp" in text
        if key == "faq-sheet":
            assert "How much does a website cost?" in text and "$1,500" in text

    # Someone else's file: 404, also for its status.
    stranger = app.test_client()
    assert login(stranger, "omar@example.com").status_code == 302
    assert stranger.get(f"/partner/materials/renders/{ids['faq-sheet']}/download").status_code \
        == 404
    assert stranger.get(f"/partner/materials/renders/{ids['faq-sheet']}").status_code == 404

    # Same template version and branding: the stored file, no new job, no new render.
    with app.app_context():
        row = db.session.get(MaterialRender, ids["faq-sheet"])
        path = os.path.join(app.config["STORAGE_DIR"], row.file_path)
    mtime = os.stat(path).st_mtime_ns
    assert request_pdf(client, templates["faq-sheet"]).status_code == 303
    with app.app_context():
        assert get_queue(QUEUE_PDF).count == 0
        assert db.session.scalar(db.select(db.func.count()).select_from(MaterialRender)) == 3
        assert db.session.get(MaterialRender, ids["faq-sheet"]).request_count == 2
    assert os.stat(path).st_mtime_ns == mtime

    # New branding: a new render (content key changed).
    page = client.get("/partner/branding").get_data(as_text=True)
    resp = client.post("/partner/branding", data={
        "csrf_token": csrf_from(page), "display_name": "Chen Growth",
        "contact_line": "maya@chengrowth.example", "brand_color": "#0f766e"},
        content_type="multipart/form-data")
    assert resp.status_code == 303
    assert request_pdf(client, templates["faq-sheet"]).status_code == 303
    with app.app_context():
        assert get_queue(QUEUE_PDF).count == 1


def test_white_label_needs_performer(app, templates, run_worker):
    """The white-label sheet is refused to a starter and made for a Performer partner,
    with the partner's brand and no SISO masthead."""
    from core.base.errors import Forbidden
    from core.content.materials import request_material

    with app.app_context():
        starter = make_partner("Sam Starter")
        with pytest.raises(Forbidden):
            request_material(starter, starter.user_id, templates["white-label-overview"],
                             "https://x.example/r")
        db.session.rollback()
        performer = make_partner("Pia Performer", deals=10)
        row, queued = request_material(performer, performer.user_id,
                                       templates["white-label-overview"],
                                       "https://partners.example/r/PIA")
        db.session.commit()
        rid = row.id
    run_worker()
    with app.app_context():
        row = db.session.get(MaterialRender, rid)
        assert row.status == "ready", row.error
        data = Path(app.config["STORAGE_DIR"], row.file_path).read_bytes()
    pages, _ = pdf_text(data)
    assert len(pages) == 1
    assert "Pia Performer" in pages[0] and "SISO" not in pages[0]
    page_png(data, 1, "material-white-label-page1")


def test_logo_and_colour_rules(ctx):
    """Logos must be PNG/JPEG, ≤5 MB, ≤4000×4000 px; a decompression bomb is refused from
    its header, before decoding; colours are hex only."""
    png, w, h = process_logo(png_bytes((3000, 1000)))
    assert Image.open(io.BytesIO(png)).format == "PNG" and (w, h) == (1200, 400)
    jpg, _, _ = process_logo(png_bytes((300, 100), fmt="JPEG"))
    assert jpg.startswith(b"\x89PNG")  # re-encoded
    refused = {
        "gif": png_bytes(fmt="GIF"),
        "text": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        "too wide": png_bytes((4001, 10)),
        "over 5 MB": b"\x89PNG\r\n\x1a\n" + b"\0" * (5 * 1024 * 1024),
    }
    # A 30,000 × 30,000 PNG of one colour: a few hundred KB, 900 megapixels decoded.
    bomb = io.BytesIO()
    Image.new("1", (30000, 30000)).save(bomb, format="PNG")
    refused["bomb"] = bomb.getvalue()
    assert len(refused["bomb"]) < 5 * 1024 * 1024
    for why, data in refused.items():
        with pytest.raises(ValidationError) as exc:
            process_logo(data)
        assert exc.value.message, why
    assert normalise_color(" #ABC ") == "#aabbcc"
    for bad in ("red", "#12345g", "#fff;background:url(file:///etc/passwd)", "rgb(1,2,3)",
                "#1234567", "", None, "#abcd"):
        with pytest.raises(ValidationError):
            normalise_color(bad)


def test_branding_form_refuses_bad_logo_with_a_clear_message(app, client):
    """Uploading a GIF shows the rule, not a crash; nothing is stored."""
    from conftest import csrf_from

    with app.app_context():
        make_partner("Gil Gif", email="gil@example.com")
    login(client, "gil@example.com")
    page = client.get("/partner/branding").get_data(as_text=True)
    resp = client.post("/partner/branding", data={
        "csrf_token": csrf_from(page), "display_name": "Gil", "contact_line": "",
        "brand_color": "#123456", "logo": (io.BytesIO(png_bytes(fmt="GIF")), "logo.gif")},
        content_type="multipart/form-data")
    assert resp.status_code == 422
    assert "The logo must be a PNG or JPEG image." in resp.get_data(as_text=True)
    resp = client.post("/partner/branding", data={
        "csrf_token": csrf_from(page), "display_name": "Gil", "contact_line": "",
        "brand_color": "blue;}</style><style>"}, content_type="multipart/form-data")
    assert resp.status_code == 422
    with app.app_context():
        assert db.session.scalar(db.select(PartnerBranding)) is None


def test_template_rules_keep_partner_text_out_of_css(ctx):
    """A template may not put slots into <style> or style= attributes, nor use unknown
    variables; the CSS sees only validated brand colours."""
    from core.content.materials import render_material_html, sample_context, validate_template

    ok_html = "<h1>{{ partner.display_name }}</h1><img src='{{ qr }}'>"
    validate_template(ok_html, "h1 { color: {{ brand.primary }} }")
    for html, css in [
        ("<style>h1{}</style>{{ partner.display_name }}", ""),
        ("<p style=\"color: {{ partner.display_name }}\">x</p>", ""),
        ("{{ config }}", ""),
        ("<p>{{ partner.display_name }}</p>", "h1 { content: '{{ partner.display_name }}' }"),
        ("<p>x</p>", "</style><p>"),
        ("{% for x in %}", ""),
        ("{{ ''.__class__.__mro__ }}", ""),
    ]:
        with pytest.raises(ValidationError):
            validate_template(html, css)
    ctx_ = sample_context("https://x.example/r")
    ctx_["partner"]["display_name"] = "</style><script>x</script>"
    html = render_material_html({"name": "t", "html": ok_html, "css": "h1{color:{{ brand.primary }}}"},
                                ctx_)
    style = html.split("<body>")[0]
    assert "script" not in style and "#1d4ed8" in style
    assert "&lt;/style&gt;&lt;script&gt;" in html
