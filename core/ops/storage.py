"""One storage interface for every file the app writes or serves (rules: "File storage").

``STORAGE_URL`` picks the backend: ``file:///path`` (a local folder; the default is
``STORAGE_DIR``) or ``s3://bucket/prefix`` (any S3-compatible store through boto3, set up
by boto3's own variables: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_REGION``, ``AWS_ENDPOINT_URL_S3``). Keys are relative paths with ``/``
(``statements/12.pdf``), the same strings the tables store, so moving from a folder to a
bucket is a copy (``flask storage migrate``), not a data migration.
"""

import os
import tempfile
from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import urlsplit

from flask import current_app

#: Bytes read or written at a time when streaming.
CHUNK = 256 * 1024


class StorageError(Exception):
    """A key that is not a clean relative path, or a store that does not answer."""


def clean_key(key: str) -> str:
    """``key`` as a clean relative path; raises ``StorageError`` for an absolute path, a
    ``..`` part or an empty key (keys come from rows, never from a request, but a bad one
    must not reach outside the store)."""
    key = key.replace("\\", "/").strip("/")
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") for p in parts):
        raise StorageError(f"bad storage key {key!r}")
    return key


class Storage:
    """What every backend offers. ``scheme`` is ``file`` or ``s3``."""

    scheme = ""

    def save(self, key: str, stream: BinaryIO) -> int:
        """Write ``stream`` (read in chunks, never whole) to ``key``, replacing it
        atomically; returns the bytes written."""
        raise NotImplementedError

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write ``data`` to ``key`` (small files: logos, PDFs just rendered)."""
        import io

        self.save(key, io.BytesIO(data))

    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of ``key``; raises ``FileNotFoundError``."""
        raise NotImplementedError

    def read_bytes(self, key: str) -> bytes:
        """The whole file (small files only); raises ``FileNotFoundError``."""
        with self.open(key) as fh:
            return fh.read()

    def exists(self, key: str) -> bool:
        """True when ``key`` holds a file."""
        raise NotImplementedError

    def size(self, key: str) -> int:
        """Bytes in ``key``; raises ``FileNotFoundError``."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""
        raise NotImplementedError

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under ``prefix`` (``""``: all)."""
        raise NotImplementedError

    def check(self) -> None:
        """Raise when the store cannot be used (readiness probe)."""
        raise NotImplementedError

    def presigned_url(self, key: str, filename: str, mimetype: str, seconds: int,
                      inline: bool = False) -> str | None:
        """A URL that serves ``key`` for ``seconds`` without the app (as an attachment
        named ``filename``, or ``inline``), or None when the backend cannot make one (a
        local folder)."""
        return None


