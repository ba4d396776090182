"""Staff two-factor (rules: "Sessions and log-in"): TOTP with pyotp, required for the admin and finance roles,
asked at every log-in of staff who set it up, on the login page and the staff API."""

import re
import time

import pyotp
import pytest
from conftest import PASSWORD, csrf_from, login, make_partner, make_staff

from core.accounts.models import User
from core.base.config import Config
from core.base.extensions import db


@pytest.fixture(autouse=True)
def totp_required(app, monkeypatch):
    """The production rule: admin and finance must use two-factor."""
    monkeypatch.setitem(app.config, "TOTP_REQUIRED_ROLES", ("admin", "finance"))


def staff(app, email, roles, enrolled=False) -> str | None:
    """Create staff; with ``enrolled`` give them a TOTP secret and return it."""
    with app.app_context():
        user = make_staff(email, roles)
        if enrolled:
            user.totp_secret = pyotp.random_base32(32)
            db.session.commit()
            return user.totp_secret
    return None


def code_step(client, code):
    page = client.get("/login/two-factor")
    assert page.status_code == 200
    return client.post("/login/two-factor", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "code": code})


def in_back_office(client) -> bool:
    return client.get("/admin/").status_code == 200


def test_default_roles():
    """Out of the box admin and finance need two-factor."""
    assert Config.TOTP_REQUIRED_ROLES == ("admin", "finance")


def test_finance_sets_up_two_factor_at_first_login(app, client):
    """The right password alone does not open the back office: finance is shown a QR code
    and key, and only a code from the app turns two-factor on and logs in."""
    staff(app, "fran@example.com", ("finance",))
    resp = login(client, "fran@example.com")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login/two-factor"
    assert not in_back_office(client)
    page = client.get("/login/two-factor").get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in page
    secret = re.search(r"<code>([A-Z2-7]+)</code>", page).group(1)
    assert client.get("/login/two-factor").get_data(as_text=True).count(secret) == 1  # stable
    resp = code_step(client, "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    assert resp.status_code == 401 and "does not match" in resp.get_data(as_text=True)
    assert not in_back_office(client)
    with app.app_context():
        assert db.session.scalar(db.select(User.totp_secret).where(
            User.email == "fran@example.com")) is None
    resp = code_step(client, pyotp.TOTP(secret).now())
    assert resp.status_code == 302 and resp.headers["Location"] == "/admin/"
    assert in_back_office(client)
    with app.app_context():
        assert db.session.scalar(db.select(User.totp_secret).where(
            User.email == "fran@example.com")) == secret


def test_enrolled_staff_need_the_code_every_time(app, client):
    """An admin with two-factor: wrong code 401, right code logs in; the same code cannot
    be used again for a second log-in, the next one can."""
    secret = staff(app, "alex@example.com", ("admin",), enrolled=True)
    totp = pyotp.TOTP(secret)
    login(client, "alex@example.com")
    wrong = "123456" if totp.now() != "123456" else "654321"
    resp = code_step(client, wrong)
    assert resp.status_code == 401 and "not right" in resp.get_data(as_text=True)
    assert not in_back_office(client)
    now_code = totp.now()
    assert code_step(client, now_code).status_code == 302
    assert in_back_office(client)

    other = app.test_client()
    login(other, "alex@example.com")
    assert code_step(other, now_code).status_code == 401  # replayed
    assert code_step(other, totp.at(time.time() + 30)).status_code == 302
    assert in_back_office(other)


def test_support_without_two_factor_logs_in_with_password(app, client):
    """Support staff are not required to use it: the password is enough."""
    staff(app, "sam@example.com", ("support",))
    resp = login(client, "sam@example.com")
    assert resp.headers["Location"] == "/admin/"
    assert in_back_office(client)


def test_partners_are_never_asked(app, client):
    """Partners log in with their password only."""
    with app.app_context():
        make_partner("Pat Partner", email="pat@example.com")
    assert login(client, "pat@example.com").headers["Location"] == "/partner/dashboard"


def test_second_step_expires(app, client):
    """The password step is good for 5 minutes; after that the log-in starts over."""
    secret = staff(app, "alex@example.com", ("admin",), enrolled=True)
    login(client, "alex@example.com")
    with client.session_transaction() as sess:
        sess["pending_2fa"] = {**sess["pending_2fa"], "at": int(time.time()) - 301}
    page = client.get("/login/two-factor")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    resp = client.post("/login/two-factor", data={"code": pyotp.TOTP(secret).now()})
    assert not in_back_office(client)
    assert resp.status_code in (302, 400)


def test_second_step_without_password_goes_to_login(client):
    """Nobody can reach the code step without the password step."""
    resp = client.get("/login/two-factor")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")


def test_wrong_codes_are_throttled(app, client, monkeypatch):
    """Guessing codes counts against the account like wrong passwords."""
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ACCOUNT", "3 per 15 minutes")
    secret = staff(app, "alex@example.com", ("admin",), enrolled=True)
    login(client, "alex@example.com")
    wrong = "123456" if pyotp.TOTP(secret).now() != "123456" else "654321"
    for _ in range(3):
        assert code_step(client, wrong).status_code == 401
    resp = code_step(client, pyotp.TOTP(secret).now())
    assert resp.status_code == 429 and "Retry-After" in resp.headers
    assert not in_back_office(client)


def test_staff_api_login_needs_the_code(app, client):
    """POST /api/auth/staff/login: finance without two-factor is told to set it up (403);
    with it, no code is 401 otp_required, a wrong code 401 wrong_otp, the right one a token."""
    staff(app, "new.fin@example.com", ("finance",))
    resp = client.post("/api/auth/staff/login", json={"email": "new.fin@example.com",
                                                      "password": PASSWORD})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "otp_setup_required"
    secret = staff(app, "fran@example.com", ("finance",), enrolled=True)
    body = {"email": "fran@example.com", "password": PASSWORD}
    resp = client.post("/api/auth/staff/login", json=body)
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "otp_required"
    wrong = "123456" if pyotp.TOTP(secret).now() != "123456" else "654321"
    resp = client.post("/api/auth/staff/login", json={**body, "otp": wrong})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "wrong_otp"
    resp = client.post("/api/auth/staff/login", json={**body, "otp": pyotp.TOTP(secret).now()})
    assert resp.status_code == 200 and resp.get_json()["token"]


def test_wrong_password_never_reaches_the_code_step(app, client):
    """With a wrong password the answer is the usual 401 and no two-factor state is kept."""
    staff(app, "alex@example.com", ("admin",), enrolled=True)
    page = client.get("/login")
    resp = client.post("/login", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                       "email": "alex@example.com", "password": "wrong-password!"})
    assert resp.status_code == 401
    with client.session_transaction() as sess:
        assert "pending_2fa" not in sess


def test_back_office_never_shows_the_secret(app, client):
    """An admin opening a staff member's details never sees their TOTP secret."""
    secret = staff(app, "fran@example.com", ("finance",), enrolled=True)
    with app.app_context():
        make_staff("sam@example.com", ("support",))
        user = db.session.scalar(db.select(User).where(User.email == "fran@example.com"))
        user.roles = "admin,finance"  # an admin to look, with two-factor
        db.session.commit()
        fran_id = user.id
    login(client, "fran@example.com")
    code_step(client, pyotp.TOTP(secret).now())
    for url in ("/admin/staff/", f"/admin/staff/details/?id={fran_id}"):
        html = client.get(url).get_data(as_text=True)
        assert "fran@example.com" in html, url
        assert secret not in html and "Totp" not in html, url
