"""Partner resources (``/partner/resources``): marketing files by category, tier-locked
ones shown with the tier that unlocks them, counted downloads. Thin: the rules are in
``core.content.resources``."""


from flask import flash, g, redirect, render_template, url_for
from flask_login import current_user

from core.content import resources
from core.content.materials import request_cobranded_resource
from portal import bp
from portal.forms import EmptyForm
from portal.views import _commit_or_flash, partner_page
from web.downloads import send_resource


@bp.get("/partner/resources")
@partner_page()
def resources_page():
    """Resources by category; locked ones show the tier that unlocks them."""
    return render_template("portal/resources.html", groups=resources.resources_for(g.partner),
                           kinds=resources.KINDS, cobrand_kinds=resources.COBRAND_KINDS, form=EmptyForm())


@bp.get("/partner/resources/<int:resource_id>/download")
@partner_page()
def resource_download(resource_id: int):
    """Download one resource: 404 unknown or inactive, 403 with a message when tier-locked."""
    return send_resource(resources.resource_for_download(g.partner, resource_id))


@bp.post("/partner/resources/<int:resource_id>/cobrand")
@partner_page()
def resource_cobrand(resource_id: int):
    """Ask for a co-branded PDF of a co-brandable resource (rules: "Co-branded
    resources"); it is made in the background and listed on the materials page."""
    if EmptyForm().validate_on_submit():
        result = _commit_or_flash(lambda: request_cobranded_resource(
            g.partner, current_user.id, resource_id,
            url_for("portal.referral_landing", code=g.partner.referral_code, _external=True)))
        if result is not None:
            row, queued = result
            flash(f"Your co-branded {row.resource.title} is being made; we will tell you when "
                  "it is ready." if queued else f"{row.title}: "
                  + ("ready below." if row.status == "ready" else "already being made."),
                  "success")
            return redirect(url_for("portal.materials") + "#renders"), 303
    return redirect(url_for("portal.resources_page")), 303

