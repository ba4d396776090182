"""Marketing resources (rules: "Resources"): the upload rules,
the back-office screen by role, tier locking and counted downloads for partners, the API
as documented, and hostile titles shown as text."""

import io
import os
import struct
import zlib

import pytest
from conftest import (
    api_token,
    csrf_from,
    login,
    make_partner,
    make_staff,
    make_staff_once,
    minimal_pdf,
)
from PIL import Image
from sqlalchemy import func, select
from test_openapi import response_schema, validate
from test_story import admin_action

from core.base.errors import ValidationError
from core.base.extensions import db
from core.base.models import AuditLog
from core.content import resources
from core.content.models import Resource

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


# --- small real files ---------------------------------------------------------------------

def pdf_bytes() -> bytes:
    """A minimal but well-formed one-page PDF (conftest ``minimal_pdf``)."""
    return minimal_pdf()


def stored_pdf() -> bytes:
    """What the server keeps (and serves) of :func:`pdf_bytes`: the same PDF rewritten
    without active content."""
    from core.base.pdf_clean import clean_pdf

    return clean_pdf(pdf_bytes())


def image_bytes(fmt: str, size=(40, 30), exif: bool = False) -> bytes:
    img = Image.new("RGB", size, (15, 118, 110))
    out = io.BytesIO()
    kwargs = {}
    if exif:
        ex = Image.Exif()
        ex[0x010F] = "SecretCam"  # Make
        ex[0x0131] = "Leaky Editor 1.0"  # Software
        kwargs["exif"] = ex.tobytes()
    img.save(out, format=fmt, **kwargs)
    return out.getvalue()


def mp4_bytes() -> bytes:
    """The start of an MP4: an ``ftyp`` box, then an empty ``mdat`` box."""
    ftyp = b"ftyp" + b"isom" + struct.pack(">I", 512) + b"isomiso2mp41"
    return struct.pack(">I", len(ftyp) + 4) + ftyp + struct.pack(">I", 8) + b"mdat"


HTML = ("<!DOCTYPE html>\n<html><body><h1>{{ partner.display_name }}</h1>"
        "<p>Café brochure</p></body></html>\n").encode()


def png_header(width: int, height: int) -> bytes:
    """A PNG that announces ``width`` × ``height`` pixels in its header (a valid IHDR with
    CRC) and carries almost no data: a decompression-bomb's shape."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


ALLOWED = [("brochure.pdf", pdf_bytes, "pdf"), ("post.png", lambda: image_bytes("PNG"), "png"),
           ("photo.jpg", lambda: image_bytes("JPEG"), "jpeg"),
           ("photo.jpeg", lambda: image_bytes("JPEG"), "jpeg"),
           ("clip.mp4", mp4_bytes, "mp4"), ("email.html", lambda: HTML, "html")]


def asset_files(app) -> set[str]:
    folder = os.path.join(app.config["STORAGE_DIR"], resources.FOLDER)
    return set(os.listdir(folder)) if os.path.isdir(folder) else set()


def upload(title="Service overview", category="brochure", tier="starter", filename="a.pdf",
           data=None, co_brandable=False, description="") -> Resource:
    """Upload through core as the factory admin (in an app context) and commit."""

    resource = resources.upload_resource(
        make_staff_once().id, title=title,
        category=category, tier_key=tier, co_brandable=co_brandable,
        description=description, filename=filename,
        data=pdf_bytes() if data is None else data)
    db.session.commit()
    return resource


# --- the upload rules (core) ----------------------------------------------------------

@pytest.mark.parametrize(("filename", "make", "kind"), ALLOWED)
def test_each_allowed_type_is_stored_under_a_server_name(app, ctx, filename, make, kind):
    """PDF, PNG, JPEG, MP4 and HTML templates are accepted; the file lands under
    STORAGE_DIR/resources/ with a random name and the kind's extension, the upload is
    audited, and the uploader's name is kept for display only."""
    before = asset_files(app)
    a = upload(title=f"A {kind}", filename=filename, data=make())
    assert a.file_kind == kind
    assert a.original_name == filename
    assert a.stored_name != filename and len(a.stored_name.split(".")[0]) == 32
    assert a.stored_name.endswith(resources.KINDS[kind][2])
    assert asset_files(app) - before == {a.stored_name}
    with open(os.path.join(app.config["STORAGE_DIR"], resources.storage_key(a)), "rb") as f:
        stored = f.read()
    assert len(stored) == a.size_bytes and resources.sniff(stored) == kind
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "resource.upload"))
    assert row.object_type == "resource" and row.object_id == a.id
    assert kind in row.after and filename in row.after


