"""Partner resources (``/partner/resources``): marketing files by category, tier-locked
ones shown with the tier that unlocks them, counted downloads. Thin: the rules are in
``core.content.resources``."""


from flask import g, render_template

from core.content import resources
from portal import bp
from portal.views import partner_page
from web.downloads import send_resource


@bp.get("/partner/resources")
@partner_page()
def resources_page():
    """Resources by category; locked ones show the tier that unlocks them."""
    return render_template("portal/resources.html", groups=resources.resources_for(g.partner),
                           kinds=resources.KINDS)


@bp.get("/partner/resources/<int:resource_id>/download")
@partner_page()
def resource_download(resource_id: int):
    """Download one resource: 404 unknown or inactive, 403 with a message when tier-locked."""
    return send_resource(resources.resource_for_download(g.partner, resource_id))




