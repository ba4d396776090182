# ruff: noqa: F811  (fixtures imported from s3_fixtures are parameters by design)
"""The file store (rules: "File storage") on a real S3 server (SeaweedFS) and on a folder:
the same contract on both, statements rendered by a real worker into the bucket and
downloaded through the app (streamed or by a presigned redirect), the batch ZIP built
from the bucket, and `flask storage migrate` copying a folder into a bucket, resumable."""

import hashlib
import io
import os
import subprocess
import sys
import zipfile

import pytest
import requests
from conftest import REPO, TEST_REDIS_URL, login, make_partner, make_staff
from s3_fixtures import s3_app, seaweed  # noqa: F401 (fixtures)

from core.base.extensions import db
from core.ops.storage import FileStorage, StorageError, storage_from_url


class Generated(io.RawIOBase):
    """``size`` bytes of a repeating pattern, produced as read: never held whole."""

    def __init__(self, size: int):
        self.left, self.digest, self.biggest = size, hashlib.sha256(), 0

    def readable(self):
        return True

    def readinto(self, buf):
        n = min(len(buf), self.left)
        self.biggest = max(self.biggest, len(buf))
        chunk = (b"siso-partners-" * (n // 14 + 1))[:n]
        buf[:n] = chunk
        self.digest.update(chunk)
        self.left -= n
        return n


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path):
    if request.param == "file":
        return FileStorage(str(tmp_path / "store"))
    server = request.getfixturevalue("seaweed")
    return storage_from_url(f"s3://{server.bucket('siso-contract')}/t-{os.urandom(4).hex()}")


def test_the_store_contract(store):
    """Write, read, list, size, delete; a missing key is FileNotFoundError; a key
    reaching outside the store is refused; a 12 MB upload streams in chunks."""
    store.put_bytes("statements/1/a.pdf", b"%PDF-one")
    store.put_bytes("statements/2/b.pdf", b"%PDF-two!")
    store.put_bytes("chat/c.png", b"png")
    assert store.read_bytes("statements/1/a.pdf") == b"%PDF-one"
    assert store.exists("statements/2/b.pdf") and not store.exists("statements/3/x.pdf")
    assert store.size("statements/2/b.pdf") == 9
    assert sorted(store.keys("statements/")) == ["statements/1/a.pdf", "statements/2/b.pdf"]
    assert sorted(store.keys()) == ["chat/c.png", "statements/1/a.pdf", "statements/2/b.pdf"]
    store.put_bytes("statements/1/a.pdf", b"%PDF-replaced")
    assert store.read_bytes("statements/1/a.pdf") == b"%PDF-replaced"
    store.delete("chat/c.png")
    store.delete("chat/never-there.png")
    assert not store.exists("chat/c.png")
    with pytest.raises(FileNotFoundError):
        store.read_bytes("chat/c.png")
    for bad in ("../etc/passwd", "/abs/../../x", "a/./b", ""):
        with pytest.raises(StorageError):
            store.put_bytes(bad, b"x")
    big = Generated(12 * 1024 * 1024)
    assert store.save("big/file.bin", big) == 12 * 1024 * 1024
    assert big.biggest <= 16 * 1024 * 1024 and big.biggest < 12 * 1024 * 1024 + 1
    with store.open("big/file.bin") as fh:
        got = hashlib.sha256()
        while chunk := fh.read(1 << 20):
            got.update(chunk)
    assert got.hexdigest() == big.digest.hexdigest()
    store.check()


def test_bad_storage_urls_are_refused():
    with pytest.raises(StorageError):
        storage_from_url("ftp://host/x")
    with pytest.raises(StorageError):
        storage_from_url("s3:///no-bucket")


def local_snapshot(folder) -> dict:
    """``{relative path: (size, mtime_ns)}`` of every file under ``folder`` but the
    development mail outbox."""
    out = {}
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, folder)
            if not rel.startswith("outbox"):
                st = os.stat(path)
                out[rel] = (st.st_size, st.st_mtime_ns)
    return out


def _month_of_statements(app, staff_email="finance@example.com"):
    """Two partners with activity and a batch of this month's statements (render jobs
    queued); returns ``(batch id, {partner email: statement id})``."""
    from core.base.timeutil import now_utc
    from core.money.models import Statement
    from core.money.statement_batches import start_batch

    with app.app_context():
        staff = make_staff(staff_email, ("finance",))
        make_partner("Sia Store", email="sia@example.com", deals=2)
        make_partner("Tom Store", email="tom@example.com", deals=1)
        now = now_utc()
        batch = start_batch(now.year, now.month, staff.id)
        db.session.commit()
        rows = db.session.scalars(db.select(Statement)).all()
        return batch.id, {st.partner.user.email: st.id for st in rows}


