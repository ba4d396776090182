"""The foundation story, end to end over HTTP as people do it: a partner applies, staff
approve, the partner logs a lead and marks it won, staff confirm the deal, the commission
appears, finance pays it out and downloads a PDF statement rendered by a real RQ worker,
and the partner tells another partner about it in live chat (real Socket.IO server and
clients, connected with the partners' own portal session cookies)."""

import re
import subprocess
import threading

import socketio as sio_client
from conftest import PASSWORD, csrf_from, login, make_staff, submit

from core.base.extensions import db
from core.base.models import AuditLog
from core.base.timeutil import now_utc
from core.money.models import Commission, Payout, Statement
from core.program.models import Lead, Partner


def admin_action(client, view: str, action: str, ids: list[int]):
    """Run a Flask-Admin list action the way the list page's form does."""
    page = client.get(f"/admin/{view}/")
    assert page.status_code == 200
    data = {"action": action, "rowid": [str(i) for i in ids],
            "csrf_token": csrf_from(page.get_data(as_text=True))}
    return client.post(f"/admin/{view}/action/", data=data)


def session_cookie(client) -> str:
    """The ``Cookie`` header a browser logged in as ``client`` would send."""
    cookie = client.get_cookie("session")
    assert cookie is not None, "not logged in"
    return f"session={cookie.value}"


def test_partner_to_paid_statement(app, run_worker, live_server):
    """A $1,500 deal by a starter partner pays $300.00, which finance pays out and which
    the partner's statement shows to the cent; then she tells another partner in chat."""
    with app.app_context():
        make_staff("finance@example.com", ("admin", "finance"))

    partner = app.test_client()
    resp = submit(partner, "/partner/register", {
        "name": "Sarah Thompson", "email": "sarah@example.com", "password": PASSWORD,
        "accept_terms": "y", "company_name": "Thompson Digital"})
    assert resp.status_code == 200
    assert "We sent a message to sarah@example.com" in resp.get_data(as_text=True)
    assert login(partner, "sarah@example.com").status_code == 302
    page = partner.get("/partner/dashboard").get_data(as_text=True)
    assert "under review" in page

    staff = app.test_client()
    assert login(staff, "finance@example.com").status_code == 302
    with app.app_context():
        pid = db.session.scalar(db.select(Partner.id))
    assert admin_action(staff, "partners", "approve", [pid]).status_code == 302

    resp = submit(partner, "/partner/leads", {
        "company_name": "TechCorp", "contact_name": "John Smith",
        "contact_email": "john@techcorp.example", "estimated_value": "2,500"})
    assert resp.status_code == 302
    with app.app_context():
        lead_id = db.session.scalar(db.select(Lead.id))
    resp = submit(partner, f"/partner/leads/{lead_id}",
                  {"move-status": "won", "move-deal_value": "1500"},
                  post_url=f"/partner/leads/{lead_id}/move", prefix="move-")
    assert resp.status_code == 303

    resp = submit(staff, f"/admin/leads/confirm/{lead_id}", {"deal_value": "1500.00"})
    assert resp.status_code == 302
    earnings = partner.get("/partner/earnings").get_data(as_text=True)
    assert "$300.00" in earnings and "pending" in earnings

    with app.app_context():
        commission = db.session.scalar(db.select(Commission))
        assert (commission.amount_cents, commission.rate_bps, commission.type) == (30000, 2000,
                                                                                   "base")
        cid = commission.id
    assert admin_action(staff, "commissions", "approve", [cid]).status_code == 302

    resp = submit(staff, "/admin/payouts/new", {"partner_id": str(pid)})
    assert resp.status_code == 302
    with app.app_context():
        payout_id = db.session.scalar(db.select(Payout.id))
    assert admin_action(staff, "payouts", "approve", [payout_id]).status_code == 302
    run_worker()  # manual gateway: the job moves it to processing, awaiting the reference
    with app.app_context():
        assert db.session.get(Payout, payout_id).status == "processing"
    resp = submit(staff, f"/admin/payouts/record/{payout_id}", {"reference": "WIRE-2026-0042"})
    assert resp.status_code == 302

    period = now_utc().strftime("%Y-%m")
    resp = submit(staff, "/admin/statements/new", {"partner_id": str(pid), "period": period,
                                                   "open_month_ok": "y"})
    assert resp.status_code == 302
    run_worker()
    with app.app_context():
        st = db.session.scalar(db.select(Statement))
        assert st.status == "ready", st.error
        assert (st.earned_cents, st.paid_cents, st.closing_cents) == (30000, 30000, 0)
        payout = db.session.get(Payout, payout_id)
        assert payout.status == "paid" and payout.reference == "WIRE-2026-0042"
        actions = set(db.session.scalars(db.select(AuditLog.action)))
    assert {"partner.approve", "deal.confirm", "commission.create", "commission.approve",
            "payout.request", "payout.approve", "payout.paid", "statement.issue"} <= actions

    for who in (staff, partner):
        pdf = who.get(f"/partner/statements/{st.id}/download")
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
        assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.data,
                          capture_output=True, check=True).stdout.decode()
    assert "Sarah Thompson" in text
    assert text.count("$300.00") >= 2  # earned and paid out
    assert re.search(r"Closing balance\s+\$0\.00", text), text
    assert "WIRE-2026-0042" in text

    # Mike applies too; once approved, he and Sarah open the chat and she shares the win.
    mike = app.test_client()
    assert submit(mike, "/partner/register", {
        "name": "Mike Reyes", "email": "mike@example.com", "password": PASSWORD,
        "accept_terms": "y", "company_name": "Reyes Web"}).status_code == 200
    assert login(mike, "mike@example.com").status_code == 302
    with app.app_context():
        mike_pid = db.session.scalar(db.select(Partner.id).where(Partner.id != pid))
    assert admin_action(staff, "partners", "approve", [mike_pid]).status_code == 302
    assert "/partner/chat/daily-wins" in partner.get("/partner/chat").get_data(as_text=True)

    sockets, received, got = [], [], threading.Event()
    try:
        for who in (partner, mike):
            client = sio_client.Client(reconnection=False)
            client.connect(live_server, headers={"Cookie": session_cookie(who)},
                           transports=["websocket"], wait_timeout=5)
            sockets.append(client)
        sarah_socket, mike_socket = sockets

        @mike_socket.on("message")
        def on_message(data):
            received.append(data)
            got.set()

        joined = mike_socket.call("join", {"channel": "daily-wins"}, timeout=5)
        assert isinstance(joined, dict) and joined["ok"], joined
        assert sarah_socket.call("join", {"channel": "daily-wins"}, timeout=5)["ok"]
        ack = sarah_socket.call("send", {"channel": "daily-wins",
                                         "body": "Closed TechCorp: **$300** paid out!"},
                                timeout=5)
        assert ack["ok"], ack
        assert got.wait(5), "Mike did not see Sarah's message live"
    finally:
        for client in sockets:
            client.disconnect()
    assert received[0]["id"] == ack["id"] and received[0]["author"] == "Sarah Thompson"
    assert "<strong>$300</strong>" in received[0]["html"]
    history = mike.get("/partner/chat/daily-wins").get_data(as_text=True)
    assert "Closed TechCorp" in history
