"""The ledger is append-only: no delete, no changed amount, in our code or in raw SQL."""

import pytest
from conftest import make_partner
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from core.base.extensions import db
from core.base.ledger_guard import LedgerViolation
from core.base.models import AuditLog
from core.money.models import Commission


@pytest.fixture
def commission(ctx):
    partner = make_partner("Sarah Thompson", deals=1)
    return db.session.scalar(db.select(Commission).where(Commission.partner_id == partner.id))


def test_orm_refuses_delete_and_amount_change(commission):
    """Code that deletes a commission or changes its amount is stopped before the database."""
    db.session.delete(commission)
    with pytest.raises(LedgerViolation, match="never deleted"):
        db.session.flush()
    db.session.rollback()
    commission = db.session.get(Commission, commission.id)
    commission.amount_cents += 1
    with pytest.raises(LedgerViolation, match="never changes"):
        db.session.flush()
    db.session.rollback()


def test_database_refuses_raw_sql(commission):
    """Even raw SQL cannot delete ledger rows, change amounts or rewrite the audit log."""
    for stmt in (f"DELETE FROM commissions WHERE id = {commission.id}",
                 f"UPDATE commissions SET amount_cents = 1 WHERE id = {commission.id}",
                 "UPDATE audit_log SET action = 'nothing'",
                 "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError, match="ledger"):
            db.session.execute(text(stmt))
        db.session.rollback()
    assert db.session.get(Commission, commission.id).amount_cents == 20000
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditLog)) > 0


def test_state_changes_are_allowed(commission):
    """Moving a commission through its states is not an amount change."""
    commission.status = "approved"
    db.session.commit()
    db.session.execute(text(f"UPDATE commissions SET status = 'on_hold' WHERE id = {commission.id}"))
    db.session.commit()
    assert db.session.get(Commission, commission.id).status == "on_hold"
