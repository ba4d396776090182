"""Flask extensions core uses, created once and bound to an app by
``core.base.app.create_core_app``: the database, migrations, Socket.IO (emits from any
process) and e-mail."""

import sqlite3

from flask_mailman import Mail
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from socketio import packet as _sio_packet
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase

#: Stable constraint names so Alembic migrations can refer to them (STYLE.md "Data").
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
socketio = SocketIO()
#: E-mail (Flask-Mailman): SMTP or the development outbox, chosen by ``MAIL_BACKEND``
#: (core/config.py ``mail_settings``); only RQ jobs send (jobs/email.py).
mail = Mail()


class JsonPacket(_sio_packet.Packet):
    """Socket.IO packets that never carry binary attachments (``serializer`` of the
    server). Every payload here is JSON (files go over HTTP); the library's default
    walks every value of every outgoing payload looking for bytes, and a join's answer
    holds thousands of values: a tenth of a chat process's CPU in a connect wave."""

    uses_binary_events = False


#: Largest primary key a row can have (PostgreSQL ``INTEGER``); larger ids cannot exist.
MAX_ROW_ID = 2**31 - 1


def is_row_id(value) -> bool:
    """True for an int (not a bool) that could be a primary key: 1..``MAX_ROW_ID``."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ROW_ID


def get_row(model, ident):
    """``db.session.get(model, ident)``, or ``None`` when ``ident`` cannot be an id.

    Ids from URLs and JSON bodies (bools, text, 10**30...) are checked here so that an
    impossible id is "not found" rather than a database error.
    """
    return db.session.get(model, ident) if is_row_id(ident) else None


@event.listens_for(Engine, "connect")
def _sqlite_write_ahead_log(dbapi_connection, _record) -> None:
    """SQLite (the embedded default): write-ahead logging, so the web process's readers
    never wait for the worker's writes and a commit costs one fsync of the log instead
    of the rollback journal's several; ``synchronous=FULL`` keeps every committed
    transaction durable across a power loss, as before. Other databases are untouched.
    (The setting is stored in the database file; an in-memory database keeps its own.)"""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
    finally:
        cursor.close()
