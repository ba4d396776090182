"""Marketing resources over the API: the list with lock state, and counted downloads."""

from flask import g, jsonify, url_for

from api import api
from api.common import bearer
from core.content import resources as assets
from web.downloads import send_resource


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
    return send_resource(assets.asset_for_download(g.partner, asset_id))
