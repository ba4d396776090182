"""Back-office screens finance and support use all day, over HTTP with CSRF tokens as a
browser sends them: commission holds and reversals with a reason, the payout queue,
retries and the batch, CSV exports, the ticket figures on the dashboard, audit filters,
partner filters and pages, and what support may not do."""

import csv
import io
import json
import re
from datetime import timedelta

from conftest import REPO, csrf_from, login, make_partner, make_staff, make_staff_once, submit
from sqlalchemy import func, select
from test_story import admin_action

from core.base.extensions import db
from core.base.jobs import QUEUE_PAYOUTS, get_queue
from core.base.models import AuditLog
from core.base.timeutil import now_utc
from core.money.models import Commission, Payout
from core.money.payouts import approve_payout, create_payout, fail_payout, mark_paid
from core.program.models import Partner


def text_of(html: str) -> str:
    """The page as a person reads it: tags dropped, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def approve_all(partner_id=None):
    q = db.update(Commission).values(status="approved")
    if partner_id is not None:
        q = q.where(Commission.partner_id == partner_id)
    db.session.execute(q)
    db.session.commit()


def statuses(app, ids):
    with app.app_context():
        out = [db.session.get(Commission, i).status for i in ids]
        db.session.remove()
        return out


# --- 1. commissions: hold and reverse with a reason --------------------------------------

def test_finance_holds_commissions_with_a_reason(app, client):
    """Finance ticks two commissions and picks "Hold with reason": a page lists them and
    asks why; an empty reason is refused and changes nothing; with a reason both are on
    hold and the reason is in the audit trail."""
    with app.app_context():
        make_staff("fin@example.com", ("finance",))
        p = make_partner("Hannah Hold", deals=2)
        ids = list(db.session.scalars(select(Commission.id).where(
            Commission.partner_id == p.id).order_by(Commission.id)))
    login(client, "fin@example.com")
    resp = admin_action(client, "commissions", "hold", ids)
    assert resp.status_code == 302 and "/admin/commissions/reason/hold" in resp.headers["Location"]
    url = resp.headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "Put commissions on hold" in page and "Hannah Hold" in page
    assert "Hold 2 commission(s)" in page
    token = csrf_from(page)
    ids_field = re.search(r'name="ids" type="hidden" value="([^"]*)"', page).group(1)
    refused = client.post(url, data={"csrf_token": token, "ids": ids_field, "reason": "  "})
    assert refused.status_code == 422
    assert "Give a reason" in refused.get_data(as_text=True)
    assert statuses(app, ids) == ["pending", "pending"]
    done = client.post(url, data={"csrf_token": token, "ids": ids_field,
                                  "reason": "Contract not signed"})
    assert done.status_code == 302
    listing = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Held 2 commission(s)." in listing
    assert statuses(app, ids) == ["on_hold", "on_hold"]
    with app.app_context():
        rows = db.session.scalars(select(AuditLog.after).where(
            AuditLog.action == "commission.hold")).all()
        assert len(rows) == 2 and all("Contract not signed" in r for r in rows)


def test_finance_reverses_unpaid_and_paid_commissions(app, client):
    """Reversing a pending and a paid commission together: the pending one becomes
    reversed, the paid one keeps "paid" and gets a negative adjustment; a selection
    with an already reversed commission is refused with its id and changes nothing."""
    with app.app_context():
        finance = make_staff("fin@example.com", ("finance",))
        paid = make_partner("Paula Paid", deals=1)
        approve_all(paid.id)
        payout = create_payout(paid.id, finance.id)
        approve_payout(payout.id, finance)
        mark_paid(payout, "WIRE-1", finance.id)
        db.session.commit()
        pending = make_partner("Pete Pending", deals=1)
        paid_id = db.session.scalar(select(Commission.id).where(
            Commission.partner_id == paid.id))
        pending_id = db.session.scalar(select(Commission.id).where(
            Commission.partner_id == pending.id))
    login(client, "fin@example.com")
    resp = admin_action(client, "commissions", "reverse", [paid_id, pending_id])
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Reverse commissions" in page and "negative adjustment" in page
    done = submit(client, resp.headers["Location"],
                  {"ids": f"{paid_id},{pending_id}", "reason": "Client refunded"})
    assert done.status_code == 302
    assert "Reversed 2 commission(s)." in client.get(done.headers["Location"]).get_data(
        as_text=True)
    assert statuses(app, [paid_id, pending_id]) == ["paid", "reversed"]
    with app.app_context():
        adj = db.session.scalar(select(Commission).where(Commission.adjusts_id == paid_id))
        assert adj.amount_cents == -20000 and adj.type == "adjustment"
        adj_id = adj.id
    # Again, with the reversed one and the adjustment in the selection: refused, unchanged.
    resp = admin_action(client, "commissions", "reverse", [pending_id, adj_id])
    again = submit(client, resp.headers["Location"],
                   {"ids": f"{pending_id},{adj_id}", "reason": "twice"})
    assert again.status_code == 422
    html = again.get_data(as_text=True)
    assert f"#{pending_id} already reversed" in html and f"#{adj_id} an adjustment" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Commission).where(
            Commission.type == "adjustment")) == 1


def test_reason_page_is_finance_only_and_needs_a_selection(app, client):
    """Support cannot open the reason page (403); finance opening it with no selection or a
    made-up action is sent back with a message or a 404."""
    with app.app_context():
        make_staff("sup@example.com", ("support",))
        make_staff("fin@example.com", ("finance",))
        make_partner("Pat", deals=1)
    sup = app.test_client()
    login(sup, "sup@example.com")
    assert sup.get("/admin/commissions/reason/hold?ids=1").status_code == 403
    login(client, "fin@example.com")
    resp = client.get("/admin/commissions/reason/hold?ids=abc")
    assert resp.status_code == 302
    assert "Choose commissions in the list first." in client.get(
        resp.headers["Location"]).get_data(as_text=True)
    assert client.get("/admin/commissions/reason/delete?ids=1").status_code == 404
    assert statuses(app, [1]) == ["pending"]


# --- 2. payouts: queue, batch, retry, manual payment ------------------------------------

def test_payout_queue_shows_count_and_total_and_batch_creates_payouts(app, client):
    """The payout list opens with the approval queue's count and total; "Create payouts for
    everyone over the minimum" makes one payout per partner over it, and the queue then
    shows them; the named filter link shows only requested payouts."""
    with app.app_context():
        make_staff("fin@example.com", ("finance",))
        for name, deals in (("Ann One", 1), ("Bob Two", 2), ("Cy Small", 0)):
            make_partner(name, deals=deals)
        approve_all()
    login(client, "fin@example.com")
    page = client.get("/admin/payouts/").get_data(as_text=True)
    assert "0 requested payouts · $0.00" in text_of(page)
    resp = submit(client, "/admin/payouts/", {}, post_url="/admin/payouts/batch")
    assert resp.status_code == 302
    follow = text_of(client.get(resp.headers["Location"]).get_data(as_text=True))
    assert "Created 2 payout(s) totalling $600.00" in follow
    assert "2 requested payouts · $600.00" in follow
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Payout)) == 2
        db.session.execute(db.update(Payout).where(Payout.amount_cents == 20000)
                           .values(status="approved"))
        db.session.commit()
    queue = client.get("/admin/payouts/?flt1_status_equals=requested").get_data(as_text=True)
    assert "Bob Two" in queue and "Ann One" not in queue
    assert "1 requested payout · $400.00" in text_of(queue)
    again = submit(client, "/admin/payouts/", {}, post_url="/admin/payouts/batch")
    assert "No partner has an approved balance over the minimum" in client.get(
        again.headers["Location"]).get_data(as_text=True)


def test_batch_without_csrf_and_by_support_is_refused(app, client):
    """The batch button's POST needs the CSRF token, and support gets 403: no payout made."""
    with app.app_context():
        make_staff("fin@example.com", ("finance",))
        make_staff("sup@example.com", ("support",))
        make_partner("Ann One", deals=1)
        approve_all()
    login(client, "fin@example.com")
    assert client.post("/admin/payouts/batch").status_code == 400
    sup = app.test_client()
    login(sup, "sup@example.com")
    token = csrf_from(sup.get("/admin/reauth/").get_data(as_text=True))
    assert sup.post("/admin/payouts/batch", data={"csrf_token": token}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Payout)) == 0


