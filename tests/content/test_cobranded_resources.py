"""Co-branded resources and the materials API (rules: "Co-branded resources"): a partner
asks the app to co-brand a co-brandable PDF, an image and a material template; a real RQ
worker renders them with real WeasyPrint and pikepdf; the PDFs are read back (text with
pypdf, page sizes, the QR code decoded from the rendered page with zxing-cpp) and saved
under tests/output/ for a person to look at. Refusals store nothing."""

import io
import os

import pikepdf
import pytest
import weasyprint
from conftest import api_token, csrf_from, login, make_partner, make_staff_once
from sqlalchemy import func, select
from test_materials import decode_qr, page_png, pdf_text, png_bytes

from core.base.extensions import db
from core.community.models import Notification
from core.content import resources
from core.content.branding import save_branding
from core.content.cobrand import band_height
from core.content.materials import install_builtin_templates
from core.content.models import MaterialRender, MaterialTemplate


def brochure_pdf() -> bytes:
    """A two-page A4 brochure as staff would upload it; its second page is rotated."""
    pdf = weasyprint.HTML(string=(
        "<style>@page{size:A4;margin:2cm}</style><h1>Website packages</h1>"
        "<p>Starter site from $1,500.</p><h2 style='break-before:page'>Web apps</h2>"
        "<p>From $8,000.</p>")).write_pdf()
    doc = pikepdf.open(io.BytesIO(pdf))
    doc.pages[1].Rotate = 90
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _upload(title, filename, data, co_brandable=True, tier="starter"):

    row = resources.upload_resource(
        make_staff_once().id, title=title,
        category="brochure", tier_key=tier, co_brandable=co_brandable, description="",
        filename=filename, data=data)
    db.session.commit()
    return row.id


@pytest.fixture
def shelf(app):
    """Maya (starter, with branding and a logo) and a library: a co-brandable brochure
    PDF, a co-brandable PNG post, a plain PDF, a co-brandable MP4, an Elite co-brandable
    PDF; the built-in templates."""
    from test_resources import mp4_bytes

    with app.app_context():
        install_builtin_templates()
        maya = make_partner("Maya Chen", email="maya@example.com")
        save_branding(maya, "Chen Growth Partners",
                      "maya@chengrowth.example · +1 555 0142", "#7c3aed", png_bytes(), False)
        db.session.commit()
        ids = {
            "brochure": _upload("Service brochure", "brochure.pdf", brochure_pdf()),
            "post": _upload("Instagram post", "post.png", png_bytes((1080, 1080))),
            "plain": _upload("Price list", "prices.pdf", brochure_pdf(), co_brandable=False),
            "video": _upload("Founder video", "v.mp4", mp4_bytes()),
            "elite": _upload("Elite deck", "elite.pdf", brochure_pdf(), tier="elite"),
            "template": db.session.scalar(select(MaterialTemplate.id).where(
                MaterialTemplate.key == "faq-sheet")),
            "code": maya.referral_code,
        }
        db.session.remove()
    return ids


def customize(client, token, **body):
    return client.post("/api/partner/resources/customize", headers=token, json=body)


def test_the_app_co_brands_a_pdf_an_image_and_a_template(app, client, shelf, run_worker):
    token = api_token(client, "maya@example.com")
    asked = {}
    for name, body in (("brochure", {"resource_id": shelf["brochure"]}),
                       ("post", {"resource_id": shelf["post"]}),
                       ("faq", {"template_id": shelf["template"]})):
        resp = customize(client, token, **body)
        assert resp.status_code == 202, resp.get_json()
        render = resp.get_json()
        assert render["status"] == "pending" and render["download_url"] is None
        assert render["status_url"] == f"/api/partner/renders/{render['id']}"
        asked[name] = render
    assert asked["brochure"]["title"] == "Service brochure (co-branded)"
    assert asked["faq"]["title"] == "Client FAQ sheet"

    run_worker()

    referral = f"http://localhost/r/{shelf['code']}"
    files = {}
    for name, render in asked.items():
        status = client.get(render["status_url"], headers=token).get_json()
        assert status["status"] == "ready", status
        resp = client.get(status["download_url"], headers=token)
        assert resp.status_code == 200 and resp.mimetype == "application/pdf"
        files[name] = resp.data

    # the brochure: both pages as they were shown, each a band taller, with the band
    pages, reader = pdf_text(files["brochure"])
    assert len(pages) == 2
    assert "Website packages" in pages[0] and "Web apps" in pages[1]
    for text in pages:
        assert "Chen Growth Partners" in text and "maya@chengrowth.example" in text
    a4w, a4h = 595.28, 841.89
    sizes = [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]
    assert sizes[0] == pytest.approx((a4w, a4h + band_height(a4w)), abs=0.5)
    assert sizes[1] == pytest.approx((a4h, a4w + band_height(a4h)), abs=0.5)  # turned
    for page in (1, 2):
        png = page_png(files["brochure"], page, f"cobranded-brochure-page{page}", dpi=120)
        assert decode_qr(png) == [referral]

    # the square post: one A4 page, the picture above the band
    pages, reader = pdf_text(files["post"])
    assert len(pages) == 1 and "Chen Growth Partners" in pages[0]
    assert decode_qr(page_png(files["post"], 1, "cobranded-post", dpi=120)) == [referral]

    pages, _ = pdf_text(files["faq"])
    assert "Chen Growth Partners" in "\n".join(pages)

    listed = client.get("/api/partner/materials", headers=token).get_json()
    assert {r["id"] for r in listed["renders"]} == {r["id"] for r in asked.values()}
    assert any(t["name"] == "Client FAQ sheet" and t["allowed"] for t in listed["templates"])
    assert any(not t["allowed"] and t["unlocks_at"] == "Performer" for t in listed["templates"])

    # asked again, unchanged: the same PDF, no new render
    again = customize(client, token, resource_id=shelf["brochure"])
    assert again.status_code == 202 and again.get_json()["id"] == asked["brochure"]["id"]
    assert again.get_json()["status"] == "ready"

    # another partner sees none of it
    with app.app_context():
        make_partner("Omar Reyes", email="omar@example.com")
    omar = api_token(client, "omar@example.com")
    for path in (asked["brochure"]["status_url"], asked["brochure"]["status_url"] + "/download"):
        assert client.get(path, headers=omar).status_code == 404


