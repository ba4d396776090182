"""PDF render jobs (WeasyPrint): statements. Plain values in, file out (STYLE.md)."""

import os

from flask import current_app

from core.base.extensions import db
from core.base.pdf import render_statement_pdf, write_atomically
from core.money.models import Statement
from core.money.statement_batches import claim_zip_if_complete
from core.money.statements import issued_lines, statement_for_render, statement_ready
from jobs.limits import render_limits
from jobs.runtime import app_job, job_logger

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def statement_context(st: Statement) -> dict:
    """Plain values for ``templates/pdf/statement.html`` (no ORM objects reach WeasyPrint)."""
    p = st.partner
    # The lines frozen at issue, never the live ledger: they add up to the figures below.
    lines = [dict(line, date=line["date"].strftime("%Y-%m-%d")) for line in issued_lines(st)]
    return {
        "partner": {"name": p.user.name, "email": p.user.email,
                    "company_name": p.company_name, "id": p.id},
        "period": st.period,
        "period_label": f"{MONTHS[st.month - 1]} {st.year}",
        "version": st.version,
        "issued_at": st.created_at.strftime("%d %b %Y"),
        "figures": {k: getattr(st, k) for k in ("opening_cents", "earned_cents",
                                                "reversed_cents", "paid_cents",
                                                "closing_cents")},
        "lines": lines,
    }


@app_job
def render_statement(statement_id: int) -> str:
    """Render a statement's PDF to ``STORAGE_DIR/statements/`` (atomic write) and mark it
    ready. Idempotent: a ready statement with its file present is left alone.
    Returns the stored relative path. When it completes a batch, the batch's ZIP is
    claimed and queued (``core.money.statement_batches.claim_zip_if_complete``)."""
    log = job_logger(__name__)
    st, batch_id = statement_for_render(statement_id)
    if st is None:
        log.warning("statement %s vanished", statement_id)
        return ""
    rel = f"statements/{st.partner_id}/statement-{st.period}-v{st.version}-{st.id}.pdf"
    path = os.path.join(current_app.config["STORAGE_DIR"], rel)
    if st.status == "ready" and os.path.exists(path):
        return rel
    os.makedirs(os.path.dirname(path), exist_ok=True)
    context = statement_context(st)
    with render_limits():
        pdf = render_statement_pdf(context)
    write_atomically(path, pdf)
    statement_ready(st, rel)
    db.session.commit()
    log.info("statement %s rendered to %s", statement_id, rel)
    # After our own commit, so the last statement of a batch always sees all the others.
    if batch_id is not None:
        claim_zip_if_complete(batch_id)
    return rel
