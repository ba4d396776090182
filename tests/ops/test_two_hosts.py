"""Two hosts on one bucket (rules: "File storage"): two web processes and two workers,
each with its own empty local folder, sharing the database, Redis and one S3 bucket
(SeaweedFS). A resource uploaded through web B is co-branded by worker A and downloads
through web B; statements rendered by worker A download through web B and worker B zips
them; nothing lands in any local folder."""

import io
import os
import subprocess
import sys
import zipfile

import requests
from conftest import REPO, TEST_REDIS_URL, csrf_from, make_partner, make_staff, minimal_pdf
from s3_fixtures import seaweed  # noqa: F401 (fixture)
from servers import base_env, start_web, stop

from core.base.extensions import db

PASSWORD = "correct-horse-battery"


def local_files(folder) -> list[str]:
    """Files under ``folder`` other than the development mail outbox (production sends
    mail over SMTP: rules: "E-mail")."""
    out = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), folder)
            if not rel.startswith("outbox" + os.sep):
                out.append(rel)
    return out


def run_worker(env) -> None:
    """One worker process (`flask worker --burst`) until the queues are empty."""
    run = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
                         env=env, cwd=str(REPO), capture_output=True, timeout=180)
    assert run.returncode == 0, run.stderr.decode()[-3000:]


def browser(base: str, email: str) -> requests.Session:
    """A logged-in session on ``base`` (the log-in form, CSRF token included)."""
    s = requests.Session()
    page = s.get(f"{base}/login", timeout=10).text
    resp = s.post(f"{base}/login", data={"email": email, "password": PASSWORD,
                                         "csrf_token": csrf_from(page)},
                  allow_redirects=False, timeout=10)
    assert resp.status_code == 302, resp.text[-500:]
    return s


def test_two_hosts_share_one_bucket(app, db_url, seaweed, tmp_path):  # noqa: F811 (fixture)
    from core.base.timeutil import now_utc
    from core.content.models import MaterialRender, Resource
    from core.money.models import Statement, StatementBatch
    from core.money.statement_batches import rebuild_zip, start_batch
    from core.ops.storage import storage_from_url

    url = f"s3://{seaweed.bucket('siso-hosts')}/h-{os.urandom(4).hex()}"
    store = storage_from_url(url)
    folders = {n: tmp_path / n for n in ("web-a", "web-b", "worker-a", "worker-b")}
    for f in folders.values():
        f.mkdir()
    env = {n: base_env(db_url, TEST_REDIS_URL, str(f), STORAGE_URL=url)
           for n, f in folders.items()}
    with app.app_context():
        make_staff("content@example.com", ("content",))
        finance = make_staff("finance@example.com", ("finance",))
        make_partner("Hana Hosts", email="hana@example.com", deals=2)
        finance_id = finance.id
    web_a, pa = start_web(env["web-a"])
    web_b, pb = start_web(env["web-b"])
    try:
        # content staff upload a co-brandable PDF through web B
        staff = browser(web_b, "content@example.com")
        page = staff.get(f"{web_b}/admin/resources/upload", timeout=10).text
        up = staff.post(f"{web_b}/admin/resources/upload", allow_redirects=False, timeout=30,
                        data={"csrf_token": csrf_from(page), "title": "Two-host brochure",
                              "category": "brochure", "min_tier_key": "starter",
                              "co_brandable": "y", "description": ""},
                        files={"file": ("brochure.pdf", minimal_pdf(), "application/pdf")})
        assert up.status_code == 302, up.text[-800:]
        with app.app_context():
            resource = db.session.scalar(db.select(Resource))
            assert store.exists(f"assets/{resource.stored_name}")
            resource_id = resource.id

        # the partner asks web A for a co-branded copy; worker A makes it from the bucket
        partner = browser(web_a, "hana@example.com")
        page = partner.get(f"{web_a}/partner/resources", timeout=10).text
        asked = partner.post(f"{web_a}/partner/resources/{resource_id}/cobrand",
                             data={"csrf_token": csrf_from(page)}, allow_redirects=False,
                             timeout=10)
        assert asked.status_code == 303
        run_worker(env["worker-a"])
        with app.app_context():
            render = db.session.scalar(db.select(MaterialRender))
            assert render.status == "ready", render.error
            render_id, render_key = render.id, render.file_path
        got = partner.get(f"{web_b}/partner/materials/renders/{render_id}/download", timeout=10)
        assert got.status_code == 200 and got.content == store.read_bytes(render_key)
        assert got.content.startswith(b"%PDF")

        # a month of statements: worker A renders, web B serves, worker B zips
        with app.app_context():
            now = now_utc()
            batch_id = start_batch(now.year, now.month, finance_id).id
            db.session.commit()
        run_worker(env["worker-a"])
        with app.app_context():
            st = db.session.scalar(db.select(Statement))
            assert st.status == "ready", st.error
            st_id, st_key = st.id, st.file_path
        pdf = partner.get(f"{web_b}/partner/statements/{st_id}/download", timeout=10)
        assert pdf.status_code == 200 and pdf.content == store.read_bytes(st_key)
        with app.app_context():
            batch = db.session.get(StatementBatch, batch_id)
            zip_key = batch.zip_path
            # worker A zipped it already; make worker B build it again from the bucket,
            # as after a failed build (the back office's "rebuild ZIP")
            store.delete(zip_key)
            batch.zip_status = "failed"
            db.session.commit()
            rebuild_zip(batch_id, finance_id)
            db.session.commit()
        run_worker(env["worker-b"])
        with app.app_context():
            assert db.session.get(StatementBatch, batch_id).zip_status == "ready"
        with zipfile.ZipFile(io.BytesIO(store.read_bytes(zip_key))) as zf:
            assert [zf.read(n) for n in zf.namelist()] == [pdf.content]
    finally:
        stop(pa, pb)
    for name, folder in folders.items():
        assert local_files(folder) == [], f"{name} wrote to its local folder"
