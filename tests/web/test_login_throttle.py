"""Log-in throttling (rules: "Sessions and log-in"): Flask-Limiter on the app's Redis, per account and per IP,
failures only; a 429 with Retry-After and the same sentence whether the e-mail exists."""

import re

import pytest
from conftest import PASSWORD, TEST_REDIS_URL, csrf_from, make_partner, make_staff

from core.base.config import Config

WRONG = "not-the-password-at-all"


@pytest.fixture
def low_limits(app, monkeypatch):
    """Small limits so a test reaches them: 3 failures per account, 6 per IP."""
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ACCOUNT", "3 per 15 minutes")
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_IP", "6 per 15 minutes")


@pytest.fixture
def pat(app):
    with app.app_context():
        make_partner("Pat Partner", email="pat@example.com")
    return "pat@example.com"


def api_login(client, email, password, kind="partner", ip="127.0.0.1"):
    return client.post(f"/api/auth/{kind}/login", json={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def form_login(client, email, password, ip="127.0.0.1"):
    page = client.get("/login", environ_base={"REMOTE_ADDR": ip})
    return client.post("/login", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                       "email": email, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def assert_throttled(resp):
    """429, a Retry-After of a few seconds to 15 minutes, and a sentence with the time."""
    assert resp.status_code == 429, resp.status_code
    retry = int(resp.headers["Retry-After"])
    assert 0 < retry <= 15 * 60 + 1
    text = resp.get_json()["error"]["message"] if resp.is_json else resp.get_data(as_text=True)
    assert re.search(r"Too many failed log-in attempts\. .*try again in \d+ minutes?\.", text)
    return text


def test_account_locked_after_failures_even_with_right_password(client, pat, low_limits):
    """After 3 wrong passwords for one account, the 4th attempt is refused with 429 before
    the password is looked at, even when it is right."""
    for _ in range(3):
        assert api_login(client, pat, WRONG).status_code == 401
    resp = api_login(client, pat, PASSWORD)
    assert_throttled(resp)
    assert resp.get_json()["error"]["code"] == "too_many_attempts"
    assert "token" not in resp.get_json()


def test_same_answer_whether_email_exists(client, pat, low_limits):
    """An unknown e-mail is throttled the same way and with the same text as a real one,
    so the 429 does not tell which accounts exist."""
    answers = []
    for email in (pat, "nobody@example.com"):
        for _ in range(3):
            resp = api_login(client, email, WRONG)
            assert resp.status_code == 401
        answers.append(resp.get_json())
        answers.append(assert_throttled(api_login(client, email, WRONG)))
    assert answers[0] == answers[2]
    assert answers[1] == answers[3]


def test_successful_logins_do_not_count(client, pat, low_limits):
    """Ten successful log-ins in a row (limit 3) all work: only failures are counted."""
    for _ in range(10):
        assert api_login(client, pat, PASSWORD).status_code == 200
    for _ in range(10):
        assert form_login(client, pat, PASSWORD).status_code == 302
    assert api_login(client, pat, WRONG).status_code == 401


def test_other_accounts_unaffected(client, app, pat, low_limits):
    """Locking one account leaves another account's log-in alone (different e-mail)."""
    with app.app_context():
        make_partner("Mike Reyes", email="mike@example.com")
    for _ in range(3):
        api_login(client, pat, WRONG)
    assert api_login(client, pat, PASSWORD).status_code == 429
    assert api_login(client, "mike@example.com", PASSWORD).status_code == 200


def test_per_ip_limit_across_accounts(client, pat, low_limits):
    """One IP trying many accounts (password spraying) is stopped after 6 failures, for
    any account; another IP can still log in."""
    for i in range(6):
        assert api_login(client, f"victim{i}@example.com", WRONG, ip="10.0.0.5").status_code == 401
    assert_throttled(api_login(client, pat, PASSWORD, ip="10.0.0.5"))
    assert api_login(client, pat, PASSWORD, ip="10.0.0.6").status_code == 200


def test_form_and_api_share_the_count(client, app, pat, low_limits):
    """Failures on the login page, the partner API and the staff API add up: switching
    endpoints does not buy more guesses."""
    with app.app_context():
        make_staff("fran@example.com", ("finance",))
    assert form_login(client, "fran@example.com", WRONG).status_code == 401
    assert api_login(client, "fran@example.com", WRONG, kind="partner").status_code == 401
    assert api_login(client, "fran@example.com", WRONG, kind="staff").status_code == 401
    assert_throttled(api_login(client, "fran@example.com", PASSWORD, kind="staff"))
    resp = form_login(client, "fran@example.com", PASSWORD)
    assert_throttled(resp)
    assert "Too many failed log-in attempts" in resp.get_data(as_text=True)


def test_login_page_throttle_and_case_of_email(client, pat, low_limits):
    """The login form counts per account whatever the case or spaces of the e-mail; the
    page still loads (GET is never limited) and shows the sentence."""
    for email in ("pat@example.com", "PAT@Example.com", "  pat@example.com "):
        assert form_login(client, email, WRONG).status_code == 401
    assert client.get("/login").status_code == 200
    resp = form_login(client, pat, PASSWORD)
    assert_throttled(resp)
    assert client.get("/partner/dashboard").status_code == 302  # not logged in


def test_password_change_counts_against_the_account(client, pat, low_limits):
    """Wrong current passwords on the password-change page count like failed log-ins."""
    form_login(client, pat, PASSWORD)
    for _ in range(3):
        page = client.get("/account/password")
        resp = client.post("/account/password", data={
            "csrf_token": csrf_from(page.get_data(as_text=True)), "current_password": WRONG,
            "new_password": "plum-orbit-tractor-42", "confirm": "plum-orbit-tractor-42"})
        assert resp.status_code == 401
    page = client.get("/account/password")
    resp = client.post("/account/password", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "current_password": PASSWORD,
        "new_password": "plum-orbit-tractor-42", "confirm": "plum-orbit-tractor-42"})
    assert resp.status_code == 429


def test_counters_live_in_the_apps_redis(app, client, pat):
    """The limiter stores its counters in the app's own Redis database (REDIS_URL), so
    every web process shares them and tests use their own database."""
    from core.base.jobs import redis_connection

    assert app.config["RATELIMIT_STORAGE_URI"] == TEST_REDIS_URL
    api_login(client, pat, WRONG)
    with app.app_context():
        keys = [k.decode() for k in redis_connection().keys("*siso-limits*")]
    assert any("login-account" in k for k in keys) and any("login-ip" in k for k in keys)


def test_default_limits_and_env(monkeypatch):
    """Defaults allow a few mistakes (10 per account, 50 per IP in 15 minutes) and the
    environment can change them."""
    assert Config.LOGIN_LIMIT_PER_ACCOUNT == "10 per 15 minutes"
    assert Config.LOGIN_LIMIT_PER_IP == "50 per 15 minutes"
    monkeypatch.setenv("LOGIN_LIMIT_PER_ACCOUNT", "5 per hour")
    monkeypatch.setenv("LOGIN_LIMIT_PER_IP", "100 per hour")
    cfg = Config.from_env()
    assert cfg["LOGIN_LIMIT_PER_ACCOUNT"] == "5 per hour"
    assert cfg["LOGIN_LIMIT_PER_IP"] == "100 per hour"


def test_default_account_limit_is_ten(client, pat):
    """With the shipped defaults, 10 wrong passwords are answered 401 and the 11th 429."""
    for _ in range(10):
        assert api_login(client, pat, WRONG).status_code == 401
    assert_throttled(api_login(client, pat, PASSWORD))


def test_forwarded_for_is_not_trusted_by_default(client, pat, low_limits):
    """Without configured proxies a client cannot dodge the per-IP limit by sending a new
    X-Forwarded-For with each attempt."""
    for i in range(6):
        resp = client.post("/api/auth/partner/login",
                           json={"email": f"victim{i}@example.com", "password": WRONG},
                           headers={"X-Forwarded-For": f"198.51.100.{i}"})
        assert resp.status_code == 401
    resp = client.post("/api/auth/partner/login", json={"email": pat, "password": PASSWORD},
                       headers={"X-Forwarded-For": "198.51.100.99"})
    assert resp.status_code == 429


@pytest.mark.parametrize("count,seen", [(0, "10.0.0.1"), (1, "203.0.113.9")])
def test_proxy_count_decides_the_client_address(count, seen):
    """PROXY_COUNT=1 (one reverse proxy) takes the client address from X-Forwarded-For, so
    per-IP limits count clients, not the proxy; 0 keeps the socket's address."""
    from flask import Flask, request

    from web.app import trust_proxies

    tiny = Flask("tiny")
    tiny.config["PROXY_COUNT"] = count
    tiny.add_url_rule("/ip", "ip", lambda: request.remote_addr)
    trust_proxies(tiny)
    resp = tiny.test_client().get("/ip", headers={"X-Forwarded-For": "203.0.113.9"},
                                  environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert resp.get_data(as_text=True) == seen


def test_proxy_count_from_env(monkeypatch):
    """The environment sets how many proxies to trust."""
    monkeypatch.setenv("PROXY_COUNT", "2")
    assert Config.from_env()["PROXY_COUNT"] == 2
