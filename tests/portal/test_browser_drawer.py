"""The notifications drawer and achievement notices in real headless Chromium."""

import os

import pytest
from conftest import make_partner, make_staff
from test_browser import OUT, desktop, log_in, staff_log_in

from core.base.extensions import db
from core.community.models import Notification
from core.community.notifications import notify


def small_phone(browser, base, scheme):
    """A 360 × 740 phone (the narrowest the portal supports) in the ``scheme`` theme."""
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, base_url=base,
                              color_scheme=scheme)
    return ctx.new_page()


def active_id(page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")


def wait_connected(page):
    # Polled from here: wait_for_function's in-page polling is eval, which the CSP refuses.
    for _ in range(100):
        if page.evaluate("!!(window.sisoSocket && window.sisoSocket.connected)"):
            return
        page.wait_for_timeout(50)
    raise AssertionError("the page's socket never connected")


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_partner_opens_drawer_by_keyboard_and_marks_all_read(app, live_server, browser, scheme):
    """On a 360px phone Mia moves to the bell and presses Enter: the drawer opens with
    focus inside it and lists her unread notice; she tabs to "Mark all read" and presses
    Enter: the badge clears. Escape closes the drawer and focus is back on the bell.
    Nothing is wider than the screen and every control is at least 44px tall."""
    with app.app_context():
        mia = make_partner("Mia Me", email="mia@example.com")
        notify(mia.user_id, "commission", "New base commission: $300.00", "TechCorp at Starter",
               "/partner/earnings")
        notify(mia.user_id, "achievement", "Achievement unlocked: First Sale",
               "Close your first confirmed deal.", "/partner/profile#achievements")
        db.session.commit()
        uid = mia.user_id
    page = small_phone(browser, live_server, scheme)
    log_in(page, "mia@example.com")
    assert page.locator("#unread-count").inner_text() == "2"
    bell = page.locator(".bell")
    assert bell.get_attribute("aria-expanded") == "false"
    for _ in range(10):  # Tab from the top of the page until the bell has focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('bell')"):
            break
    else:
        raise AssertionError("the bell is not reachable with Tab")
    page.keyboard.press("Enter")
    drawer = page.locator("#notif-drawer")
    drawer.wait_for(state="visible")
    assert bell.get_attribute("aria-expanded") == "true"
    assert active_id(page) == "notif-drawer-h"
    item = drawer.get_by_role("link", name="Unread: Achievement unlocked: First Sale")
    item.wait_for()
    assert drawer.locator(".notif.unread").count() == 2
    for _ in range(4):
        page.keyboard.press("Tab")
        if active_id(page) == "Mark all read":
            break
    else:
        raise AssertionError("Tab never reached Mark all read")
    for target in (drawer.locator(".drawer-close"), drawer.get_by_role("button", name="Mark all read"),
                   item, drawer.get_by_role("link", name="All notifications")):
        box = target.bounding_box()
        assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 360, box
    os.makedirs(OUT, exist_ok=True)
    page.screenshot(path=os.path.join(OUT, f"drawer-{scheme}.png"))
    page.keyboard.press("Enter")
    drawer.get_by_text("All caught up").wait_for()
    assert page.locator("#unread-count").count() == 0
    assert bell.get_attribute("aria-label") == "Notifications, 0 unread"
    assert drawer.locator(".notif.unread").count() == 0
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Notification).where(
            Notification.user_id == uid, Notification.read_at.is_(None))) == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.keyboard.press("Escape")
    drawer.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.classList.contains('bell')")
    page.reload()
    assert page.locator("#unread-count").count() == 0


@pytest.mark.browser
def test_drawer_item_opens_its_page_and_a_tap_outside_closes(app, live_server, browser):
    """Tapping an item goes to its page (and marks it read); the bell's drawer closes when
    the dimmed area beside the panel is tapped."""
    with app.app_context():
        mia = make_partner("Mia Me", email="mia@example.com")
        notify(mia.user_id, "commission", "New base commission: $300.00", "", "/partner/earnings")
        db.session.commit()
    page = small_phone(browser, live_server, "dark")
    page.set_viewport_size({"width": 800, "height": 740})
    log_in(page, "mia@example.com")
    page.locator(".bell").click()
    drawer = page.locator("#notif-drawer")
    drawer.wait_for(state="visible")
    drawer.get_by_role("link", name="New base commission").wait_for()
    page.mouse.click(50, 400)  # outside the 24rem panel
    drawer.wait_for(state="hidden")
    page.locator(".bell").click()
    drawer.get_by_role("link", name="New base commission").click()
    page.wait_for_url("**/partner/earnings")
    assert page.locator("#unread-count").count() == 0


@pytest.mark.browser
def test_achievement_arrives_live_when_staff_confirm_the_first_deal(app, live_server, browser):
    """Sarah waits on her dashboard while finance confirms her first won deal in the back
    office: the achievement appears live in the toast (under the commission) with a link
    to her badges, the bell counts both, and the open drawer shows both."""
    from core.base.timeutil import now_utc
    from core.program.leads import create_lead, move_lead

    with app.app_context():
        p = make_partner("Sarah Thompson", email="sarah@example.com")
        lead = create_lead(p, {"company_name": "TechCorp"}, p.user_id)
        move_lead(lead, "won", p.user_id, deal_value_cents=150000)
        make_staff("fin@example.com", ("finance",))
        db.session.commit()
        db.session.execute(db.update(Notification).values(read_at=now_utc()))
        db.session.commit()
        lead_id = lead.id
    page = small_phone(browser, live_server, "dark")
    log_in(page, "sarah@example.com")
    wait_connected(page)
    assert page.locator("#unread-count").count() == 0

    staff = desktop(browser, live_server)
    staff_log_in(staff, "fin@example.com")
    staff.goto(f"/admin/leads/confirm/{lead_id}")
    staff.get_by_role("button", name="Confirm deal and create commissions").click()
    staff.get_by_text("confirmed: base $300.00").wait_for()

    toast = page.locator("#live-toast")
    badge = toast.get_by_role("link", name="Achievement unlocked: First Sale")
    badge.wait_for(timeout=10000)
    assert badge.get_attribute("href") == "/partner/profile#achievements"
    assert toast.get_by_role("link", name="New base commission: $300.00").is_visible()
    page.locator("#unread-count").get_by_text("2").wait_for()
    page.locator(".bell").click()
    drawer = page.locator("#notif-drawer")
    drawer.get_by_role("link", name="Unread: Achievement unlocked: First Sale").wait_for()
    assert drawer.get_by_role("link", name="Unread: New base commission: $300.00").is_visible()
    page.screenshot(path=os.path.join(OUT, "achievement-live.png"))
    drawer.get_by_role("link", name="Unread: Achievement unlocked: First Sale").click()
    page.wait_for_url("**/partner/profile#achievements")
    assert page.locator('[data-badge="first_sale"].earned').is_visible()
    page.locator("#achievements").screenshot(path=os.path.join(OUT, "profile-achievements.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
