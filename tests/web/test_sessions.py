"""Sessions (rules: "Sessions and log-in"): a new session at log-in, idle and absolute timeouts, log-out and
password change ending the user's other sessions, sockets and API login tokens."""

import time

import pytest
from conftest import PASSWORD, api_token, csrf_from, login, make_partner, make_staff

from core.accounts import users as accounts
from core.accounts.models import User
from core.base.extensions import db

NEW_PASSWORD = "plum-orbit-tractor-42"


@pytest.fixture
def pat(app):
    with app.app_context():
        make_partner("Pat Partner", email="pat@example.com")
    return "pat@example.com"


@pytest.fixture
def admin_user(app):
    with app.app_context():
        make_staff("alex@example.com", ("admin",))
    return "alex@example.com"


def logged_in_partner(client) -> bool:
    return client.get("/partner/dashboard").status_code == 200


def logged_in_staff(client) -> bool:
    return client.get("/admin/").status_code == 200


def age_session(client, idle: float = 0, since_login: float | None = None):
    """Pretend the last request was ``idle`` seconds ago and the login ``since_login``."""
    now = int(time.time())
    with client.session_transaction() as sess:
        sess["seen_at"] = now - int(idle)
        if since_login is not None:
            sess["login_at"] = now - int(since_login)


def login_form(client, email, remember=False):
    page = client.get("/login")
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "email": email,
            "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data)


# --- new session at log-in ------------------------------------------------------------

def test_login_starts_a_new_session(app, pat):
    """Whatever the session held before log-in (planted by an attacker or left by someone
    else) is gone after it, and a copy of the pre-login cookie stays anonymous."""
    victim = app.test_client()
    victim.get("/login")
    with victim.session_transaction() as sess:
        sess["planted"] = "attacker"
        sess["csrf_token"] = "fixed-by-attacker"
    before = victim.get_cookie("session").value
    assert login(victim, pat).status_code == 302
    with victim.session_transaction() as sess:
        assert "planted" not in sess
        assert sess.get("csrf_token") != "fixed-by-attacker"
        assert isinstance(sess["login_at"], int) and sess["kind"] == "partner"
    assert victim.get_cookie("session").value != before
    attacker = app.test_client()
    attacker.set_cookie("session", before)
    assert not logged_in_partner(attacker)
    assert logged_in_partner(victim)


def test_session_without_login_stamp_is_refused(app, pat):
    """A session that says who is logged in but was not made by our log-in (no login
    time, as an old or forged-by-key-leak cookie would be) is not accepted."""
    client = app.test_client()
    login(client, pat)
    with client.session_transaction() as sess:
        del sess["login_at"]
    assert not logged_in_partner(client)


# --- timeouts -------------------------------------------------------------------------

