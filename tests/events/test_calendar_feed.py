"""The personal iCalendar feed (rules: "Events"): made with ``icalendar`` and parsed back
with it; correct UTC times; the join URL only on RSVPed events; the token regenerated
and revoked from the portal; forged, revoked and old tokens 404 with nothing leaked."""

import re
from datetime import UTC, datetime, timedelta

from conftest import login, make_partner, make_staff, submit
from icalendar import Calendar

from core.base.extensions import db
from core.base.timeutil import now_utc
from core.events import events, ical

JOIN = "https://meet.example.com/feed-room"


def _event(actor, title, start, **over):
    data = {"kind": "live_training", "title": title, "description": "Bring questions.",
            "starts_at": start, "ends_at": start + timedelta(minutes=90),
            "timezone": "America/Chicago", "host": "Hal Host", "join_url": JOIN,
            "capacity": 5, "min_tier_key": ""}
    data.update(over)
    return events.create_event(actor, data)


def _feed_url_from(page: str) -> str:
    m = re.search(r'id="feed-url"[^>]*value="([^"]+)"', page)
    assert m, "no feed URL on the page"
    return m.group(1).replace("&amp;", "&")


def test_feed_parsed_back_with_icalendar(app, client):
    """The partner makes a link on the events page; the feed at that link parses with
    icalendar: the RSVPed event has its UTC start and end, the join URL and a stable
    UID; another open event is listed as not RSVPed without the URL; an event for a
    higher tier and a cancelled one are left out."""
    start = datetime(2027, 4, 20, 14, 0, tzinfo=UTC)
    with app.app_context():
        actor = make_staff("content@example.com", ("content",))
        going = _event(actor, "Demo day", start)
        other = _event(actor, "Objection handling", start + timedelta(days=1))
        _event(actor, "Elite round table", start + timedelta(days=2), min_tier_key="elite")
        dropped = _event(actor, "Dropped session", start + timedelta(days=3))
        p = make_partner("Fay Feed", email="fay@example.com")
        p.timezone = "Europe/Berlin"
        events.rsvp(p, going.id)
        db.session.commit()
        events.cancel_event(actor, dropped.id)
        db.session.commit()
        gid, oid = going.id, other.id
    login(client, "fay@example.com")
    assert "Get my calendar link" in client.get("/partner/events").get_data(as_text=True)
    resp = submit(client, "/partner/events", {}, post_url="/partner/calendar/token")
    assert resp.status_code == 302
    url = _feed_url_from(client.get("/partner/events").get_data(as_text=True))
    assert url.startswith("http") and "/partner/calendar.ics?token=" in url
    path = url[url.index("/partner/"):]
    feed = app.test_client().get(path)  # a calendar app: no cookie
    assert feed.status_code == 200
    assert feed.headers["Content-Type"].startswith("text/calendar")
    assert "no-store" in feed.headers["Cache-Control"]
    cal = Calendar.from_ical(feed.data)
    assert str(cal["X-WR-TIMEZONE"]) == "Europe/Berlin"
    by_title = {str(c["SUMMARY"]): c for c in cal.walk("VEVENT")}
    assert set(by_title) == {"Demo day", "Objection handling (not RSVPed)"}
    mine = by_title["Demo day"]
    assert mine.decoded("DTSTART") == start
    assert mine.decoded("DTEND") == start + timedelta(minutes=90)
    assert mine.decoded("DTSTART").utcoffset() == timedelta(0)
    assert str(mine["URL"]) == JOIN and JOIN in str(mine["DESCRIPTION"])
    assert str(mine["UID"]).startswith(f"event-{gid}@")
    theirs = by_title["Objection handling (not RSVPed)"]
    assert str(theirs["UID"]).startswith(f"event-{oid}@")
    assert "URL" not in theirs and JOIN not in str(theirs["DESCRIPTION"])
    assert JOIN.encode() not in feed.data.replace(mine.to_ical(), b"")


def test_forged_regenerated_and_revoked_tokens_are_404_with_nothing_leaked(app, client):
    with app.app_context():
        p = make_partner("Ted Token", email="ted@example.com")
        first = ical.regenerate_token(p)
        db.session.commit()
        pid = p.id
    anon = app.test_client()
    assert anon.get(f"/partner/calendar.ics?token={first}").status_code == 200
    login(client, "ted@example.com")
    submit(client, "/partner/events", {}, post_url="/partner/calendar/token")
    with app.app_context():
        from core.program.models import Partner

        second = ical.feed_token(db.session.get(Partner, pid))
    assert second != first
    answers = [anon.get(f"/partner/calendar.ics?token={t}") for t in (
        first, first[:-1] + ("0" if first[-1] != "0" else "1"), "A" * 72, "", "../etc",
        "x" * 5000)]
    answers.append(anon.get("/partner/calendar.ics"))
    for r in answers:
        assert r.status_code == 404 and r.data == b"Not found\n"
        assert "text/calendar" not in r.headers["Content-Type"]
    assert anon.get(f"/partner/calendar.ics?token={second}").status_code == 200
    submit(client, "/partner/events", {}, post_url="/partner/calendar/token/revoke")
    revoked = anon.get(f"/partner/calendar.ics?token={second}")
    assert revoked.status_code == 404 and revoked.data == b"Not found\n"
    assert "Get my calendar link" in client.get("/partner/events").get_data(as_text=True)


def test_suspended_partner_feed_is_404(app):
    with app.app_context():
        p = make_partner("Sue Spended")
        token = ical.regenerate_token(p)
        p.status = "suspended"
        db.session.commit()
    assert app.test_client().get(f"/partner/calendar.ics?token={token}").status_code == 404


def test_feed_keeps_recent_past_rsvped_event(ctx):
    """An event the partner went to last week stays in the feed (calendars keep it)."""
    actor = make_staff("content@example.com", ("content",))
    e = _event(actor, "Last week's webinar", now_utc() + timedelta(hours=2))
    p = make_partner("Pam Past")
    events.rsvp(p, e.id)
    e.starts_at = now_utc() - timedelta(days=7)
    e.ends_at = e.starts_at + timedelta(hours=1)
    db.session.commit()
    cal = Calendar.from_ical(ical.build_feed(p))
    assert [str(c["SUMMARY"]) for c in cal.walk("VEVENT")] == ["Last week's webinar"]
