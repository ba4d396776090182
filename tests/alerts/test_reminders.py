"""Lead follow-up reminders (rules: "Follow-up reminders"): the follow-up day set on a
lead's page brings a reminder at 9:00 in the partner's own time zone, from the scheduled
job on the real worker with the clock moved, once per lead per day; the dashboard lists
what is due and overdue; a day in the past or not a date is refused."""

from datetime import UTC, date, datetime

import pytest
from conftest import login, make_partner, submit

from core.base.extensions import db
from core.community.models import Notification
from core.program.leads import create_lead
from core.program.models import Lead


def _at(monkeypatch, moment: datetime):
    """Move the reminders' clock (the forked worker child inherits it)."""
    import core.alerts.reminders as reminders

    monkeypatch.setattr(reminders, "now_utc", lambda: moment)


def _reminders(app, user_id):
    with app.app_context():
        return [(n.title, n.body, n.url) for n in db.session.scalars(
            db.select(Notification).where(Notification.user_id == user_id,
                                          Notification.kind == "follow_up")
            .order_by(Notification.id))]


def test_reminder_arrives_at_nine_in_each_partners_zone_once(app, client, run_worker,
                                                              monkeypatch):
    """Nina (New York) sets Thursday 10 December on her Acme lead from its page; Taro
    (Tokyo) has Globex on the same day. At 08:55 in New York (13:55 UTC) Taro's reminder
    has gone (it is 22:55 in Tokyo) and Nina's has not; at 09:00 New York hers arrives,
    with the next action and a link to the lead; later rounds send nothing again."""
    from core.alerts.reminders import send_follow_up_reminders
    from core.base.jobs import TICK_SECONDS
    from jobs.ticker import tick

    with app.app_context():
        nina = make_partner("Nina York", email="nina@example.com")
        nina.timezone = "America/New_York"
        taro = make_partner("Taro Tokyo", email="taro@example.com")
        taro.timezone = "Asia/Tokyo"
        acme = create_lead(nina, {"company_name": "Acme"}, nina.user_id)
        globex = create_lead(taro, {"company_name": "Globex"}, taro.user_id)
        globex.next_action_on = date(2026, 12, 10)
        db.session.commit()
        nina_user, taro_user, acme_id, globex_id = nina.user_id, taro.user_id, acme.id, globex.id
    _at(monkeypatch, datetime(2026, 12, 8, 15, 0, tzinfo=UTC))
    login(client, "nina@example.com")
    resp = submit(client, f"/partner/leads/{acme_id}",
                  {"next_action": "Call Dana about the quote", "next_action_on": "2026-12-10"},
                  post_url=f"/partner/leads/{acme_id}/follow-up", prefix="follow-")
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Follow-up saved: we will remind you at 9:00 that day." in page
    assert 'value="2026-12-10"' in page and "America/New_York" in page

    _at(monkeypatch, datetime(2026, 12, 10, 13, 55, tzinfo=UTC))
    tick(app, TICK_SECONDS)  # as the worker's ticker asks for it
    run_worker()
    assert _reminders(app, nina_user) == []
    assert _reminders(app, taro_user) == [("Follow up with Globex today",
                                           "Your follow-up is due today.",
                                           f"/partner/leads/{globex_id}")]

    _at(monkeypatch, datetime(2026, 12, 10, 14, 0, tzinfo=UTC))
    with app.app_context():
        send_follow_up_reminders.enqueue(job_id="round-2")
    run_worker()
    assert _reminders(app, nina_user) == [("Follow up with Acme today",
                                           "Call Dana about the quote",
                                           f"/partner/leads/{acme_id}")]

    _at(monkeypatch, datetime(2026, 12, 10, 18, 0, tzinfo=UTC))
    with app.app_context():
        send_follow_up_reminders.enqueue(job_id="round-3")
        send_follow_up_reminders.enqueue(job_id="round-3b")  # two workers' rounds
    run_worker()
    assert len(_reminders(app, nina_user)) == 1 and len(_reminders(app, taro_user)) == 1
    # Nina's drawer shows it unread, like any portal notice.
    drawer = client.get("/partner/notifications").get_data(as_text=True)
    assert "Follow up with Acme today" in drawer


