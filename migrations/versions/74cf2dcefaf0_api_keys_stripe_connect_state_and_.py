"""api keys, stripe connect state and events, ledger guard

The ledger guard triggers refuse DELETE on ledger tables and changes of their fixed
amounts (core/ledger_guard.py holds the same DDL for reference).

Revision ID: 74cf2dcefaf0
Revises: 926c99b113d8
Create Date: 2026-11-22 05:34:10.782162

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '74cf2dcefaf0'
down_revision = '926c99b113d8'
branch_labels = None
depends_on = None

GUARD_CREATE = {
    "postgresql": [   'CREATE OR REPLACE FUNCTION siso_ledger_guard() RETURNS trigger LANGUAGE plpgsql AS $$ '
    "BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'ledger rows are never deleted (%)', "
    "TG_TABLE_NAME; END IF; RAISE EXCEPTION 'ledger amounts never change (%)', TG_TABLE_NAME; "
    'END $$',
    'CREATE TRIGGER ledger_no_delete BEFORE DELETE ON commissions FOR EACH ROW EXECUTE '
    'FUNCTION siso_ledger_guard()',
    'CREATE TRIGGER ledger_fixed BEFORE UPDATE OF amount_cents, partner_id, type, deal_id ON '
    'commissions FOR EACH ROW WHEN (NEW.amount_cents IS DISTINCT FROM OLD.amount_cents OR '
    'NEW.partner_id IS DISTINCT FROM OLD.partner_id OR NEW.type IS DISTINCT FROM OLD.type OR '
    'NEW.deal_id IS DISTINCT FROM OLD.deal_id) EXECUTE FUNCTION siso_ledger_guard()',
    'CREATE TRIGGER ledger_no_delete BEFORE DELETE ON payouts FOR EACH ROW EXECUTE FUNCTION '
    'siso_ledger_guard()',
    'CREATE TRIGGER ledger_fixed BEFORE UPDATE OF amount_cents, partner_id ON payouts FOR '
    'EACH ROW WHEN (NEW.amount_cents IS DISTINCT FROM OLD.amount_cents OR NEW.partner_id IS '
    'DISTINCT FROM OLD.partner_id) EXECUTE FUNCTION siso_ledger_guard()',
    'CREATE TRIGGER ledger_no_delete BEFORE DELETE ON payout_transfers FOR EACH ROW EXECUTE '
    'FUNCTION siso_ledger_guard()',
    'CREATE TRIGGER ledger_fixed BEFORE UPDATE OF amount_cents, payout_id, idempotency_key ON '
    'payout_transfers FOR EACH ROW WHEN (NEW.amount_cents IS DISTINCT FROM OLD.amount_cents '
    'OR NEW.payout_id IS DISTINCT FROM OLD.payout_id OR NEW.idempotency_key IS DISTINCT FROM '
    'OLD.idempotency_key) EXECUTE FUNCTION siso_ledger_guard()',
    'CREATE TRIGGER ledger_no_delete BEFORE DELETE ON deals FOR EACH ROW EXECUTE FUNCTION '
    'siso_ledger_guard()',
    'CREATE TRIGGER ledger_fixed BEFORE UPDATE OF value_cents, partner_id, lead_id ON deals '
    'FOR EACH ROW WHEN (NEW.value_cents IS DISTINCT FROM OLD.value_cents OR NEW.partner_id IS '
    'DISTINCT FROM OLD.partner_id OR NEW.lead_id IS DISTINCT FROM OLD.lead_id) EXECUTE '
    'FUNCTION siso_ledger_guard()',
    'CREATE TRIGGER ledger_no_delete BEFORE DELETE ON statements FOR EACH ROW EXECUTE '
    'FUNCTION siso_ledger_guard()',
    'CREATE TRIGGER ledger_fixed BEFORE UPDATE OF opening_cents, earned_cents, '
    'reversed_cents, paid_cents, closing_cents, partner_id, year, month, version ON '
    'statements FOR EACH ROW WHEN (NEW.opening_cents IS DISTINCT FROM OLD.opening_cents OR '
    'NEW.earned_cents IS DISTINCT FROM OLD.earned_cents OR NEW.reversed_cents IS DISTINCT '
    'FROM OLD.reversed_cents OR NEW.paid_cents IS DISTINCT FROM OLD.paid_cents OR '
    'NEW.closing_cents IS DISTINCT FROM OLD.closing_cents OR NEW.partner_id IS DISTINCT FROM '
    'OLD.partner_id OR NEW.year IS DISTINCT FROM OLD.year OR NEW.month IS DISTINCT FROM '
    'OLD.month OR NEW.version IS DISTINCT FROM OLD.version) EXECUTE FUNCTION '
    'siso_ledger_guard()',
    'CREATE TRIGGER ledger_no_delete BEFORE DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION '
    'siso_ledger_guard()',
    'CREATE TRIGGER ledger_fixed BEFORE UPDATE ON audit_log FOR EACH ROW EXECUTE FUNCTION '
    'siso_ledger_guard()'],
    "sqlite": [   'CREATE TRIGGER ledger_no_delete_commissions BEFORE DELETE ON commissions BEGIN SELECT '
    "RAISE(ABORT, 'ledger rows are never deleted'); END",
    'CREATE TRIGGER ledger_fixed_commissions BEFORE UPDATE OF amount_cents, partner_id, type, '
    'deal_id ON commissions WHEN NEW.amount_cents IS NOT OLD.amount_cents OR NEW.partner_id '
    'IS NOT OLD.partner_id OR NEW.type IS NOT OLD.type OR NEW.deal_id IS NOT OLD.deal_id '
    "BEGIN SELECT RAISE(ABORT, 'ledger amounts never change'); END",
    'CREATE TRIGGER ledger_no_delete_payouts BEFORE DELETE ON payouts BEGIN SELECT '
    "RAISE(ABORT, 'ledger rows are never deleted'); END",
    'CREATE TRIGGER ledger_fixed_payouts BEFORE UPDATE OF amount_cents, partner_id ON payouts '
    'WHEN NEW.amount_cents IS NOT OLD.amount_cents OR NEW.partner_id IS NOT OLD.partner_id '
    "BEGIN SELECT RAISE(ABORT, 'ledger amounts never change'); END",
    'CREATE TRIGGER ledger_no_delete_payout_transfers BEFORE DELETE ON payout_transfers BEGIN '
    "SELECT RAISE(ABORT, 'ledger rows are never deleted'); END",
    'CREATE TRIGGER ledger_fixed_payout_transfers BEFORE UPDATE OF amount_cents, payout_id, '
    'idempotency_key ON payout_transfers WHEN NEW.amount_cents IS NOT OLD.amount_cents OR '
    'NEW.payout_id IS NOT OLD.payout_id OR NEW.idempotency_key IS NOT OLD.idempotency_key '
    "BEGIN SELECT RAISE(ABORT, 'ledger amounts never change'); END",
    'CREATE TRIGGER ledger_no_delete_deals BEFORE DELETE ON deals BEGIN SELECT RAISE(ABORT, '
    "'ledger rows are never deleted'); END",
    'CREATE TRIGGER ledger_fixed_deals BEFORE UPDATE OF value_cents, partner_id, lead_id ON '
    'deals WHEN NEW.value_cents IS NOT OLD.value_cents OR NEW.partner_id IS NOT '
    "OLD.partner_id OR NEW.lead_id IS NOT OLD.lead_id BEGIN SELECT RAISE(ABORT, 'ledger "
    "amounts never change'); END",
    'CREATE TRIGGER ledger_no_delete_statements BEFORE DELETE ON statements BEGIN SELECT '
    "RAISE(ABORT, 'ledger rows are never deleted'); END",
    'CREATE TRIGGER ledger_fixed_statements BEFORE UPDATE OF opening_cents, earned_cents, '
    'reversed_cents, paid_cents, closing_cents, partner_id, year, month, version ON '
    'statements WHEN NEW.opening_cents IS NOT OLD.opening_cents OR NEW.earned_cents IS NOT '
    'OLD.earned_cents OR NEW.reversed_cents IS NOT OLD.reversed_cents OR NEW.paid_cents IS '
    'NOT OLD.paid_cents OR NEW.closing_cents IS NOT OLD.closing_cents OR NEW.partner_id IS '
    'NOT OLD.partner_id OR NEW.year IS NOT OLD.year OR NEW.month IS NOT OLD.month OR '
    "NEW.version IS NOT OLD.version BEGIN SELECT RAISE(ABORT, 'ledger amounts never change'); "
    'END',
    'CREATE TRIGGER ledger_no_delete_audit_log BEFORE DELETE ON audit_log BEGIN SELECT '
    "RAISE(ABORT, 'ledger rows are never deleted'); END",
    'CREATE TRIGGER ledger_fixed_audit_log BEFORE UPDATE ON audit_log BEGIN SELECT '
    "RAISE(ABORT, 'ledger amounts never change'); END"],
}
GUARD_DROP = {
    "postgresql": [   'DROP TRIGGER IF EXISTS ledger_no_delete ON commissions',
    'DROP TRIGGER IF EXISTS ledger_fixed ON commissions',
    'DROP TRIGGER IF EXISTS ledger_no_delete ON payouts',
    'DROP TRIGGER IF EXISTS ledger_fixed ON payouts',
    'DROP TRIGGER IF EXISTS ledger_no_delete ON payout_transfers',
    'DROP TRIGGER IF EXISTS ledger_fixed ON payout_transfers',
    'DROP TRIGGER IF EXISTS ledger_no_delete ON deals',
    'DROP TRIGGER IF EXISTS ledger_fixed ON deals',
    'DROP TRIGGER IF EXISTS ledger_no_delete ON statements',
    'DROP TRIGGER IF EXISTS ledger_fixed ON statements',
    'DROP TRIGGER IF EXISTS ledger_no_delete ON audit_log',
    'DROP TRIGGER IF EXISTS ledger_fixed ON audit_log',
    'DROP FUNCTION IF EXISTS siso_ledger_guard()'],
    "sqlite": [   'DROP TRIGGER IF EXISTS ledger_no_delete_commissions',
    'DROP TRIGGER IF EXISTS ledger_fixed_commissions',
    'DROP TRIGGER IF EXISTS ledger_no_delete_payouts',
    'DROP TRIGGER IF EXISTS ledger_fixed_payouts',
    'DROP TRIGGER IF EXISTS ledger_no_delete_payout_transfers',
    'DROP TRIGGER IF EXISTS ledger_fixed_payout_transfers',
    'DROP TRIGGER IF EXISTS ledger_no_delete_deals',
    'DROP TRIGGER IF EXISTS ledger_fixed_deals',
    'DROP TRIGGER IF EXISTS ledger_no_delete_statements',
    'DROP TRIGGER IF EXISTS ledger_fixed_statements',
    'DROP TRIGGER IF EXISTS ledger_no_delete_audit_log',
    'DROP TRIGGER IF EXISTS ledger_fixed_audit_log'],
}


def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('stripe_events',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_events'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=10), server_default='login', nullable=False))
        batch_op.add_column(sa.Column('name', sa.String(length=80), server_default='', nullable=False))
        batch_op.add_column(sa.Column('roles', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stripe_payouts_enabled', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_unique_constraint(batch_op.f('uq_partners_stripe_account_id'), ['stripe_account_id'])

    # ### end Alembic commands ###
    for stmt in GUARD_CREATE[op.get_bind().dialect.name]:
        op.execute(stmt)


def downgrade():
    for stmt in GUARD_DROP[op.get_bind().dialect.name]:
        op.execute(stmt)
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_partners_stripe_account_id'), type_='unique')
        batch_op.drop_column('stripe_payouts_enabled')

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('roles')
        batch_op.drop_column('name')
        batch_op.drop_column('kind')

    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.drop_column('reversed_at')

    op.drop_table('stripe_events')
    # ### end Alembic commands ###