def test_images_are_re_encoded_without_metadata(ctx):
    """A JPEG with EXIF (camera, software) comes out as a fresh JPEG without it."""
    raw = image_bytes("JPEG", exif=True)
    assert b"SecretCam" in raw
    kind, stored = resources.check_file("p.jpg", raw)
    assert kind == "jpeg" and stored != raw
    assert b"SecretCam" not in stored and b"Leaky Editor" not in stored
    assert Image.open(io.BytesIO(stored)).size == (40, 30)
    kind, stored = resources.check_file("p.png", image_bytes("PNG"))
    assert kind == "png" and Image.open(io.BytesIO(stored)).format == "PNG"


@pytest.mark.parametrize(("filename", "data", "message"), [
    ("setup.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, "content is none of the allowed"),
    ("photo.png", image_bytes("JPEG"), "named .png but its content is a JPEG image"),
    ("photo.jpg", image_bytes("PNG"), "named .jpg but its content is a PNG image"),
    ("deck.pdf", HTML, "named .pdf but its content is a HTML template"),
    ("page.html", pdf_bytes(), "named .html but its content is a PDF"),
    ("clip.mp4", pdf_bytes(), "named .mp4 but its content is a PDF"),
    ("setup.exe", b"MZ\x90\x00", "This type of file cannot be uploaded"),
    ("noext", pdf_bytes(), "This type of file cannot be uploaded"),
    ("doc.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "cannot be uploaded"),
    ("page.html", b"<html>\x00</html>", "content is none of the allowed"),
    ("page.html", b"<html>\xff\xfe caf\xe9</html>", "content is none of the allowed"),
    ("page.html", b"just text, no markup", "content is none of the allowed"),
    ("empty.pdf", b"", "Choose a file"),
    ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not a readable PNG"),
])
def test_refused_files(ctx, filename, data, message):
    """Wrong extension for the content, renamed executables, other types, NUL or
    non-UTF-8 "HTML", empty and damaged files: a clear ValidationError."""
    with pytest.raises(ValidationError, match=message):
        resources.check_file(filename, data)


def test_oversize_is_refused_by_the_setting(app, ctx, monkeypatch):
    """Above ASSET_MAX_BYTES (50 MB by default) the file is refused, nothing stored."""
    assert app.config["ASSET_MAX_BYTES"] == 50 * 1024 * 1024
    monkeypatch.setitem(app.config, "ASSET_MAX_BYTES", 1024)
    data = pdf_bytes() + b"%" + b"x" * 1024
    before = asset_files(app)
    with pytest.raises(ValidationError, match="larger than 1,024 bytes"):
        upload(data=data)
    assert asset_files(app) == before
    assert db.session.scalar(select(func.count()).select_from(Resource)) == 0


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (8_000, 8_000)])
def test_pixel_bombs_are_refused_before_decoding(ctx, monkeypatch, width, height):
    """A PNG whose header announces 10 billion (or 64 million) pixels is refused from the
    header alone: no pixel is decoded."""
    from PIL import ImageFile

    def no_decoding(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(ValidationError, match="pixels"):
        resources.check_file("bomb.png", png_header(width, height))


def test_catalogue_data_is_checked(ctx):
    """Title required, category allow-listed, tier must exist; nothing stored."""
    for kwargs, message in [({"title": "  "}, "Title is required"),
                            ({"category": "malware"}, "Category must be one of"),
                            ({"tier": "platinum"}, "Unknown tier"),
                            ({"title": "x" * 161}, "at most 160")]:
        with pytest.raises(ValidationError, match=message):
            upload(**kwargs)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Resource)) == 0