def test_finance_retries_a_failed_payout(app, client):
    """A failed payout shows a Retry button; its page shows the error and the balance to
    pay; retrying makes a new approved payout with its transfer queued; the old page then
    says it was retried and a second POST is refused."""
    with app.app_context():
        finance = make_staff("fin@example.com", ("finance",))
        p = make_partner("Fay Failed", deals=1)
        approve_all(p.id)
        payout = create_payout(p.id, finance.id)
        approve_payout(payout.id, finance)
        fail_payout(payout, "Bank account <closed>.", None)
        db.session.commit()
        get_queue(QUEUE_PAYOUTS).empty()
        pid = payout.id
    login(client, "fin@example.com")
    listing = client.get("/admin/payouts/").get_data(as_text=True)
    assert f'href="/admin/payouts/retry/{pid}"' in listing
    page = client.get(f"/admin/payouts/retry/{pid}").get_data(as_text=True)
    assert "Bank account &lt;closed&gt;." in page and "Retry: pay $200.00" in page
    resp = submit(client, f"/admin/payouts/retry/{pid}", {})
    assert resp.status_code == 302
    follow = client.get(resp.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        new = db.session.scalar(select(Payout).where(Payout.id != pid))
        assert new.status == "approved" and new.amount_cents == 20000
        assert get_queue(QUEUE_PAYOUTS).job_ids == [f"payout-{new.id}"]
        new_id = new.id
    assert f"Payout #{pid} retried as payout #{new_id} of $200.00" in follow
    page = client.get(f"/admin/payouts/retry/{pid}").get_data(as_text=True)
    assert f"already retried as payout #{new_id}" in page
    token = csrf_from(client.get("/admin/payouts/").get_data(as_text=True))
    again = client.post(f"/admin/payouts/retry/{pid}", data={"csrf_token": token})
    assert again.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Payout)) == 2


