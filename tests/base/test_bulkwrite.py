"""``core.base.bulkwrite``: batched writing of append-only rows keeps every row, in order,
with the model's defaults, and writes nothing when the block fails."""

import pytest
from conftest import make_partner, make_staff_once
from sqlalchemy import select

from core.base.audit import audit
from core.base.bulkwrite import bulk_rows, insert_rows
from core.base.extensions import db
from core.base.models import AuditLog
from core.community.models import Notification
from core.community.notifications import notify


def test_insert_rows_returns_ids_in_the_order_given_and_fills_defaults(app, ctx):
    p = make_partner("Bulk Writer")
    rows = [{"user_id": p.user_id, "kind": "test", "title": f"Notice {i}"} for i in range(7)]
    ids = insert_rows(Notification, rows)
    assert len(ids) == 7 and ids == sorted(ids)
    got = {n.id: n for n in db.session.scalars(select(Notification).where(
        Notification.id.in_(ids)))}
    assert [got[i].title for i in ids] == [f"Notice {i}" for i in range(7)]
    assert all(got[i].created_at is not None and got[i].created_at.tzinfo is not None
               for i in ids)  # the model's Python default, aware UTC
    assert all(got[i].body == "" for i in ids)
    assert insert_rows(Notification, []) == []


def test_rows_made_in_a_block_are_written_at_its_end_in_order(app, ctx):
    staff = make_staff_once()
    p = make_partner("Block Partner")
    before = db.session.scalar(select(db.func.max(AuditLog.id))) or 0
    with bulk_rows():
        assert audit(staff.id, "test.one", "partner", p.id, None, {"n": 1}) is None
        assert notify(p.user_id, "test", "First") is None
        audit(staff.id, "test.two", "partner", p.id, None, {"n": 2})
        notify(p.user_id, "test", "Second")
        assert db.session.scalar(select(db.func.count()).select_from(AuditLog).where(
            AuditLog.id > before)) == 0  # not yet written
    db.session.commit()
    assert list(db.session.scalars(select(AuditLog.action).where(AuditLog.id > before)
                                   .order_by(AuditLog.id))) == ["test.one", "test.two"]
    assert list(db.session.scalars(select(Notification.title).where(
        Notification.user_id == p.user_id, Notification.kind == "test")
        .order_by(Notification.id))) == ["First", "Second"]


def test_a_failing_block_writes_nothing(app, ctx):
    staff = make_staff_once()
    p = make_partner("Failing Partner")
    before = db.session.scalar(select(db.func.max(AuditLog.id))) or 0
    with pytest.raises(RuntimeError), bulk_rows():
        audit(staff.id, "test.lost", "partner", p.id)
        raise RuntimeError("boom")
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(AuditLog).where(
        AuditLog.id > before)) == 0
    # Outside a block, audit() is the ORM row again.
    assert isinstance(audit(staff.id, "test.after", "partner", p.id), AuditLog)
