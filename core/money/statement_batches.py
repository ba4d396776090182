"""Statement batches: finance issues a month's statements for every partner with activity,
one render job per partner, with progress and a ZIP of all PDFs (rules: "Statements").

Progress is counted from the statements themselves (``pending`` | ``ready`` | ``failed``),
so concurrent workers never race on counters. When the last statement of a batch is
rendered, the job that rendered it (after its own commit) claims the batch's ZIP with a
conditional UPDATE (``zip_status`` none → pending): exactly one job enqueues the ZIP build.
"""

import shutil
import tempfile
import zipfile

from sqlalchemy import func, select, union, update

from core.base.audit import audit
from core.base.errors import Conflict, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.jobs import QUEUE_PDF, job, job_logger
from core.base.timeutil import month_bounds, now_utc
from core.money.models import Commission, Payout, Statement, StatementBatch, StatementBatchItem
from core.money.statements import issue_statement, render_statement
from core.ops.storage import CHUNK, get_storage


def partners_with_activity(year: int, month: int) -> list[int]:
    """Ids of partners with a ledger event in the month (commission created or reversed,
    payout paid or returned), ascending."""
    start, end = month_bounds(year, month)
    q = union(
        select(Commission.partner_id).where(Commission.created_at >= start,
                                            Commission.created_at < end),
        select(Commission.partner_id).where(Commission.reversed_at >= start,
                                            Commission.reversed_at < end),
        select(Payout.partner_id).where(Payout.paid_at >= start, Payout.paid_at < end),
        select(Payout.partner_id).where(Payout.reversed_at >= start, Payout.reversed_at < end),
    )
    return sorted(db.session.scalars(q))


def start_batch(year: int, month: int, actor_id: int) -> StatementBatch:
    """Issue a statement (next version) for every partner with activity in the month and
    enqueue one render job per partner after commit.

    Returns the batch (``total`` = number of statements). Raises ``ValidationError`` when
    no partner had activity. Each statement is audited by ``issue_statement``.
    """
    ids = partners_with_activity(year, month)
    if not ids:
        raise ValidationError(f"No partner had activity in {year:04d}-{month:02d}.")
    batch = StatementBatch(year=year, month=month, total=len(ids), requested_by_id=actor_id)
    db.session.add(batch)
    db.session.flush()
    for pid in ids:
        st = issue_statement(pid, year, month, actor_id)
        db.session.add(StatementBatchItem(batch_id=batch.id, partner_id=pid, statement_id=st.id))
    db.session.flush()
    audit(actor_id, "statement_batch.start", "statement_batch", batch.id, None,
          {"period": batch.period, "total": batch.total})
    return batch


def batch_progress(batch_ids: list[int]) -> dict[int, dict]:
    """``{batch_id: {"total", "ready", "failed", "pending"}}`` for the batches, in one
    query (the list page shows many)."""
    out = {bid: {"total": 0, "ready": 0, "failed": 0, "pending": 0} for bid in batch_ids}
    if not batch_ids:
        return out
    rows = db.session.execute(
        select(StatementBatchItem.batch_id, Statement.status, func.count())
        .join(Statement, Statement.id == StatementBatchItem.statement_id)
        .where(StatementBatchItem.batch_id.in_(batch_ids))
        .group_by(StatementBatchItem.batch_id, Statement.status))
    for bid, status, n in rows:
        key = status if status in ("ready", "failed") else "pending"
        out[bid][key] += n
        out[bid]["total"] += n
    return out


def claim_zip_if_complete(batch_id: int) -> bool:
    """If every statement of the batch is ready and nobody claimed the ZIP yet, claim it
    (``zip_status`` none → pending) and enqueue its build after commit. Call it in a
    transaction that starts after the statement's own commit. Returns True if claimed."""
    p = batch_progress([batch_id])[batch_id]
    if p["total"] == 0 or p["ready"] != p["total"]:
        return False
    claimed = db.session.execute(
        update(StatementBatch).where(StatementBatch.id == batch_id,
                                     StatementBatch.zip_status == "none")
        .values(zip_status="pending", completed_at=now_utc())).rowcount
    if claimed != 1:
        return False
    build_batch_zip.after_commit(batch_id, job_id=f"batch-zip-{batch_id}")
    return True


