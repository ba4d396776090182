"""The notifications screen on a 390 px phone (rules: "Notification preferences", "Web
push"): visiting the portal never asks for notification permission; channels are saved
from the table; the push toggle asks once when turned on, explains a refusal, and when
allowed hands the browser's subscription to the server, after which a notice reaches
that subscription through the worker and decrypts. Chromium here reaches no browser push
service, so the Push API's subscribe() answers with keys the test made (for its own push
service); everything else is the real page, script, server and worker."""

import json
import os

import pytest
from conftest import TEST_OUTPUT, make_partner
from push_service import Device, PushService
from test_browser import log_in, phone

from core.base.extensions import db
from core.community.models import PushSubscription

#: Counts permission requests and answers them with window.__answer; optionally stands
#: in for the Push API's subscribe() with a subscription the test made.
STUBS = """
window.__asked = 0;
window.__answer = %(answer)s;
if (window.Notification) {
  Notification.requestPermission = function () { window.__asked += 1; return Promise.resolve(window.__answer); };
}
const fake = %(sub)s;
if (fake && self.PushManager) {
  let current = null;
  PushManager.prototype.subscribe = function (opts) {
    window.__keyBytes = opts.applicationServerKey.byteLength;
    current = { endpoint: fake.endpoint, toJSON: () => fake, unsubscribe: () => { current = null; return Promise.resolve(true); } };
    return Promise.resolve(current);
  };
  PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
}
"""


def _page(browser, live_server, answer, sub=None):
    page = phone(browser, live_server)
    page.context.add_init_script(STUBS % {"answer": json.dumps(answer), "sub": json.dumps(sub)})
    return page


@pytest.mark.browser
def test_channels_saved_and_permission_asked_only_from_the_toggle(app, live_server, browser):
    """Pat browses the dashboard and the notifications screen: nothing asks for
    permission. She unticks e-mail for payouts and every box of the "no new lead" nudge,
    saves, and sees them kept. Turning push on asks once; refused, the toggle goes back
    off and says how to allow it. The page fits 390 px."""
    with app.app_context():
        make_partner("Pat Phone", email="pat@example.com")
    page = _page(browser, live_server, "denied")
    log_in(page, "pat@example.com")
    page.goto("/partner/profile")
    page.get_by_role("link", name="Choose channels per notice and turn on push").click()
    page.wait_for_url("**/partner/profile/notifications")
    assert page.evaluate("window.__asked") == 0
    assert page.evaluate("Notification.permission") == "default"
    page.get_by_label("Payouts (sent, failed, returned): e-mail").uncheck()
    for channel in ("portal", "e-mail", "push"):
        box = page.get_by_label(f"Nudge: no new lead in 14 days: {channel}")
        if box.is_checked():
            box.uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="Save notification preferences").click()
    page.get_by_text("Notification preferences saved.").wait_for()
    assert not page.get_by_label("Payouts (sent, failed, returned): e-mail").is_checked()
    assert page.get_by_label("Payouts (sent, failed, returned): portal").is_checked()
    assert not page.get_by_label("Nudge: no new lead in 14 days: push").is_checked()
    assert page.evaluate("window.__asked") == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    toggle = page.get_by_label("Send notices to this device")
    toggle.wait_for()
    page.wait_for_function("() => !document.getElementById('push-enabled').disabled")
    toggle.click()  # refused at once, so it goes back off by itself
    page.get_by_text("Notifications are blocked for this site.").wait_for()
    assert page.evaluate("window.__asked") == 1
    assert not toggle.is_checked()
    os.makedirs(TEST_OUTPUT, exist_ok=True)
    page.screenshot(path=os.path.join(TEST_OUTPUT, "notification-settings-phone.png"),
                    full_page=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(PushSubscription)) == 0


@pytest.mark.browser
def test_toggle_on_registers_the_device_and_a_notice_reaches_it(app, live_server, browser,
                                                                 run_worker):
    """Allowed, the toggle subscribes with our VAPID key (65 bytes) and the server stores
    the subscription; a payout notice then reaches it through the worker and decrypts.
    Turning the toggle off forgets the device."""
    from core.community.notifications import notify

    service = PushService().start()
    try:
        device = Device(f"{service.base}/push/pat-phone")
        with app.app_context():
            pat = make_partner("Pat Phone", email="pat@example.com")
            user_id = pat.user_id
        page = _page(browser, live_server, "granted", device.subscription())
        log_in(page, "pat@example.com")
        page.goto("/partner/profile/notifications")
        page.wait_for_function("() => !document.getElementById('push-enabled').disabled")
        page.get_by_label("Send notices to this device").check()
        page.get_by_text("Push is on for this device.").wait_for(timeout=10000)
        assert page.evaluate("window.__asked") == 1
        assert page.evaluate("window.__keyBytes") == 65
        assert page.locator("#push-devices").inner_text() == "1"
        with app.app_context():
            assert db.session.scalars(db.select(PushSubscription.endpoint)).all() == [
                device.endpoint]
            notify(user_id, "payout", "Payout sent", "$120.00 is on its way",
                   "/partner/earnings")
            db.session.commit()
        run_worker()
        assert [device.decrypt(r["body"])["url"] for r in service.received] == [
            "/partner/earnings"]
        page.get_by_label("Send notices to this device").uncheck()
        page.get_by_text("Push is off for this device.").wait_for(timeout=10000)
        with app.app_context():
            assert db.session.scalar(db.select(db.func.count())
                                     .select_from(PushSubscription)) == 0
    finally:
        service.stop()


@pytest.mark.browser
def test_service_worker_shows_the_pushed_notice(app, live_server, browser):
    """A push message delivered to the page's service worker (Chromium's DevTools
    protocol stands in for the push service) is shown as a notification with the
    notice's title and body, and keeps the page to open when tapped."""
    with app.app_context():
        make_partner("Pat Phone", email="pat@example.com")
    page = phone(browser, live_server)
    page.context.grant_permissions(["notifications"], origin=live_server)
    log_in(page, "pat@example.com")
    page.goto("/partner/profile/notifications")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    cdp = page.context.new_cdp_session(page)
    regs = []
    cdp.on("ServiceWorker.workerRegistrationUpdated",
           lambda e: regs.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    page.wait_for_timeout(500)
    reg_id = next(r["registrationId"] for r in regs if r["scopeURL"].startswith(live_server))
    cdp.send("ServiceWorker.deliverPushMessage", {
        "origin": live_server, "registrationId": reg_id,
        "data": json.dumps({"title": "Follow up with Acme today", "body": "Call Dana",
                            "url": "/partner/leads/7", "tag": "n1", "kind": "follow_up"})})
    for _ in range(50):  # the worker handles the push message on its own time
        if page.evaluate("""() => navigator.serviceWorker.ready
                .then(r => r.getNotifications()).then(ns => ns.length)"""):
            break
        page.wait_for_timeout(200)
    shown = page.evaluate("""() => navigator.serviceWorker.ready.then(r => r.getNotifications())
        .then(ns => ns.map(n => ({title: n.title, body: n.body, url: n.data.url, tag: n.tag})))""")
    assert shown == [{"title": "Follow up with Acme today", "body": "Call Dana",
                      "url": "/partner/leads/7", "tag": "n1"}]
