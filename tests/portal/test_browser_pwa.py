"""The installable app (PWA) on a 390 × 844 phone: a complete manifest and icons, an
offline page that lists only what this phone kept, and kept pages that say they are
offline and when they were last updated."""

import json
import re

import pytest
from conftest import make_partner
from test_browser import log_in, phone


@pytest.mark.browser
def test_manifest_icons_and_apple_touch_icon(app, live_server, browser):
    """The manifest has an id, a description, a phone screenshot, and separate "any" and
    "maskable" icons, all of which load; the page links an apple-touch-icon that loads."""
    page = phone(browser, live_server)
    page.goto("/login")
    manifest = json.loads(page.request.get("/static/manifest.webmanifest").text())
    assert manifest["id"] == "/partner/dashboard" and len(manifest["description"]) > 40
    purposes = [i.get("purpose", "any") for i in manifest["icons"]]
    assert "maskable" in purposes and "any" in purposes
    assert all(" " not in p for p in purposes)  # never "any maskable" on one icon
    assert manifest["screenshots"][0]["form_factor"] == "narrow"
    for item in manifest["icons"] + manifest["screenshots"]:
        assert page.request.get(item["src"]).ok, item["src"]
    touch = page.locator("link[rel=apple-touch-icon]").get_attribute("href")
    resp = page.request.get(touch)
    assert resp.ok and resp.headers["content-type"] == "image/png"


@pytest.mark.browser
def test_offline_page_promises_only_kept_pages_and_kept_pages_say_offline(
        app, live_server, browser):
    """Sarah opened her dashboard (kept) but never the leads list. Offline, the dashboard
    opens with "Offline · last updated HH:MM"; the earnings page (never kept) shows the
    offline page, which lists the dashboard only, not the leads list."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
    page = phone(browser, live_server)
    log_in(page, "sarah@example.com")
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now under the worker's control, which keeps a copy of the page
    page.wait_for_timeout(500)
    assert page.evaluate("!!navigator.serviceWorker.controller")
    page.context.set_offline(True)
    page.reload()
    note = page.locator(".offline-note")
    assert note.is_visible()
    assert re.match(r"Offline · last updated \d\d:\d\d\.", note.inner_text()), note.inner_text()
    page.goto("/partner/earnings")
    assert page.get_by_role("heading", name="You are offline").is_visible()
    saved = page.locator("#offline-pages")
    saved.get_by_role("link", name="Dashboard").wait_for()
    assert saved.get_by_role("link", name="Leads").count() == 0
    assert "last updated" in saved.inner_text()
    assert "leads list open from the cache" not in page.content()
