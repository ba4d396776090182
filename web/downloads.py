"""Sending a stored marketing resource to a partner, the same from a portal page and
from the API: counted, as an attachment, never sniffed or cached."""

import os

from flask import current_app, send_file

from core.base.errors import NotFound
from core.base.extensions import db
from core.content import resources


def send_resource(resource, count: bool = True):
    """Count the download (unless ``count`` is false: it was counted when its link was
    made), commit, and answer the file as an attachment (``nosniff``; an HTML template
    under a sandbox CSP). Raises ``NotFound`` when the file is gone."""
    path = resources.file_path(current_app.config["STORAGE_DIR"], resource)
    if not os.path.isfile(path):
        raise NotFound("No such resource.")
    if count:
        resources.count_download(resource)
        db.session.commit()
    resp = send_file(path, mimetype=resources.mime_type(resource), as_attachment=True,
                     download_name=resources.download_name(resource), conditional=False)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, no-store"
    if resource.file_kind == "html":
        resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp
