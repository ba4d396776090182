"""The outbox (core/base/outbox.py, rules: "Unit of work"): work committed while Redis
does not answer is not lost. Each kind of job is asked for with Redis away; Redis comes
back; the sweeper hands every job to RQ; a real worker runs each exactly once."""

import email
import email.policy
import os

from conftest import PASSWORD, free_port, make_partner, make_staff, submit
from redis import Redis
from sqlalchemy import func, select

from core.accounts.email_links import request_password_reset
from core.accounts.models import User
from core.base import jobs
from core.base.extensions import db
from core.base.jobs import sweep_outbox
from core.base.models import OutboxJob
from core.base.timeutil import now_utc
from core.content.materials import install_builtin_templates, request_material
from core.content.models import MaterialRender, MaterialTemplate
from core.money.commissions import approve_commissions
from core.money.models import Commission, Payout, Statement, StatementBatch
from core.money.payouts import approve_payout, create_payout
from core.money.statement_batches import start_batch
from core.money.statements import issue_statement
from core.program.models import Partner


def waiting(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxJob))


def test_work_committed_while_redis_is_away_runs_once_when_it_returns(app, run_worker,
                                                                      monkeypatch):
    """With Redis refusing connections: a partner applies (verification e-mail), someone
    asks for a password reset (e-mail), finance issues a statement and a month's batch
    (renders, then the ZIP), a partner asks for a co-branded material (render), finance
    approves a payout (transfer) and commissions (notification e-mails). Everything is
    committed and answered; the jobs wait in the outbox. Redis returns: one sweep sends
    them all, the worker runs each once, and a second sweep and run change nothing."""
    mail_dir = os.path.join(app.config["STORAGE_DIR"], "outbox")
    os.makedirs(mail_dir, exist_ok=True)
    earlier = set(os.listdir(mail_dir))  # other tests' mail, in the session's folder

    def mail() -> list[str]:
        return sorted(set(os.listdir(mail_dir)) - earlier)
    with app.app_context():
        install_builtin_templates()
        staff = make_staff("finance@example.com", ("admin", "finance"))
        partner = make_partner("Olga Outbox", email="olga@example.com", deals=2)
        db.session.commit()
        staff_id, pid = staff.id, partner.id
        template_id = db.session.scalar(select(MaterialTemplate.id).where(
            MaterialTemplate.key == "faq-sheet"))
        db.session.remove()
    live = app.extensions["siso_redis"]
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.3,
                          socket_timeout=0.3)
    app.extensions["siso_redis"] = dead
    try:
        resp = submit(app.test_client(), "/partner/register", {
            "name": "Nora New", "email": "nora@example.com", "password": PASSWORD,
            "accept_terms": "y"})
        assert resp.status_code == 200
        with app.app_context():
            request_password_reset("olga@example.com")
            now = now_utc()
            statement_id = issue_statement(pid, now.year, now.month, staff_id).id
            partner = db.session.get(Partner, pid)
            render_id = request_material(partner, partner.user_id, template_id,
                                         "https://x.example/r/OLGA")[0].id
            db.session.commit()
            approve_commissions(list(db.session.scalars(select(Commission.id).where(
                Commission.partner_id == pid))), staff_id)
            db.session.commit()
            payout = create_payout(pid, staff_id)
            db.session.commit()
            approve_payout(payout.id, db.session.get(User, staff_id))
            db.session.commit()
            payout_id = payout.id
            db.session.remove()
    finally:
        app.extensions["siso_redis"] = live
    held = waiting(app)
    assert held >= 6, held  # verification, reset, statement, material, payout, e-mails
    with app.app_context():
        assert db.session.get(Statement, statement_id).status == "pending"
        assert db.session.get(Payout, payout_id).status == "approved"
    assert mail() == []

    monkeypatch.setattr(jobs, "SWEEP_AFTER_SECONDS", 0)
    with app.app_context():
        assert sweep_outbox() == held
    assert waiting(app) == 0
    run_worker()
    with app.app_context():
        assert db.session.get(Statement, statement_id).status == "ready"
        assert db.session.get(MaterialRender, render_id).status == "ready"
        assert db.session.get(Payout, payout_id).status == "processing"  # manual gateway
    mails = mail()
    # Again: nothing is sent twice.
    with app.app_context():
        assert sweep_outbox() == 0
    run_worker()
    assert mail() == mails
    subjects = []
    for name in mails:
        with open(os.path.join(mail_dir, name), "rb") as fh:
            msg = email.message_from_binary_file(fh, policy=email.policy.default)
        subjects.append((msg["To"], msg["Subject"]))
    assert ("nora@example.com", "Confirm your e-mail address for SISO Partners") in subjects
    assert sum(1 for to, _ in subjects if to == "nora@example.com") == 1
    assert sum(1 for to, subject in subjects
               if to == "olga@example.com" and "password" in subject.lower()) == 1


def test_a_rolled_back_transaction_leaves_nothing_in_the_outbox(app):
    """Work asked for in a transaction that is rolled back is never sent: no outbox row,
    no job."""
    with app.app_context():
        staff = make_staff("finance@example.com", ("finance",))
        partner = make_partner("Rolf Rollback")
        now = now_utc()
        issue_statement(partner.id, now.year, now.month, staff.id)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(OutboxJob)) == 0
        assert db.session.scalar(select(func.count()).select_from(Statement)) == 0


def test_batch_zip_is_asked_for_through_the_outbox(app, run_worker):
    """A month's batch: its statements and then its ZIP are jobs of the outbox, each run
    once by the worker (the ZIP is claimed by the last statement)."""
    with app.app_context():
        staff = make_staff("finance@example.com", ("finance",))
        make_partner("Bea Batch", deals=1)
        now = now_utc()
        batch = start_batch(now.year, now.month, staff.id)
        db.session.commit()
        batch_id = batch.id
    run_worker()
    with app.app_context():
        assert db.session.get(StatementBatch, batch_id).zip_status == "ready"
        assert db.session.scalar(select(func.count()).select_from(OutboxJob)) == 0
