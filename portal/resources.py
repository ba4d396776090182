"""Partner resources (``/partner/resources``): marketing files by category, tier-locked
ones shown with the tier that unlocks them, counted downloads. Thin: the rules are in
``core.content.resources``."""


from flask import g, render_template

from core.content import resources as assets
from portal import bp
from portal.views import partner_page
from web.downloads import send_resource


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
    return send_resource(assets.asset_for_download(g.partner, asset_id))




