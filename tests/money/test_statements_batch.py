"""Monthly statement batches (rules: "Statements"), through the back office, a real RQ
worker and real WeasyPrint: progress, a failed statement retried, the ZIP, and every PDF
read back and checked against the ledger to the cent."""

import io
import os
import re
import shutil
import zipfile

import pypdf
from conftest import csrf_from, login, make_partner, make_staff, submit
from markupsafe import escape
from rq.job import Job

from core.base.extensions import db
from core.base.jobs import redis_connection
from core.base.timeutil import now_utc
from core.community.models import Notification
from core.money.cents import format_cents
from core.money.commissions import add_bonus
from core.money.models import Statement, StatementBatch
from core.money.statements import statement_figures, statement_lines
from core.program.models import Partner


def money_in(text: str) -> list[int]:
    """Every dollar amount printed in the text, in cents."""
    return [int(m.group(1).replace(",", "").replace(".", "")) * (-1 if m.group(0)[0] == "-" else 1)
            for m in re.finditer(r"-?\$([\d,]+\.\d\d)", text)]


def test_finance_generates_a_month_for_everyone_with_activity(app, run_worker):
    """Finance generates this month's statements: one per partner with activity (not for
    the idle one), progress shows done/failed/total, a failed one is retried from the
    batch page, then the ZIP holds every PDF, and each PDF's figures and lines equal the
    ledger to the cent."""
    with app.app_context():
        make_staff("finance@example.com", ("finance",))
        a = make_partner("Ana Active", deals=3)           # 3 × $200.00
        b = make_partner("Ben Bonus", deals=1)
        add_bonus(b.id, 12345, a.user_id, "Challenge prize: most demos booked")
        c = make_partner("Cleo Closer", deals=12)         # runs over a page boundary? no: 12 lines
        make_partner("Ivan Idle")                         # no activity
        db.session.commit()
        ids = {"a": a.id, "b": b.id, "c": c.id}
    staff = app.test_client()
    assert login(staff, "finance@example.com").status_code == 302
    period = now_utc().strftime("%Y-%m")

    # Make one statement fail for real: its folder path is taken by a file.
    storage = app.config["STORAGE_DIR"]
    os.makedirs(os.path.join(storage, "statements"), exist_ok=True)
    blocker = os.path.join(storage, "statements", str(ids["b"]))
    shutil.rmtree(blocker, ignore_errors=True)  # an earlier test's partner with this id
    with open(blocker, "w") as f:
        f.write("not a folder")

    resp = submit(staff, "/admin/statement-batches/", {"period": period,
                                                            "open_month_ok": "y"})
    assert resp.status_code == 302
    with app.app_context():
        batch = db.session.scalar(db.select(StatementBatch))
        assert batch.total == 3
        bid = batch.id
        b_st = db.session.scalar(db.select(Statement).where(Statement.partner_id == ids["b"]))
        # This job's retries are used up, as after its last attempt.
        job = Job.fetch(f"statement-{b_st.id}", connection=redis_connection(),
                        serializer=__import__("rq.serializers").serializers.JSONSerializer)
        job.retries_left = 0
        job.save()
    page = staff.get("/admin/statement-batches/").get_data(as_text=True)
    assert re.search(r'class="done">0<.*class="failed">0<.*class="total">3<', page, re.S)

    run_worker()

    page = staff.get(f"/admin/statement-batches/{bid}").get_data(as_text=True)
    assert re.search(r"<strong>2</strong> done, <strong>1</strong> failed", page), page
    assert "Retry 1 failed" in page and "Download ZIP" not in page
    with app.app_context():
        st = db.session.get(Statement, b_st.id)
        assert st.status == "failed" and st.error
        assert db.session.scalar(db.select(Notification).where(
            Notification.title.like("Statement % failed")))
        assert db.session.get(StatementBatch, bid).zip_status == "none"
    assert str(escape(st.error)) in page

    os.remove(blocker)
    resp = submit(staff, f"/admin/statement-batches/{bid}", {},
                  post_url=f"/admin/statement-batches/{bid}/retry")
    assert resp.status_code == 302
    run_worker()  # the statement, then the ZIP its completion queued

    page = staff.get("/admin/statement-batches/").get_data(as_text=True)
    assert re.search(r'class="done">3<.*class="failed">0<.*class="total">3<', page, re.S)
    assert "Download ZIP" in page
    resp = staff.get(f"/admin/statement-batches/{bid}/zip")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(resp.data))
    names = sorted(zf.namelist())
    people = {"a": "Ana Active", "b": "Ben Bonus", "c": "Cleo Closer"}
    assert names == sorted(f"{period} - {people[k]} (#{pid}).pdf" for k, pid in ids.items())

    with app.app_context():
        year, month = now_utc().year, now_utc().month
        for key, pid in ids.items():
            pdf = zf.read(f"{period} - {people[key]} (#{pid}).pdf")
            reader = pypdf.PdfReader(io.BytesIO(pdf))
            text = "\n".join(p.extract_text() for p in reader.pages)
            fig = statement_figures(pid, year, month)
            lines = statement_lines(pid, year, month)

            partner = db.session.get(Partner, pid)
            assert partner.user.name in text
            n = len(reader.pages)
            assert f"Page {n} of {n}" in text
            assert f"Opening balance {format_cents(fig['opening_cents'])}" in text
            assert f"Earned {format_cents(fig['earned_cents'])}" in text
            assert f"Closing balance {format_cents(fig['closing_cents'])}" in text
            # The table's amounts are exactly the ledger's lines, and they add up.
            printed = money_in(text)
            for line in lines:
                assert format_cents(line["amount_cents"]) in text
            assert sum(line["amount_cents"] for line in lines) == \
                fig["closing_cents"] - fig["opening_cents"]
            # Every commission here is still in its holding period: each line says so.
            from core.money.models import Commission

            held = db.session.scalars(db.select(Commission).where(
                Commission.partner_id == pid, Commission.amount_cents > 0)).all()
            assert held and all(c.status == "pending" for c in held)
            assert text.count("Holding period until") == len(held)
            assert held[0].hold_until.strftime("%Y-%m-%d") in text
            assert fig["closing_cents"] in printed
    # Partners download their own statements; another partner's is 404.
    with app.app_context():
        a_user = db.session.get(Partner, ids["a"]).user.email
        b_stid = b_st.id
    partner = app.test_client()
    login(partner, a_user)
    assert partner.get(f"/partner/statements/{b_stid}/download").status_code == 404


def test_batch_refuses_a_month_without_activity(app):
    """An empty month gives a clear message, not an empty batch."""
    with app.app_context():
        make_staff("finance@example.com", ("finance",))
        make_partner("Ivan Idle")
    staff = app.test_client()
    login(staff, "finance@example.com")
    resp = submit(staff, "/admin/statement-batches/", {"period": "2024-01"})
    assert resp.status_code == 200
    assert "No partner had activity in 2024-01." in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(StatementBatch)) is None
    assert csrf_from(resp.get_data(as_text=True))
