"""Recording a download from the app (rules: "Resource downloads"):
``POST /api/partner/resources/download`` counts one download and answers a link that the
phone's downloader fetches without a login for 10 minutes, without counting again. The
link is checked again when fetched; old, altered or orphaned links get nothing."""

import time

from conftest import api_token, make_partner, make_staff_once
from itsdangerous.timed import TimestampSigner
from test_resources import image_bytes, stored_pdf, upload

from core.base.extensions import db
from core.content import resources
from core.content.models import Resource


def _library(app):
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        ids = {"pdf": upload(title="Service overview").id,
               "elite": upload(title="Elite pricing", tier="elite", filename="e.png",
                               data=image_bytes("PNG")).id}
        db.session.remove()
    return ids


def count(app, rid) -> int:
    with app.app_context():
        n = db.session.get(Resource, rid).download_count
        db.session.remove()
        return n


def test_the_link_fetches_the_file_once_counted(app, client):
    ids = _library(app)
    token = api_token(client, "sarah@example.com")
    resp = client.post("/api/partner/resources/download", headers=token,
                       json={"resource_id": ids["pdf"]})
    assert resp.status_code == 200, resp.get_json()
    link = resp.get_json()
    assert link["filename"] == "Service-overview.pdf"
    assert link["content_type"] == "application/pdf" and link["size_bytes"] == len(stored_pdf())
    assert link["download_url"].startswith("http://localhost/api/partner/resources/files/")
    assert count(app, ids["pdf"]) == 1

    fetched = app.test_client().get(link["download_url"])  # no Authorization header
    assert fetched.status_code == 200 and fetched.data == stored_pdf()
    assert fetched.headers["Content-Disposition"].startswith("attachment;")
    assert fetched.headers["Cache-Control"] == "private, no-store"
    assert count(app, ids["pdf"]) == 1  # the link does not count again

    # the direct download stays, and counts
    assert client.get(f"/api/partner/resources/{ids['pdf']}/download",
                      headers=token).status_code == 200
    assert count(app, ids["pdf"]) == 2


def test_locked_unknown_and_bad_requests_count_nothing(app, client):
    ids = _library(app)
    token = api_token(client, "sarah@example.com")
    resp = client.post("/api/partner/resources/download", headers=token,
                       json={"resource_id": ids["elite"]})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "tier_locked"
    for body in ({"resource_id": 987654}, {}, {"resource_id": "1"}):
        resp = client.post("/api/partner/resources/download", headers=token, json=body)
        assert resp.status_code == 404, body
        assert resp.get_json()["error"]["message"] == "No such resource."
    assert count(app, ids["elite"]) == 0 and count(app, ids["pdf"]) == 0


def test_old_altered_and_orphaned_links_fetch_nothing(app, client, monkeypatch):
    ids = _library(app)
    token = api_token(client, "sarah@example.com")

    def link() -> str:
        return client.post("/api/partner/resources/download", headers=token,
                           json={"resource_id": ids["pdf"]}).get_json()["download_url"]

    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 601)
    old = link()
    monkeypatch.undo()
    resp = client.get(old)
    assert resp.status_code == 410
    assert resp.get_json()["error"]["message"].startswith("This download link has expired")

    fresh = link()
    assert client.get(fresh[:-3] + "abc").status_code == 404
    assert client.get(fresh.rsplit("/", 1)[0] + "/not-a-link").status_code == 404

    with app.app_context():  # the resource is withdrawn: its links die with it
        resources.set_active([ids["pdf"]], make_staff_once().id, False)
        db.session.commit()
    resp = client.get(fresh)
    assert resp.status_code == 404 and resp.get_json()["error"]["message"] == "No such resource."
