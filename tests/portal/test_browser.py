"""Real headless Chromium (Debian's package, driven by Playwright) against the live app."""

import os

import pytest
from conftest import PASSWORD, make_partner, make_staff_once
from conftest import TEST_OUTPUT as OUTPUT

from core.base.extensions import db
from core.base.timeutil import now_utc
from core.community.models import Notification
from core.program.models import Lead

OUT = str(OUTPUT)


def phone(browser, base, scheme="dark"):
    """A page in a 390 × 844 phone viewport; ``scheme`` is the device's colour scheme."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, base_url=base,
                              color_scheme=scheme)
    return ctx.new_page()


def desktop(browser, base):
    """A page in a 1280 × 900 desktop viewport (the back office, chat side by side)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base)
    return ctx.new_page()


def log_in(page, email, lands="**/partner/dashboard"):
    """Log in through the form; partners land on their dashboard, staff on ``/admin/``."""
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lands)


def staff_log_in(page, email):
    log_in(page, email, lands="**/admin/")


@pytest.mark.browser
def test_partner_adds_lead_on_phone(app, live_server, browser):
    """On a 390px phone a partner logs in, sees the tier card, adds a lead with the form and
    finds it in the #new column."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
    page = phone(browser, live_server)
    log_in(page, "sarah@example.com")
    assert page.get_by_role("heading", name="Starter partner").is_visible()
    assert page.get_by_text("3 more deals to Active").is_visible()
    page.get_by_role("link", name="Leads").click()
    page.get_by_text("+ Add a lead").click()
    page.get_by_label("Company").fill("TechCorp <Website>")
    page.get_by_label("Estimated value ($)").fill("2,500")
    with page.expect_navigation():  # the form posts, then the page shows the pipeline
        page.get_by_role("button", name="Add lead").click()
    column = page.locator("section.column", has=page.locator("#st-new"))
    column.get_by_text("TechCorp <Website>").wait_for()
    assert column.get_by_text("$2,500.00").is_visible()
    os.makedirs(OUT, exist_ok=True)
    page.screenshot(path=os.path.join(OUT, "leads-phone.png"))
    with app.app_context():
        assert db.session.scalar(db.select(Lead.estimated_value_cents)) == 250000
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.browser
def test_two_partners_see_each_other_live(app, live_server, browser):
    """Two partners in two Chromium pages: what one sends appears on the other's screen
    without a reload, text shown as text."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        make_partner("Mike Reyes", email="mike@example.com")
    sarah, mike = phone(browser, live_server), phone(browser, live_server)
    log_in(sarah, "sarah@example.com")
    log_in(mike, "mike@example.com")
    for p in (sarah, mike):
        p.goto("/partner/chat/general")
    mike.wait_for_function("() => window.io !== undefined")
    sarah.get_by_label("Message #general-chat").fill("Just closed <b>TechCorp</b>!")
    sarah.keyboard.press("Enter")
    mike.get_by_text("Just closed <b>TechCorp</b>!").wait_for(timeout=15000)
    assert mike.locator("#messages b").count() == 0
    mike.screenshot(path=os.path.join(OUT, "chat-live.png"))


@pytest.mark.browser
def test_notification_arrives_live_on_any_portal_page(app, live_server, browser):
    """Sarah is on her dashboard with nothing unread when staff confirm her deal: the bell
    gets a badge and messages with links appear (her commission and her First Sale
    badge), without a reload."""
    from core.money.commissions import confirm_deal
    from core.program.leads import create_lead, move_lead
    from core.program.models import Partner

    with app.app_context():
        p = make_partner("Sarah Thompson", email="sarah@example.com")
        staff = make_staff_once()
        lead = create_lead(p, {"company_name": "TechCorp", "contact_name": "John Smith"},
                           p.user_id)
        move_lead(lead, "won", p.user_id, deal_value_cents=150000)
        db.session.commit()
        db.session.execute(db.update(Notification).values(read_at=now_utc()))
        db.session.commit()
        lead_id, staff_id, pid = lead.id, staff.id, p.id
    page = phone(browser, live_server)
    log_in(page, "sarah@example.com")
    assert page.locator("#unread-count").count() == 0
    # Polled from here: wait_for_function's in-page polling is eval, which the CSP refuses.
    for _ in range(100):
        if page.evaluate("!!(window.sisoSocket && window.sisoSocket.connected)"):
            break
        page.wait_for_timeout(50)
    else:
        raise AssertionError("the page's socket never connected")
    with app.app_context():
        confirm_deal(lead_id, staff_id)
        db.session.commit()
        assert db.session.get(Partner, pid).won_deals_count == 1
    toast = page.locator("#live-toast")
    toast.wait_for(state="visible", timeout=5000)
    # The commission and the First Sale badge the same confirmation earned, stacked.
    commission = toast.get_by_role("link", name="New base commission: $300.00")
    commission.wait_for(timeout=5000)
    assert commission.get_attribute("href") == "/partner/earnings"
    toast.get_by_text("Achievement unlocked: First Sale").wait_for(timeout=5000)
    assert page.locator("#unread-count").inner_text() == "2"
    assert page.url.endswith("/partner/dashboard")
