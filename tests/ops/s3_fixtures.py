"""Fixtures of the storage tests (imported by their modules): a real S3 server (SeaweedFS)
and the app switched to a bucket of it for one test."""

import os
import uuid

import pytest
from seaweed import Seaweed


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory):
    """One SeaweedFS server for the session, with boto3's variables set in this process
    (and so in the processes it starts)."""
    server = Seaweed(str(tmp_path_factory.mktemp("seaweed")))
    saved = {k: os.environ.get(k) for k in server.env}
    os.environ.update(server.env)
    yield server
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    server.stop()


@pytest.fixture
def s3_app(app, seaweed, monkeypatch):
    """The session's app with its file store in a fresh bucket prefix of SeaweedFS; the
    local STORAGE_DIR stays as it was. Yields the store."""
    from core.ops.storage import storage_from_url

    bucket = seaweed.bucket("siso-tests")
    url = f"s3://{bucket}/run-{uuid.uuid4().hex[:12]}"
    store = storage_from_url(url)
    monkeypatch.setitem(app.config, "STORAGE_URL", url)
    monkeypatch.setitem(app.extensions, "siso_storage", store)
    yield store
