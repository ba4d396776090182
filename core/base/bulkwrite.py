"""Writing many append-only rows at once: audit rows, notifications and outbox rows of a
batch
(``core.money.commissions.confirm_deals``).

Inside :func:`bulk_rows`, :func:`core.base.audit.audit` and :func:`core.community.notifications.notify`
do not add ORM objects (each one an INSERT ... RETURNING row for the unit of work, and
one autoflush after another when a query runs in between); they hand their row to
:func:`buffer_row`, and when the block ends each table's rows are written in the order
they were made, one statement a table. The rows are the same as outside the block; only
their writing is batched. Nothing else changes: the block writes inside the caller's
transaction, so the rows commit or roll back with the change they describe.
"""

from collections.abc import Callable
from contextlib import contextmanager

from sqlalchemy import insert

from core.base import outbox
from core.base.extensions import db

#: Key, among the block's tables, of its memo (not a table: never written).
_MEMO = "memo"


@contextmanager
def bulk_rows():
    """Collect the rows :func:`buffer_row` is given in this session and write them at the
    end of the block: per table, one executemany INSERT, plus one INSERT ... RETURNING
    for each row that wants its id (``on_id``; few: see ``_write``). A nested block
    leaves the writing to the outer one. On an exception nothing is written (the caller
    rolls back)."""
    box = outbox.current()
    if box.bulk is not None:
        yield
        return
    pending = box.bulk = {}
    try:
        yield
        box.bulk = None
        _write(pending)
    finally:
        box.bulk = None


def block_memo() -> dict | None:
    """A dict that lives as long as the open :func:`bulk_rows` block (``None`` when none
    is open): for answers the block's rows would otherwise ask the database for one by
    one (``core.community.notifications.prefetch_email_wishes``)."""
    pending = outbox.current().bulk
    return None if pending is None else pending.setdefault(_MEMO, {})


def buffer_row(model, values: dict, on_id: Callable[[int], None] | None = None) -> bool:
    """Hand one row of ``model`` (column values) to the open :func:`bulk_rows` block.

    ``on_id``, when given, is called with the row's id once it is written (still inside
    the transaction). Returns False, keeping nothing, when no block is open: the caller
    then writes the row itself."""
    pending = outbox.current().bulk
    if pending is None:
        return False
    pending.setdefault(model, []).append((values, on_id))
    return True


def insert_rows(model, rows: list[dict]) -> list[int]:
    """Insert ``rows`` (column values; omitted columns get their model defaults) of
    ``model`` in one statement and return their ids in the order of ``rows``.

    On PostgreSQL the values travel as one array a column (``INSERT ... SELECT FROM
    unnest(...)``): the statement's text is the same whatever the number of rows, so it
    is compiled and parsed once, where a multi-row ``VALUES`` is built and parsed afresh
    (most of the cost of a large batch). The ids come from the table's sequence in the
    order the rows are inserted, which is the arrays' order: sorted, they follow ``rows``.
    Elsewhere (SQLite), one ``INSERT ... RETURNING`` with SQLAlchemy's ordered
    insertmanyvalues. ORM events do not run (nothing here relies on them for inserts;
    the ledger guard watches updates and deletes).
    """
    if not rows:
        return []
    if db.engine.dialect.name != "postgresql":
        return list(db.session.scalars(
            insert(model).returning(model.id, sort_by_parameter_order=True), rows))
    from sqlalchemy import bindparam, text
    from sqlalchemy.dialects.postgresql import ARRAY

    dialect = db.engine.dialect
    columns, params, arrays = [], {}, []
    for column in model.__table__.columns:
        if column.primary_key:
            continue
        given = any(column.name in r for r in rows)
        default = column.default
        if not given and (default is None or not (default.is_scalar or default.is_callable)):
            continue  # the database's own default (or NULL)
        values = []
        for r in rows:
            if column.name in r:
                values.append(r[column.name])
            elif default is None:
                values.append(None)
            else:
                values.append(default.arg(None) if default.is_callable else default.arg)
        name = f"c{len(columns)}"
        columns.append(column)
        params[name] = values
        arrays.append(bindparam(name, type_=ARRAY(column.type)))
    casts = ", ".join(f"CAST(:c{i} AS {c.type.compile(dialect=dialect)}[])"
                      for i, c in enumerate(columns))
    # Table and column names come from the model, values only through bind parameters.
    sql = text(f"WITH made AS (INSERT INTO {model.__table__.name} "  # noqa: S608
               f"({', '.join(c.name for c in columns)}) SELECT * FROM unnest({casts}) "
               "RETURNING id) SELECT id FROM made ORDER BY id").bindparams(*arrays)
    ids = list(db.session.scalars(sql, params))
    if len(ids) != len(rows):  # cannot happen: the arrays all have len(rows) items
        raise RuntimeError(f"inserted {len(ids)} {model.__tablename__} rows of {len(rows)}")
    return ids


def _write(pending: dict) -> None:
    """Each table's rows in the order given: runs of rows that want no id go in one
    executemany (short, cached SQL, pipelined by psycopg), a row that wants its id in an
    INSERT ... RETURNING of its own, so ids still follow the order the rows were made."""
    pending.pop(_MEMO, None)
    for model, rows in pending.items():
        run: list[dict] = []
        for values, on_id in rows:
            if on_id is None:
                run.append(values)
                continue
            if run:
                db.session.execute(insert(model), run)
                run = []
            on_id(db.session.scalar(insert(model).returning(model.id), values))
        if run:
            db.session.execute(insert(model), run)