def test_downloads_are_counted_atomically(app, ctx):
    """Two sessions that both loaded the row each add one: the count is 2 (an UPDATE ...
    SET download_count = download_count + 1, not a read-modify-write)."""
    a = upload()
    aid = a.id
    db.session.remove()
    from sqlalchemy.orm import Session

    first = db.session.get(Resource, aid)
    with Session(db.engine) as other:
        second = other.get(Resource, aid)
        assert first.download_count == second.download_count == 0
        db.session.commit()  # end the first session's read before the other writes (SQLite)
        first = db.session.get(Resource, aid)
        resources.count_download(second)
        other.commit()
    resources.count_download(first)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Resource, aid).download_count == 2


def test_changes_are_audited(ctx):
    """Editing catalogue data and deactivating write audit rows with before/after."""
    a = upload()
    staff = make_staff_once()
    resources.update_resource(a.id, staff.id, {"title": "New title", "min_tier_key": "active"})
    resources.set_active([a.id], staff.id, False)
    db.session.commit()
    rows = db.session.execute(select(AuditLog.action, AuditLog.before, AuditLog.after)
                              .where(AuditLog.object_type == "resource")
                              .order_by(AuditLog.id)).all()
    assert [r.action for r in rows] == ["resource.upload", "resource.update", "resource.deactivate"]
    assert "Service overview" in rows[1].before and "New title" in rows[1].after
    with pytest.raises(ValidationError, match="cannot be changed"):
        resources.update_resource(a.id, staff.id, {"stored_name": "../../etc/passwd"})


# --- back office -----------------------------------------------------------------------

def admin_upload(client, filename, data, **fields):
    page = client.get("/admin/resources/upload")
    assert page.status_code == 200
    form = {"title": "Service overview", "category": "brochure", "min_tier_key": "starter",
            "description": "For first meetings", "csrf_token": csrf_from(
                page.get_data(as_text=True)), "file": (io.BytesIO(data), filename)}
    form.update(fields)
    return client.post("/admin/resources/upload", data=form, content_type="multipart/form-data")


@pytest.fixture
def content(app, client):
    with app.app_context():
        make_staff("content@example.com", ("content",))
    assert login(client, "content@example.com").status_code == 302
    return client


def test_content_staff_upload_list_and_deactivate(app, content):
    """Content staff upload a PDF from the form, see it in the list with its download
    count, filter by category and tier, and deactivate it (audited)."""
    resp = admin_upload(content, "overview.pdf", pdf_bytes(), co_brandable="y")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    html = content.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Uploaded “Service overview” (PDF)." in html
    assert "Service overview" in html and "Upload resource" in html
    with app.app_context():
        a = db.session.scalar(select(Resource))
        assert (a.title, a.category, a.min_tier_key, a.co_brandable, a.file_kind) == (
            "Service overview", "brochure", "starter", True, "pdf")
        aid = a.id
    assert "Service overview" in content.get(
        "/admin/resources/?flt1_category_equals=brochure").get_data(as_text=True)
    assert "Service overview" not in content.get(
        "/admin/resources/?flt1_category_equals=video").get_data(as_text=True)
    assert "Service overview" not in content.get(
        "/admin/resources/?flt1_tier_needed_equals=elite").get_data(as_text=True)
    assert content.get(f"/admin/resources/details/?id={aid}").status_code == 200

    resp = admin_action(content, "resources", "deactivate", [aid])
    assert resp.status_code == 302
    assert "Deactivated 1 resource(s)." in content.get("/admin/resources/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Resource, aid).active is False
        assert db.session.scalar(select(AuditLog.actor_id).where(
            AuditLog.action == "resource.deactivate")) is not None


@pytest.mark.parametrize(("filename", "data", "message"), [
    ("setup.pdf", b"MZ\x90\x00" + b"\x00" * 100, "content is none of the allowed types"),
    ("photo.png", image_bytes("JPEG"), "named .png but its content is a JPEG image"),
    ("bomb.png", png_header(100_000, 100_000), "far too many pixels"),
])
def test_admin_refusals_are_flashed_and_store_nothing(app, content, filename, data, message):
    """A refused upload shows the reason as a flash message, keeps the form, and stores
    neither a row nor a file."""
    before = asset_files(app)
    resp = admin_upload(content, filename, data)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert message in html and 'id="resource-upload"' in html
    assert asset_files(app) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Resource)) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.object_type == "resource")) == 0