def retry_failed(batch_id, actor_id: int) -> int:
    """Queue the failed statements of a batch again (same statement rows, same figures).

    Returns how many. Raises ``NotFound`` (no batch) or ``Conflict`` (nothing failed).
    """
    batch = get_row(StatementBatch, batch_id)
    if batch is None:
        raise NotFound("No such batch.")
    failed = list(db.session.scalars(
        select(Statement).join(StatementBatchItem, StatementBatchItem.statement_id == Statement.id)
        .where(StatementBatchItem.batch_id == batch.id, Statement.status == "failed")))
    if not failed:
        raise Conflict("No statement of this batch has failed.")
    stamp = int(now_utc().timestamp())
    for st in failed:
        st.status, st.error = "pending", ""
        render_statement.after_commit(st.id, job_id=f"statement-{st.id}-retry-{stamp}")
    if batch.zip_status == "failed":
        batch.zip_status, batch.zip_error = "none", ""
    audit(actor_id, "statement_batch.retry", "statement_batch", batch.id, None,
          {"statements": [st.id for st in failed]})
    return len(failed)


def rebuild_zip(batch_id, actor_id: int) -> None:
    """Queue the ZIP build again after it failed. Raises ``NotFound`` / ``Conflict``."""
    batch = get_row(StatementBatch, batch_id)
    if batch is None:
        raise NotFound("No such batch.")
    if batch.zip_status != "failed":
        raise Conflict("The ZIP has not failed.")
    batch.zip_status, batch.zip_error = "none", ""
    db.session.flush()
    if not claim_zip_if_complete(batch.id):
        raise Conflict("Not every statement of the batch is ready yet.")


def batch_statements(batch_id: int) -> list[Statement]:
    """The batch's statements, by partner id."""
    return list(db.session.scalars(
        select(Statement).join(StatementBatchItem, StatementBatchItem.statement_id == Statement.id)
        .where(StatementBatchItem.batch_id == batch_id).order_by(Statement.partner_id)))


def zip_ready(batch: StatementBatch, rel_path: str) -> None:
    """Record the built ZIP (path relative to ``STORAGE_DIR``)."""
    batch.zip_status, batch.zip_path, batch.zip_error = "ready", rel_path, ""


# --- the batch's ZIP (worker) ----------------------------------------------------------------

def zip_entry_name(period: str, name: str, partner_id: int, version: int) -> str:
    """A statement's file name in a batch ZIP (rules: "Statements"):
    ``"2026-11 - Ana Silva (#1042).pdf"``, `` v2`` before ``.pdf`` for a later version.
    The name loses characters file systems refuse (``/\\:*?"<>|``, control characters)
    and is cut to 80 characters; the partner number keeps entries apart."""
    import re

    clean = re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]+', " ", name or "")
    clean = " ".join(clean.split()).strip(" .")[:80].strip() or "Partner"
    suffix = f" v{version}" if version > 1 else ""
    return f"{period} - {clean} (#{partner_id}){suffix}.pdf"


@job(queue=QUEUE_PDF, timeout=600, retries=2, render_kind="batch_zip")
def build_batch_zip(batch_id: int) -> str:
    """Zip every statement PDF of the batch into
    ``statement-batches/siso-statements-<period>-batch-<id>.zip`` in the file store: each
    PDF is streamed from the store (whichever worker rendered it) into a temporary file,
    which is then streamed to the store (an atomic replace: a killed worker leaves the old
    file or none, never half a ZIP). Entries are named by partner (``zip_entry_name``).
    Idempotent. Returns the store key."""
    log = job_logger(__name__)
    batch = db.session.get(StatementBatch, batch_id)
    if batch is None:
        return ""
    store = get_storage()
    rel = f"statement-batches/siso-statements-{batch.period}-batch-{batch.id}.zip"
    if batch.zip_status == "ready" and store.exists(rel):
        return rel
    with tempfile.TemporaryFile() as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for st in batch_statements(batch.id):
                if st.status != "ready":
                    raise RuntimeError(f"statement {st.id} is {st.status}, not ready")
                name = zip_entry_name(batch.period, st.partner.name, st.partner_id,
                                      st.version)
                with store.open(st.file_path) as src, zf.open(name, "w") as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
        tmp.seek(0)
        store.save(rel, tmp)
    zip_ready(batch, rel)
    log.info("batch %s zipped to %s", batch_id, rel)
    return rel
