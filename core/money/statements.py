"""Statements: one partner, one calendar month (rules: "Statements").

Every figure is a sum of ledger events in the month, so
``opening + earned − reversed − paid = closing`` holds by construction:

- earned: positive commissions created in the month;
- reversed: commissions reversed in the month, plus negative adjustments created in it
  (as positive amounts);
- paid: payouts paid in the month, less payouts whose transfer was reversed in it;
- opening: the same sums over everything before the month.

When a statement is issued its lines are frozen with it (``Statement.lines_json``) and its
month figures are the sums of exactly those lines, so the PDF, whenever it is rendered
(this month's statement, a retried render), lists the lines that add up to its totals;
later activity goes into the next version.
"""

import json
from datetime import datetime

from sqlalchemy import and_, func, select

from core.base.audit import audit
from core.base.errors import NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.jobs import QUEUE_PDF, job, job_logger
from core.base.pdf import render_limits
from core.base.timeutil import month_bounds, now_utc
from core.community.notifications import notify
from core.money.models import Commission, Payout, Statement
from core.money.statement_pdf import render_statement_pdf
from core.ops.storage import get_storage
from core.program.models import Partner
from core.webhooks.events import emit


def _sum(q) -> int:
    return int(db.session.scalar(q) or 0)


def _figures_until(partner_id: int, end: datetime) -> tuple[int, int, int]:
    earned = _sum(select(func.sum(Commission.amount_cents)).where(
        Commission.partner_id == partner_id, Commission.amount_cents > 0,
        Commission.created_at < end))
    reversed_ = _sum(select(func.sum(Commission.amount_cents)).where(
        Commission.partner_id == partner_id, Commission.status == "reversed",
        Commission.reversed_at < end)) - _sum(select(func.sum(Commission.amount_cents)).where(
        Commission.partner_id == partner_id, Commission.amount_cents < 0,
        Commission.created_at < end))
    # A payout counts when paid; a transfer Stripe reversed later counts back then.
    paid = _sum(select(func.sum(Payout.amount_cents)).where(
        Payout.partner_id == partner_id, Payout.paid_at < end)) - _sum(
        select(func.sum(Payout.amount_cents)).where(
            Payout.partner_id == partner_id, Payout.reversed_at < end))
    return earned, reversed_, paid


def statement_figures(partner_id: int, year: int, month: int) -> dict:
    """Return ``{"opening_cents", "earned_cents", "reversed_cents", "paid_cents",
    "closing_cents"}`` for the month (ints, cents)."""
    start, end = month_bounds(year, month)
    e0, r0, p0 = _figures_until(partner_id, start)
    e1, r1, p1 = _figures_until(partner_id, end)
    opening = e0 - r0 - p0
    fig = {"opening_cents": opening, "earned_cents": e1 - e0, "reversed_cents": r1 - r0,
           "paid_cents": p1 - p0}
    fig["closing_cents"] = opening + fig["earned_cents"] - fig["reversed_cents"] - fig["paid_cents"]
    return fig


def statement_lines(partner_id: int, year: int, month: int,
                    until: datetime | None = None) -> list[dict]:
    """Every ledger event of the month, oldest first, as plain dicts:
    ``{"date": datetime, "kind": "earned"|"reversed"|"paid", "description": str,
    "type": str, "amount_cents": int, "ref": str}`` where ``amount_cents`` is signed as it
    moves the balance (earned +, reversed −, paid −). ``until`` (UTC-aware) keeps only
    events before that moment (the issue time of a statement stored without its lines).
    """
    start, end = month_bounds(year, month)
    if until is not None:
        end = min(end, until)
    lines = []
    created = db.session.scalars(select(Commission).where(
        Commission.partner_id == partner_id, Commission.created_at >= start,
        Commission.created_at < end))
    for c in created:
        kind = "earned" if c.amount_cents > 0 else "reversed"
        lines.append({"date": c.created_at, "kind": kind, "type": c.type,
                      "description": c.note or c.type, "amount_cents": c.amount_cents,
                      "ref": f"C-{c.id}"})
    reversed_rows = db.session.scalars(select(Commission).where(
        Commission.partner_id == partner_id, Commission.status == "reversed",
        and_(Commission.reversed_at >= start, Commission.reversed_at < end)))
    for c in reversed_rows:
        lines.append({"date": c.reversed_at, "kind": "reversed", "type": c.type,
                      "description": f"Reversed: {c.note or c.type}",
                      "amount_cents": -c.amount_cents, "ref": f"C-{c.id}"})
    payouts = db.session.scalars(select(Payout).where(
        Payout.partner_id == partner_id, Payout.paid_at >= start, Payout.paid_at < end))
    for p in payouts:
        lines.append({"date": p.paid_at, "kind": "paid", "type": "payout",
                      "description": f"Payout {p.reference}".strip(),
                      "amount_cents": -p.amount_cents, "ref": f"P-{p.id}"})
    returned = db.session.scalars(select(Payout).where(
        Payout.partner_id == partner_id, Payout.reversed_at >= start, Payout.reversed_at < end))
    for p in returned:
        lines.append({"date": p.reversed_at, "kind": "paid", "type": "payout",
                      "description": f"Payout {p.reference} returned (transfer reversed)",
                      "amount_cents": p.amount_cents, "ref": f"P-{p.id}"})
    lines.sort(key=lambda x: (x["date"], x["ref"]))
    return lines