def test_manual_payment_refused_for_a_stripe_payout_on_screen(app, client):
    """A Stripe payout shows no "Record payment" button, and posting a reference to its
    record page anyway is refused with the reason; it stays processing."""
    with app.app_context():
        finance = make_staff("fin@example.com", ("finance",))
        p = make_partner("Stu Stripe", deals=1)
        approve_all(p.id)
        payout = create_payout(p.id, finance.id)
        db.session.execute(db.update(Payout).values(gateway="stripe", status="processing"))
        db.session.commit()
        pid = payout.id
    login(client, "fin@example.com")
    assert f"/admin/payouts/record/{pid}" not in client.get("/admin/payouts/").get_data(
        as_text=True)
    resp = submit(client, f"/admin/payouts/record/{pid}", {"reference": "WIRE-9"})
    assert resp.status_code == 200
    assert "goes through Stripe" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Payout, pid).status == "processing"


# --- 3. CSV exports --------------------------------------------------------------------

def test_finance_downloads_csv_exports_for_a_range(app, client):
    """Finance picks days and what to export: the CSV holds that range's commissions
    and/or payouts, names that look like formulas are neutralised; a range that ends
    before it starts is refused on the form; support cannot open the screen."""
    with app.app_context():
        finance = make_staff("fin@example.com", ("finance",))
        make_staff("sup@example.com", ("support",))
        p = make_partner("=HYPERLINK(\"http://x\")", deals=1)
        approve_all(p.id)
        create_payout(p.id, finance.id)
        db.session.commit()
    login(client, "fin@example.com")
    assert "CSV exports" in client.get("/admin/").get_data(as_text=True)
    today = now_utc().date().isoformat()
    resp = submit(client, "/admin/exports/", {"kind": "ledger", "first": today,
                                              "last": today})
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert f'siso-ledger-{today.replace("-", "")}' in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [r["kind"] for r in rows] == ["commission", "payout"]
    assert rows[0]["partner_name"].startswith("'=HYPERLINK")
    assert rows[0]["amount_cents"] == "20000" and rows[0]["amount"] == "200.00"
    only = submit(client, "/admin/exports/", {"kind": "payouts", "first": today,
                                              "last": today})
    assert [r["kind"] for r in csv.DictReader(io.StringIO(only.get_data(as_text=True)))] == \
        ["payout"]
    earlier = (now_utc().date() - timedelta(days=3)).isoformat()
    empty = submit(client, "/admin/exports/", {"kind": "ledger", "first": earlier,
                                               "last": earlier})
    assert len(list(csv.reader(io.StringIO(empty.get_data(as_text=True))))) == 1  # header
    bad = submit(client, "/admin/exports/", {"kind": "ledger", "first": today,
                                             "last": earlier})
    assert bad.status_code == 422 and bad.mimetype == "text/html"
    assert "The last day must not be before the first day." in bad.get_data(as_text=True)
    wrong = submit(client, "/admin/exports/", {"kind": "ledger", "first": "yesterday",
                                               "last": today})
    assert wrong.status_code == 422 and "Not a valid date" in wrong.get_data(as_text=True)
    sup = app.test_client()
    login(sup, "sup@example.com")
    assert sup.get("/admin/exports/").status_code == 403
    assert "CSV exports" not in sup.get("/admin/").get_data(as_text=True)


