"""Password rules (rules: "Sessions and log-in"): at least 10 characters and not on the shipped list of common
passwords, at registration (page and API), staff creation and password change."""

import pytest
from conftest import PASSWORD, csrf_from, login, make_partner, make_staff

from core.accounts import users as accounts
from core.accounts.models import User
from core.base.errors import ValidationError
from core.base.extensions import db

COMMON = ["1234567890", "qwertyuiop", "password12", "basketball", "1q2w3e4r5t"]


def users(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(User))


def test_list_is_shipped_and_large():
    """The list ships with the app (a plain text file in core/accounts/) and has at least 10,000
    entries, including ones long enough to pass the length rule."""
    words = accounts.common_passwords()
    assert len(words) >= 10_000
    assert accounts.COMMON_PASSWORDS_FILE.parent.name == "accounts"
    assert sum(1 for w in words if len(w) >= accounts.MIN_PASSWORD) > 1000
    assert all(w == w.lower() for w in words)


@pytest.mark.parametrize("password", COMMON + ["QwertyUiop", "  Basketball  "])
def test_common_password_refused_by_rule(password):
    """A common password is refused whatever its case, and the message says why."""
    with pytest.raises(ValidationError, match="common passwords"):
        accounts.check_password_rules(password)


def test_uncommon_password_accepted():
    """The control: a long uncommon password passes, so the refusals above mean something."""
    assert accounts.check_password_rules(PASSWORD) == PASSWORD
    assert accounts.check_password_rules("plum-orbit-tractor-42") == "plum-orbit-tractor-42"


def test_api_registration_refuses_common_password(app, client):
    """POST /api/auth/partner/register with a common password: 422 saying why, no account."""
    before = users(app)
    resp = client.post("/api/auth/partner/register", json={
        "email": "new@example.com", "password": "1234567890", "name": "New Person",
        "accept_terms": True})
    assert resp.status_code == 422
    err = resp.get_json()["error"]
    assert err["code"] == "validation_error" and "common passwords" in err["message"]
    assert users(app) == before


def test_register_page_refuses_common_password(app, client):
    """The application form shows the reason and creates nothing."""
    before = users(app)
    page = client.get("/partner/register")
    resp = client.post("/partner/register", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "name": "New Person",
        "email": "new@example.com", "password": "qwertyuiop", "accept_terms": "y"})
    assert resp.status_code == 422
    assert "common passwords" in resp.get_data(as_text=True)
    assert users(app) == before


def test_staff_creation_refuses_common_password(app, ctx):
    """create_staff (admin screens and the CLI) refuses a common password."""
    with pytest.raises(ValidationError, match="common passwords"):
        accounts.create_staff("new.staff@example.com", "basketball", "New Staff", ["support"])
    db.session.rollback()
    assert db.session.scalar(db.select(User).where(User.email == "new.staff@example.com")) is None


def test_cli_create_staff_refuses_common_password(app):
    """``flask create-staff`` with a common password fails with the reason."""
    result = app.test_cli_runner().invoke(args=["create-staff", "cli.staff@example.com",
                                                "--roles", "support", "--password-stdin"],
                                          input="password12\n")
    assert "common passwords" in result.output
    with app.app_context():
        assert db.session.scalar(db.select(User).where(User.email == "cli.staff@example.com")) \
            is None


def test_password_change_refuses_common_password(app, client):
    """The password-change page refuses a common new password; the old one still works."""
    with app.app_context():
        make_partner("Pat Partner", email="pat@example.com")
    login(client, "pat@example.com")
    page = client.get("/account/password")
    resp = client.post("/account/password", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "current_password": PASSWORD,
        "new_password": "1q2w3e4r5t", "confirm": "1q2w3e4r5t"})
    assert resp.status_code == 422
    assert "common passwords" in resp.get_data(as_text=True)
    with app.app_context():
        assert accounts.authenticate("pat@example.com", PASSWORD) is not None


def test_staff_password_change_refuses_common_password(app, ctx):
    """Staff go through the same rule when they change their password."""
    staff = make_staff("admin@example.com", ("admin",))
    with pytest.raises(ValidationError, match="common passwords"):
        accounts.change_password(staff, PASSWORD, "qwertyuiop")
