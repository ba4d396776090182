"""Events in the back office (rules: "Events"): content staff create one (a bad form is
422 with the reason, nothing stored), mark attendance (XP once) and cancel (partners who
RSVPed are told); other roles are refused."""

from datetime import timedelta

from conftest import login, make_partner, make_staff, submit
from sqlalchemy import func, select

from core.base.extensions import db
from core.base.timeutil import now_utc
from core.community.models import Notification
from core.engagement.models import XpEntry
from core.events import events
from core.events.models import Event

FORM = {"kind": "webinar", "title": "Tax season for partners", "description": "",
        "timezone": "Europe/London", "starts_at": "2027-01-20T18:00",
        "ends_at": "2027-01-20T19:00", "host": "Finance team",
        "join_url": "https://meet.example.com/tax", "capacity": "50", "min_tier_key": ""}


def test_content_staff_create_event_from_the_form(app, client):
    with app.app_context():
        make_staff("content@example.com", ("content",))
    login(client, "content@example.com")
    for bad, says in (({"ends_at": "2027-01-20T17:00"}, "must end after it starts"),
                      ({"capacity": "0"}, "Capacity must be"),
                      ({"timezone": "Europe/Gondor"}, "is not a time zone"),
                      ({"join_url": "http://meet.example.com/tax"}, "https://")):
        resp = submit(client, "/admin/events/new", {**FORM, **bad})
        assert resp.status_code == 422, bad
        assert says in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 0
    resp = submit(client, "/admin/events/new", FORM)
    assert resp.status_code == 302
    with app.app_context():
        e = db.session.scalar(select(Event))
        assert e.starts_at.isoformat() == "2027-01-20T18:00:00+00:00"  # GMT in January
        assert e.capacity == 50 and e.timezone == "Europe/London"
    listing = client.get("/admin/events/").get_data(as_text=True)
    assert "Tax season for partners" in listing and "0 / 50" in listing


def test_attendance_and_cancel_from_the_back_office(app, client):
    with app.app_context():
        actor = make_staff("content@example.com", ("content",))
        make_staff("support@example.com", ("support",))
        start = now_utc() + timedelta(hours=3)
        e = events.create_event(actor, {**FORM, "starts_at": start,
                                         "ends_at": start + timedelta(hours=1),
                                         "capacity": 5})
        later = events.create_event(actor, {**FORM, "title": "Later one",
                                             "starts_at": start + timedelta(days=2),
                                             "ends_at": start + timedelta(days=2, hours=1)})
        p = make_partner("Ari Attender")
        q = make_partner("Cal Cancelled")
        events.rsvp(p, e.id)
        events.rsvp(q, later.id)
        db.session.commit()
        e.starts_at = now_utc() - timedelta(minutes=10)
        db.session.commit()
        eid, lid, pid, quid = e.id, later.id, p.id, q.user_id
    other = app.test_client()
    login(other, "support@example.com")
    assert other.get(f"/admin/events/{eid}").status_code == 403
    login(client, "content@example.com")
    page = client.get(f"/admin/events/{eid}").get_data(as_text=True)
    assert "Ari Attender" in page and "Mark attended" in page
    for _ in range(2):
        assert submit(client, f"/admin/events/{eid}", {"partner_id": str(pid)},
                      post_url=f"/admin/events/{eid}/attendance").status_code == 302
    resp = submit(client, "/admin/events/", {}, post_url=f"/admin/events/{lid}/cancel")
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(XpEntry).where(
            XpEntry.partner_id == pid, XpEntry.action == "event_attended")) == 1
        assert db.session.get(Event, lid).cancelled_at is not None
        assert db.session.scalar(select(Notification.title).where(
            Notification.user_id == quid, Notification.kind == "event_cancelled")) \
            == "Cancelled: Later one"
