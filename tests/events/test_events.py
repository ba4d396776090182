"""The event calendar (rules: "Events"): staff create events, bad input is refused with
nothing stored, partners see them in their own time zone, RSVP within capacity and tier,
the join link only once RSVPed, reminders once each, attendance gives XP once, and the
API says the same as its OpenAPI document."""

from datetime import UTC, datetime, timedelta

import pytest
from conftest import api_token, login, make_partner, make_staff, submit
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from core.base.errors import Conflict, Forbidden, ValidationError
from core.base.extensions import db
from core.base.models import AuditLog
from core.base.timeutil import now_utc
from core.community.models import Notification
from core.engagement.models import XpEntry
from core.events import events
from core.events.models import Event, EventRsvp

JOIN = "https://meet.example.com/siso-weekly"


def staff(email="content@example.com", roles=("content",)):
    return make_staff(email, roles)


def new_event(actor, **over) -> Event:
    start = over.pop("start", now_utc().replace(microsecond=0) + timedelta(days=3))
    data = {"kind": "webinar", "title": "Closing the first deal", "description": "Live Q&A.",
            "starts_at": start, "ends_at": start + timedelta(hours=1), "timezone": "UTC",
            "host": "Dana Host", "join_url": JOIN, "capacity": 10, "min_tier_key": ""}
    data.update(over)
    e = events.create_event(actor, data)
    db.session.commit()
    return e


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- creating events: the good and the bad ----------------------------------------------------

def test_staff_create_event_from_wall_clock_time_in_its_zone(ctx):
    """A naive start is the wall-clock time in the event's zone: 15:00 in New York in
    March 2027 (EDT) is 19:00 UTC; the creation is audited."""
    e = new_event(staff(), start=datetime(2027, 3, 15, 15, 0), timezone="America/New_York",
                  ends_at=datetime(2027, 3, 15, 16, 30))
    assert e.starts_at == datetime(2027, 3, 15, 19, 0, tzinfo=UTC)
    assert e.ends_at == datetime(2027, 3, 15, 20, 30, tzinfo=UTC)
    assert db.session.scalar(select(AuditLog.action).where(
        AuditLog.object_type == "event", AuditLog.object_id == e.id)) == "event.create"


@pytest.mark.parametrize("over, code", [
    ({"ends_at": "START-1h"}, "ends_before_start"),
    ({"ends_at": "START"}, "ends_before_start"),
    ({"capacity": 0}, "bad_capacity"),
    ({"capacity": -5}, "bad_capacity"),
    ({"capacity": "ten"}, "bad_capacity"),
    ({"timezone": "Mars/Olympus_Mons"}, "unknown_timezone"),
    ({"timezone": ""}, "unknown_timezone"),
    ({"join_url": "http://meet.example.com/x"}, "join_url_not_https"),
    ({"join_url": "javascript:alert(1)"}, "join_url_not_https"),
    ({"join_url": "https://user:pw@meet.example.com/"}, "join_url_not_https"),
    ({"kind": "party"}, "bad_kind"),
    ({"min_tier_key": "platinum"}, "unknown_tier"),
    ({"title": ""}, "bad_text"),
    ({"starts_at": "next tuesday"}, "bad_time"),
])
def test_bad_event_is_refused_and_nothing_stored(ctx, over, code):
    """Every bad field is a 422 with a sentence; no event row, no audit row."""
    actor = staff()
    start = now_utc() + timedelta(days=2)
    for k, v in over.items():
        if v == "START-1h":
            over[k] = start - timedelta(hours=1)
        elif v == "START":
            over[k] = start
    audits = count(AuditLog)
    with pytest.raises(ValidationError) as err:
        new_event(actor, start=start, **over)
    db.session.rollback()
    assert err.value.code == code and err.value.status == 422
    assert err.value.message.endswith(".")
    assert count(Event) == 0 and count(AuditLog) == audits


def test_partners_and_other_staff_cannot_create_events(ctx):
    p = make_partner("Pat Partner")
    with pytest.raises(Forbidden):
        new_event(p.user)
    with pytest.raises(Forbidden):
        new_event(make_staff("fin@example.com", ("finance",)))
    db.session.rollback()
    assert count(Event) == 0


# --- RSVP ------------------------------------------------------------------------------------

