"""Change feeds for a CRM's sync (rules: "CRM sync"): the rows of a table changed since
a time, in the order of their last change, paged by a cursor that stays right while rows
change during the paging.

Rows are ordered by ``(updated_at, id)``; the cursor is the last row's pair. A row that
changes while a CRM pages gets a later ``updated_at`` and so comes again on a later page
(its newest state): nothing is missed, and no row comes twice unless it changed in
between. Rows changed within ``SYNC_SETTLE_SECONDS`` are held back until then, so a
transaction that stamped its rows before another but commits after it is not skipped.
"""

import base64
import binascii
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select

from core.base.errors import ValidationError
from core.base.extensions import db
from core.base.timeutil import now_utc

#: Most rows one page returns.
MAX_LIMIT = 500


def encode_cursor(at: datetime, row_id: int) -> str:
    """The opaque cursor after the row changed at ``at`` with id ``row_id``."""
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """``(updated_at, id)`` from a cursor; ``ValidationError`` (422) when it is not one
    this API gave."""
    try:
        at, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError
        return moment, int(row_id)
    except (ValueError, binascii.Error, UnicodeError):
        raise ValidationError("cursor is not one this API gave; start again from "
                              "updated_since or the beginning.") from None


def changed_rows(model, updated_since: datetime | None = None, cursor: str | None = None,
                 limit: int = 100, options=()) -> tuple[list, str | None, bool]:
    """A page of ``model``'s rows (a model with ``updated_at`` and ``id``) changed at or
    after ``updated_since`` (aware time; ``None``: from the start), or after ``cursor``
    (which wins when both are given), oldest change first, at most ``limit`` (1 to
    :data:`MAX_LIMIT`). Returns ``(rows, next_cursor, has_more)``: ``next_cursor`` goes on
    after the last row (kept to poll for later changes; the one given when the page is
    empty), ``has_more`` says whether more rows are there now.
    Raises ``ValidationError`` for a bad cursor, a naive time or a bad limit."""
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be from 1 to {MAX_LIMIT}.")
    q = select(model).options(*options)
    if cursor:
        at, row_id = decode_cursor(cursor)
        q = q.where(or_(model.updated_at > at, and_(model.updated_at == at, model.id > row_id)))
    elif updated_since is not None:
        if updated_since.tzinfo is None:
            raise ValidationError("updated_since needs a time zone (e.g. 2026-12-01T00:00:00Z).")
        q = q.where(model.updated_at >= updated_since)
    settle = int(current_app.config.get("SYNC_SETTLE_SECONDS", 0))
    if settle:
        q = q.where(model.updated_at <= now_utc() - timedelta(seconds=settle))
    rows = list(db.session.scalars(q.order_by(model.updated_at, model.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        return [], cursor or None, False
    return rows, encode_cursor(rows[-1].updated_at, rows[-1].id), more