def test_statements_live_in_the_bucket_and_download_through_the_app(app, s3_app, run_worker,
                                                                     monkeypatch):
    """A real worker renders the month's statements into the bucket (not the local
    folder) and zips them from the bucket; the partner downloads theirs streamed through
    the app, then by a presigned redirect; finance downloads the ZIP, streamed."""
    from core.money.models import Statement, StatementBatch

    batch_id, ids = _month_of_statements(app)
    local_before = local_snapshot(app.config["STORAGE_DIR"])
    run_worker()
    with app.app_context():
        st = db.session.get(Statement, ids["sia@example.com"])
        assert st.status == "ready", st.error
        key = st.file_path
        batch = db.session.get(StatementBatch, batch_id)
        assert batch.zip_status == "ready", batch.zip_error
        assert s3_app.exists(batch.zip_path)
    in_bucket = s3_app.read_bytes(key)
    assert in_bucket.startswith(b"%PDF")
    # nothing new or changed in the local folder (earlier tests of the session left files)
    assert local_snapshot(app.config["STORAGE_DIR"]) == local_before

    partner = app.test_client()
    login(partner, "sia@example.com")
    url = f"/partner/statements/{ids['sia@example.com']}/download"
    streamed = partner.get(url)
    assert streamed.status_code == 200 and streamed.data == in_bucket
    assert streamed.headers["Content-Length"] == str(len(in_bucket))
    assert "attachment" in streamed.headers["Content-Disposition"]
    other = app.test_client()
    login(other, "tom@example.com")
    assert other.get(url).status_code == 404  # the access check comes first, as before

    monkeypatch.setitem(app.config, "STORAGE_PRESIGNED_SECONDS", 60)
    redirected = partner.get(url)
    assert redirected.status_code == 302
    location = redirected.headers["Location"]
    assert location.startswith(os.environ["AWS_ENDPOINT_URL_S3"]) and "Signature" in location
    fetched = requests.get(location, timeout=10)
    assert fetched.status_code == 200 and fetched.content == in_bucket
    assert other.get(url).status_code == 404

    monkeypatch.setitem(app.config, "STORAGE_PRESIGNED_SECONDS", 0)
    finance = app.test_client()
    login(finance, "finance@example.com")
    z = finance.get(f"/admin/statement-batches/{batch_id}/zip")
    assert z.status_code == 200 and z.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(z.data)) as zf:
        names = zf.namelist()
        assert len(names) == 2
        assert in_bucket in [zf.read(n) for n in names]


def test_readyz_checks_the_bucket(app, client, s3_app, monkeypatch):
    """/readyz names the S3 store; a bucket that does not exist makes the node not ready."""
    body = client.get("/readyz").get_json()
    assert body["checks"]["storage"] == {**body["checks"]["storage"], "ok": True,
                                         "backend": "s3"}
    monkeypatch.setitem(app.extensions, "siso_storage",
                        storage_from_url("s3://no-such-bucket-here/x"))
    resp = client.get("/readyz")
    assert resp.status_code == 503 and resp.get_json()["checks"]["storage"]["ok"] is False


def test_storage_migrate_copies_a_folder_and_resumes(seaweed, tmp_path, db_url):
    """`flask storage migrate` copies every file of the old folder into the bucket under
    the same key (not the development mail outbox); run again after a stop, it copies
    only what is missing."""
    src = tmp_path / "old-files"
    files = {"statements/4/statement-2026-11-v1-9.pdf": b"%PDF-1 nine",
             "assets/" + "a" * 32 + ".pdf": b"%PDF asset",
             "branding/4/logo-abc.png": b"\x89PNG logo",
             "chat/x.png": b"\x89PNG chat"}
    for key, data in files.items():
        (src / key).parent.mkdir(parents=True, exist_ok=True)
        (src / key).write_bytes(data)
    (src / "outbox").mkdir()
    (src / "outbox" / "mail.eml").write_text("not migrated")
    bucket = seaweed.bucket("siso-migrate")
    url = f"s3://{bucket}/m-{os.urandom(4).hex()}"
    target = storage_from_url(url)
    target.put_bytes("chat/x.png", b"\x89PNG chat")  # copied before a stop

    def migrate():
        env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=TEST_REDIS_URL,
                   STORAGE_DIR=str(src), STORAGE_URL=url, PYTHONPATH=str(REPO),
                   SECRET_KEY="x" * 40, PYTHONWARNINGS="ignore")
        run = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "storage",
                              "migrate"], env=env, cwd=str(REPO), capture_output=True,
                             timeout=120)
        assert run.returncode == 0, run.stderr.decode()[-2000:]
        return run.stdout.decode()

    out = migrate()
    assert "3 copied" in out and "1 already there" in out
    assert sorted(target.keys()) == sorted(files)
    for key, data in files.items():
        assert target.read_bytes(key) == data
    assert "0 copied" in migrate() and "4 already there" in migrate()
