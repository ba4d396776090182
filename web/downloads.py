"""Answering stored files (rules: "File storage"): after the view's access check, a file is
streamed from the file store, or, with ``STORAGE_PRESIGNED_SECONDS`` set and an S3 store,
the browser is redirected to a presigned URL of that life. Marketing resources are sent
the same from a portal page and from the API: counted, as an attachment, never sniffed or
cached."""

from flask import current_app, redirect, send_file

from core.base.errors import NotFound
from core.base.extensions import db
from core.content import resources
from core.ops.storage import FileStorage, get_storage


def send_stored(key: str, *, mimetype: str, download_name: str, as_attachment: bool = True,
                presign: bool = True, conditional: bool = True, headers: dict | None = None):
    """The answer for the stored file ``key`` (access already checked by the caller).

    ``presign`` False keeps the file on the app's origin even when presigned redirects are
    on (files whose answer needs the app's own headers: a sandbox CSP). ``headers`` are
    added to the streamed answer; ``conditional`` (a folder store only) answers Range and
    If-None-Match requests. Raises ``NotFound`` when the store has no such file."""
    store = get_storage()
    seconds = current_app.config.get("STORAGE_PRESIGNED_SECONDS") or 0
    if presign and seconds > 0:
        url = store.presigned_url(key, download_name, mimetype, seconds,
                                  inline=not as_attachment)
        if url:
            if not store.exists(key):
                raise NotFound("That file is not there any more.")
            resp = redirect(url, 302)
            resp.headers["Cache-Control"] = "private, no-store"
            resp.headers["Referrer-Policy"] = "no-referrer"
            return resp
    if isinstance(store, FileStorage):
        path = store.path(key)
        try:
            resp = send_file(path, mimetype=mimetype, as_attachment=as_attachment,
                             download_name=download_name, conditional=conditional,
                             max_age=0)
        except FileNotFoundError:
            raise NotFound("That file is not there any more.") from None
    else:
        try:
            size = store.size(key)
            body = store.open(key)
        except FileNotFoundError:
            raise NotFound("That file is not there any more.") from None
        # werkzeug streams a file object in blocks; the object is never read whole
        resp = send_file(body, mimetype=mimetype, as_attachment=as_attachment,
                         download_name=download_name, conditional=False, max_age=0)
        resp.headers["Content-Length"] = str(size)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def send_resource(resource, count: bool = True):
    """Count the download (unless ``count`` is false: it was counted when its link was
    made), commit, and answer the file as an attachment (``nosniff``; an HTML template
    under a sandbox CSP, never presigned). Raises ``NotFound`` when the file is gone."""
    key = resources.storage_key(resource)
    if not get_storage().exists(key):
        raise NotFound("No such resource.")
    if count:
        resources.count_download(resource)
        db.session.commit()
    headers = {"Cache-Control": "private, no-store"}
    if resource.file_kind == "html":
        headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return send_stored(key, mimetype=resources.mime_type(resource),
                       download_name=resources.download_name(resource),
                       presign=resource.file_kind != "html", conditional=False,
                       headers=headers)