class FileStorage(Storage):
    """Files in a local folder (one machine, or a shared mount)."""

    scheme = "file"

    def __init__(self, root: str):
        self.root = os.path.abspath(root)

    def path(self, key: str) -> str:
        """The local path of ``key``."""
        return os.path.join(self.root, *clean_key(key).split("/"))

    def save(self, key, stream):
        path = self.path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".part-")
        written = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    out.write(chunk)
                    written += len(chunk)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return written

    def open(self, key):
        return open(self.path(key), "rb")

    def exists(self, key):
        return os.path.isfile(self.path(key))

    def size(self, key):
        return os.path.getsize(self.path(key))

    def delete(self, key):
        try:
            os.unlink(self.path(key))
        except FileNotFoundError:
            pass

    def keys(self, prefix=""):
        base = self.root
        for folder, _dirs, files in os.walk(base):
            for name in sorted(files):
                if name.startswith(".part-"):
                    continue
                rel = os.path.relpath(os.path.join(folder, name), base).replace(os.sep, "/")
                if rel.startswith(prefix):
                    yield rel

    def check(self):
        os.makedirs(self.root, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise StorageError(f"{self.root} is not writable")


class S3Storage(Storage):
    """Objects in an S3 bucket under ``prefix`` (boto3's standard settings)."""

    scheme = "s3"

    def __init__(self, bucket: str, prefix: str = ""):
        import boto3
        from botocore.config import Config as BotoConfig

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client = boto3.client("s3", config=BotoConfig(
            connect_timeout=3, read_timeout=30, retries={"max_attempts": 3},
            s3={"addressing_style": "path"}))

    def _key(self, key: str) -> str:
        key = clean_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def save(self, key, stream):
        counted = _Counting(stream)
        # upload_fileobj streams in parts (multipart above 8 MB): never the whole file
        self.client.upload_fileobj(counted, self.bucket, self._key(key))
        return counted.count

    def open(self, key):
        from botocore.exceptions import ClientError

        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from None
            raise
        return obj["Body"]

    def _head(self, key):
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise

    def exists(self, key):
        return self._head(key) is not None

    def size(self, key):
        head = self._head(key)
        if head is None:
            raise FileNotFoundError(key)
        return head["ContentLength"]

    def delete(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def keys(self, prefix=""):
        full = self._key(prefix) if prefix else (self.prefix + "/" if self.prefix else "")
        skip = len(self.prefix) + 1 if self.prefix else 0
        for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full):
            for obj in page.get("Contents", []):
                yield obj["Key"][skip:]

    def check(self):
        self.client.head_bucket(Bucket=self.bucket)

    def presigned_url(self, key, filename, mimetype, seconds, inline=False):
        from urllib.parse import quote

        kind = "inline" if inline else "attachment"
        return self.client.generate_presigned_url("get_object", Params={
            "Bucket": self.bucket, "Key": self._key(key),
            "ResponseContentType": mimetype,
            "ResponseContentDisposition": f"{kind}; filename*=UTF-8''{quote(filename)}"},
            ExpiresIn=seconds)


class _Counting:
    """A read-only stream wrapper that counts the bytes read through it."""

    def __init__(self, stream):
        self.stream, self.count = stream, 0

    def read(self, n=-1):
        data = self.stream.read(n)
        self.count += len(data)
        return data


def storage_from_url(url: str) -> Storage:
    """The backend for ``url`` (``file:///path`` or ``s3://bucket/prefix``); raises
    ``StorageError`` for any other scheme or a bucket-less ``s3://``."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileStorage(parts.path)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise StorageError(f"STORAGE_URL {url!r} names no bucket")
        return S3Storage(parts.netloc, parts.path)
    raise StorageError(f"STORAGE_URL must start with file:// or s3://, got {url!r}")


def get_storage() -> Storage:
    """The current app's store: ``STORAGE_URL``, else the folder ``STORAGE_DIR``; one
    per app (its boto3 client is thread-safe)."""
    app = current_app._get_current_object()
    store = app.extensions.get("siso_storage")
    if store is None:
        url = app.config.get("STORAGE_URL") or f"file://{os.path.abspath(app.config['STORAGE_DIR'])}"
        store = storage_from_url(url)
        app.extensions["siso_storage"] = store
    return store



#: Folders of ``STORAGE_DIR`` that are not files of the app (the development mail outbox).
NOT_MIGRATED = ("outbox/",)


def migrate_folder(source: str, target: Storage, log=None) -> dict:
    """Copy every file under the folder ``source`` into ``target`` under the same key
    (``flask storage migrate``). Resumable: a key the target already holds with the same
    size is skipped, so a run stopped half-way is simply run again; each copy is streamed
    and atomic on the target. Files of :data:`NOT_MIGRATED` folders and partial files are
    left out. Returns ``{"copied", "skipped", "bytes"}``; ``log`` (optional) is called
    with each key copied."""
    src = FileStorage(source)
    done = {"copied": 0, "skipped": 0, "bytes": 0}
    for key in src.keys():
        if key.startswith(NOT_MIGRATED):
            continue
        size = src.size(key)
        if target.exists(key) and target.size(key) == size:
            done["skipped"] += 1
            continue
        with src.open(key) as fh:
            done["bytes"] += target.save(key, fh)
        done["copied"] += 1
        if log:
            log(key)
    return done