# --- 4. dashboard: open tickets --------------------------------------------------------

def test_dashboard_shows_open_tickets_by_priority_and_age(app, client):
    """Open tickets are counted by priority and by age (under 24 h, 1–3 days, over 3
    days); resolved tickets are left out."""
    from core.support.tickets import open_ticket

    with app.app_context():
        make_staff("sup@example.com", ("support",))
        p = make_partner("Tia Tickets")
        now = now_utc()
        for priority, age_hours, status in (("urgent", 2, "open"), ("urgent", 30, "in_progress"),
                                            ("low", 100, "open"), ("high", 5, "resolved")):
            t = open_ticket(p, f"{priority} {age_hours}", "help", "other", priority)
            t.created_at = now - timedelta(hours=age_hours)
            t.status = status
        db.session.commit()
    login(client, "sup@example.com")
    html = client.get("/admin/").get_data(as_text=True)
    card = text_of(html.split('id="open-tickets"')[1].split("Background jobs")[0])
    assert "Open tickets 3" in card
    assert "Urgent 2" in card and "High 0" in card and "Medium 0" in card and "Low 1" in card
    assert "Under 24 hours 1" in card and "1–3 days 1" in card and "Over 3 days 1" in card
    assert "Open the support queue" in card


# --- 5. audit log filters --------------------------------------------------------------

def test_audit_log_filters_by_actor_and_target_type(app, client):
    """The audit screen offers the staff as actors; filtering by one shows only their rows,
    and filtering by target type "payout" shows only payout rows."""
    with app.app_context():
        boss = make_staff("boss@example.com", ("admin",))
        fin = make_staff("fin@example.com", ("finance",))
        p = make_partner("Audited Partner", deals=1)
        approve_all(p.id)
        create_payout(p.id, fin.id)  # payout.request by fin
        db.session.commit()
        fin_id, boss_name = fin.id, boss.name
        factory = make_staff_once().id
        assert factory != fin_id
    login(client, "boss@example.com")
    page = client.get("/admin/audit/").get_data(as_text=True)
    groups = json.loads(re.search(r'id="filter-groups-data" class="d-none">(.*?)</div>',
                                  page, re.S).group(1))
    actor = {f["arg"]: f["options"] for f in groups["Actor"]}
    assert [str(fin_id), "Fin <fin@example.com>"] in actor["actor_is"]
    assert any(label.startswith(boss_name) for _, label in actor["actor_is"])
    (target,) = groups["Target type"]
    assert target["arg"] == "target_type_equals" and ["payout", "payout"] in target["options"]
    mine = client.get(f"/admin/audit/?flt1_actor_is={fin_id}").get_data(as_text=True)
    assert "payout.request" in mine and "deal.confirm" not in mine
    payouts_only = client.get("/admin/audit/?flt1_target_type_equals=payout").get_data(
        as_text=True)
    assert "payout.request" in payouts_only and "commission.create" not in payouts_only
    system = client.get("/admin/audit/?flt1_actor_empty=1").get_data(as_text=True)
    assert "staff.create" in system and "payout.request" not in system


def test_every_audited_object_type_is_a_filter_choice():
    """Each ``audit(...)`` call in the code names an object type offered by the audit
    screen's "Target type" filter (so no row is unreachable by that filter)."""

    from core.base.audit import OBJECT_TYPES

    root = REPO
    found = set()
    for folder in ("core", "portal", "admin", "jobs"):
        for path in (root / folder).rglob("*.py"):
            text = path.read_text()
            found |= set(re.findall(r'\baudit\(\s*[^,()]+,\s*"[^"]+",\s*"([a-z_]+)"', text))
            # an action chosen by a condition or an f-string: the type follows it
            found |= set(re.findall(r'\baudit\(\s*[^,()]+,\s*(?:f?"[^"]+"(?:\s*if[^,]+)?'
                                    r'\s*else\s*)?f?"[^"]+",\s*"([a-z_]+)"', text, re.S))
    assert found and found <= set(OBJECT_TYPES), found - set(OBJECT_TYPES)


