"""Learning paths, certificates (download, public verification), partner of the month and
team bonus pools over the API."""

from flask import g, url_for

from api import api
from api.common import bearer, path_rows
from api.spec import operation
from core.base.errors import NotFound
from core.base.extensions import db
from core.content import certificates, paths
from core.content.path_schemas import (
    CertificateCheck,
    CertificateShape,
    LearningPath,
    LearningPathPage,
    PathStep,
)
from core.engagement import pools, spotlight
from core.engagement.spotlight_schemas import (
    BonusPool,
    BonusPoolPage,
    ConfirmSpotlight,
    Spotlight,
    SpotlightCard,
    SpotlightMonth,
    SpotlightMonthPage,
)
from web.downloads import send_stored

PDF = {"application/pdf": {"type": "string", "format": "binary"}}


def _certificate(c) -> CertificateShape | None:
    if c is None:
        return None
    return CertificateShape(
        id=c.id, code=c.code, status=c.status, issued_at=c.issued_at,
        verify_url=url_for("portal.verify_certificate", code=c.code, _external=True),
        download_url=url_for("api.api_certificate_download", certificate_id=c.id)
        if c.status == "ready" else None)


@api.get("/partner/learning-paths")
@bearer(active=False)
@operation(200, LearningPathPage)
def api_learning_paths():
    """Learning paths with your progress and certificates"""
    items = []
    for r in paths.paths_for(g.partner):
        p = r["path"]
        items.append(LearningPath(
            id=p.id, slug=p.slug, title=p.title, description=p.description, done=r["done"],
            total=r["total"], percent=r["percent"],
            next_module_id=r["next_module"].id if r["next_module"] else None,
            steps=[PathStep(position=i, module_id=s["module"].id, title=s["module"].title,
                            completed=s["completed"], unlocked=s["unlocked"])
                   for i, s in enumerate(r["steps"], 1)],
            certificate=_certificate(r["certificate"])))
    return LearningPathPage(items=items)


def _own_certificate(certificate_id: int):
    return certificates.get_certificate_for(g.user, certificate_id)


@api.get("/partner/certificates/<int:certificate_id>/download")
@bearer(active=False)
@path_rows(cert=_own_certificate)
@operation(200, None, content=PDF)
def api_certificate_download(cert):
    """Download your certificate (PDF)

    404 for a certificate that is not yours, and while the worker is still making it."""
    if cert.status != "ready" or not cert.file_path:
        raise NotFound("This certificate is still being prepared; try again in a minute.")
    return send_stored(cert.file_path, mimetype="application/pdf",
                       download_name=certificates.file_name(cert))


@api.get("/certificates/verify/<code>")
@operation(200, CertificateCheck, auth=False, errors=(404,))
def api_verify_certificate(code: str):
    """Check a certificate by its code (public)

    The code as printed (any case, with or without hyphens); unknown codes are 404."""
    c = certificates.verify(code)
    return CertificateCheck(code=c.code, valid=True, holder_name=c.holder_name,
                            path_title=c.path_title, issued_at=c.issued_at)


@api.get("/spotlight")
@bearer(active=False)
@operation(200, Spotlight)
def api_spotlight():
    """The partner of the month on the dashboards (null when none)"""
    card = spotlight.current()
    return Spotlight(spotlight=SpotlightCard(**card) if card else None)


@api.get("/staff/spotlight")
@bearer(kind="staff", roles=("admin",))
@operation(200, SpotlightMonthPage)
def api_staff_spotlight():
    """Proposed partners of the month, newest month first (admins)"""
    return SpotlightMonthPage(items=[SpotlightMonth.of(m) for m in spotlight.months()])


@api.post("/staff/spotlight/<int:month_id>/confirm")
@bearer(kind="staff", roles=("admin",))
@operation(200, SpotlightMonth, errors=(404, 409))
def api_staff_spotlight_confirm(month_id: int, json: ConfirmSpotlight):
    """Confirm a month's partner of the month (admins)

    Once per month (409 after); the partner must be one of the month's candidates (422).
    Announced in #announcements, badge awarded, audited."""
    month = spotlight.confirm(g.user, month_id, json.partner_id, json.citation)
    db.session.commit()
    return SpotlightMonth.of(month)


@api.get("/partner/bonus-pools")
@bearer()
@operation(200, BonusPoolPage)
def api_bonus_pools():
    """Your team's bonus pools with every member's share-to-be"""
    return BonusPoolPage(items=[BonusPool.of(s) for s in pools.pools_for(g.partner)])