def test_rsvp_capacity_tier_and_join_link(ctx):
    """Capacity is held (the third partner for two seats is refused 409, nothing stored);
    a Performer-only event refuses a Starter (403) and takes a Performer; the join URL
    appears only for partners who RSVPed; cancelling frees the seat."""
    actor = staff()
    e = new_event(actor, capacity=2)
    locked = new_event(actor, title="Performer masterclass", min_tier_key="performer")
    a, b, c = (make_partner(n) for n in ("Ann One", "Bob Two", "Cid Three"))
    perf = make_partner("Perry Former", deals=10)
    assert events.upcoming_for(a)[0]["join_url"] is None
    assert events.rsvp(a, e.id)["join_url"] == JOIN
    events.rsvp(a, e.id)  # again: no-op, not a second seat
    events.rsvp(b, e.id)
    db.session.commit()
    with pytest.raises(Conflict) as full:
        events.rsvp(c, e.id)
    db.session.rollback()
    assert full.value.code == "event_full" and full.value.status == 409
    assert db.session.get(Event, e.id).rsvp_count == 2
    assert count(EventRsvp) == 2
    with pytest.raises(Forbidden) as tier:
        events.rsvp(a, locked.id)
    db.session.rollback()
    assert tier.value.code == "tier_locked" and "Performer" in tier.value.message
    assert events.rsvp(perf, locked.id)["rsvped"] is True
    shown = {i["event"].id: i for i in events.upcoming_for(c)}
    assert shown[locked.id]["locked"] and shown[e.id]["full"] and shown[e.id]["join_url"] is None
    events.cancel_rsvp(b, e.id)
    db.session.commit()
    assert events.rsvp(c, e.id)["rsvped"] is True
    db.session.commit()
    assert db.session.get(Event, e.id).rsvp_count == 2


def test_rsvp_refused_for_applied_partner_and_started_event(ctx):
    actor = staff()
    soon = new_event(actor, start=now_utc() - timedelta(minutes=5))
    applied = make_partner("Ava Applied", status="applied")
    active = make_partner("Al Active")
    with pytest.raises(Forbidden):
        events.rsvp(applied, soon.id)
    with pytest.raises(Conflict) as started:
        events.rsvp(active, soon.id)
    assert started.value.code == "event_started"


def test_events_page_in_partner_time_zone_and_rsvp_form(app, client):
    """The page shows the start in the partner's zone (Tokyo: 19:00 UTC is 04:00 the next
    day), the RSVP button, and after RSVPing the join link; a full event refused over
    the form is the page again with 409 and the reason."""
    with app.app_context():
        actor = staff()
        e = new_event(actor, start=datetime(2027, 5, 10, 19, 0, tzinfo=UTC),
                      ends_at=datetime(2027, 5, 10, 20, 0, tzinfo=UTC), capacity=1)
        p = make_partner("Toki Partner", email="toki@example.com")
        p.timezone = "Asia/Tokyo"
        other = make_partner("Olly Other", email="olly@example.com")
        db.session.commit()
        eid, oid = e.id, other.id
    login(client, "toki@example.com")
    page = client.get("/partner/events").get_data(as_text=True)
    assert "Tue 11 May 2027, 04:00–05:00 JST" in page
    assert JOIN not in page and "1 seat left" in page
    resp = submit(client, "/partner/events", {}, post_url=f"/partner/events/{eid}/rsvp")
    assert resp.status_code == 302
    page = client.get("/partner/events").get_data(as_text=True)
    assert JOIN in page and "Cancel my RSVP" in page
    other_client = app.test_client()
    login(other_client, "olly@example.com")
    resp = submit(other_client, "/partner/events", {}, post_url=f"/partner/events/{eid}/rsvp")
    assert resp.status_code == 409
    assert "This event is full." in resp.get_data(as_text=True)
    assert JOIN not in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Event, eid).rsvp_count == 1
        assert db.session.scalar(select(func.count()).select_from(EventRsvp).where(
            EventRsvp.partner_id == oid)) == 0


# --- reminders and attendance ----------------------------------------------------------------

def test_reminders_24h_and_1h_each_once(ctx):
    """With the clock at 23 h before the start, the 24-hour reminder goes once (a second
    run sends nothing); at 50 minutes before, the 1-hour one; a cancelled RSVP gets
    none. The notice names the start in the partner's zone."""
    start = now_utc().replace(microsecond=0) + timedelta(days=5)
    e = new_event(staff(), start=start, title="Pipeline clinic")
    p = make_partner("Rita Reminded")
    p.timezone = "Europe/Paris"
    gone = make_partner("Gus Gone")
    events.rsvp(p, e.id)
    events.rsvp(gone, e.id)
    events.cancel_rsvp(gone, e.id)
    db.session.commit()
    assert events.send_due_reminders(start - timedelta(hours=30)) == 0
    assert events.send_due_reminders(start - timedelta(hours=23)) == 1
    assert events.send_due_reminders(start - timedelta(hours=22)) == 0
    assert events.send_due_reminders(start - timedelta(minutes=50)) == 1
    assert events.send_due_reminders(start - timedelta(minutes=10)) == 0
    db.session.commit()
    notes = list(db.session.scalars(select(Notification).where(
        Notification.kind == "event_reminder").order_by(Notification.id)))
    assert [n.user_id for n in notes] == [p.user_id, p.user_id]
    assert notes[0].title == "Starts tomorrow: Pipeline clinic"
    assert notes[1].title == "Starts in 1 hour: Pipeline clinic"
    local = start.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    assert f"{local:%H:%M}" in notes[0].body and notes[0].url == f"/partner/events#event-{e.id}"


