"""Gaps a review found in the money core, one test (or two) each: concurrent deal
confirmations, statement PDFs that match their frozen totals, bonus approval, payouts that
keep failing at Stripe, audit rows of refused attempts, and JSON booleans."""

import threading
from datetime import timedelta

import pytest
from conftest import make_partner, make_staff, make_staff_once
from sqlalchemy import func, select

from core.accounts.models import User
from core.base.extensions import db
from core.money.commissions import confirm_deal
from core.money.models import Commission
from core.program.leads import create_lead, move_lead
from core.program.models import Partner


def won_lead(partner: Partner, value_cents: int = 100000, company: str = "Client Co") -> int:
    """A lead the partner logged and marked won (not yet confirmed); returns its id."""
    lead = create_lead(partner, {"company_name": company}, partner.user_id)
    move_lead(lead, "won", partner.user_id, value_cents)
    db.session.commit()
    return lead.id


# --- 1. concurrent confirmations for one partner -----------------------------------------

def test_two_confirmations_for_one_partner_at_once_count_both_and_pay_one_referral(
        app, ctx, monkeypatch):
    """Two staff members confirm two different won leads of the same recruited partner at
    the same moment (both read the partner before either commits). Both deals count
    (won_deals_count 2, not 1) and the recruiter's one-time referral bonus is paid once.

    PostgreSQL only: SQLite serialises writers with a database lock, so the two
    transactions cannot interleave there and the race cannot happen (nor be shown)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers; the lost update needs PostgreSQL")
    import core.money.commissions as commissions

    recruiter = make_partner("Rita Recruiter", deals=3)  # active tier: 5% referral bonus
    recruit = make_partner("Rick Recruit", recruiter=recruiter)
    leads = [won_lead(recruit, 100000, "North Co"), won_lead(recruit, 100000, "South Co")]
    staff_id, recruit_id, recruiter_id = make_staff_once().id, recruit.id, recruiter.id
    db.session.remove()

    # Both confirmations stop after their read of the lead and partner until the other has
    # read too: the interleaving that loses an update when nothing locks the partner row.
    barrier = threading.Barrier(2, timeout=10)
    real_cents_field = commissions.cents_field

    def cents_field_after_both_read(*args, **kwargs):
        barrier.wait()
        return real_cents_field(*args, **kwargs)

    monkeypatch.setattr(commissions, "cents_field", cents_field_after_both_read)
    results = []

    def confirm(lead_id):
        with app.app_context():
            try:
                confirm_deal(lead_id, staff_id)
                db.session.commit()
                results.append("ok")
            except Exception as exc:  # reported by the assertion below
                db.session.rollback()
                results.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=confirm, args=(lid,)) for lid in leads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == ["ok", "ok"], results

    assert db.session.get(Partner, recruit_id).won_deals_count == 2
    referrals = db.session.scalars(select(Commission).where(
        Commission.type == "referral", Commission.partner_id == recruiter_id)).all()
    assert [(c.amount_cents, c.source_partner_id) for c in referrals] == [(5000, recruit_id)]
    assert db.session.scalar(select(func.count()).select_from(Commission).where(
        Commission.partner_id == recruit_id, Commission.type == "base")) == 2



# --- 2. a statement PDF lists the lines behind its frozen totals ------------------------

def _money(text: str) -> int:
    """``-$1,234.56`` → ``-123456`` (cents)."""
    neg = text.startswith(("-", "\u2212"))
    digits = text.lstrip("-\u2212$").replace(",", "").replace(".", "")
    return -int(digits) if neg else int(digits)


def _read_statement_pdf(path: str) -> dict:
    """What a reader sees on the PDF (pdftotext -layout): the summary figures and the
    activity lines' references and amounts."""
    import re
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    text = subprocess.run(["pdftotext", "-layout", path, "-"], check=True, timeout=60,
                          capture_output=True, text=True).stdout
    amount = r"(-?\$[\d,]+\.\d{2})"
    figures = {}
    for label, key in (("Opening balance", "opening"), ("Earned", "earned"),
                       ("Reversed", "reversed"), ("Paid out", "paid"),
                       ("Closing balance", "closing")):
        m = re.search(rf"{label}\s+{amount}\s*$", text, re.M)  # the summary box
        assert m, (label, text)
        figures[key] = _money(m.group(1))
    figures["reversed"], figures["paid"] = -figures["reversed"], -figures["paid"]  # shown < 0
    lines = [(m.group(1), _money(m.group(2))) for m in re.finditer(
        rf"^\s*\d{{4}}-\d{{2}}-\d{{2}}\s+([CP]-\d+)\s.*?{amount}\s*$", text, re.M)]
    return {"figures": figures, "lines": lines}