# --- 6. partners: team leader filter, tickets, support read-only -------------------------

def test_partner_list_filters_by_team_leader(app, client):
    """Filtering partners by their team leader's name (or the leader's id, as the profile
    links) lists that leader's team only."""
    with app.app_context():
        make_staff("sup@example.com", ("support",))
        lead = make_partner("Laura Leader", deals=1)
        make_partner("Tom Teammate", leader=lead)
        make_partner("Tina Teammate", leader=lead)
        make_partner("Sam Solo")
        lead_id = lead.id
    login(client, "sup@example.com")
    page = client.get("/admin/partners/?flt1_team_leader_name_email_or_code_contains=laura")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Tom Teammate" in html and "Tina Teammate" in html and "Sam Solo" not in html
    profile = client.get(f"/admin/partners/profile/{lead_id}").get_data(as_text=True)
    link = re.search(r'href="([^"]*flt1_team_leader_id=\d+[^"]*)"', profile).group(1)
    assert "2 partners led" in profile
    team = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert "Tom Teammate" in team and "Sam Solo" not in team


def test_partner_page_lists_their_tickets(app, client):
    """The partner page lists the partner's support tickets (subject as text, linked to the
    ticket for support), not other partners' tickets."""
    from core.support.tickets import open_ticket

    with app.app_context():
        make_staff("sup@example.com", ("support",))
        p = make_partner("Tess Ticket")
        other = make_partner("Oscar Other")
        t = open_ticket(p, "Where is <my> payout?", "help", "payouts", "high")
        open_ticket(other, "Someone else's", "help")
        db.session.commit()
        pid, tid = p.id, t.id
    login(client, "sup@example.com")
    html = client.get(f"/admin/partners/profile/{pid}").get_data(as_text=True)
    tickets = html.split('id="tickets"')[1].split("</table>")[0]
    assert "Where is &lt;my&gt; payout?" in tickets and "Someone else" not in tickets
    assert f'href="/admin/tickets/ticket/{tid}"' in tickets and "high" in tickets


def test_support_reads_partners_but_cannot_approve_or_suspend(app, client):
    """Support opens the partner list and page, sees no approve/suspend actions nor
    override forms; posting the approve or suspend action anyway is refused (403) and the
    partner stays as they were. An admin sees the actions and can approve."""
    with app.app_context():
        make_staff("sup@example.com", ("support",))
        make_staff("boss@example.com", ("admin",))
        applicant = make_partner("Ava Applicant", status="applied")
        active = make_partner("Al Active")
        aid, act_id = applicant.id, active.id
    login(client, "sup@example.com")
    listing = client.get("/admin/partners/").get_data(as_text=True)
    assert "Ava Applicant" in listing
    assert "Approve application" not in listing and "Suspend" not in listing
    profile = client.get(f"/admin/partners/profile/{aid}").get_data(as_text=True)
    assert "Ava Applicant" in profile and "Save override" not in profile
    assert 'id="action_form"' not in listing  # no actions: no row checkboxes either
    token = csrf_from(client.get("/admin/reauth/").get_data(as_text=True))
    for action, pid in (("approve", aid), ("suspend", act_id)):
        resp = client.post("/admin/partners/action/", data={
            "action": action, "rowid": [str(pid)], "csrf_token": token})
        assert resp.status_code == 403, action
    with app.app_context():
        assert db.session.get(Partner, aid).status == "applied"
        assert db.session.get(Partner, act_id).status == "active"
        assert not db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action.in_(("partner.approve", "partner.suspend"))))
    boss = app.test_client()
    login(boss, "boss@example.com")
    assert "Approve application" in boss.get("/admin/partners/").get_data(as_text=True)
    assert admin_action(boss, "partners", "approve", [aid]).status_code == 302
    with app.app_context():
        assert db.session.get(Partner, aid).status == "active"