def test_admin_oversize_and_missing_file(app, content, monkeypatch):
    monkeypatch.setitem(app.config, "ASSET_MAX_BYTES", 2048)
    resp = admin_upload(content, "big.pdf", pdf_bytes() + b"x" * 4096)
    assert resp.status_code == 422 and "larger than 2,048 bytes" in resp.get_data(as_text=True)
    page = content.get("/admin/resources/upload")
    resp = content.post("/admin/resources/upload", data={
        "title": "No file", "category": "brochure", "min_tier_key": "starter",
        "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert resp.status_code == 422 and "Choose a file" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Resource)) == 0


def test_upload_needs_csrf(app, content):
    resp = content.post("/admin/resources/upload", data={
        "title": "x", "category": "brochure", "min_tier_key": "starter",
        "file": (io.BytesIO(pdf_bytes()), "a.pdf")}, content_type="multipart/form-data")
    assert resp.status_code in (400, 422)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Resource)) == 0


@pytest.mark.parametrize("role", ["finance", "support"])
def test_other_roles_are_refused_the_assets_screen(app, client, role):
    """Finance and support get no Resources menu entry and 403 on every resources URL."""
    with app.app_context():
        make_staff(f"{role}@example.com", (role,))
        aid = upload().id
    assert login(client, f"{role}@example.com").status_code == 302
    assert "/admin/resources/" not in client.get("/admin/").get_data(as_text=True)
    for url in ("/admin/resources/", "/admin/resources/upload", f"/admin/resources/details/?id={aid}",
                f"/admin/resources/{aid}/edit"):
        assert client.get(url).status_code == 403, url
    token = csrf_from(client.get("/admin/reauth/").get_data(as_text=True))
    assert client.post("/admin/resources/upload", data={
        "csrf_token": token, "title": "x", "category": "brochure", "min_tier_key": "starter",
        "file": (io.BytesIO(pdf_bytes()), "a.pdf")},
        content_type="multipart/form-data").status_code == 403
    assert client.post("/admin/resources/action/", data={
        "csrf_token": token, "action": "deactivate", "rowid": [str(aid)]}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Resource)) == 1
        assert db.session.get(Resource, aid).active is True


@pytest.mark.parametrize("role", ["content", "admin"])
def test_content_and_admin_see_the_assets_menu(app, client, role):
    with app.app_context():
        make_staff(f"{role}@example.com", (role,))
    assert login(client, f"{role}@example.com").status_code == 302
    assert "/admin/resources/" in client.get("/admin/").get_data(as_text=True)
    assert client.get("/admin/resources/").status_code == 200


def test_hostile_title_is_escaped_in_admin_and_portal(app, client):
    """A title, description and file name with markup are shown as text everywhere."""
    with app.app_context():
        make_staff("content@example.com", ("content",))
        make_partner("Sarah Thompson", email="sarah@example.com")
        upload(title=XSS, description=XSS, filename=f"{XSS}.pdf")
    assert login(client, "content@example.com").status_code == 302
    for url in ("/admin/resources/", "/admin/resources/details/?id=1"):
        html = client.get(url).get_data(as_text=True)
        assert XSS not in html and XSS_ESCAPED in html, url
    client.get("/logout")
    assert login(client, "sarah@example.com").status_code == 302
    html = client.get("/partner/resources").get_data(as_text=True)
    assert XSS not in html and XSS_ESCAPED in html
    resp = client.get("/partner/resources/1/download")
    assert resp.status_code == 200
    disposition = resp.headers["Content-Disposition"]
    assert "<" not in disposition and "script" in disposition and disposition.endswith(".pdf")


# --- partners --------------------------------------------------------------------------