def test_late_rsvp_gets_only_the_one_hour_reminder(ctx):
    start = now_utc().replace(microsecond=0) + timedelta(hours=5)
    e = new_event(staff(), start=start)
    p = make_partner("Larry Late")
    events.rsvp(p, e.id)
    db.session.commit()
    assert events.send_due_reminders(start - timedelta(minutes=30)) == 1
    db.session.commit()
    assert [n.title for n in db.session.scalars(select(Notification).where(
        Notification.kind == "event_reminder"))] == [f"Starts in 1 hour: {e.title}"]


def test_attendance_gives_xp_once(ctx):
    actor = staff()
    e = new_event(actor, start=now_utc() + timedelta(minutes=30))
    p, q = make_partner("Ada Attender"), make_partner("Nat Noshow")
    events.rsvp(p, e.id)
    events.rsvp(q, e.id)
    e.starts_at = now_utc() - timedelta(minutes=5)
    db.session.commit()
    assert events.mark_attended(actor, e.id, [p.id]) == 1
    assert events.mark_attended(actor, e.id, [str(p.id)]) == 0
    db.session.commit()
    xp = list(db.session.execute(select(XpEntry.partner_id, XpEntry.action, XpEntry.source_key)))
    assert xp == [(p.id, "event_attended", f"event:{e.id}")]
    outsider = make_partner("Oscar Outsider")
    with pytest.raises(ValidationError):
        events.mark_attended(actor, e.id, [outsider.id])


# --- the API -----------------------------------------------------------------------------------

def _validate(doc, path, method, status, body):
    op = doc["paths"][path][method]
    resp = op["responses"][str(status)]
    if "$ref" in resp:
        resp = doc["components"]["responses"]["Error"]
    schema = next(iter(resp["content"].values()))["schema"]
    Draft202012Validator({"components": doc["components"], **schema}).validate(body)


def test_api_events_rsvp_and_staff_create_match_the_document(app, client):
    """Staff create over the API (422 for a bad time zone, nothing stored); a partner
    lists, RSVPs (join_url appears), is refused a full one (409) and cancels; every
    answer matches the OpenAPI document."""
    from api.openapi import document

    doc = document()
    with app.app_context():
        make_staff("content@example.com", ("content",))
        make_partner("Api Partner", email="api@example.com")
        make_partner("Api Other", email="other@example.com")
    sh = api_token(client, "content@example.com", kind="staff")
    ph = api_token(client, "api@example.com")
    oh = api_token(client, "other@example.com")
    body = {"kind": "qa", "title": "Ask the founders", "starts_at": "2027-06-01T17:00",
            "ends_at": "2027-06-01T18:00", "timezone": "Europe/London", "host": "Founders",
            "join_url": JOIN, "capacity": 1}
    bad = client.post("/api/staff/events", json={**body, "timezone": "Europe/Atlantis"},
                      headers=sh)
    assert bad.status_code == 422 and "time zone" in bad.get_json()["error"]["message"]
    _validate(doc, "/api/staff/events", "post", 422, bad.get_json())
    made = client.post("/api/staff/events", json=body, headers=sh)
    assert made.status_code == 201, made.get_json()
    _validate(doc, "/api/staff/events", "post", 201, made.get_json())
    assert made.get_json()["starts_at"] == "2027-06-01T16:00:00+00:00"  # BST
    eid = made.get_json()["id"]
    listed = client.get("/api/partner/events", headers=ph)
    _validate(doc, "/api/partner/events", "get", 200, listed.get_json())
    assert listed.get_json()["items"][0]["join_url"] is None
    ok = client.post(f"/api/partner/events/{eid}/rsvp", headers=ph)
    _validate(doc, "/api/partner/events/{event_id}/rsvp", "post", 200, ok.get_json())
    assert ok.get_json()["join_url"] == JOIN and ok.get_json()["seats_left"] == 0
    full = client.post(f"/api/partner/events/{eid}/rsvp", headers=oh)
    assert full.status_code == 409 and full.get_json()["error"]["code"] == "event_full"
    _validate(doc, "/api/partner/events/{event_id}/rsvp", "post", 409, full.get_json())
    gone = client.delete(f"/api/partner/events/{eid}/rsvp", headers=ph)
    _validate(doc, "/api/partner/events/{event_id}/rsvp", "delete", 200, gone.get_json())
    assert gone.get_json()["rsvped"] is False and gone.get_json()["join_url"] is None
    missing = client.post("/api/partner/events/999999/rsvp", headers=ph)
    assert missing.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 1
