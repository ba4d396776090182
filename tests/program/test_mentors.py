"""Mentors (rules: "Mentors"): Performer-and-above partners who opted in are paired with new
partners by an admin or by the rule; a DM opens between them; the mentor sees counts, not
clients; the pairing ends after its time (worker) or by either side; every step audited."""

from datetime import timedelta

import pytest
from conftest import login, make_partner, make_staff, submit
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.base.errors import Conflict, Forbidden, NotFound, ValidationError
from core.base.extensions import db
from core.base.models import AuditLog
from core.base.timeutil import now_utc
from core.community.models import Channel, ChannelMember, Notification
from core.program import mentors
from core.program.leads import create_lead, move_lead
from core.program.models import Mentorship


def _new(name, email=None, days_ago=3, **kw):
    p = make_partner(name, email=email, **kw)
    p.approved_at = now_utc() - timedelta(days=days_ago)
    db.session.commit()
    return p


def _mentor(name="Maya Mentor", email=None, capacity=3):
    p = make_partner(name, email=email, deals=10)
    p.approved_at = now_utc() - timedelta(days=400)
    mentors.set_opt_in(p, True, capacity)
    db.session.commit()
    return p


def _admin():
    return make_staff("admin@example.com", ("admin",))


def audit_actions(object_id):
    return list(db.session.scalars(select(AuditLog.action).where(
        AuditLog.object_type == "mentorship", AuditLog.object_id == object_id)
        .order_by(AuditLog.id)))


def test_only_performer_and_above_may_offer(ctx):
    starter = make_partner("Stan Starter")
    with pytest.raises(Forbidden) as err:
        mentors.set_opt_in(starter, True)
    assert err.value.code == "tier_locked"
    performer = make_partner("Pia Performer", deals=10)
    assert mentors.set_opt_in(performer, True, 2).capacity == 2
    with pytest.raises(ValidationError):
        mentors.set_opt_in(performer, True, 0)


def test_admin_pairs_dm_opens_both_told_audited(ctx):
    admin = _admin()
    m, n = _mentor(), _new("Nia New")
    row = mentors.pair(admin, m.id, n.id, days=30)
    db.session.commit()
    assert row.status == "active" and row.ends_at - row.started_at == timedelta(days=30)
    channel = db.session.get(Channel, row.channel_id)
    assert channel.kind == "dm"
    assert set(db.session.scalars(select(ChannelMember.user_id).where(
        ChannelMember.channel_id == channel.id))) == {m.user_id, n.user_id}
    told = {u: t for u, t in db.session.execute(select(Notification.user_id, Notification.title)
                                                .where(Notification.kind == "mentor"))}
    assert told == {n.user_id: "Maya Mentor is your mentor",
                    m.user_id: "You are mentoring Nia New"}
    assert audit_actions(row.id) == ["mentorship.pair"]


def test_pairing_refusals(ctx):
    admin = _admin()
    m = _mentor(capacity=1)
    n1, n2 = _new("Ned One"), _new("Ned Two")
    old = _new("Olga Old", days_ago=200)
    not_mentor = make_partner("Nora Nomentor", deals=10)
    with pytest.raises(Forbidden):
        mentors.pair(make_staff("content@example.com", ("content",)), m.id, n1.id)
    with pytest.raises(ValidationError) as e1:
        mentors.pair(admin, not_mentor.id, n1.id)
    assert e1.value.code == "not_a_mentor"
    with pytest.raises(ValidationError) as e2:
        mentors.pair(admin, m.id, old.id)
    assert e2.value.code == "not_new"
    with pytest.raises(ValidationError):
        mentors.pair(admin, m.id, n1.id, days=1000)
    with pytest.raises(NotFound):
        mentors.pair(admin, m.id, "nope")
    mentors.pair(admin, m.id, n1.id)
    db.session.commit()
    with pytest.raises(ValidationError) as full:
        mentors.pair(admin, m.id, n2.id)
    assert full.value.code == "mentor_full"
    other = _mentor("Otto Other")
    with pytest.raises(Conflict) as again:
        mentors.pair(admin, other.id, n1.id)
    assert again.value.code == "already_paired"
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(Mentorship)) == 1


