"""Portal pages for learning paths and certificates (with the public verification page)
and the team's bonus pools."""

from flask import g, render_template
from flask_login import current_user, login_required

from core.base.errors import NotFound
from core.content import certificates, paths
from core.engagement import pools
from portal import bp
from portal.views import partner_page
from web.downloads import send_stored


@bp.get("/partner/learning-paths")
@partner_page(active=False)
def learning_paths_page():
    """Learning paths with the partner's progress, the next module and the certificate."""
    return render_template("portal/learning_paths.html", rows=paths.paths_for(g.partner))


@bp.get("/partner/certificates/<int:certificate_id>/download")
@login_required
def certificate_download(certificate_id: int):
    """A certificate's PDF: only the partner it was issued to (404 otherwise, and while
    the worker is still making it)."""
    cert = certificates.get_certificate_for(current_user, certificate_id)
    if cert.status != "ready" or not cert.file_path:
        raise NotFound("This certificate is still being prepared; try again in a minute.")
    return send_stored(cert.file_path, mimetype="application/pdf",
                       download_name=certificates.file_name(cert))


@bp.get("/verify/<code>")
def verify_certificate(code: str):
    """Public: whether a certificate with this code exists, whose, for which path and
    when it was issued. Unknown or malformed codes get the styled 404 page."""
    cert = certificates.verify(code)
    return render_template("portal/verify.html", cert=cert)


@bp.get("/partner/bonus-pools")
@partner_page()
def bonus_pools_page():
    """The team's bonus pools: target, team total, every member's share-to-be."""
    return render_template("portal/bonus_pools.html", rows=pools.pools_for(g.partner),
                           me=g.partner.id)