def test_statement_pdf_lists_the_lines_behind_its_totals(app, ctx, run_worker):
    """Finance issues this month's statement, then another deal is confirmed in the same
    month before the PDF is rendered. The PDF still lists exactly the lines that make its
    printed totals (they add up, to the cent) and not the later commission; re-issuing
    gives version 2, which lists it and whose totals include it."""
    from core.base.timeutil import now_utc
    from core.money.models import Statement
    from core.money.statements import issue_statement

    p = make_partner("Stella Statement", deals=1)       # $1,000 deal: $200.00 commission
    finance = make_staff()
    now = now_utc()
    st = issue_statement(p.id, now.year, now.month, finance.id)
    db.session.commit()
    sid, pid, fid = st.id, p.id, finance.id
    first_ref = f"C-{db.session.scalar(select(Commission.id).where(Commission.partner_id == pid))}"
    _deal, made = confirm_deal(won_lead(p, 50000, "Late Co"), make_staff_once().id)
    db.session.commit()
    late_ref, late_cents = f"C-{made[0].id}", made[0].amount_cents  # $100.00, same month
    run_worker()

    storage = app.config["STORAGE_DIR"]
    db.session.expire_all()
    st = db.session.get(Statement, sid)
    assert st.status == "ready", st.error
    seen = _read_statement_pdf(f"{storage}/{st.file_path}")
    fig = seen["figures"]
    assert fig == {"opening": 0, "earned": 20000, "reversed": 0, "paid": 0,
                   "closing": 20000} == {k: getattr(st, f"{k}_cents") for k in fig}
    assert seen["lines"] == [(first_ref, 20000)]
    assert sum(a for _r, a in seen["lines"]) == fig["closing"] - fig["opening"]

    st2 = issue_statement(pid, now.year, now.month, fid)
    db.session.commit()
    sid2 = st2.id
    run_worker()
    db.session.expire_all()
    st2 = db.session.get(Statement, sid2)
    assert (st2.version, st2.status) == (2, "ready")
    seen2 = _read_statement_pdf(f"{storage}/{st2.file_path}")
    assert sorted(seen2["lines"]) == sorted([(first_ref, 20000), (late_ref, late_cents)])
    assert seen2["figures"]["closing"] == 20000 + late_cents == st2.closing_cents
    assert sum(a for _r, a in seen2["lines"]) == (seen2["figures"]["closing"]
                                                  - seen2["figures"]["opening"])
    # A retried render of version 1 (its file lost) still prints its own lines only.
    import os

    from core.money.statements import render_statement

    os.remove(f"{storage}/{st.file_path}")
    rel = st.file_path
    db.session.remove()
    assert render_statement(sid) == rel
    assert _read_statement_pdf(f"{storage}/{rel}") == seen


# --- 3. bonuses wait for staff -----------------------------------------------------------

def test_approve_due_leaves_bonuses_for_staff(app, ctx):
    """Once the holding period is over, ``flask approve-due`` approves the partner's deal
    commission but not their challenge prize / manual bonus, which stays pending until
    finance approves it."""
    from core.base.timeutil import now_utc
    from core.money.commissions import add_bonus, approve_commissions

    p = make_partner("Bonnie Bonus")
    confirm_deal(won_lead(p, 100000), make_staff_once().id)
    finance = make_staff()
    bonus_id = add_bonus(p.id, 25000, finance.id, "Weekly Sprint winner").id
    past = now_utc() - timedelta(minutes=1)
    db.session.execute(db.update(Commission).values(hold_until=past))  # both are due
    db.session.commit()

    out = app.test_cli_runner().invoke(args=["approve-due"])
    assert out.exit_code == 0, out.output
    db.session.expire_all()
    got = dict(db.session.execute(select(Commission.type, Commission.status)
                                  .where(Commission.partner_id == p.id)).all())
    assert got == {"base": "approved", "bonus": "pending"}

    approve_commissions([bonus_id], finance.id)  # staff approve it
    db.session.commit()
    assert db.session.get(Commission, bonus_id).status == "approved"


# --- 5. refused attempts on money are audited, and nothing else changes ------------------

def _counts() -> dict:
    from core.base.models import AuditLog
    from core.community.models import Notification
    from core.money.models import Deal, Payout, PayoutTransfer, Statement

    return {m.__tablename__: db.session.scalar(select(func.count()).select_from(m))
            for m in (User, Partner, Deal, Commission, Payout, PayoutTransfer, Statement,
                      Notification, AuditLog)}


