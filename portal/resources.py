"""Partner resources (issue 5 "/partner/resources"): marketing assets by category,
tier-locked ones shown with the tier that unlocks them, counted downloads; and the same
over the JSON API. Thin: the rules are in ``core.content.resources``."""

import os

from flask import current_app, g, jsonify, render_template, send_file, url_for

from core.base.errors import NotFound
from core.base.extensions import db
from core.content import resources as assets
from portal import api, bp
from portal.api_views import bearer
from portal.views import partner_page


def _send(asset):
    """Count the download, commit, and answer the file as an attachment (nosniff)."""
    path = assets.file_path(current_app.config["STORAGE_DIR"], asset)
    if not os.path.isfile(path):
        raise NotFound("No such resource.")
    assets.count_download(asset)
    db.session.commit()
    resp = send_file(path, mimetype=assets.mime_type(asset), as_attachment=True,
                     download_name=assets.download_name(asset), conditional=False)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, no-store"
    if asset.file_kind == "html":
        resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp


@bp.get("/partner/resources")
@partner_page()
def resources_page():
    """Assets by category; locked ones show the tier that unlocks them."""
    return render_template("portal/resources.html", groups=assets.resources_for(g.partner),
                           kinds=assets.KINDS)


@bp.get("/partner/resources/<int:asset_id>/download")
@partner_page()
def resource_download(asset_id: int):
    """Download one asset: 404 unknown or inactive, 403 with a message when tier-locked."""
    return _send(assets.asset_for_download(g.partner, asset_id))


@api.get("/partner/resources")
@bearer()
def api_resources():
    """Active assets with lock state; ``download_url`` only on unlocked ones."""
    items = [assets.asset_json(item, url_for("api.api_resource_download",
                                              asset_id=item["asset"].id))
             for group in assets.resources_for(g.partner) for item in group["items"]]
    return jsonify(items=items, next_cursor=None)


@api.get("/partner/resources/<int:asset_id>/download")
@bearer()
def api_resource_download(asset_id: int):
    """The file (counted), as on the portal page."""
    return _send(assets.asset_for_download(g.partner, asset_id))