def open_month_warning(year: int, month: int) -> str:
    """The warning staff see before issuing statements for the current UTC month (rules:
    "Statements"), or ``""`` for a month that has ended."""
    now = now_utc()
    if (year, month) != (now.year, now.month):
        return ""
    return (f"{year:04d}-{month:02d} is still open: its statements show only the activity "
            "so far, and the final figures will need a new version after the month ends.")


def last_closed_period() -> str:
    """The most recent month that has ended, as ``YYYY-MM`` (the statement forms' default)."""
    now = now_utc()
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def parse_period(text) -> tuple[int, int]:
    """Parse ``"YYYY-MM"`` into ``(year, month)``; a future month or nonsense raises
    ``ValidationError``."""
    try:
        year, month = (int(x) for x in str(text).split("-"))
        datetime(year, month, 1)
    except (ValueError, TypeError):
        raise ValidationError("The period must look like 2026-11 (year-month).") from None
    now = now_utc()
    if (year, month) > (now.year, now.month) or year < 2000:
        raise ValidationError("Statements can be made for past months and this month only.")
    return year, month


def _figures_from_lines(partner_id: int, year: int, month: int,
                        lines: list[dict]) -> dict:
    """The statement figures whose month part is the sum of ``lines`` (cents)."""
    start, _end = month_bounds(year, month)
    e0, r0, p0 = _figures_until(partner_id, start)
    opening = e0 - r0 - p0
    earned = sum(x["amount_cents"] for x in lines if x["kind"] == "earned")
    reversed_ = -sum(x["amount_cents"] for x in lines if x["kind"] == "reversed")
    paid = -sum(x["amount_cents"] for x in lines if x["kind"] == "paid")
    return {"opening_cents": opening, "earned_cents": earned, "reversed_cents": reversed_,
            "paid_cents": paid, "closing_cents": opening + earned - reversed_ - paid}


def issue_statement(partner_id, year: int, month: int, actor_id: int) -> Statement:
    """Issue a statement (next version for the month) and enqueue its PDF render.

    The month's lines (``statement_lines``) are read once and stored on the statement;
    its earned, reversed and paid figures are their sums, so what the PDF lists always
    adds up to what it prints, however much later it is rendered. The figures and lines
    are fixed at issue (ledger guard); a correction, or activity after the issue, is a new
    version. Args: ``partner_id`` (int), ``year``/``month`` (ints, see ``parse_period``),
    ``actor_id`` (user id). Returns the ``Statement`` in status ``pending``. Raises
    ``NotFound`` for an unknown partner. Rule: rules: "Statements"
    (once issued it never changes; a correction issues a new version).
    """
    partner = get_row(Partner, partner_id)
    if partner is None:
        raise NotFound("No such partner.")
    version = 1 + (db.session.scalar(select(func.max(Statement.version)).where(
        Statement.partner_id == partner.id, Statement.year == year,
        Statement.month == month)) or 0)
    lines = statement_lines(partner.id, year, month)
    st = Statement(partner_id=partner.id, year=year, month=month, version=version,
                   requested_by_id=actor_id, status="pending",
                   lines_json=json.dumps([dict(x, date=x["date"].isoformat()) for x in lines]),
                   **_figures_from_lines(partner.id, year, month, lines))
    db.session.add(st)
    db.session.flush()
    audit(actor_id, "statement.issue", "statement", st.id, None,
          {"partner_id": partner.id, "period": st.period, "version": version,
           "closing_cents": st.closing_cents, "lines": len(lines)})
    emit("statement.issued", st)
    render_statement.after_commit(st.id, job_id=f"statement-{st.id}")
    return st


def issued_lines(st: Statement) -> list[dict]:
    """The lines of an issued statement, as ``statement_lines`` gives them (``date`` a
    UTC-aware datetime): the ones stored at issue, which sum to its figures. A statement
    issued before lines were stored gets the ledger's events up to its issue time."""
    if not st.lines_json:
        return statement_lines(st.partner_id, st.year, st.month, until=st.created_at)
    return [dict(x, date=datetime.fromisoformat(x["date"])) for x in json.loads(st.lines_json)]