def _requested_payout(name: str, value_cents: int = 500000, **kw) -> tuple[Partner, int]:
    """A partner with one approved commission (20% of ``value_cents``) gathered into a
    requested payout."""
    from core.money.commissions import approve_commissions
    from core.money.payouts import create_payout

    p = make_partner(name, **kw)
    _deal, made = confirm_deal(won_lead(p, value_cents), make_staff_once().id)
    approve_commissions([c.id for c in made], make_staff_once().id)
    payout = create_payout(p.id, p.user_id)
    db.session.commit()
    return p, payout.id


def test_refused_payout_approvals_and_stale_transitions_are_audited(app, ctx, client,
                                                                    monkeypatch):
    """Through the API, finance tries to approve their own payout (403), a payout below
    the minimum (422), a Stripe payout of a partner with no payout method (422), a payout
    already approved (409), and to cancel a deal already cancelled (409). Each refusal is
    in the audit log with who, what and why, although the request was rolled back; the
    payouts, deals, commissions and transfer queue are exactly as before."""
    import json

    from conftest import api_token

    from core.base.jobs import get_queue
    from core.base.models import AuditLog
    from core.money.commissions import cancel_deal
    from core.money.models import Deal, Payout
    from core.money.payouts import approve_payout, set_payout_minimum

    finance = make_staff("finance@example.com", ("finance",))
    own, own_pid = _requested_payout("Fiona Finance-Partner", email="fiona@example.com")
    own.user.is_staff, own.user.roles = True, "finance"  # a finance user who is a partner
    _small, small_pid = _requested_payout("Sam Small", 100000)  # $200.00
    monkeypatch.setitem(app.config, "STRIPE_API_KEY", "sk_test_not_used")
    _nostripe, stripe_pid = _requested_payout("Nora No-Stripe")  # gateway stripe, no account
    monkeypatch.setitem(app.config, "STRIPE_API_KEY", None)
    _done, done_pid = _requested_payout("Dan Done")
    approve_payout(done_pid, finance)
    db.session.commit()
    set_payout_minimum(30000, finance.id)  # Sam's $200.00 is now below the $300.00 minimum
    gone = make_partner("Carl Cancelled", deals=1)
    gone_deal = db.session.scalar(select(Deal.id).where(Deal.partner_id == gone.id))
    cancel_deal(gone_deal, finance.id, "Client withdrew")
    db.session.commit()
    get_queue("payouts").empty()
    finance_id = finance.id
    db.session.remove()

    fin = api_token(client, "finance@example.com", kind="staff")
    fiona = api_token(client, "fiona@example.com", kind="staff")
    before = _counts()
    statuses = dict(db.session.execute(select(Payout.id, Payout.status)).all())
    tries = [
        (fiona, f"/api/staff/payouts/{own_pid}/approve", 403, "payout", own_pid,
         "payout.approve.refused", "own payout"),
        (fin, f"/api/staff/payouts/{small_pid}/approve", 422, "payout", small_pid,
         "payout.approve.refused", "below minimum"),
        (fin, f"/api/staff/payouts/{stripe_pid}/approve", 422, "payout", stripe_pid,
         "payout.approve.refused", "no payout method"),
        (fin, f"/api/staff/payouts/{done_pid}/approve", 409, "payout", done_pid,
         "payout.approve.refused", "state"),
        (fin, f"/api/staff/deals/{gone_deal}/cancel", 409, "deal", gone_deal,
         "deal.cancel.refused", "state"),
    ]
    for headers, url, status, *_ in tries:
        resp = client.post(url, headers=headers, json={"reason": "again"})
        assert resp.status_code == status, (url, resp.get_json())

    after = _counts()
    assert after.pop("audit_log") == before.pop("audit_log") + len(tries)
    assert after == before
    assert dict(db.session.execute(select(Payout.id, Payout.status)).all()) == statuses
    assert get_queue("payouts").count == 0
    rows = list(db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc())
                                   .limit(len(tries))))[::-1]
    fiona_id = db.session.scalar(select(User.id).where(User.email == "fiona@example.com"))
    expected = [(fiona_id if h is fiona else finance_id, action, otype, oid, why)
                for h, _u, _s, otype, oid, action, why in tries]
    assert [(r.actor_id, r.action, r.object_type, r.object_id,
             json.loads(r.after)["refused"]) for r in rows] == expected
    assert json.loads(rows[1].after)["minimum_cents"] == 30000


# --- 6. "refunded" is a JSON boolean -----------------------------------------------------