@pytest.fixture
def library(app):
    """A starter partner (Sarah), and resources: a starter PDF (co-brandable), an Active PNG,
    an Elite MP4 and an inactive starter PDF."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        ids = {
            "pdf": upload(title="Service overview", co_brandable=True).id,
            "png": upload(title="Instagram post", category="social", tier="active",
                          filename="post.png", data=image_bytes("PNG")).id,
            "mp4": upload(title="Founder video", category="video", tier="elite",
                          filename="v.mp4", data=mp4_bytes()).id,
            "old": upload(title="Old brochure").id,
        }
        resources.set_active([ids["old"]], make_staff_once().id, False)
        db.session.commit()
        return ids


def count(app, aid) -> int:
    with app.app_context():
        n = db.session.get(Resource, aid).download_count
        db.session.remove()
        return n


def test_resources_page_by_category_with_locks(app, client, library):
    """Active resources by category; ones above the partner's tier show the tier that
    unlocks them and no download link; inactive ones are not listed; co-brandable ones
    link to the materials page."""
    login(client, "sarah@example.com")
    html = client.get("/partner/resources").get_data(as_text=True)
    assert html.index("Brochures") < html.index("Social media") < html.index("Videos")
    assert f"/partner/resources/{library['pdf']}/download" in html
    assert f'action="/partner/resources/{library["pdf"]}/cobrand"' in html
    assert "unlocks at Active" in html and "unlocks at Elite" in html
    assert f"/partner/resources/{library['png']}/download" not in html
    assert f"/partner/resources/{library['mp4']}/download" not in html
    assert "Old brochure" not in html
    assert 'href="/partner/resources"' in client.get("/partner/materials").get_data(as_text=True)
    assert 'href="/partner/resources"' in client.get("/partner/dashboard").get_data(as_text=True)


def test_download_is_counted_and_sent_as_attachment(app, client, library):
    login(client, "sarah@example.com")
    for n in (1, 2):
        resp = client.get(f"/partner/resources/{library['pdf']}/download")
        assert resp.status_code == 200
        assert resp.headers["Content-Disposition"].startswith("attachment;")
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.mimetype == "application/pdf"
        assert resp.data == stored_pdf()
        assert count(app, library["pdf"]) == n


def test_locked_unknown_and_inactive(app, client, library):
    """Locked: 403 with the unlocking tier; unknown or inactive: 404; none is counted."""
    login(client, "sarah@example.com")
    resp = client.get(f"/partner/resources/{library['png']}/download")
    assert resp.status_code == 403
    assert "“Instagram post” unlocks at Active tier." in resp.get_data(as_text=True)
    assert client.get(f"/partner/resources/{library['old']}/download").status_code == 404
    assert client.get("/partner/resources/999999/download").status_code == 404
    assert client.get("/partner/resources/99999999999999/download").status_code == 404
    assert [count(app, library[k]) for k in ("png", "old")] == [0, 0]


def test_effective_tier_unlocks(app, client, library):
    """A staff tier override to Active unlocks Active resources (effective tier counts), and
    a partner who earned Active by deals sees them unlocked too; Elite stays locked."""
    from core.program.models import Partner
    from core.program.tiers import set_override

    with app.app_context():
        pid = db.session.scalar(select(Partner.id))
        set_override(pid, make_staff_once().id, tier_key="active", reason="launch partner")
        db.session.commit()
        make_partner("Mike Reyes", email="mike@example.com", deals=3)
    login(client, "sarah@example.com")
    assert client.get(f"/partner/resources/{library['png']}/download").status_code == 200
    assert client.get(f"/partner/resources/{library['mp4']}/download").status_code == 403
    client.get("/logout")
    login(client, "mike@example.com")
    html = client.get("/partner/resources").get_data(as_text=True)
    assert f"/partner/resources/{library['png']}/download" in html
    assert "unlocks at Elite" in html
    assert count(app, library["png"]) == 1


def test_anonymous_staff_and_applicants(app, client, library):
    assert client.get("/partner/resources").status_code == 302
    assert client.get(f"/partner/resources/{library['pdf']}/download").status_code == 302
    with app.app_context():
        make_staff("content@example.com", ("content",))
        make_partner("Ann Applicant", email="ann@example.com", status="applied")
    login(client, "content@example.com")
    assert client.get(f"/partner/resources/{library['pdf']}/download").headers[
        "Location"].endswith("/admin/")
    client.get("/logout")
    login(client, "ann@example.com")
    locked = client.get(f"/partner/resources/{library['pdf']}/download")
    assert locked.status_code == 403  # the locked page: opens when the application is approved
    assert "opens when your application is approved" in locked.get_data(as_text=True)
    assert count(app, library["pdf"]) == 0


def test_api_resources_match_the_document(app, client, library):
    """GET /api/partner/resources and the download endpoint answer what the OpenAPI
    document says, for success, locked (403) and unknown (404)."""
    from api.openapi import document

    doc = document()
    h = api_token(client, "sarah@example.com")
    resp = client.get("/api/partner/resources", headers=h)
    assert resp.status_code == 200
    validate(doc, response_schema(doc, "/api/partner/resources", "get", 200), resp.get_json())
    items = {i["title"]: i for i in resp.get_json()["items"]}
    assert set(items) == {"Service overview", "Instagram post", "Founder video"}
    assert items["Instagram post"]["unlocked"] is False
    assert items["Instagram post"]["unlocks_at"] == "Active"
    assert items["Instagram post"]["download_url"] is None
    url = items["Service overview"]["download_url"]
    assert url == f"/api/partner/resources/{library['pdf']}/download"

    path = "/api/partner/resources/{resource_id}/download"
    ok = client.get(url, headers=h)
    assert ok.status_code == 200 and ok.data == stored_pdf()
    assert ok.headers["X-Content-Type-Options"] == "nosniff"
    assert ok.headers["Content-Disposition"].startswith("attachment;")
    assert "application/octet-stream" in doc["paths"][path]["get"]["responses"]["200"]["content"]
    for aid, status in ((library["png"], 403), (library["old"], 404), (999999, 404)):
        resp = client.get(f"/api/partner/resources/{aid}/download", headers=h)
        assert resp.status_code == status
        validate(doc, response_schema(doc, path, "get", status), resp.get_json())
    assert resp.get_json()["error"]["code"] == "not_found"
    assert client.get(f"/api/partner/resources/{library['png']}/download",
                      headers=h).get_json()["error"]["code"] == "tier_locked"
    assert client.get("/api/partner/resources").status_code == 401
    assert count(app, library["pdf"]) == 1


def test_html_template_download_is_sandboxed(app, client):
    """An HTML template is sent as an attachment with nosniff and a sandbox CSP, so even
    a browser that displays it runs none of its script."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        aid = upload(title="E-mail template", category="template", filename="mail.html",
                     data=b"<html><script>alert(1)</script></html>", co_brandable=True).id
    login(client, "sarah@example.com")
    resp = client.get(f"/partner/resources/{aid}/download")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert resp.headers["Content-Disposition"] == "attachment; filename=E-mail-template.html"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_content_staff_edit_catalogue_data(app, content):
    """The Edit page changes title, tier and flags (audited with before/after); a title
    left empty is refused with a message and nothing changes; the file stays."""
    with app.app_context():
        aid = upload(title="Deck", filename="deck.pdf").id
    url = f"/admin/resources/{aid}/edit"
    assert f'href="{url}"' in content.get("/admin/resources/").get_data(as_text=True)
    page = content.get(url)
    assert page.status_code == 200 and 'value="Deck"' in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    resp = content.post(url, data={"csrf_token": token, "title": "Sales deck 2027",
                                   "category": "presentation", "min_tier_key": "active",
                                   "description": "New", "co_brandable": "y"})
    assert resp.status_code == 302
    assert "Resource saved." in content.get("/admin/resources/").get_data(as_text=True)
    resp = content.post(url, data={"csrf_token": token, "title": "", "category": "other",
                                   "min_tier_key": "starter"})
    assert resp.status_code == 422 and "Title: This field is required." in resp.get_data(
        as_text=True)
    assert content.get("/admin/resources/999/edit").status_code == 404
    with app.app_context():
        a = db.session.get(Resource, aid)
        assert (a.title, a.category, a.min_tier_key, a.co_brandable, a.original_name) == (
            "Sales deck 2027", "presentation", "active", True, "deck.pdf")
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "resource.update"))
        assert '"title": "Deck"' in row.before and '"min_tier_key": "active"' in row.after