def test_dashboard_lists_due_and_overdue_follow_ups(app, client, monkeypatch):
    """On Saturday 12 December Nina's dashboard lists Acme (due Thursday: 2 days overdue)
    and Initech (today) but not a lost lead or one due next week."""
    with app.app_context():
        nina = make_partner("Nina York", email="nina@example.com")
        nina.timezone = "America/New_York"
        for name, day, status in (("Acme", date(2026, 12, 10), "new"),
                                  ("Initech", date(2026, 12, 12), "proposal"),
                                  ("Lost Co", date(2026, 12, 9), "lost"),
                                  ("Later Inc", date(2026, 12, 18), "contacted")):
            lead = create_lead(nina, {"company_name": name, "next_action": f"Ring {name}"},
                               nina.user_id)
            lead.next_action_on, lead.status = day, status
        db.session.commit()
    _at(monkeypatch, datetime(2026, 12, 12, 15, 0, tzinfo=UTC))
    login(client, "nina@example.com")
    html = client.get("/partner/dashboard").get_data(as_text=True)
    section = html.split('id="follow-ups"', 1)[1].split("</section>", 1)[0]
    assert "Acme</a> · Ring Acme" in section and "2 days overdue" in section
    assert "Initech</a> · Ring Initech" in section and ">today<" in section
    assert "Lost Co" not in section and "Later Inc" not in section
    assert section.index("Acme") < section.index("Initech")  # oldest first


@pytest.mark.parametrize("day,words", [
    ("2026-12-01", "in the past"), ("10/12/2026", "must be a date"),
    ("2028-01-01", "more than a year ahead")])
def test_bad_follow_up_days_are_refused_and_nothing_changes(app, client, monkeypatch, day,
                                                             words):
    """A day before the partner's today, not a date, or years ahead: the page says why and
    the lead keeps what it had."""
    with app.app_context():
        nina = make_partner("Nina York", email="nina@example.com")
        lead = create_lead(nina, {"company_name": "Acme", "next_action": "Call"}, nina.user_id)
        lead.next_action_on = date(2026, 12, 20)
        db.session.commit()
        lead_id = lead.id
    _at(monkeypatch, datetime(2026, 12, 8, 15, 0, tzinfo=UTC))
    login(client, "nina@example.com")
    resp = submit(client, f"/partner/leads/{lead_id}",
                  {"next_action": "Changed", "next_action_on": day},
                  post_url=f"/partner/leads/{lead_id}/follow-up", prefix="follow-")
    assert resp.status_code == 303
    assert words in client.get(resp.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        assert (lead.next_action, lead.next_action_on) == ("Call", date(2026, 12, 20))


def test_api_sets_and_clears_the_follow_up_day(app, client, monkeypatch):
    """The app sets the follow-up day with the lead's other details and reads it back; a
    past day is 422 and changes nothing, not even the details sent with it; "" clears."""
    from conftest import api_token

    with app.app_context():
        nina = make_partner("Nina York", email="nina@example.com")
        lead_id = create_lead(nina, {"company_name": "Acme"}, nina.user_id).id
        db.session.commit()
    _at(monkeypatch, datetime(2026, 12, 8, 15, 0, tzinfo=UTC))
    headers = api_token(client, "nina@example.com")
    url = f"/api/partner/leads/{lead_id}"
    resp = client.put(url, headers=headers, json={"next_action": "Send the quote",
                                                  "next_action_on": "2026-12-11"})
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["next_action"], resp.get_json()["next_action_on"]) == (
        "Send the quote", "2026-12-11")
    bad = client.put(url, headers=headers, json={"next_action": "Other",
                                                 "next_action_on": "2026-12-01"})
    assert bad.status_code == 422 and "in the past" in bad.get_json()["error"]["message"]
    got = client.get(url, headers=headers).get_json()
    assert (got["next_action"], got["next_action_on"]) == ("Send the quote", "2026-12-11")
    cleared = client.put(url, headers=headers, json={"next_action_on": ""}).get_json()
    assert cleared["next_action_on"] is None and cleared["next_action"] == "Send the quote"
