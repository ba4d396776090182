"""Marketing resources and co-branded materials over the API: the library with lock
state, counted downloads (directly, or as a short-lived link for the phone's downloader),
and co-branded PDFs of templates and co-brandable resources, made by the worker and
polled until ready."""

from flask import g, url_for

from api import api
from api.common import bearer, path_rows
from api.spec import operation
from core.base.errors import NotFound, ValidationError
from core.base.extensions import db
from core.content import materials, resources
from core.content.schemas import (
    DOWNLOAD,
    Customize,
    DownloadLink,
    DownloadRequest,
    Materials,
    MaterialTemplate,
    Render,
    Resource,
    ResourcePage,
)
from web.downloads import send_resource, send_stored

PDF = {"application/pdf": {"type": "string", "format": "binary"}}


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
    """Download a resource (counted)

    The file as stored, as an attachment. 403 tier_locked names the tier that unlocks
    it; 404 for unknown or inactive resources."""
    return send_resource(resources.resource_for_download(g.partner, resource_id))


@api.post("/partner/resources/download")
@bearer()
@operation(200, DownloadLink, errors=(404,))
def api_resource_download_link(json: DownloadRequest):
    """Record a download and get a link to the file

    Counts one download now and answers a link that fetches the file without a login
    for 10 minutes, for the phone's downloader or share sheet (it does not count again).
    403 tier_locked, 404 unknown or inactive."""
    resource, token, expires_at = resources.download_link_token(g.partner, json.resource_id)
    db.session.commit()
    return DownloadLink(resource_id=resource.id, title=resource.title,
                        filename=resources.download_name(resource),
                        content_type=resources.mime_type(resource),
                        size_bytes=resource.size_bytes,
                        download_url=url_for("api.api_resource_file", token=token,
                                             _external=True),
                        expires_at=expires_at)


@api.get("/partner/resources/files/<token>")
@operation(200, None, auth=False, errors=(403, 404, 410), content=DOWNLOAD)
def api_resource_file(token: str):
    """Fetch a file by its download link

    No login: the link itself is the permission, for 10 minutes (410 link_expired
    after), checked again now (404 when the resource or the partner's access is gone,
    403 when their tier no longer unlocks it)."""
    return send_resource(resources.resource_for_link(token), count=False)


def _render(row) -> Render:
    ready = row.status == "ready"
    return Render(id=row.id, status=row.status, title=row.title, template_id=row.template_id,
                  resource_id=row.resource_id, pages=row.pages, size_bytes=row.size_bytes,
                  error=row.error, created_at=row.created_at, rendered_at=row.rendered_at,
                  status_url=url_for("api.api_render", render_id=row.id),
                  download_url=url_for("api.api_render_download", render_id=row.id)
                  if ready else None)


@api.get("/partner/materials")
@bearer()
@operation(200, Materials)
def api_materials():
    """Material templates and your co-branded PDFs

    Templates for every tier (allowed false while locked); your PDFs newest first."""
    templates = [MaterialTemplate(id=t["template"].id, name=t["template"].name,
                                  kind=t["template"].kind,
                                  description=t["template"].description,
                                  white_label=t["template"].white_label, allowed=t["allowed"],
                                  unlocks_at=t["tier"])
                 for t in materials.templates_for(g.partner)]
    return Materials(templates=templates,
                     renders=[_render(r) for r in materials.partner_renders(g.partner.id)])


@api.post("/partner/resources/customize")
@bearer()
@operation(202, Render, errors=(404, 409))
def api_customize(json: Customize):
    """Co-brand a material template or a co-brandable resource

    Queues a PDF with your branding and a QR code of your referral link, and answers at
    once with its id and status_url to poll. The same content asked again answers the
    stored PDF. 403 while tier-locked; 409 not_co_brandable for a resource that is not
    (or is not a PDF or image)."""
    sent = json.sent()
    if len(sent) != 1:
        raise ValidationError("Send template_id or resource_id (exactly one of them).")
    referral = url_for("portal.referral_landing", code=g.partner.referral_code, _external=True)
    if "template_id" in sent:
        row, _queued = materials.request_material(g.partner, g.user.id, sent["template_id"],
                                                  referral)
    else:
        row, _queued = materials.request_cobranded_resource(
            g.partner, g.user.id, sent["resource_id"], referral)
    db.session.commit()
    return _render(row), 202


def _own_render(render_id: int):
    return materials.get_render_for(g.user, render_id)


@api.get("/partner/renders/<int:render_id>")
@bearer()
@path_rows(row=_own_render)
@operation(200, Render)
def api_render(row):
    """A co-branded PDF's status

    pending or rendering until the worker is done; then ready with download_url, or
    failed with the error."""
    return _render(row)


@api.get("/partner/renders/<int:render_id>/download")
@bearer()
@path_rows(row=_own_render)
@operation(200, None, content=PDF)
def api_render_download(row):
    """Download a co-branded PDF (once ready; 404 before)"""

    if row.status != "ready" or not row.file_path:
        raise NotFound("This PDF is not ready yet.")
    return send_stored(row.file_path, mimetype="application/pdf",
                       download_name=f"{row.file_stem}.pdf")