def test_refusals_name_the_reason_and_store_nothing(app, client, shelf):
    token = api_token(client, "maya@example.com")
    for body, status, code in (
            ({"resource_id": shelf["plain"]}, 409, "not_co_brandable"),
            ({"resource_id": shelf["video"]}, 409, "not_co_brandable"),
            ({"resource_id": shelf["elite"]}, 403, "tier_locked"),
            ({"resource_id": 999999}, 404, "not_found"),
            ({"template_id": 999999}, 404, "not_found"),
            ({"template_id": shelf["template"], "resource_id": shelf["brochure"]}, 422,
             "validation_error"),
            ({}, 422, "validation_error"),
            ({"resource_id": shelf["brochure"], "colour": "red"}, 422, "validation_error")):
        resp = customize(client, token, **body)
        assert resp.status_code == status, (body, resp.get_json())
        assert resp.get_json()["error"]["code"] == code, body
    resp = customize(client, token, resource_id=shelf["video"])
    assert resp.get_json()["error"]["message"] == \
        "“Founder video” is a MP4 file; only PDFs and images can be co-branded."
    resp = customize(client, token, resource_id=shelf["elite"])
    assert "unlocks at Elite tier" in resp.get_json()["error"]["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MaterialRender)) == 0


def test_an_unreadable_source_fails_once_with_a_reason(app, client, shelf, run_worker):
    """A stored PDF that cannot be read (damaged on disk) fails at once, is not retried,
    and the partner is told why in the render and a notification."""
    with app.app_context():
        row = db.session.get(resources.Resource, shelf["brochure"])
        path = os.path.join(app.config["STORAGE_DIR"], resources.storage_key(row))
    with open(path, "wb") as fh:
        fh.write(b"%PDF-1.7\nthis is not a PDF any more")
    token = api_token(client, "maya@example.com")
    render = customize(client, token, resource_id=shelf["brochure"]).get_json()
    run_worker()
    status = client.get(render["status_url"], headers=token).get_json()
    assert status["status"] == "failed"
    assert status["error"].startswith("This PDF cannot be read, so it cannot be co-branded.")
    with app.app_context():
        titles = list(db.session.scalars(select(Notification.title).where(
            Notification.kind == "material")))
    assert titles == ["Service brochure (co-branded) could not be made"]


def test_the_library_page_makes_a_co_branded_pdf(app, client, shelf):
    login(client, "maya@example.com")
    html = client.get("/partner/resources").get_data(as_text=True)
    assert f'action="/partner/resources/{shelf["brochure"]}/cobrand"' in html
    assert f'action="/partner/resources/{shelf["plain"]}/cobrand"' not in html
    assert f'action="/partner/resources/{shelf["video"]}/cobrand"' not in html
    resp = client.post(f"/partner/resources/{shelf['brochure']}/cobrand",
                       data={"csrf_token": csrf_from(html)})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/partner/materials#renders")
    page = client.get("/partner/materials").get_data(as_text=True)
    assert "Your co-branded Service brochure is being made" in page
    assert "Service brochure (co-branded)" in page
    # without the CSRF token: nothing
    client.post(f"/partner/resources/{shelf['post']}/cobrand")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MaterialRender)) == 1
        assert os.path.isdir(app.config["STORAGE_DIR"])
