"""Confirming several won leads in one transaction (``core.money.commissions.confirm_deals``,
``POST /api/staff/deals/confirm``): a CRM sync pays exactly what the same confirmations
one by one would, is all or nothing, and two batches sharing partners neither lose a
count nor deadlock (rules: "Commissions", "Ledger")."""

import threading

import pytest
from conftest import api_token, make_partner, make_staff, make_staff_once
from sqlalchemy import func, select

from core.base.errors import Conflict, NotFound, ValidationError
from core.base.extensions import db
from core.base.models import AuditLog
from core.community.models import Notification
from core.money.commissions import confirm_deal, confirm_deals
from core.money.models import Commission, Deal
from core.program.leads import create_lead, move_lead
from core.program.models import Partner


def won_lead(partner: Partner, value_cents: int = 100000, company: str = "Client Co") -> int:
    """A lead the partner logged and marked won (not yet confirmed); returns its id."""
    lead = create_lead(partner, {"company_name": company}, partner.user_id)
    move_lead(lead, "won", partner.user_id, value_cents)
    db.session.commit()
    return lead.id


def ledger() -> list[tuple]:
    """Every commission as (earner's name, type, amount, rate, closer's name), in id order."""
    names = {p.id: p.name for p in db.session.scalars(select(Partner))}
    return [(names[c.partner_id], c.type, c.amount_cents, c.rate_bps, names[c.source_partner_id])
            for c in db.session.scalars(select(Commission).order_by(Commission.id))]


def team(prefix: str) -> dict:
    """A leader (Performer: a team override), a recruiter (Active: a referral bonus), and
    a recruited team member one deal short of Active, so a batch of their deals promotes
    them half-way through."""
    leader = make_partner(f"{prefix} Leader", deals=10)
    recruiter = make_partner(f"{prefix} Recruiter", deals=3)
    member = make_partner(f"{prefix} Member", recruiter=recruiter, leader=leader)
    other = make_partner(f"{prefix} Other", deals=2)
    return {"leader": leader, "recruiter": recruiter, "member": member, "other": other}


def the_deals(people: dict) -> list[int]:
    """Six won leads: the member's first three (referral once, promotion at the third),
    the other partner's two (promotion at the second), and the leader's own."""
    m, o, lead = people["member"], people["other"], people["leader"]
    return [won_lead(m, 250000, "M1"), won_lead(o, 99999, "O1"), won_lead(m, 100050, "M2"),
            won_lead(m, 777777, "M3"), won_lead(o, 123456, "O2"), won_lead(lead, 50000, "L1")]


def counts(model, column) -> dict:
    """``{value: rows}`` of a column (audit actions, notification kinds)."""
    return dict(db.session.execute(select(column, func.count()).group_by(column)).all())


def made_since(before: dict, after: dict) -> dict:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def test_a_batch_pays_exactly_what_the_same_confirmations_one_by_one_pay(app, ctx):
    """The same people and deals, confirmed once one lead a transaction and once as one
    batch: the same commissions (amounts, rates, earners, order), the same counts and
    tiers, the same audit rows and notifications by kind. Inside the batch, a partner
    promoted by one deal is paid at the new tier on their next."""
    staff = make_staff_once()
    audit0, notes0 = counts(AuditLog, AuditLog.action), counts(Notification, Notification.kind)
    one_by_one = team("Solo")
    for lead_id in the_deals(one_by_one):
        confirm_deal(lead_id, staff.id)
        db.session.commit()
    solo = ledger()
    audit1, notes1 = counts(AuditLog, AuditLog.action), counts(Notification, Notification.kind)

    batch = team("Bulk")
    before = len(ledger())
    done = confirm_deals([(lead_id, None) for lead_id in the_deals(batch)], staff.id)
    db.session.commit()
    bulk = ledger()[before:]
    audit2, notes2 = counts(AuditLog, AuditLog.action), counts(Notification, Notification.kind)

    assert [(n.replace("Bulk", "Solo"), t, a, r, s.replace("Bulk", "Solo"))
            for n, t, a, r, s in bulk] == solo[len(solo) - len(bulk):]
    assert made_since(audit1, audit2) == made_since(audit0, audit1)
    assert made_since(notes1, notes2) == made_since(notes0, notes1)
    # The rules, written out (seed tiers: Starter 20%, Active 22% from 3 deals with a 5%
    # referral bonus, Performer 25% and a 10% team override from 10).
    def of(name, ctype):
        return [(a, r) for n, t, a, r, s in bulk if n == f"Bulk {name}" and t == ctype]

    assert of("Member", "base") == [(50000, 2000), (20010, 2000), (155555, 2000)]
    assert of("Other", "base") == [(20000, 2000), (27160, 2200)]  # promoted by O1
    assert of("Leader", "base") == [(12500, 2500)]
    assert of("Leader", "team_override") == [(25000, 1000), (10005, 1000), (77778, 1000)]
    assert of("Recruiter", "referral") == [(12500, 500)]  # the member's first deal, once
    assert [len(made) for _, made in done] == [3, 1, 2, 2, 1, 1]
    assert [d.lead.company_name for d, _ in done] == ["M1", "O1", "M2", "M3", "O2", "L1"]
    for key, (deals, tier) in {"member": (3, "active"), "other": (4, "active"),
                               "leader": (11, "performer")}.items():
        p = db.session.get(Partner, batch[key].id)
        assert (p.won_deals_count, p.tier.key) == (deals, tier)


