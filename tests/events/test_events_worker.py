"""Reminders on the real worker with the clock moved, and the last seat under real
concurrency on PostgreSQL (rules: "Events")."""

import threading
from datetime import timedelta

import pytest
from conftest import make_partner, make_staff
from sqlalchemy import func, select

from core.base.errors import Conflict
from core.base.extensions import db
from core.base.timeutil import now_utc
from core.community.models import Notification
from core.events import events
from core.events.models import Event, EventRsvp


def test_reminder_delivered_by_the_real_worker_with_the_clock_moved(app, run_worker,
                                                                    monkeypatch):
    """The ticker's job ``send_event_reminders``, run by the real forking worker, with
    the clock moved to 23 hours before the event: the 24-hour reminder is delivered
    (stored and pushed); run again, nothing more. With the clock at 40 minutes before,
    the 1-hour one."""
    import core.events.events as ev

    start = now_utc().replace(microsecond=0) + timedelta(days=10)
    with app.app_context():
        actor = make_staff("content@example.com", ("content",))
        e = events.create_event(actor, {
            "kind": "webinar", "title": "Referral masterclass", "starts_at": start,
            "ends_at": start + timedelta(hours=1), "timezone": "UTC", "host": "Hana",
            "join_url": "https://meet.example.com/r", "capacity": 3})
        p = make_partner("Wendy Worker")
        events.rsvp(p, e.id)
        db.session.commit()
        uid = p.user_id

    def titles():
        with app.app_context():
            return list(db.session.scalars(select(Notification.title).where(
                Notification.user_id == uid, Notification.kind == "event_reminder")
                .order_by(Notification.id)))

    monkeypatch.setattr(ev, "now_utc", lambda: start - timedelta(hours=23))
    for attempt in range(2):
        with app.app_context():
            ev.send_event_reminders.enqueue(job_id=f"tick-reminders-a{attempt}")
        run_worker()
    assert titles() == ["Starts tomorrow: Referral masterclass"]
    monkeypatch.setattr(ev, "now_utc", lambda: start - timedelta(minutes=40))
    with app.app_context():
        ev.send_event_reminders.enqueue(job_id="tick-reminders-b")
    run_worker()
    assert titles() == ["Starts tomorrow: Referral masterclass",
                        "Starts in 1 hour: Referral masterclass"]


def test_two_partners_race_for_the_last_seat_one_wins(app, db_url):
    """Two requests RSVP to the last seat at the same moment, each in its own
    transaction and connection: exactly one gets it, the other is told it is full."""
    if not db_url.startswith("postgresql"):
        pytest.skip("real concurrency needs PostgreSQL (SQLite writes one at a time)")
    with app.app_context():
        actor = make_staff("content@example.com", ("content",))
        e = events.create_event(actor, {
            "kind": "qa", "title": "Tiny room", "starts_at": now_utc() + timedelta(days=1),
            "ends_at": now_utc() + timedelta(days=1, hours=1), "timezone": "UTC",
            "host": "Quinn", "join_url": "https://meet.example.com/q", "capacity": 1})
        a, b = make_partner("Racer One"), make_partner("Racer Two")
        db.session.commit()
        eid, ids = e.id, (a.id, b.id)
    barrier = threading.Barrier(2)
    results = {}

    def go(pid):
        from core.program.models import Partner

        with app.app_context():
            partner = db.session.get(Partner, pid)
            events.tier_ok(partner, db.session.get(Event, eid))  # warm, outside the race
            barrier.wait()
            try:
                events.rsvp(partner, eid)
                db.session.commit()
                results[pid] = "won"
            except Conflict as exc:
                db.session.rollback()
                results[pid] = exc.code
            finally:
                db.session.remove()

    threads = [threading.Thread(target=go, args=(pid,)) for pid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results.values()) == ["event_full", "won"]
    with app.app_context():
        assert db.session.get(Event, eid).rsvp_count == 1
        assert db.session.scalar(select(func.count()).select_from(EventRsvp)) == 1


def test_same_partner_rsvps_twice_at_once_takes_one_seat(app, db_url):
    """Two taps of RSVP sent together (two requests, two connections) take one seat and
    leave one RSVP; both answer "going"."""
    if not db_url.startswith("postgresql"):
        pytest.skip("real concurrency needs PostgreSQL (SQLite writes one at a time)")
    with app.app_context():
        actor = make_staff("content@example.com", ("content",))
        e = events.create_event(actor, {
            "kind": "qa", "title": "Double tap", "starts_at": now_utc() + timedelta(days=1),
            "ends_at": now_utc() + timedelta(days=1, hours=1), "timezone": "UTC",
            "host": "Quinn", "join_url": "https://meet.example.com/q", "capacity": 5})
        p = make_partner("Tap Twice")
        db.session.commit()
        eid, pid = e.id, p.id
    barrier = threading.Barrier(2)
    answers = []

    def go():
        from core.program.models import Partner

        with app.app_context():
            partner = db.session.get(Partner, pid)
            events.tier_ok(partner, db.session.get(Event, eid))
            barrier.wait()
            try:
                answers.append(events.rsvp(partner, eid)["rsvped"])
                db.session.commit()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert answers == [True, True]
    with app.app_context():
        assert db.session.get(Event, eid).rsvp_count == 1
        assert db.session.scalar(select(func.count()).select_from(EventRsvp)) == 1
