"""Notification preferences per kind and channel (rules: "Notification preferences"):
the profile's screen and the API save them, notify() routes by them, unknown kinds get
the default channels, and the profile's "E-mail me" switch still stops every e-mail."""

import pytest
from conftest import api_token, login, make_partner, submit
from test_email import Outbox

from core.base.extensions import db
from core.community.models import Notification


@pytest.fixture
def outbox(app):
    import os

    box = Outbox(os.path.join(app.config["STORAGE_DIR"], "outbox"))
    box.clear()
    yield box


def test_defaults_keep_the_old_email_kinds_and_unknown_kinds_go_to_portal_and_push(ctx):
    """Before anyone chooses: the kinds that were e-mailed still are, reminders too;
    a kind nobody listed (another part of the program may add one) reaches the portal
    and push but not the inbox."""
    from core.community.notifications import EMAIL_KINDS, KINDS, channels_for

    pat = make_partner("Pat Prefs")
    for kind in EMAIL_KINDS | {"follow_up", "event_reminder"}:
        assert channels_for(pat.user_id, kind) == {"portal": True, "email": True, "push": True}
    assert channels_for(pat.user_id, "commission") == {"portal": True, "email": False,
                                                       "push": True}
    assert channels_for(pat.user_id, "brand_new_kind") == {"portal": True, "email": False,
                                                           "push": True}
    assert all(len(k) <= 30 for k in KINDS)


def test_profile_screen_saves_channels_and_notify_routes_by_them(app, client, run_worker,
                                                                 outbox):
    """Pat unticks e-mail for payouts and the portal for tier changes on the profile's
    notifications screen. A payout notice then reaches the drawer but no inbox; a tier-up
    notice is e-mailed but lands in the list already read (no badge); a ticket reply
    still goes both ways."""
    from core.community.notifications import notify, unread_count

    with app.app_context():
        pat = make_partner("Pat Prefs", email="pat@example.com")
        user_id = pat.user_id
    login(client, "pat@example.com")
    page = client.get("/partner/profile")
    assert b"/partner/profile/notifications" in page.data
    html = client.get("/partner/profile/notifications").get_data(as_text=True)
    assert 'name="payout:email" id="payout-email"' in html and "Lead follow-up reminders" in html
    boxes = {}
    import re

    for name, checked in re.findall(r'name="(\w+:\w+)"[^>]*?( checked)?>', html):
        boxes[name] = bool(checked)
    boxes["payout:email"] = False
    boxes["tier_up:portal"] = False
    resp = submit(client, "/partner/profile/notifications",
                  {k: "on" for k, v in boxes.items() if v})
    assert resp.status_code == 303
    html = client.get("/partner/profile/notifications").get_data(as_text=True)
    assert 'id="payout-email" aria-label="Payouts (sent, failed, returned): e-mail" >' in html
    assert 'id="payout-portal" aria-label="Payouts (sent, failed, returned): portal" checked>' \
        in html
    with app.app_context():
        notify(user_id, "payout", "Payout sent", "$50.00", "/partner/earnings")
        notify(user_id, "tier_up", "You reached Active", "")
        notify(user_id, "ticket", "Support replied", "We fixed it", "/partner/support/1")
        db.session.commit()
        assert unread_count(user_id) == 2  # the tier-up is in the list, already read
        tier = db.session.scalar(db.select(Notification).where(Notification.kind == "tier_up"))
        assert tier.read_at is not None
    run_worker()
    subjects = sorted(m["Subject"] for m in outbox.messages(to="pat@example.com"))
    assert len(subjects) == 2
    assert any("Support replied" in s for s in subjects)
    assert any("You reached Active" in s for s in subjects)


def test_profile_email_switch_still_stops_every_email(app, run_worker, outbox):
    """"E-mail me" off in the profile: even a kind whose e-mail channel is on sends no
    e-mail (the existing contact preference)."""
    from core.community.notifications import notify

    with app.app_context():
        pat = make_partner("Pat Prefs", email="pat@example.com")
        pat.notify_email = False
        notify(pat.user_id, "follow_up", "Follow up with Acme", "")
        notify(pat.user_id, "approval", "Welcome", "")
        db.session.commit()
    run_worker()
    assert outbox.messages() == []


def test_api_reads_and_writes_preferences_and_refuses_bad_ones(app, client):
    """GET lists every kind with its channels; PUT changes only what was sent; an
    unknown kind, unknown channel or a non-boolean is 422 and nothing is saved."""
    with app.app_context():
        make_partner("Pat Prefs", email="pat@example.com")
    headers = api_token(client, "pat@example.com")
    body = client.get("/api/notifications/preferences", headers=headers).get_json()
    kinds = {i["kind"]: i for i in body["items"]}
    assert kinds["alert_no_lead"] == {"kind": "alert_no_lead", "group": "Coaching",
                                      "label": "Nudge: no new lead in 14 days",
                                      "portal": True, "email": False, "push": True,
                                      "chosen": False}
    resp = client.put("/api/notifications/preferences", headers=headers,
                      json={"preferences": {"alert_no_lead": {"portal": False, "push": False},
                                            "follow_up": {"email": False}}})
    assert resp.status_code == 200, resp.get_json()
    kinds = {i["kind"]: i for i in resp.get_json()["items"]}
    assert (kinds["alert_no_lead"]["portal"], kinds["alert_no_lead"]["push"],
            kinds["alert_no_lead"]["chosen"]) == (False, False, True)
    assert (kinds["follow_up"]["portal"], kinds["follow_up"]["email"]) == (True, False)
    for bad in ({"preferences": {"nope": {"email": True}}},
                {"preferences": {"follow_up": {"sms": True}}},
                {"preferences": {"follow_up": {"email": "yes"}}},
                {"preferences": {"follow_up": {"email": True}, "payout": {"fax": True}}}):
        resp = client.put("/api/notifications/preferences", headers=headers, json=bad)
        assert resp.status_code == 422, bad
        assert resp.get_json()["error"]["message"]
    after = {i["kind"]: i for i in client.get("/api/notifications/preferences",
                                               headers=headers).get_json()["items"]}
    assert after["follow_up"]["email"] is False  # the refused bodies changed nothing
    assert after["payout"]["chosen"] is False
