"""Security headers on every response and `next` redirects only to our own paths
(rules: "Sessions and log-in"): CSP without inline script (a nonce in the back office), nosniff, no framing,
Referrer-Policy, HSTS only in production."""

import re

import pytest
from conftest import PASSWORD, REPO, csrf_from, login, make_partner, make_staff

from core.base.config import Config, ProductionConfig, TestingConfig
from web.app import content_security_policy
from web.redirects import safe_next

ROOT = REPO


def policy(resp) -> dict[str, list[str]]:
    """The CSP header as {directive: [sources]}."""
    out = {}
    for part in resp.headers["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def assert_headers(resp):
    csp = policy(resp)
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["style-src"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in resp.headers  # not in tests/development
    return csp


INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)


@pytest.fixture
def partner_client(app):
    with app.app_context():
        make_partner("Pat Partner", email="pat@example.com")
    client = app.test_client()
    login(client, "pat@example.com")
    return client


def test_headers_on_every_kind_of_response(app, client, partner_client):
    """Pages, redirects, JSON, errors, static files and the API all carry the headers."""
    responses = [client.get("/login"), client.get("/partner/dashboard"),
                 client.get("/api/partner/profile"), client.get("/no/such/page"),
                 client.get("/api/no/such"), client.get("/static/css/app.css"),
                 client.get("/healthz"), client.get("/api/openapi.json"),
                 client.post("/login", data={}),
                 partner_client.get("/partner/dashboard"), partner_client.get("/partner/chat/general"),
                 client.post("/api/auth/partner/login", data="not json")]
    statuses = {r.status_code for r in responses}
    assert {200, 302, 401, 404}.issubset(statuses)
    for resp in responses:
        csp = assert_headers(resp)
        assert csp["script-src"] == ["'self'"], resp.request.path  # no nonce outside /admin


def test_admin_pages_use_a_nonce_that_matches_their_scripts(app):
    """Back-office pages allow exactly the nonce their own inline scripts carry, a new one
    per response; every script tag in them has it."""
    with app.app_context():
        make_staff("alex@example.com", ("admin",))
    client = app.test_client()
    login(client, "alex@example.com")
    seen = set()
    for url in ("/admin/", "/admin/partners/", "/admin/training/new/", "/admin/staff/"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        csp = assert_headers(resp)
        nonces = [s[len("'nonce-"):-1] for s in csp["script-src"] if s.startswith("'nonce-")]
        assert len(nonces) == 1, url
        html = resp.get_data(as_text=True)
        tags = re.findall(r"<script\b[^>]*>", html)
        assert tags, url
        for tag in tags:
            assert f'nonce="{nonces[0]}"' in tag, (url, tag)
        assert not INLINE_HANDLER.search(html), url  # Chromium blocks and reports each
        # by its fingerprinted name (web/assets.py)
        assert re.search(r"/static/js/admin-csp\.[0-9a-f]{12}\.js", html), url
        seen.add(nonces[0])
    assert len(seen) == 4


@pytest.mark.parametrize("folder", ["templates/portal", "templates/admin"])
def test_templates_have_no_inline_script(folder):
    """No template of ours has an inline script, an on...= handler or a javascript: URL:
    scripts come from files (JSON data blocks are data, not script)."""
    files = sorted((ROOT / folder).rglob("*.html"))
    assert files
    for path in files:
        text = path.read_text()
        assert not INLINE_HANDLER.search(text), path
        assert "javascript:" not in text, path
        for attrs in SCRIPT_TAG.findall(text):
            assert "src=" in attrs or 'type="application/json"' in attrs, (path, attrs)


def test_rendered_portal_pages_have_no_inline_script(partner_client):
    """The rendered pages (not only the templates) run no inline script."""
    for url in ("/partner/dashboard", "/partner/leads", "/partner/chat/general",
                "/partner/earnings", "/partner/materials", "/account/password"):
        html = partner_client.get(url).get_data(as_text=True)
        assert not INLINE_HANDLER.search(html), url
        for attrs in SCRIPT_TAG.findall(html):
            assert "src=" in attrs or 'type="application/json"' in attrs, (url, attrs)


def test_hsts_only_in_production(app, client, monkeypatch):
    """Production sends HSTS for a year; testing and development send none."""
    assert ProductionConfig.HSTS_SECONDS >= 365 * 24 * 3600
    assert Config.HSTS_SECONDS == 0 and TestingConfig.HSTS_SECONDS == 0
    assert "Strict-Transport-Security" not in client.get("/login").headers
    monkeypatch.setitem(app.config, "HSTS_SECONDS", ProductionConfig.HSTS_SECONDS)
    assert client.get("/login").headers["Strict-Transport-Security"] == \
        "max-age=31536000; includeSubDomains"


def test_policy_text():
    """The policy itself: self only, nonce only when given."""
    assert "'nonce-abc'" in content_security_policy("abc")
    assert "nonce" not in content_security_policy()
    assert "style-src-attr 'unsafe-inline'" in content_security_policy()


# --- next redirects -------------------------------------------------------------------

EVIL = ["//evil.example", "/\\evil.example", "\\\\evil.example", "https://evil.example/",
        "http:evil.example", "javascript:alert(1)", "/\t/evil.example", "/\n/evil.example",
        " //evil.example", "//evil.example/%2e%2e", "evil.example", "/\\/evil.example",
        "///evil.example", "data:text/html,hi"]


@pytest.mark.parametrize("target", EVIL)
def test_safe_next_refuses_other_sites(target):
    """Anything a browser could read as another site falls back to the default."""
    assert safe_next(target, "/partner/dashboard") == "/partner/dashboard"


def test_safe_next_keeps_our_paths():
    """Our own paths, with query strings, pass unchanged."""
    for target in ("/partner/leads", "/partner/leads?status=new", "/admin/payouts/?page=2"):
        assert safe_next(target, "/x") == target


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example"])
def test_login_next_never_leaves_the_site(app, client, target):
    """Logging in with ?next=//evil.example or /\\evil.example lands on our dashboard."""
    with app.app_context():
        make_partner("Pat Partner", email="pat@example.com")
    page = client.get("/login", query_string={"next": target})
    resp = client.post("/login", query_string={"next": target}, data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "email": "pat@example.com",
        "password": PASSWORD})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/partner/dashboard"


def test_login_next_to_our_page_is_followed(app, client):
    """The control: a next of ours is followed after log-in."""
    with app.app_context():
        make_partner("Pat Partner", email="pat@example.com")
    page = client.get("/login", query_string={"next": "/partner/leads"})
    resp = client.post("/login", query_string={"next": "/partner/leads"}, data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "email": "pat@example.com",
        "password": PASSWORD})
    assert resp.headers["Location"] == "/partner/leads"
