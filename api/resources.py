"""Marketing resources over the API: the list with lock state, and counted downloads."""

from flask import g, url_for

from api import api
from api.common import bearer
from api.spec import operation
from core.content import resources
from core.content.schemas import DOWNLOAD, Resource, ResourcePage
from web.downloads import send_resource


@api.get("/partner/resources")
@bearer()
@operation(200, ResourcePage)
def api_resources():
    """Active marketing resources with their lock state

    Newest first by category; download_url only on unlocked ones."""
    items = [Resource.of(item, url_for("api.api_resource_download", resource_id=item["resource"].id))
             for group in resources.resources_for(g.partner) for item in group["items"]]
    return ResourcePage(items=items)


@api.get("/partner/resources/<int:resource_id>/download")
@bearer()
@operation(200, None, content=DOWNLOAD)
def api_resource_download(resource_id: int):
    """Download an resource (counted)

    The file as stored, as an attachment. 403 tier_locked names the tier that unlocks
    it; 404 for unknown or inactive resources."""
    return send_resource(resources.resource_for_download(g.partner, resource_id))