def test_database_holds_one_active_mentor_per_mentee(ctx):
    """Even a write that skips the rules cannot give a mentee two active mentors."""
    m, o, n = _mentor(), _mentor("Otto Other"), _new("Ned New")
    mentors.pair(_admin(), m.id, n.id)
    db.session.commit()
    db.session.add(Mentorship(mentor_id=o.id, mentee_id=n.id, active_mentee_id=n.id,
                              status="active", ends_at=now_utc() + timedelta(days=9)))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_mentor_sees_counts_not_clients_and_either_side_ends(app, client):
    with app.app_context():
        m = _mentor(email="maya@example.com")
        n = _new("Nia New", email="nia@example.com")
        lead = create_lead(n, {"company_name": "Secret Client Ltd", "contact_email":
                               "boss@secret.example"}, n.user_id)
        move_lead(lead, "qualified", n.user_id)
        create_lead(n, {"company_name": "Another Client"}, n.user_id)
        row = mentors.pair(_admin(), m.id, n.id)
        db.session.commit()
        mid = row.id
        stranger = make_partner("Sam Stranger", email="sam@example.com")
    login(client, "maya@example.com")
    page = client.get("/partner/mentoring").get_data(as_text=True)
    assert "Mentee: Nia New" in page
    assert "Qualified: <strong>1</strong>" in page and "New: <strong>1</strong>" in page
    assert "Secret Client" not in page and "boss@secret" not in page
    assert "required modules passed" in page
    sam = app.test_client()
    login(sam, "sam@example.com")
    refused = submit(sam, "/partner/mentoring", {}, post_url=f"/partner/mentoring/{mid}/end")
    assert refused.status_code == 404
    with app.app_context():
        with pytest.raises(NotFound):
            mentors.mentee_progress(db.session.merge(stranger), mid)
    nia = app.test_client()
    login(nia, "nia@example.com")
    assert "Your mentor: Maya Mentor" in nia.get("/partner/mentoring").get_data(as_text=True)
    ended = submit(nia, "/partner/mentoring", {}, post_url=f"/partner/mentoring/{mid}/end")
    assert ended.status_code == 302
    with app.app_context():
        row = db.session.get(Mentorship, mid)
        assert (row.status, row.end_reason, row.active_mentee_id) == ("ended", "mentee", None)
        assert audit_actions(mid) == ["mentorship.pair", "mentorship.end"]
        assert db.session.scalar(select(Notification.title).where(
            Notification.user_id == row.mentor.user_id).order_by(Notification.id.desc())
            .limit(1)) == "Your mentorship has ended"
    assert "Mentee:" not in client.get("/partner/mentoring").get_data(as_text=True)


def test_rule_pairs_new_partners_and_worker_ends_at_time(app, run_worker, monkeypatch):
    """The hourly job on the real worker: pairs a partner in their first days with the
    opted-in mentor with room (not the one at capacity), leaves older partners alone;
    with the clock moved past the pairing's end, ends it (reason ``expired``)."""
    import core.program.mentors as mt

    with app.app_context():
        busy = _mentor("Bea Busy", capacity=1)
        mentors.pair(_admin(), busy.id, _new("First Mentee").id)
        free = _mentor("Fred Free")
        n = _new("Nico Newcomer", days_ago=2)
        old = _new("Olaf Older", days_ago=30)
        db.session.commit()
        ids = (free.id, n.id, old.id)
    with app.app_context():
        mt.mentorship_rounds.enqueue(job_id="tick-mentors-1")
    run_worker()
    with app.app_context():
        row = mentors.active_mentorship_of(ids[1])
        assert row is not None and row.mentor_id == ids[0] and row.paired_by_id is None
        assert mentors.active_mentorship_of(ids[2]) is None
        ends = row.ends_at
        rid = row.id
    monkeypatch.setattr(mt, "now_utc", lambda: ends + timedelta(minutes=1))
    with app.app_context():
        mt.mentorship_rounds.enqueue(job_id="tick-mentors-2")
    run_worker()
    with app.app_context():
        row = db.session.get(Mentorship, rid)
        assert (row.status, row.end_reason) == ("ended", "expired")
        assert audit_actions(rid)[-1] == "mentorship.end"


def test_back_office_mentors_screen(app, client):
    """Admin sees the new partner with the proposed mentor and pairs them; content staff
    get 403."""
    with app.app_context():
        _admin()
        make_staff("content@example.com", ("content",))
        m = _mentor()
        n = _new("Nia New")
        mid, nid = m.id, n.id
    login(client, "admin@example.com")
    page = client.get("/admin/mentors/")
    assert page.status_code == 200 and "Nia New" in page.get_data(as_text=True)
    assert "Maya Mentor (0/3)" in page.get_data(as_text=True)
    resp = submit(client, "/admin/mentors/", {"mentor_id": mid, "mentee_id": nid, "days": 60},
                  post_url="/admin/mentors/pair")
    assert resp.status_code == 302
    after = client.get("/admin/mentors/").get_data(as_text=True)
    assert "now mentors Nia New" in after
    with app.app_context():
        row = mentors.active_mentorship_of(nid)
        assert row.mentor_id == mid and row.ends_at - row.started_at == timedelta(days=60)
    content = app.test_client()
    login(content, "content@example.com")
    assert content.get("/admin/mentors/").status_code == 403


def test_offer_to_mentor_from_the_page(app, client):
    """A Performer offers on the mentoring page (with 2 mentees at once); a Starter who
    posts the form anyway is told why and nothing is stored."""
    from core.program.models import MentorOptIn

    with app.app_context():
        make_partner("Pia Performer", email="pia@example.com", deals=10)
        make_partner("Stan Starter", email="stan@example.com")
    login(client, "pia@example.com")
    assert "like to mentor new partners" in client.get("/partner/mentoring").get_data(
        as_text=True)
    resp = submit(client, "/partner/mentoring", {"offer": "y", "capacity": "2"},
                  post_url="/partner/mentoring/offer")
    assert resp.status_code == 302
    stan = app.test_client()
    login(stan, "stan@example.com")
    page = stan.get("/partner/mentoring").get_data(as_text=True)
    assert "Mentoring opens at the Performer tier." in page and "like to mentor" not in page
    submit(stan, "/partner/mentoring", {"offer": "y", "capacity": "2"},
           post_url="/partner/mentoring/offer")
    assert "Mentoring opens at the Performer tier." in stan.get("/partner/mentoring").get_data(
        as_text=True)
    with app.app_context():
        rows = list(db.session.execute(select(MentorOptIn.capacity, MentorOptIn.active)))
        assert rows == [(2, True)]