def test_cancel_refunded_accepts_only_json_booleans(app, ctx, client):
    """``"refunded": "false"`` (a string) is a 422 that changes nothing, as are 0, 1 and
    null; ``false`` cancels the deal and ``true`` refunds one."""
    from conftest import api_token

    from core.money.models import Deal

    make_staff("finance@example.com", ("finance",))
    p = make_partner("Ruth Refund", deals=2)
    first, second = db.session.scalars(select(Deal.id).where(Deal.partner_id == p.id)
                                       .order_by(Deal.id)).all()
    db.session.remove()
    fin = api_token(client, "finance@example.com", kind="staff")
    before = _counts()
    for value in ("false", "true", 0, 1, None, [], "no"):
        resp = client.post(f"/api/staff/deals/{first}/cancel", headers=fin,
                           json={"reason": "Client withdrew", "refunded": value})
        assert resp.status_code == 422, (value, resp.get_json())
        assert "refunded" in resp.get_json()["error"]["message"]
    assert _counts() == before
    assert db.session.get(Deal, first).status == "won"

    assert client.post(f"/api/staff/deals/{first}/cancel", headers=fin,
                       json={"reason": "Client withdrew", "refunded": False}).status_code == 200
    assert client.post(f"/api/staff/deals/{second}/cancel", headers=fin,
                       json={"reason": "Refunded", "refunded": True}).status_code == 200
    db.session.expire_all()
    assert [db.session.get(Deal, d).status for d in (first, second)] == ["cancelled",
                                                                         "refunded"]


def test_twenty_parallel_confirmations_of_one_lead_pay_once_and_the_others_get_409(
        app, ctx, monkeypatch):
    """Twenty staff requests confirm the same won lead at the same moment (each read the
    lead before any committed): one deal and one set of commissions are made; the other
    nineteen answer 409 "already confirmed" (never 500), each refusal audited.

    PostgreSQL only, as above: SQLite lets one writer at a time."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    from conftest import api_token

    import core.money.commissions as commissions
    from core.base.models import AuditLog
    from core.money.models import Deal

    partner = make_partner("Pia Parallel")
    lead_id = won_lead(partner, 250000, "Race Co")
    partner_id = partner.id
    make_staff("racer@example.com", ("finance",))
    db.session.remove()
    headers = api_token(app.test_client(), "racer@example.com", kind="staff")
    n, racing = 20, 10  # the first ten to read wait for each other (the pool has 15)
    barrier = threading.Barrier(racing, timeout=20)
    start = threading.Barrier(n, timeout=20)
    seen, lock = [], threading.Lock()
    real_cents_field = commissions.cents_field

    def cents_field_after_others_read(*args, **kwargs):
        with lock:
            seen.append(1)
            wait = len(seen) <= racing
        if wait:
            barrier.wait()
        return real_cents_field(*args, **kwargs)

    monkeypatch.setattr(commissions, "cents_field", cents_field_after_others_read)
    answers = []

    def confirm():
        start.wait()
        resp = app.test_client().post(f"/api/staff/leads/{lead_id}/confirm", headers=headers)
        answers.append((resp.status_code, (resp.get_json() or {}).get("error", {})))

    threads = [threading.Thread(target=confirm) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    codes = sorted(code for code, _ in answers)
    assert codes == [201] + [409] * (n - 1), answers
    assert all(err["message"] == "This lead's deal is already confirmed."
               for code, err in answers if code == 409)
    assert db.session.scalar(select(func.count()).select_from(Deal)) == 1
    assert db.session.scalar(select(func.count()).select_from(Commission)) == 1
    assert db.session.get(Partner, partner_id).won_deals_count == 1
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "deal.confirm.refused")) == n - 1


def test_a_suspended_partners_payout_is_not_approved(app, ctx, client):
    """A partner suspended after requesting a payout is not paid: approval answers 409
    naming why, the payout stays requested and the refusal is audited."""
    from conftest import api_token

    from core.base.models import AuditLog
    from core.money.models import Payout
    from core.program.partners import suspend_partner

    partner = make_partner("Sue Spended", deals=3)
    staff = make_staff_once()
    db.session.execute(db.update(Commission).where(Commission.partner_id == partner.id)
                       .values(status="approved"))
    from core.money.payouts import create_payout

    payout = create_payout(partner.id, partner.user_id)
    suspend_partner(partner.id, staff.id, "investigation")
    db.session.commit()
    payout_id = payout.id
    make_staff("fin@example.com", ("finance",))
    resp = client.post(f"/api/staff/payouts/{payout_id}/approve",
                       headers=api_token(client, "fin@example.com", kind="staff"))
    assert resp.status_code == 409 and "suspended" in resp.get_json()["error"]["message"]
    db.session.remove()
    assert db.session.get(Payout, payout_id).status == "requested"
    assert db.session.scalar(select(AuditLog).where(
        AuditLog.action == "payout.approve.refused", AuditLog.object_id == payout_id)) is not None
