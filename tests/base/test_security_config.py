"""Security promises (SECURITY.md) that are settings rather than behaviour, and had no test: passwords
stored with a memory-hard hash, production cookies Secure + HttpOnly + SameSite, and a
request body limit (``MAX_CONTENT_LENGTH``) that the app enforces with 413."""

from conftest import PASSWORD, make_partner
from werkzeug.security import check_password_hash

from core.accounts.models import User
from core.base.config import Config, ProductionConfig
from core.base.extensions import db


def test_passwords_are_stored_as_scrypt(app):
    """A partner's stored password is a Werkzeug scrypt hash (memory-hard), salted (two
    accounts with the same password store different hashes), never the password."""
    with app.app_context():
        a = make_partner("Hash One", email="one@example.com")
        b = make_partner("Hash Two", email="two@example.com")
        ha = db.session.get(User, a.user_id).password_hash
        hb = db.session.get(User, b.user_id).password_hash
    assert ha.startswith("scrypt:") and hb.startswith("scrypt:")
    assert ha != hb and PASSWORD not in ha
    assert check_password_hash(ha, PASSWORD)


def test_production_cookies_are_secure_httponly_samesite(app, client, monkeypatch):
    """With the production cookie settings, the session cookie the login page sets is
    Secure, HttpOnly and SameSite=Lax; the remember-me cookie has the same settings."""
    assert ProductionConfig.SESSION_COOKIE_SECURE and ProductionConfig.REMEMBER_COOKIE_SECURE
    for key in ("SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE"):
        monkeypatch.setitem(app.config, key, getattr(ProductionConfig, key))
    resp = client.get("/login", base_url="https://localhost")
    cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, resp.headers.getlist("Set-Cookie")
    flags = {part.strip().lower() for part in cookies[0].split(";")}
    assert {"secure", "httponly", "samesite=lax"} <= flags, cookies[0]
    assert (ProductionConfig.REMEMBER_COOKIE_HTTPONLY,
            ProductionConfig.REMEMBER_COOKIE_SAMESITE) == (True, "Lax")


def test_request_bodies_over_the_limit_are_413(app, client, monkeypatch):
    """``MAX_CONTENT_LENGTH`` is set (60 MB: a 10 MB chat file and a 5 MB logo fit, with
    room for form overhead) and enforced: a body over the limit gets 413 before any view
    reads it (limit lowered here so the test sends kilobytes, not 60 MB)."""
    assert Config.MAX_CONTENT_LENGTH == 60 * 1024 * 1024
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    resp = client.post("/api/auth/partner/login", data=b"{" + b" " * 4096 + b"}",
                       content_type="application/json")
    assert resp.status_code == 413
    resp = client.post("/partner/register", data={"name": "x" * 4096})
    assert resp.status_code == 413


def test_no_known_signing_key_anywhere(tmp_path, monkeypatch):
    """Without ``SECRET_KEY`` and without ``SISO_ENV`` (development, or a server started
    as ``gunicorn wsgi:app``), the app signs with a random key it made in
    ``instance/secret_key`` (mode 0600) on first start and reuses afterwards; no config
    carries a key written in the code; ``SISO_ENV=testing`` selects nothing special."""
    import os
    import stat

    import core.base.config as config

    monkeypatch.setattr(config, "INSTANCE", tmp_path / "instance")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("SISO_ENV", raising=False)
    first = config.Config.from_env()["SECRET_KEY"]
    path = tmp_path / "instance" / "secret_key"
    assert path.read_text().strip() == first and len(first) == 64
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert config.Config.from_env()["SECRET_KEY"] == first
    assert first != "dev-only-not-secret"
    assert config.config_for_env().from_env()["SECRET_KEY"] == first  # what create_app loads
    assert Config.SECRET_KEY is None
    monkeypatch.setenv("SISO_ENV", "testing")
    assert config.config_for_env() is config.Config
    other = tmp_path / "other"
    assert config.instance_secret_key(other) != first  # each installation its own


def test_a_session_forged_with_the_old_public_key_opens_nothing(app, tmp_path, monkeypatch):
    """With the key a development start chooses (no ``SECRET_KEY`` set), a staff session
    cookie signed with the key that used to ship in the code (``dev-only-not-secret``)
    is not accepted: the staff roles page asks to log in."""
    import time

    from conftest import make_staff
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    import core.base.config as config

    monkeypatch.setattr(config, "INSTANCE", tmp_path / "instance")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setitem(app.config, "SECRET_KEY", config.Config.from_env()["SECRET_KEY"])
    with app.app_context():
        admin = make_staff("admin@example.com", ("admin",))
        user_id = f"{admin.id}:{admin.session_version}"
    forger = Flask("forger")
    forger.secret_key = "dev-only-not-secret"  # noqa: S105 (the attack)
    now = int(time.time())
    cookie = SecureCookieSessionInterface().get_signing_serializer(forger).dumps(
        {"_user_id": user_id, "_fresh": True, "login_at": now, "seen_at": now,
         "kind": "staff", "remember": False})
    client = app.test_client()
    client.set_cookie("session", cookie)
    resp = client.get("/admin/staff/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