@pytest.mark.parametrize("spoil, error, message", [
    ("unknown", NotFound, "No such lead."),
    ("not_won", Conflict, "Only leads marked won can be confirmed"),
    ("twice", ValidationError, "this lead is listed twice"),
    ("value", ValidationError, "deal_value_cents"),
    ("confirmed", Conflict, "already confirmed"),
])
def test_one_bad_lead_refuses_the_whole_batch_and_names_it(app, ctx, spoil, error, message):
    """A batch with one lead that cannot be confirmed writes nothing at all, and the
    error says which lead and why; refused attempts on money keep their audit row."""
    staff = make_staff_once()
    p = make_partner("Batch Partner", deals=1)
    good = [won_lead(p, 100000, "A"), won_lead(p, 200000, "B")]
    items = [(good[0], None), (good[1], None)]
    if spoil == "unknown":
        bad = 987654
        items.insert(1, (bad, None))
    elif spoil == "not_won":
        lead = create_lead(p, {"company_name": "Still talking"}, p.user_id)
        db.session.commit()
        bad = lead.id
        items.insert(1, (bad, None))
    elif spoil == "twice":
        bad = good[0]
        items.append((bad, None))
    elif spoil == "value":
        bad = good[1]
        items[1] = (bad, -5)
    else:
        bad = won_lead(p, 300000, "C")
        confirm_deal(bad, staff.id)
        db.session.commit()
        items.append((bad, None))
    deals_before = db.session.scalar(select(func.count()).select_from(Deal))
    commissions_before = db.session.scalar(select(func.count()).select_from(Commission))
    count_before = db.session.get(Partner, p.id).won_deals_count

    with pytest.raises(error) as caught:
        confirm_deals(items, staff.id)
    db.session.rollback()
    assert str(caught.value).startswith(f"Lead {bad}: ") and message in str(caught.value)
    assert db.session.scalar(select(func.count()).select_from(Deal)) == deals_before
    assert db.session.scalar(select(func.count()).select_from(Commission)) == commissions_before
    assert db.session.get(Partner, p.id).won_deals_count == count_before
    if spoil in ("not_won", "confirmed"):
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "deal.confirm.refused", AuditLog.object_id == bad)) == 1


def test_batch_size_is_bounded(app, ctx):
    staff = make_staff_once()
    with pytest.raises(ValidationError, match="1 to 500 leads"):
        confirm_deals([], staff.id)
    with pytest.raises(ValidationError, match="1 to 500 leads"):
        confirm_deals([(i, None) for i in range(1, 502)], staff.id)


def test_batch_endpoint_confirms_for_finance_and_refuses_others(app, ctx, client):
    """``POST /api/staff/deals/confirm``: finance gets 201 with each deal and its
    commissions in the order sent; a support agent 403; a malformed body 422 with a
    message; a bad lead 409 naming it and nothing confirmed."""
    make_staff("fin@example.com", ("finance",))
    make_staff("sup@example.com", ("support",))
    leader = make_partner("Lea Leader", deals=10)
    p = make_partner("Api Partner", leader=leader)
    leads = [won_lead(p, 100000, "X"), won_lead(p, 50000, "Y")]
    fin = api_token(client, "fin@example.com", kind="staff")
    sup = api_token(client, "sup@example.com", kind="staff")

    resp = client.post("/api/staff/deals/confirm", headers=sup,
                       json={"leads": [{"lead_id": leads[0]}]})
    assert resp.status_code == 403
    for body in ({}, {"leads": "all"}, {"leads": [{"id": leads[0]}]},
                 {"leads": [{"lead_id": leads[0], "extra": 1}]}):
        resp = client.post("/api/staff/deals/confirm", headers=fin, json=body)
        assert resp.status_code == 422, body
        assert "leads must be a list" in resp.get_json()["error"]["message"]
    assert db.session.scalar(select(func.count()).select_from(Deal)) == 10  # leader's only

    resp = client.post("/api/staff/deals/confirm", headers=fin, json={"leads": [
        {"lead_id": leads[1], "deal_value_cents": 60000}, {"lead_id": leads[0]}]})
    assert resp.status_code == 201, resp.get_json()
    deals = resp.get_json()["deals"]
    assert [d["deal"]["lead_id"] for d in deals] == [leads[1], leads[0]]
    assert [d["deal"]["value_cents"] for d in deals] == [60000, 100000]
    assert [[(c["type"], c["amount_cents"]) for c in d["commissions"]] for d in deals] == \
        [[("base", 12000), ("team_override", 6000)], [("base", 20000), ("team_override", 10000)]]
    assert set(deals[0]["commissions"][0]) >= {"id", "partner_id", "deal_id", "type",
                                               "amount_cents", "rate_bps", "status",
                                               "created_at"}

    again = won_lead(p, 70000, "Z")
    resp = client.post("/api/staff/deals/confirm", headers=fin, json={"leads": [
        {"lead_id": again}, {"lead_id": leads[0]}]})
    assert resp.status_code == 409
    assert resp.get_json()["error"]["message"] == \
        f"Lead {leads[0]}: This lead's deal is already confirmed."
    assert db.session.scalar(select(Deal.id).where(Deal.lead_id == again)) is None


