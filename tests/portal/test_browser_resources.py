"""In real headless Chromium: content staff upload an resource in the back office and a
partner downloads it from /partner/resources on a phone (rules: "Resources":
upload a resource)."""

import os

import pytest
from conftest import make_partner, make_staff
from test_browser import OUT, desktop, log_in, phone, staff_log_in
from test_resources import pdf_bytes, stored_pdf

from core.base.extensions import db
from core.content.models import Resource


@pytest.mark.browser
def test_content_uploads_and_partner_downloads(app, live_server, browser, tmp_path):
    """Content staff open Content → Resources, upload a PDF with the form and see it listed
    with 0 downloads; a starter partner finds it under Brochures from the dashboard's
    Resources button, downloads it (the same bytes) and the count becomes 1; a renamed
    executable is refused with a message and nothing is stored. Neither page trips the
    Content-Security-Policy."""
    with app.app_context():
        make_staff("content@example.com", ("content",))
        make_partner("Sarah Thompson", email="sarah@example.com")
    good = tmp_path / "service-overview.pdf"
    good.write_bytes(pdf_bytes())
    bad = tmp_path / "invoice.pdf"
    bad.write_bytes(b"MZ\x90\x00" + b"\x00" * 200)

    violations = []

    def watch(page):
        page.on("console", lambda msg: violations.append(msg.text)
                if "Content Security Policy" in msg.text
                and "fonts.googleapis.com" not in msg.text else None)
        page.on("pageerror", lambda exc: violations.append(f"pageerror: {exc}"))
        return page

    staff = watch(desktop(browser, live_server))
    staff_log_in(staff, "content@example.com")
    staff.get_by_role("link", name="Content").click()
    staff.get_by_role("link", name="Resources").click()
    staff.wait_for_url("**/admin/resources/")
    staff.get_by_role("link", name="Upload resource").click()
    staff.get_by_label("Title").fill("Bad file")
    staff.get_by_label("File").set_input_files(str(bad))
    staff.get_by_role("button", name="Upload").click()
    staff.get_by_text("its content is none of the allowed types").wait_for()

    staff.get_by_label("Title").fill("Service overview <deck>")
    staff.get_by_label("Category").select_option("brochure")
    staff.get_by_label("Lowest tier allowed").select_option("starter")
    staff.get_by_label("Description").fill("For a first meeting")
    staff.get_by_label("File").set_input_files(str(good))
    staff.get_by_role("button", name="Upload").click()
    staff.wait_for_url("**/admin/resources/")
    staff.get_by_text("Uploaded “Service overview <deck>” (PDF).").wait_for()
    row = staff.locator("tr", has=staff.get_by_text("Service overview <deck>"))
    assert row.locator("td.col-download_count").inner_text().strip() == "0"
    assert row.get_by_text("Content").is_visible()  # the uploader's name
    os.makedirs(OUT, exist_ok=True)
    staff.screenshot(path=os.path.join(OUT, "admin-resource-uploaded.png"))
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Resource)) == 1
        aid = db.session.scalar(db.select(Resource.id))
        db.session.remove()

    page = watch(phone(browser, live_server))
    log_in(page, "sarah@example.com")
    page.get_by_role("link", name="Resources").click()
    page.wait_for_url("**/partner/resources")
    section = page.locator("section", has=page.get_by_role("heading", name="Brochures"))
    assert section.get_by_text("Service overview <deck>").is_visible()
    with page.expect_download() as info:
        section.get_by_role("link", name="Download").click()
    download = info.value
    assert download.suggested_filename == "Service-overview-deck.pdf"
    with open(download.path(), "rb") as f:
        assert f.read() == stored_pdf()
    page.screenshot(path=os.path.join(OUT, "partner-resources-phone.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    with app.app_context():
        assert db.session.get(Resource, aid).download_count == 1
        db.session.remove()
    staff.reload()
    assert staff.locator("tr", has=staff.get_by_text("Service overview <deck>")).locator(
        "td.col-download_count").inner_text().strip() == "1"
    assert violations == [], violations
