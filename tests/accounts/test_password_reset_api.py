"""Password reset from the app (rules: "Password reset"): ask for the link with
``POST /api/auth/partner/reset-password`` (the same answer for any address, throttled
together with the page), then set the new password with the e-mailed token through
``/reset-password/confirm``. Bad tokens and weak passwords change nothing."""

import pytest
from conftest import api_token, login, make_partner
from test_email import NEW_PASSWORD, link_in

from core.accounts.models import User
from core.base.extensions import db


@pytest.fixture
def outbox(app):
    from test_email import Outbox

    box = Outbox(app.config["STORAGE_DIR"] + "/outbox")
    box.clear()
    yield box
    box.clear()


def ask(client, email):
    return client.post("/api/auth/partner/reset-password", json={"email": email})


def test_the_answer_is_the_same_for_known_and_unknown_addresses(app, client, outbox,
                                                                 run_worker):
    with app.app_context():
        make_partner("Kim Known", email="kim@example.com")
    known, unknown = ask(client, "Kim@Example.com"), ask(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 202
    k, u = known.get_json(), unknown.get_json()
    assert k["status"] == u["status"] == "check_email"
    assert k["message"].replace("kim@example.com", "X") == \
        u["message"].replace("nobody@example.com", "X")
    assert "works once, for 1 hour" in k["message"]
    run_worker()
    [msg] = outbox.messages()
    assert msg["To"] == "kim@example.com"

    resp = ask(client, "not an address")
    assert resp.status_code == 422
    assert resp.get_json()["error"]["message"] == \
        "Enter a valid e-mail address, like name@example.com."


def test_the_token_sets_the_password_once_and_ends_every_login(app, client, outbox,
                                                                run_worker):
    with app.app_context():
        make_partner("Rita Reset", email="rita@example.com")
    old_token = api_token(client, "rita@example.com")
    ask(client, "rita@example.com")
    run_worker()
    token = link_in(outbox.messages()[0], "/password/reset/").rsplit("/", 1)[1]

    weak = client.post("/api/auth/partner/reset-password/confirm",
                       json={"token": token, "new_password": "password1234"})
    assert weak.status_code == 422
    assert "common passwords" in weak.get_json()["error"]["message"]
    assert client.get("/api/partner/profile", headers=old_token).status_code == 200

    done = client.post("/api/auth/partner/reset-password/confirm",
                       json={"token": token, "new_password": NEW_PASSWORD})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "password_changed"
    assert client.get("/api/partner/profile", headers=old_token).status_code == 401
    assert login(app.test_client(), "rita@example.com").status_code == 401
    assert api_token(client, "rita@example.com", NEW_PASSWORD)

    again = client.post("/api/auth/partner/reset-password/confirm",
                        json={"token": token, "new_password": "another-long-passphrase"})
    assert again.status_code == 400
    assert again.get_json()["error"]["code"] == "bad_link"
    assert "used already" in again.get_json()["error"]["message"]
    assert api_token(client, "rita@example.com", NEW_PASSWORD)


def test_altered_and_foreign_tokens_change_nothing(app, client):
    from core.accounts import email_links

    with app.app_context():
        p = make_partner("Ed Edit", email="ed@example.com")
        good = email_links.reset_token(db.session.get(User, p.user_id))
        before = db.session.get(User, p.user_id).password_hash
    for token in (good.replace(".", "x", 1), good[:20], "x" * 500):
        resp = client.post("/api/auth/partner/reset-password/confirm",
                           json={"token": token, "new_password": NEW_PASSWORD})
        assert resp.status_code == 400, token
        assert resp.get_json()["error"]["code"] == "bad_link"
    with app.app_context():
        assert db.session.get(User, p.user_id).password_hash == before


def test_page_and_api_share_one_throttle(app, client, outbox, run_worker, monkeypatch):
    """Two asks through the page and one through the API use up a limit of 3: the
    fourth, through either, is a 429 with the wait, and no fourth e-mail goes out."""
    from test_email import ask_reset

    monkeypatch.setitem(app.config, "RESET_LIMIT_PER_ACCOUNT", "3 per hour")
    with app.app_context():
        make_partner("Tia Throttle", email="tia@example.com")
    page = app.test_client()
    assert ask_reset(page, "tia@example.com").status_code == 200
    assert ask_reset(page, "tia@example.com").status_code == 200
    assert ask(client, "tia@example.com").status_code == 202
    resp = ask(client, "TIA@example.com")
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) > 0
    assert resp.get_json()["error"]["retry_after"] > 0
    assert ask_reset(page, "tia@example.com").status_code == 429
    run_worker()
    assert len(outbox.messages("tia@example.com")) == 3


def test_setting_passwords_is_throttled_per_client_address(app, client, monkeypatch):
    """Guessing at tokens from one address runs into the per-address limit (429)."""
    monkeypatch.setitem(app.config, "RESET_LIMIT_PER_IP", "2 per hour")
    for _ in range(2):
        resp = client.post("/api/auth/partner/reset-password/confirm",
                           json={"token": "guess", "new_password": NEW_PASSWORD})
        assert resp.status_code == 400
    resp = client.post("/api/auth/partner/reset-password/confirm",
                       json={"token": "guess", "new_password": NEW_PASSWORD})
    assert resp.status_code == 429
    assert "Retry-After" in resp.headers