def test_two_batches_sharing_partners_at_once_count_every_deal_without_deadlock(app, ctx):
    """Two CRM syncs at the same moment, each with deals of the same three partners in
    opposite orders. Both finish (the partners' rows are locked in id order, so neither
    waits on the other in a cycle), every deal counts, and the recruit's referral bonus is
    paid once.

    PostgreSQL only: SQLite serialises writers, so the batches cannot interleave there."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers; the interleaving needs PostgreSQL")
    import core.money.commissions as commissions

    recruiter = make_partner("Rex Recruiter", deals=3)
    people = [make_partner("Ann One", recruiter=recruiter), make_partner("Ben Two", deals=1),
              make_partner("Cat Three", deals=2)]
    firsts = [[won_lead(p, 100000, f"{p.name} first") for p in people],
              [won_lead(p, 100000, f"{p.name} second") for p in people]]
    batches = [[(i, None) for i in firsts[0]], [(i, None) for i in reversed(firsts[1])]]
    staff_id, ids, recruiter_id = make_staff_once().id, [p.id for p in people], recruiter.id
    db.session.remove()

    barrier = threading.Barrier(2, timeout=10)
    real = commissions._count_deals

    def count_after_both_read(per_partner):
        barrier.wait()  # both batches have read every lead before either locks
        return real(per_partner)

    commissions._count_deals = count_after_both_read
    results = []

    def sync(items):
        with app.app_context():
            try:
                confirm_deals(items, staff_id)
                db.session.commit()
                results.append("ok")
            except Exception as exc:  # reported by the assertion below
                db.session.rollback()
                results.append(repr(exc))
            finally:
                db.session.remove()

    try:
        threads = [threading.Thread(target=sync, args=(b,)) for b in batches]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        commissions._count_deals = real
    assert results == ["ok", "ok"], results
    assert [db.session.get(Partner, i).won_deals_count for i in ids] == [2, 3, 4]
    assert db.session.scalar(select(func.count()).select_from(Commission).where(
        Commission.type == "referral", Commission.partner_id == recruiter_id)) == 1


def test_finance_confirms_ticked_won_leads_from_the_leads_list(app, client):
    """In the back office's lead list, finance ticks won leads and runs "Confirm deals":
    every one becomes a deal with its commissions, and the flash says how much. A
    selection holding a lead that is not won confirms none and names that lead."""
    from conftest import csrf_from, login

    with app.app_context():
        make_staff("fin2@example.com", ("finance",))
        p = make_partner("List Partner")
        leads = [won_lead(p, 100000, "One"), won_lead(p, 250000, "Two")]
        open_id = create_lead(p, {"company_name": "Not yet"}, p.user_id).id
        db.session.commit()
        db.session.remove()
    assert login(client, "fin2@example.com").status_code == 302

    def run(ids):
        token = csrf_from(client.get("/admin/leads/").get_data(as_text=True))
        resp = client.post("/admin/leads/action/", data={
            "action": "confirm", "rowid": [str(i) for i in ids], "csrf_token": token})
        assert resp.status_code == 302
        return client.get(resp.headers["Location"]).get_data(as_text=True)

    def confirmed() -> list[int]:
        with app.app_context():
            out = sorted(db.session.scalars(select(Deal.lead_id)))
            db.session.remove()
            return out

    page = run([leads[0], open_id])
    assert f"Lead {open_id}: Only leads marked won can be confirmed" in page
    assert confirmed() == []

    page = run(leads)
    assert "Confirmed 2 deal(s): 2 commission(s), $700.00 in total." in page
    assert confirmed() == sorted(leads)