def test_staff_idle_timeout_30_minutes(app, admin_user):
    """Staff idle for 29 minutes go on; idle for 31 minutes are logged out with a reason."""
    client = app.test_client()
    login(client, admin_user)
    age_session(client, idle=29 * 60)
    assert logged_in_staff(client)
    age_session(client, idle=31 * 60)
    resp = client.get("/admin/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "timed out" in page
    assert not logged_in_staff(client)


def test_staff_absolute_timeout_12_hours(app, admin_user):
    """A staff session active all along still ends 12 hours after the log-in."""
    client = app.test_client()
    login(client, admin_user)
    age_session(client, idle=60, since_login=11 * 3600)
    assert logged_in_staff(client)
    age_session(client, idle=60, since_login=12 * 3600 + 60)
    assert not logged_in_staff(client)


def test_staff_cannot_be_remembered(app, admin_user):
    """Ticking "keep me logged in" gives staff no lasting cookie: 31 idle minutes end it."""
    client = app.test_client()
    login_form(client, admin_user, remember=True)
    with client.session_transaction() as sess:
        assert sess["remember"] is False and sess["kind"] == "staff"
    age_session(client, idle=31 * 60)
    assert not logged_in_staff(client)


def test_partner_remember_me_14_days_idle(app, pat):
    """A remembered partner comes back after 13 idle days still logged in, not after 15;
    the cookie outlives the browser (it has an expiry)."""
    client = app.test_client()
    login_form(client, pat, remember=True)
    cookie = client.get_cookie("session")
    assert cookie.expires is not None
    age_session(client, idle=13 * 24 * 3600)
    assert logged_in_partner(client)
    age_session(client, idle=15 * 24 * 3600)
    assert not logged_in_partner(client)


def test_partner_without_remember_me(app, pat):
    """Without "keep me logged in" the cookie ends with the browser and 13 idle hours end
    the session."""
    client = app.test_client()
    login_form(client, pat)
    assert client.get_cookie("session").expires is None
    age_session(client, idle=11 * 3600)
    assert logged_in_partner(client)
    age_session(client, idle=13 * 3600)
    assert not logged_in_partner(client)


def test_partner_absolute_timeout_30_days(app, pat):
    """A remembered partner who visits every day still logs in again after 30 days."""
    client = app.test_client()
    login_form(client, pat, remember=True)
    age_session(client, idle=3600, since_login=29 * 24 * 3600)
    assert logged_in_partner(client)
    age_session(client, idle=3600, since_login=31 * 24 * 3600)
    assert not logged_in_partner(client)


def test_activity_moves_last_seen(app, pat):
    """Each request (at most once a minute) moves the last-seen time, so an active user is
    not timed out."""
    client = app.test_client()
    login_form(client, pat)
    age_session(client, idle=11 * 3600)
    assert logged_in_partner(client)
    with client.session_transaction() as sess:
        assert time.time() - sess["seen_at"] < 5
    age_session(client, idle=2 * 3600)
    assert logged_in_partner(client)


def test_expired_session_cannot_open_a_socket(app, live_server, pat):
    """Socket.IO runs no before_request: connecting with an idle-expired cookie is refused."""
    import socketio as sio_client

    client = app.test_client()
    login(client, pat)
    age_session(client, idle=13 * 3600)
    cookie = f"session={client.get_cookie('session').value}"
    sock = sio_client.Client(reconnection=False)
    with pytest.raises(sio_client.exceptions.ConnectionError):
        sock.connect(live_server, headers={"Cookie": cookie}, transports=["polling"],
                     wait_timeout=5)
    fresh = app.test_client()
    login(fresh, pat)
    sock = sio_client.Client(reconnection=False)
    sock.connect(live_server, headers={"Cookie": f"session={fresh.get_cookie('session').value}"},
                 transports=["polling"], wait_timeout=5)
    sock.disconnect()


# --- logout and password change end the other sessions --------------------------------

def logout(client):
    page = client.get("/partner/dashboard")
    return client.post("/logout", data={"csrf_token": csrf_from(page.get_data(as_text=True))})


def test_logout_ends_other_sessions_and_tokens(app, pat):
    """Logging out on one device ends the session there, on the user's other devices, a
    saved copy of the cookie, and the user's API login tokens."""
    phone, laptop = app.test_client(), app.test_client()
    login(phone, pat)
    login_form(laptop, pat, remember=True)
    saved = phone.get_cookie("session").value
    token = api_token(app.test_client(), pat)
    assert app.test_client().get("/api/partner/profile", headers=token).status_code == 200
    assert logout(phone).status_code == 302
    assert not logged_in_partner(phone)
    assert not logged_in_partner(laptop)
    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert not logged_in_partner(replay)
    assert app.test_client().get("/api/partner/profile", headers=token).status_code == 401
    assert login(phone, pat).status_code == 302 and logged_in_partner(phone)


def test_logout_without_csrf_changes_nothing(app, pat):
    """A cross-site POST /logout (no CSRF token) neither logs out nor ends sessions."""
    client = app.test_client()
    login(client, pat)
    with app.app_context():
        version = db.session.scalar(db.select(User.session_version).where(User.email == pat))
    client.post("/logout", data={})
    assert logged_in_partner(client)
    with app.app_context():
        assert db.session.scalar(db.select(User.session_version).where(User.email == pat)) \
            == version


def change(client, current, new, confirm=None):
    page = client.get("/account/password")
    assert page.status_code == 200
    return client.post("/account/password", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "current_password": current,
        "new_password": new, "confirm": new if confirm is None else confirm})