def statement_for_render(statement_id: int) -> tuple[Statement | None, int | None]:
    """What the render job needs, in one query: the statement with its partner and the
    partner's user loaded (name and e-mail on the PDF, the "ready" notice), and the id of
    the batch it belongs to (``None`` outside a batch). ``(None, None)`` when it is gone."""
    from sqlalchemy.orm import joinedload

    from core.money.models import StatementBatchItem

    found = db.session.execute(
        select(Statement, StatementBatchItem.batch_id)
        .outerjoin(StatementBatchItem, StatementBatchItem.statement_id == Statement.id)
        .where(Statement.id == statement_id)
        .options(joinedload(Statement.partner, innerjoin=True).joinedload(Partner.user,
                                                                          innerjoin=True))
    ).first()
    return (found[0], found[1]) if found is not None else (None, None)


def statement_ready(st: Statement, file_path: str) -> None:
    """Record the rendered PDF of a statement and tell the partner."""
    st.status = "ready"
    st.file_path = file_path
    st.rendered_at = now_utc()
    st.error = ""
    notify(st.partner.user_id, "statement", f"Statement {st.period} is ready",
           "Download it from Earnings.", "/partner/earnings")


def get_statement_for(user, statement_id) -> Statement:
    """Return a statement the user may read: their own (partner) or any (finance/admin).

    Raises ``NotFound`` otherwise (never tells whether it exists).
    """
    st = get_row(Statement, statement_id)
    if st is None:
        raise NotFound("No such statement.")
    if user.has_role("finance"):
        return st
    if user.partner is not None and st.partner_id == user.partner.id:
        return st
    raise NotFound("No such statement.")


# --- the statement's PDF (worker) ----------------------------------------------------------

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def statement_context(st: Statement) -> dict:
    """Plain values for ``templates/pdf/statement.html`` (no ORM objects reach WeasyPrint)."""
    p = st.partner
    # The lines frozen at issue, never the live ledger: they add up to the figures below.
    raw = issued_lines(st)
    held = holding_at_issue(st, raw)
    lines = [dict(line, date=line["date"].strftime("%Y-%m-%d"),
                  held_until=held.get(line["ref"]) if line["kind"] == "earned" else None)
             for line in raw]
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
        "any_held": any(x["held_until"] for x in lines),
    }


def holding_at_issue(st: Statement, lines: list[dict]) -> dict[str, str]:
    """Which earned lines were still in their holding period when the statement was
    issued (rules: "Statements"): ``{"C-<id>": "YYYY-MM-DD" (end of the hold)}`` for
    commissions whose ``hold_until`` was after the issue time and that were not approved
    (nor reversed) before it. Worked out from those times, so a re-render says the same."""
    ids = [int(x["ref"][2:]) for x in lines if x["kind"] == "earned" and x["ref"][:2] == "C-"]
    if not ids:
        return {}
    issued = st.created_at
    out = {}
    for c in db.session.scalars(select(Commission).where(Commission.id.in_(ids))):
        if c.hold_until is None or c.hold_until <= issued:
            continue
        if (c.approved_at is not None and c.approved_at <= issued) or \
                (c.reversed_at is not None and c.reversed_at <= issued):
            continue
        out[f"C-{c.id}"] = c.hold_until.strftime("%Y-%m-%d")
    return out


@job(queue=QUEUE_PDF, timeout=180, retries=2, render_kind="statement")
def render_statement(statement_id: int) -> str:
    """Render a statement's PDF to ``statements/`` in the file store and mark it
    ready. Idempotent: a ready statement with its file present is left alone.
    Returns the stored relative path. When it completes a batch, the batch's ZIP is
    claimed and queued (``core.money.statement_batches.claim_zip_if_complete``)."""
    log = job_logger(__name__)
    st, batch_id = statement_for_render(statement_id)
    if st is None:
        log.warning("statement %s vanished", statement_id)
        return ""
    rel = f"statements/{st.partner_id}/statement-{st.period}-v{st.version}-{st.id}.pdf"
    store = get_storage()
    if st.status == "ready" and st.file_path == rel and store.exists(rel):
        return rel
    context = statement_context(st)
    with render_limits():
        pdf = render_statement_pdf(context)
    store.put_bytes(rel, pdf)
    statement_ready(st, rel)
    db.session.commit()
    log.info("statement %s rendered to %s", statement_id, rel)
    # After our own commit, so the last statement of a batch always sees all the others.
    if batch_id is not None:
        from core.money.statement_batches import claim_zip_if_complete  # it imports us

        claim_zip_if_complete(batch_id)
    return rel
