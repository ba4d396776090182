"""CSV exports for finance (rules: "Statements": commissions and payouts for a range)."""

import csv
import io
import re
from datetime import datetime

from sqlalchemy import select

from core.accounts.models import User
from core.base.errors import ValidationError
from core.base.extensions import db
from core.money.models import Commission, Payout
from core.program.models import Partner

#: Longest range one export may cover (days).
MAX_RANGE_DAYS = 366


def _cell(value) -> str:
    """Text safe for spreadsheets: a leading = + - @ tab or CR is neutralised."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r" and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    return re.fullmatch(r"-?\d+(\.\d+)?", text) is not None


def parse_range(start, end) -> tuple[datetime, datetime]:
    """Parse ISO dates/times (UTC when no zone is given); ``end`` exclusive.

    Raises ``ValidationError`` for a bad date, an empty or over-long range."""
    from datetime import UTC

    try:
        a, b = (datetime.fromisoformat(str(x)) for x in (start, end))
    except ValueError:
        raise ValidationError("from and to must be dates like 2026-11-01.") from None
    a = a if a.tzinfo else a.replace(tzinfo=UTC)
    b = b if b.tzinfo else b.replace(tzinfo=UTC)
    if b <= a:
        raise ValidationError("to must be after from.")
    if (b - a).days > MAX_RANGE_DAYS:
        raise ValidationError(f"Export at most {MAX_RANGE_DAYS} days at a time.")
    return a, b


def parse_day_range(first, last) -> tuple[datetime, datetime]:
    """The UTC range of whole days ``first``..``last``, both included (dates or ISO date
    strings), as ``(start, end)`` with ``end`` exclusive, for the back office's form.

    Raises ``ValidationError`` as ``parse_range`` (bad date, ``last`` before ``first``,
    over ``MAX_RANGE_DAYS``)."""
    from datetime import date, timedelta

    try:
        a, b = (x if isinstance(x, date) else date.fromisoformat(str(x)) for x in (first, last))
    except ValueError:
        raise ValidationError("Dates must look like 2026-11-01.") from None
    if b < a:
        raise ValidationError("The last day must not be before the first day.")
    return parse_range(a.isoformat(), (b + timedelta(days=1)).isoformat())


#: What an export holds: both tables, or one of them.
EXPORT_KINDS = ("ledger", "commissions", "payouts")


def ledger_csv(start: datetime, end: datetime, kind: str = "ledger") -> str:
    """CSV of commissions created and payouts made in ``[start, end)``, amounts in cents
    and in dollars, one row per ledger entry, oldest first. ``kind`` ``"commissions"`` or
    ``"payouts"`` keeps only those rows (same columns). Every text cell is guarded
    against spreadsheet formulas. Raises ``ValidationError`` for an unknown ``kind``."""
    if kind not in EXPORT_KINDS:
        raise ValidationError(f"kind must be one of: {', '.join(EXPORT_KINDS)}.")
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["kind", "id", "created_at", "partner_id", "partner_name", "partner_email",
                "type", "status", "amount_cents", "amount", "rate_bps", "deal_id", "payout_id",
                "reference", "note"])
    if kind != "payouts":
        _commission_rows(w, start, end)
    if kind != "commissions":
        _payout_rows(w, start, end)
    return out.getvalue()


def _commission_rows(w, start: datetime, end: datetime) -> None:
    rows = db.session.execute(
        select(Commission, User.name, User.email).join(Partner, Partner.id == Commission.partner_id)
        .join(User, User.id == Partner.user_id)
        .where(Commission.created_at >= start, Commission.created_at < end)
        .order_by(Commission.id))
    for c, name, email in rows:
        w.writerow([_cell(v) for v in ("commission", c.id, c.created_at.isoformat(),
                                       c.partner_id, name, email, c.type, c.status,
                                       c.amount_cents, _dollars(c.amount_cents),
                                       c.rate_bps, c.deal_id, c.payout_id, "", c.note)])


def _payout_rows(w, start: datetime, end: datetime) -> None:
    rows = db.session.execute(
        select(Payout, User.name, User.email).join(Partner, Partner.id == Payout.partner_id)
        .join(User, User.id == Partner.user_id)
        .where(Payout.created_at >= start, Payout.created_at < end).order_by(Payout.id))
    for p, name, email in rows:
        w.writerow([_cell(v) for v in ("payout", p.id, p.created_at.isoformat(), p.partner_id,
                                       name, email, p.gateway, p.status, p.amount_cents,
                                       _dollars(p.amount_cents), "", "", p.id, p.reference,
                                       p.failure_message)])


def _dollars(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"