def test_password_change_ends_every_other_session(app, pat):
    """Changing the password keeps this device logged in, ends the other devices and the
    API login tokens, and only the new password works afterwards."""
    here, other = app.test_client(), app.test_client()
    login(here, pat)
    login(other, pat)
    token = api_token(app.test_client(), pat)
    resp = change(here, PASSWORD, NEW_PASSWORD)
    assert resp.status_code == 302
    assert logged_in_partner(here)
    assert not logged_in_partner(other)
    assert app.test_client().get("/api/partner/profile", headers=token).status_code == 401
    with app.app_context():
        assert accounts.authenticate(pat, PASSWORD) is None
        assert accounts.authenticate(pat, NEW_PASSWORD) is not None


def test_password_change_needs_the_current_password(app, pat):
    """A wrong current password is a 401 with a reason; nothing changes, no session ends."""
    here, other = app.test_client(), app.test_client()
    login(here, pat)
    login(other, pat)
    resp = change(here, "wrong-current-password", NEW_PASSWORD)
    assert resp.status_code == 401
    assert "current password is not right" in resp.get_data(as_text=True)
    assert logged_in_partner(other)
    with app.app_context():
        assert accounts.authenticate(pat, PASSWORD) is not None


@pytest.mark.parametrize("new,confirm,why", [
    ("short", None, "at least 10"),
    (PASSWORD, None, "differs from the current"),
    (NEW_PASSWORD, "something-else-entirely", "differ"),
])
def test_password_change_refuses_bad_new_passwords(app, pat, new, confirm, why):
    """Too short, unchanged or mistyped new passwords get 422 and change nothing."""
    client = app.test_client()
    login(client, pat)
    resp = change(client, PASSWORD, new, confirm)
    assert resp.status_code == 422
    assert why in resp.get_data(as_text=True)
    with app.app_context():
        assert accounts.authenticate(pat, PASSWORD) is not None


def test_staff_change_password_too(app, admin_user):
    """Staff use the same page (linked from the back office menu); the other staff session
    and the staff API token end."""
    here, other = app.test_client(), app.test_client()
    login(here, admin_user)
    login(other, admin_user)
    assert "/account/password" in here.get("/admin/").get_data(as_text=True)
    token = api_token(app.test_client(), admin_user, kind="staff")
    resp = change(here, PASSWORD, NEW_PASSWORD)
    assert resp.status_code == 302 and resp.headers["Location"] == "/admin/"
    assert logged_in_staff(here)
    assert not logged_in_staff(other)
    assert app.test_client().get("/api/staff/api-keys", headers=token).status_code == 401


def test_password_change_page_needs_login(client):
    """Anonymous visitors are sent to log in."""
    resp = client.get("/account/password")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_staff_log_out_from_the_back_office(app, admin_user):
    """The back office menu links to /logout; opening it only shows the button (a link
    or image cannot log anyone out), pressing it logs out."""
    client = app.test_client()
    login(client, admin_user)
    assert 'href="/logout"' in client.get("/admin/").get_data(as_text=True)
    page = client.get("/logout")
    assert page.status_code == 200 and "Log out everywhere" in page.get_data(as_text=True)
    assert logged_in_staff(client)
    resp = client.post("/logout", data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert resp.status_code == 302
    assert not logged_in_staff(client)
    assert client.get("/logout").status_code == 302  # anonymous: to the login page


def test_timeout_ends_only_this_session(app, pat):
    """An idle phone's session ends without a log-out signal (which would close the
    user's chat sockets everywhere): the laptop's session goes on."""
    from flask_login import user_logged_out

    phone, laptop = app.test_client(), app.test_client()
    login(phone, pat)
    login(laptop, pat)
    age_session(phone, idle=13 * 3600)
    signalled = []

    def record(sender, user=None, **extra):
        signalled.append(user)

    user_logged_out.connect(record, app)
    try:
        assert not logged_in_partner(phone)
    finally:
        user_logged_out.disconnect(record, app)
    assert signalled == []
    assert logged_in_partner(laptop)


def test_password_change_keeps_remember_me(app, pat):
    """A partner who ticked "keep me logged in" stays remembered on the device that
    changed the password."""
    client = app.test_client()
    login_form(client, pat, remember=True)
    assert change(client, PASSWORD, NEW_PASSWORD).status_code == 302
    with client.session_transaction() as sess:
        assert sess["remember"] is True
    assert client.get_cookie("session").expires is not None
    assert logged_in_partner(client)