@pytest.mark.parametrize(("url", "email"), [("/admin/resources/", "content@example.com"),
                                            ("/partner/resources", "sarah@example.com"),
                                            ("/api/partner/resources", None)])
def test_lists_run_a_fixed_number_of_queries(app, client, url, email):
    """The Resources list, the resources page and the API list cost the same number of
    queries with 2 resources or with 10 (uploader names loaded with the rows)."""
    from test_admin_queries import count_queries

    with app.app_context():
        make_staff("content@example.com", ("content",))
        make_partner("Sarah Thompson", email="sarah@example.com")
        for i in range(2):
            upload(title=f"A{i}", tier=("starter", "elite")[i % 2])
    if email:
        login(client, email)
    else:
        client.environ_base["HTTP_AUTHORIZATION"] = api_token(
            client, "sarah@example.com")["Authorization"]
    small = count_queries(app, client, url)
    with app.app_context():
        other = make_staff("content2@example.com", ("content",))

        for i in range(8):
            resources.upload_resource(other.id, title=f"B{i}",
                                category=list(resources.CATEGORIES)[i % 7], tier_key="active",
                                co_brandable=bool(i % 2), description="", filename="b.png",
                                data=image_bytes("PNG"))
        db.session.commit()
    large = count_queries(app, client, url)
    assert large == small and small <= 15, (url, small, large)


