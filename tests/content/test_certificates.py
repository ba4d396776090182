"""Certificates: passing the last module of a path issues one, the real worker renders the
co-branded PDF (read back with pdftotext), anyone can verify its code, only its holder can
download it (rules: "Learning paths and certificates")."""

import re
import subprocess

from conftest import TEST_OUTPUT, api_token, csrf_from, login, make_partner, make_staff
from sqlalchemy import select

from core.base.extensions import db
from core.community.models import Notification
from core.content.certificates import CODE_RE, new_code, normalise_code
from core.content.models import Certificate
from core.content.paths import save_path
from tests.content.test_paths import modules


def pdftotext(data: bytes) -> str:
    """What a reader sees on the PDF (poppler's pdftotext)."""
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, check=True,
                          timeout=60, capture_output=True).stdout.decode()


def pass_module(client, module_id):
    page = client.get(f"/partner/training/{module_id}")
    assert page.status_code == 200
    return client.post(f"/partner/training/{module_id}",
                       data={"csrf_token": csrf_from(page.get_data(as_text=True))})


def test_codes_are_random_and_typed_codes_are_normalised():
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200 and all(CODE_RE.match(c) for c in codes)
    code = next(iter(codes))
    assert normalise_code(code.lower().replace("-", " ")) == code
    assert normalise_code("ABCD-EFGH-JKMN-PQR0") is None  # 0 is never in a code
    assert normalise_code("x" * 500) is None and normalise_code(None) is None


def test_last_module_passed_issues_a_certificate_rendered_by_the_worker(app, client, run_worker):
    with app.app_context():
        rows = modules(3)
        ids = [m.id for m in rows]
        save_path(None, None, "closing-101", "Closing 101", "", ["sell-1", "sell-2", "sell-3"])
        make_partner("Mara Quinn", email="mara@example.com")
        make_partner("Otto Other", email="otto@example.com")
        make_staff("support@example.com", ("support",))
        db.session.commit()
    assert login(client, "mara@example.com").status_code == 302
    for mid in ids[:2]:
        assert pass_module(client, mid).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Certificate)) == 0
    assert pass_module(client, ids[2]).status_code == 200
    with app.app_context():
        cert = db.session.scalar(select(Certificate))
        assert cert.status == "pending" and cert.holder_name == "Mara Quinn"
        cert_id, code = cert.id, cert.code
    page = client.get("/partner/learning-paths").get_data(as_text=True)
    assert "3 of 3 modules passed" in page and "being prepared" in page
    assert client.get(f"/partner/certificates/{cert_id}/download").status_code == 404

    run_worker()

    with app.app_context():
        cert = db.session.get(Certificate, cert_id)
        assert cert.status == "ready", cert.error
        assert db.session.scalar(select(Notification.title).where(
            Notification.kind == "certificate")) == "Your certificate is ready: Closing 101"
    page = client.get("/partner/learning-paths").get_data(as_text=True)
    assert "Download your certificate (PDF)" in page and code in page
    resp = client.get(f"/partner/certificates/{cert_id}/download")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    TEST_OUTPUT.mkdir(exist_ok=True)
    (TEST_OUTPUT / "certificate.pdf").write_bytes(resp.data)  # to look at
    text = pdftotext(resp.data)
    flat = re.sub(r"\s+", " ", text)
    assert "CERTIFICATE OF COMPLETION" in flat
    assert "Mara Quinn" in flat and "Closing 101" in flat
    assert f"Verification code {code}" in flat
    assert f"/verify/{code}" in flat
    assert "Selling step 1" in flat and "SISO" in flat
    # the API: listed with its links, and the same file
    headers = api_token(app.test_client(), "mara@example.com")
    item = client.get("/api/partner/learning-paths", headers=headers).get_json()["items"][0]
    assert item["certificate"]["code"] == code and item["certificate"]["status"] == "ready"
    assert item["certificate"]["verify_url"].endswith(f"/verify/{code}")
    api_pdf = app.test_client().get(item["certificate"]["download_url"], headers=headers)
    assert api_pdf.status_code == 200 and api_pdf.data == resp.data

    # only the holder downloads it: another partner, staff, the API of another partner
    other = app.test_client()
    assert login(other, "otto@example.com").status_code == 302
    assert other.get(f"/partner/certificates/{cert_id}/download").status_code == 404
    staff = app.test_client()
    assert login(staff, "support@example.com").status_code == 302
    assert staff.get(f"/partner/certificates/{cert_id}/download").status_code == 404
    otto = api_token(app.test_client(), "otto@example.com")
    assert app.test_client().get(f"/api/partner/certificates/{cert_id}/download",
                                 headers=otto).status_code == 404

    # anyone verifies it, no log-in; the code as typed from paper works too
    anon = app.test_client()
    page = anon.get(f"/verify/{code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Valid certificate" in html
    assert "Mara Quinn" in html and "Closing 101" in html
    assert anon.get(f"/verify/{code.lower().replace('-', '')}").status_code == 200
    check = anon.get(f"/api/certificates/verify/{code}").get_json()
    assert check["valid"] is True and check["holder_name"] == "Mara Quinn"

    # passing a module again issues nothing more
    assert pass_module(client, ids[0]).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Certificate)) == 1


def test_unknown_codes_get_the_styled_404(client):
    for code in ("ABCD-EFGH-JKMN-PQRS", "nope", "A" * 300, "<script>"):
        resp = client.get(f"/verify/{code}")
        assert resp.status_code == 404
        html = resp.get_data(as_text=True)
        assert "There is no certificate with this code" in html
        assert 'class="card narrow error-card"' in html  # the portal's error page
    assert client.get("/api/certificates/verify/ABCD-EFGH-JKMN-PQRS").status_code == 404


def test_hourly_catch_up_issues_for_paths_created_after_the_modules_were_passed(ctx):
    from core.content.certificates import issue_missing_certificates
    from core.content.models import TrainingCompletion

    rows = modules(2)
    p = make_partner("Early Bird", email="early@example.com")
    for m in rows:
        db.session.add(TrainingCompletion(partner_id=p.id, module_id=m.id))
    db.session.commit()
    save_path(None, None, "later", "Later path", "", ["sell-1", "sell-2"])
    db.session.commit()
    assert issue_missing_certificates() == 1
    assert issue_missing_certificates() == 0
