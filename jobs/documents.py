"""Render jobs for co-branded materials and template previews (issue 6).

Plain values in (``core.content.materials.render_job_inputs``), file out through an atomic write;
ids in, idempotent: a ready render whose file exists is left alone.
"""

import os

from flask import current_app

from core.base.extensions import db
from core.base.pdf import render_pdf_with_pages, write_atomically
from core.content.materials import (
    SAMPLE_BRANDING,
    branding_values,
    content_key,
    material_ready,
    render_job_inputs,
    render_material_html,
    sample_context,
)
from core.content.models import DocumentTemplate, MaterialRender
from jobs.limits import render_limits
from jobs.runtime import app_job, job_logger

#: Referral link printed on previews (a sample; previews are never handed out).
PREVIEW_REFERRAL_URL = "https://partners.siso.example/partner/register?ref=SAMPLE"


@app_job
def render_material(render_id: int) -> str:
    """Render a partner's material to ``STORAGE_DIR/materials/<partner>/<key>.pdf``.

    Marks the row ``rendering`` (committed, so the portal shows progress), renders, writes
    atomically and marks it ready with a notification. If the branding or template changed
    since the request (the content key no longer matches), the row fails with a message
    asking the partner to request it again. Returns the stored relative path.
    """
    log = job_logger(__name__)
    row = db.session.get(MaterialRender, render_id)
    if row is None:
        log.warning("material render %s vanished", render_id)
        return ""
    storage = current_app.config["STORAGE_DIR"]
    rel = f"materials/{row.partner_id}/{row.content_key}.pdf"
    if row.status == "ready" and os.path.exists(os.path.join(storage, row.file_path)):
        return row.file_path
    if content_key(row.template, branding_values(row.partner), row.referral_url) \
            != row.content_key:
        row.status = "failed"
        row.error = "Your branding or the template changed since you asked; request it again."
        return ""
    row.status = "rendering"
    db.session.commit()
    fields, ctx = render_job_inputs(row, storage)
    with render_limits():
        pdf, pages = render_pdf_with_pages(render_material_html(fields, ctx))
    write_atomically(os.path.join(storage, rel), pdf)
    row = db.session.get(MaterialRender, render_id)
    material_ready(row, rel, len(pdf), pages)
    log.info("material %s rendered to %s (%d pages)", render_id, rel, pages)
    return rel


@app_job
def render_preview(template_id: int) -> str:
    """Render a template with sample branding (:data:`core.content.materials.SAMPLE_BRANDING`)
    to ``STORAGE_DIR/previews/template-<id>-v<version>.pdf`` for staff to check."""
    t = db.session.get(DocumentTemplate, template_id)
    if t is None:
        return ""
    storage = current_app.config["STORAGE_DIR"]
    rel = f"previews/template-{t.id}-v{t.version}.pdf"
    if t.preview_status == "ready" and t.preview_path == rel and \
            os.path.exists(os.path.join(storage, rel)):
        return rel
    ctx = sample_context(PREVIEW_REFERRAL_URL)
    ctx["white_label"] = t.white_label
    ctx["partner"]["display_name"] = SAMPLE_BRANDING["display_name"]
    with render_limits():
        pdf, _ = render_pdf_with_pages(render_material_html(
            {"name": t.name, "html": t.html, "css": t.css}, ctx))
    write_atomically(os.path.join(storage, rel), pdf)
    t.preview_status, t.preview_path, t.preview_error = "ready", rel, ""
    return rel