def active_pdf() -> bytes:
    """A one-page PDF with everything a reader could run: JavaScript on open, a page
    action, a form, an embedded file, a link annotation that launches a program and one
    that opens a web page."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    js = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript,
                                              JS=pikepdf.String("app.alert('pwned')")))
    pdf.Root.OpenAction = js
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array())
    embedded = pdf.make_stream(b"MZ evil program")
    filespec = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Filespec, F=pikepdf.String("evil.exe"),
        EF=pikepdf.Dictionary(F=embedded)))
    pdf.Root.Names = pikepdf.Dictionary(
        JavaScript=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("a"), js])),
        EmbeddedFiles=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("e"), filespec])))
    page = pdf.pages[0].obj
    page.AA = pikepdf.Dictionary(O=js)
    launch = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 50, 50],
        A=pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe"))))
    web = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[50, 50, 100, 100],
        A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("https://siso.example"))))
    attach = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.FileAttachment, Rect=[0, 100, 20, 120],
        FS=filespec))
    page.Annots = pikepdf.Array([launch, web, attach])
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


def assert_inert(data: bytes) -> None:
    """No JavaScript, no open or page action, no form, no embedded file, no launch; the
    web link is still there and the page still reads."""
    import pikepdf

    for needle in (b"/JavaScript", b"/JS", b"/OpenAction", b"/AcroForm", b"/EmbeddedFile",
                   b"/Launch", b"app.alert", b"MZ evil", b"/FileAttachment"):
        assert needle not in data, needle
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) == 1
        actions = [a.get("/A") for a in pdf.pages[0].obj.get("/Annots", [])]
        assert [str(a.URI) for a in actions if a is not None] == ["https://siso.example"]


def test_uploaded_pdfs_are_stored_without_active_content(app, ctx):
    """An resource PDF carrying JavaScript, actions, a form and an embedded file is stored
    (and downloaded) rewritten without them; a password-protected or unreadable PDF is
    refused with a sentence and nothing is stored."""
    import pikepdf

    data = active_pdf()
    assert b"/JavaScript" in data and b"MZ evil" in data  # the attack is really in it
    resource = upload(filename="offer.pdf", data=data)
    db.session.commit()
    with open(os.path.join(app.config["STORAGE_DIR"], resources.storage_key(resource)),
              "rb") as f:
        assert_inert(f.read())
    locked = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf_bytes())) as pdf:
        pdf.save(locked, encryption=pikepdf.Encryption(owner="o", user="u"))
    before = asset_files(app)
    for bad, why in ((locked.getvalue(), "password"),
                     (b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n", "could not be read")):
        with pytest.raises(ValidationError, match=why):
            upload(filename="x.pdf", data=bad)
    assert asset_files(app) == before


def test_chat_pdf_attachments_are_stored_without_active_content(app, ctx):
    """A PDF sent in chat is kept rewritten without JavaScript, actions, forms and
    embedded files."""
    from core.community import chat
    from core.community.models import Attachment, Channel

    p = make_partner("Pia Pdf")
    general = db.session.scalar(select(Channel).where(Channel.slug == "general"))
    msg = chat.add_attachment(p.user, general, "offer.pdf", active_pdf(), "our offer")
    db.session.commit()
    row = db.session.scalar(select(Attachment).where(Attachment.message_id == msg.id))
    with open(os.path.join(app.config["STORAGE_DIR"], row.file_path), "rb") as f:
        assert_inert(f.read())


# --- large uploads are streamed (rules: "Uploads") ----------------------------------------

class CountingReader(io.RawIOBase):
    """A request body of ``size`` bytes made on the fly (``head``, then filler), counting
    what the server read: no test-side buffer the size of the file."""

    def __init__(self, head: bytes, size: int):
        self.head, self.size, self.pos = head, size, 0

    def readable(self):
        return True

    def readinto(self, buf):
        n = min(len(buf), self.size - self.pos)
        if n <= 0:
            return 0
        chunk = bytearray(n)
        if self.pos < len(self.head):
            part = self.head[self.pos:self.pos + n]
            chunk[:len(part)] = part
        buf[:n] = chunk
        self.pos += n
        return n


def test_a_large_video_is_streamed_to_the_store_not_held_in_memory(app, ctx):
    """A 30 MB MP4 goes from the upload's stream to the store through a file on disk: the
    Python memory the upload takes stays under 4 MB, and the stored file is byte for byte
    the upload (size and SHA-256 recorded)."""
    import hashlib
    import tracemalloc

    size = 30 * 1024 * 1024
    expected = hashlib.sha256()
    src = CountingReader(mp4_bytes(), size)
    while chunk := src.read(1024 * 1024):
        expected.update(chunk)
    src = io.BufferedReader(CountingReader(mp4_bytes(), size))
    tracemalloc.start()
    try:
        resource = resources.upload_resource(
            make_staff_once().id, title="Launch video", category="video", tier_key="starter",
            co_brandable=False, description="", filename="launch.mp4", stream=src)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    db.session.commit()
    assert peak < 4 * 1024 * 1024, f"upload held {peak / 1e6:.1f} MB in memory"
    assert resource.size_bytes == size and resource.sha256 == expected.hexdigest()
    path = os.path.join(app.config["STORAGE_DIR"], resources.storage_key(resource))
    assert os.path.getsize(path) == size


def test_an_oversize_stream_is_refused_without_reading_it_all(app, ctx, monkeypatch):
    """Past the limit reading stops: a 200 MB body with a 1 MB limit is refused after
    about the limit, nothing stored, no row."""
    monkeypatch.setitem(app.config, "ASSET_MAX_BYTES", 1024 * 1024)
    raw = CountingReader(mp4_bytes(), 200 * 1024 * 1024)
    before = asset_files(app)
    with pytest.raises(ValidationError, match="larger than 1 MB"):
        resources.upload_resource(
            make_staff_once().id, title="Huge", category="video", tier_key="starter",
            co_brandable=False, description="", filename="huge.mp4",
            stream=io.BufferedReader(raw))
    assert raw.pos < 2 * 1024 * 1024
    assert asset_files(app) == before
    assert db.session.scalar(select(func.count()).select_from(Resource)) == 0


def test_a_streamed_pdf_is_stored_cleaned_and_html_is_checked_past_its_head(app, ctx):
    """A PDF given as a stream is stored rewritten (the same bytes as the in-memory
    path), and an HTML template whose bytes stop being UTF-8 after the first 64 KB is
    refused (the whole file is checked, not only its head)."""
    resource = resources.upload_resource(
        make_staff_once().id, title="Deck", category="brochure", tier_key="starter",
        co_brandable=False, description="", filename="deck.pdf",
        stream=io.BytesIO(pdf_bytes()))
    db.session.commit()
    path = os.path.join(app.config["STORAGE_DIR"], resources.storage_key(resource))
    with open(path, "rb") as fh:
        assert fh.read() == stored_pdf()
    bad = b"<html><body>" + b"a" * (resources.HEAD_BYTES + 10) + b"\xff\xfe</body></html>"
    with pytest.raises(ValidationError, match="none of the allowed types"):
        resources.upload_resource(
            make_staff_once().id, title="Mail", category="template", tier_key="starter",
            co_brandable=False, description="", filename="mail.html", stream=io.BytesIO(bad))
    long_ok = (b"<html><body>x" + "é".encode() * (resources.HEAD_BYTES // 2 + 7)
               + b"</body></html>")  # 13 bytes, then two-byte characters: one cut at 64 KB
    assert long_ok[:resources.HEAD_BYTES].decode("utf-8", "replace").endswith("\ufffd")
    ok = resources.upload_resource(
        make_staff_once().id, title="Mail 2", category="template", tier_key="starter",
        co_brandable=False, description="", filename="mail2.html",
        stream=io.BytesIO(long_ok))
    assert ok.file_kind == "html" and ok.size_bytes == len(long_ok)
