"""The ZIP of a statement batch, built once every statement is rendered (issue 6)."""

import io
import os
import zipfile

from flask import current_app

from core.base.extensions import db
from core.base.pdf import write_atomically
from core.money.models import StatementBatch
from core.money.statement_batches import batch_statements, zip_ready
from jobs.runtime import app_job, job_logger


@app_job
def build_batch_zip(batch_id: int) -> str:
    """Zip every statement PDF of the batch into
    ``STORAGE_DIR/statement-batches/siso-statements-<period>-batch-<id>.zip`` (atomic
    write: a killed worker leaves the old file or none, never half a ZIP). Entries are
    ``<period>/partner-<id>-v<version>.pdf``. Idempotent. Returns the relative path."""
    log = job_logger(__name__)
    batch = db.session.get(StatementBatch, batch_id)
    if batch is None:
        return ""
    storage = current_app.config["STORAGE_DIR"]
    rel = f"statement-batches/siso-statements-{batch.period}-batch-{batch.id}.zip"
    if batch.zip_status == "ready" and os.path.exists(os.path.join(storage, rel)):
        return rel
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for st in batch_statements(batch.id):
            if st.status != "ready":
                raise RuntimeError(f"statement {st.id} is {st.status}, not ready")
            zf.write(os.path.join(storage, st.file_path),
                     f"{batch.period}/partner-{st.partner_id}-v{st.version}.pdf")
    write_atomically(os.path.join(storage, rel), buf.getvalue())
    zip_ready(batch, rel)
    log.info("batch %s zipped to %s", batch_id, rel)
    return rel
