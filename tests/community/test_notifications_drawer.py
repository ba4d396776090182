"""The notifications drawer behind the top bar's bell: its content, "mark all read" and
the links through which an item is opened; each acts on the partner's own notifications
only, and bad input changes nothing."""

import re

from conftest import csrf_from, login, make_partner
from sqlalchemy import func, select

from core.base.extensions import db
from core.community.models import Notification
from core.community.notifications import DRAWER_LIMIT, notify


def unread(user_id) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)))


def setup_two(app, n=3):
    """Mia with ``n`` notifications (the first read), Oscar with one; their user ids."""
    with app.app_context():
        mia = make_partner("Mia Me", email="mia@example.com")
        oscar = make_partner("Oscar Other", email="oscar@example.com")
        for i in range(n):
            notify(mia.user_id, "commission", f"Mia notice {i}", f"body {i}", "/partner/earnings")
        notify(oscar.user_id, "commission", "Oscar's secret", "", "/partner/earnings")
        db.session.flush()
        first = db.session.scalar(select(Notification).where(
            Notification.user_id == mia.user_id).order_by(Notification.id))
        from core.base.timeutil import now_utc

        first.read_at = now_utc()
        db.session.commit()
        return mia.user_id, oscar.user_id


def test_bell_stays_a_link_and_the_drawer_needs_no_inline_script(app, client):
    """Without JavaScript the bell is a link to the notifications page; the drawer is a
    hidden dialog filled by a static script, with no inline script or handler."""
    setup_two(app)
    login(client, "mia@example.com")
    html = client.get("/partner/dashboard").get_data(as_text=True)
    bell = re.search(r'<a class="bell"[^>]*>', html).group(0)
    assert 'href="/partner/notifications"' in bell and 'data-drawer="notif-drawer"' in bell
    assert 'aria-label="Notifications, 2 unread"' in bell
    assert re.search(r'<div id="notif-drawer" class="drawer" role="dialog" aria-modal="true" '
                     r'aria-labelledby="notif-drawer-h" data-src="/partner/notifications/drawer"'
                     r' hidden>', html)
    # the script by its fingerprinted name (static files: WhiteNoise), deferred
    assert re.search(r'<script src="/static/js/drawer(\.[0-9a-f]{12})?\.js" defer></script>',
                     html)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and not re.search(r"\son[a-z]+=", html)


def test_drawer_lists_own_newest_notifications_unread_marked(app, client):
    """The drawer shows Mia's newest notifications, unread ones marked for eyes and screen
    readers, never Oscar's, and opening it marks nothing read."""
    mia, _ = setup_two(app, n=DRAWER_LIMIT + 2)
    login(client, "mia@example.com")
    resp = client.get("/partner/notifications/drawer")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    html = resp.get_data(as_text=True)
    assert "<html" not in html  # a fragment
    titles = re.findall(r"Mia notice (\d+)", html)
    assert titles == [str(i) for i in range(DRAWER_LIMIT + 1, 1, -1)]  # newest ten
    assert 'data-unread="11"' in html and "<strong>11</strong> unread" in html
    assert html.count('class="notif unread"') == DRAWER_LIMIT
    assert html.count("Unread: </span>") == DRAWER_LIMIT
    assert "Oscar" not in html
    assert 'action="/partner/notifications/read-all"' in html and "csrf_token" in html
    with app.app_context():
        assert unread(mia) == DRAWER_LIMIT + 1


def test_mark_all_read_touches_only_own_and_needs_the_csrf_token(app, client):
    """"Mark all read" clears Mia's unread count (JSON for the drawer, a redirect without
    JavaScript); without a CSRF token it is a 400 and nothing changes; Oscar's
    notification stays unread."""
    mia, oscar = setup_two(app)
    login(client, "mia@example.com")
    assert client.post("/partner/notifications/read-all").status_code == 400
    with app.app_context():
        assert unread(mia) == 2
    token = csrf_from(client.get("/partner/notifications/drawer").get_data(as_text=True))
    resp = client.post("/partner/notifications/read-all", data={"csrf_token": token},
                       headers={"Accept": "application/json"})
    assert resp.status_code == 200 and resp.get_json() == {"unread": 0, "marked": 2}
    with app.app_context():
        assert unread(mia) == 0 and unread(oscar) == 1
    drawer = client.get("/partner/notifications/drawer").get_data(as_text=True)
    assert "No unread notifications" in drawer and "read-all" not in drawer
    assert 'class="notif unread"' not in drawer
    resp = client.post("/partner/notifications/read-all", data={"csrf_token": token})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/partner/notifications")
    page = client.get("/partner/dashboard").get_data(as_text=True)
    assert 'id="unread-count"' not in page


def test_opening_an_item_marks_it_read_and_goes_to_its_url(app, client):
    """An item's link marks that notification read and redirects to its page; Oscar's
    notification id is a 404 to Mia and stays unread; a notification whose URL is not a
    path on this site lands on the notifications page instead."""
    mia, oscar = setup_two(app)
    with app.app_context():
        mine = db.session.scalar(select(Notification.id).where(
            Notification.user_id == mia, Notification.read_at.is_(None)))
        theirs = db.session.scalar(select(Notification.id).where(Notification.user_id == oscar))
        odd = notify(mia, "message", "Odd link", "", "//evil.example/x")
        db.session.commit()
        odd_id = odd.id
    login(client, "mia@example.com")
    resp = client.get(f"/partner/notifications/{mine}/open")
    assert resp.status_code == 303 and resp.headers["Location"] == "/partner/earnings"
    assert client.get(f"/partner/notifications/{theirs}/open").status_code == 404
    assert client.get("/partner/notifications/99999999/open").status_code == 404
    resp = client.get(f"/partner/notifications/{odd_id}/open")
    assert resp.headers["Location"] == "/partner/notifications"
    with app.app_context():
        assert db.session.get(Notification, mine).read_at is not None
        assert unread(oscar) == 1 and unread(mia) == 1


def test_staff_and_visitors_get_no_drawer(app, client):
    """Staff have no partner notifications: the drawer routes send them to the back
    office; a visitor is asked to log in."""
    from conftest import make_staff

    assert client.get("/partner/notifications/drawer").status_code == 302
    with app.app_context():
        make_staff("support@example.com", ("support",))
    login(client, "support@example.com")
    resp = client.get("/partner/notifications/drawer")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/")
    page = client.get("/account/password").get_data(as_text=True)
    assert "notif-drawer" not in page and "drawer.js" not in page
