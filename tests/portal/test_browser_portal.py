"""The partner portal pages in headless Chromium at 390px: the theme toggle with the
device's colour scheme, and screenshots of team, earnings, profile and dashboard."""

import os

import pytest
from conftest import make_partner, make_staff
from test_browser import OUT, log_in, phone

from core.base.extensions import db
from core.base.timeutil import now_utc
from core.money.models import Commission

DARK_BG, LIGHT_BG = "rgb(49, 51, 56)", "rgb(255, 255, 255)"


def background(page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


@pytest.mark.browser
def test_theme_follows_device_then_toggle_persists(app, live_server, browser):
    """A phone set to light shows the light theme with no choice made; the toggle switches
    to dark at once, and the choice survives a reload (cookie read by the server)."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
    page = phone(browser, live_server, scheme="light")
    log_in(page, "sarah@example.com")
    assert background(page) == LIGHT_BG
    os.makedirs(OUT, exist_ok=True)
    page.screenshot(path=os.path.join(OUT, "portal-dashboard-light.png"))
    toggle = page.get_by_role("button", name="Switch to dark theme")
    toggle.click()
    assert background(page) == DARK_BG
    assert page.get_by_role("button", name="Switch to light theme").is_visible()
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert background(page) == DARK_BG


@pytest.mark.browser
def test_new_pages_fit_a_phone(app, live_server, browser):
    """Team, earnings, profile and dashboard render at 390px (and 360px) without sideways
    scrolling; a screenshot of each at 390px is saved for people to look at."""
    with app.app_context():
        leader = make_partner("Lena Lead", email="lena@example.com", deals=10)
        make_partner("Amy Alpha-Longname-Hyphenated", leader=leader, deals=2)
        make_partner("Bob Beta", leader=leader, deals=1)
        from core.program.leads import create_lead

        create_lead(leader, {"company_name": "Harbour View Dental"}, leader.user_id)
        db.session.add(Commission(partner_id=leader.id, type="bonus", amount_cents=12345,
                                  status="approved", note="Spring challenge", created_at=now_utc()))
        db.session.commit()
    page = phone(browser, live_server)
    log_in(page, "lena@example.com")
    os.makedirs(OUT, exist_ok=True)
    for name, url, heading in (("dashboard", "/partner/dashboard", "Performer partner"),
                               ("team", "/partner/team", "Team"),
                               ("earnings", "/partner/earnings", "Earnings"),
                               ("profile", "/partner/profile", "Your profile"),
                               ("log-sale", "/partner/leads#log-sale", "Pipeline")):
        page.goto(url)
        # For the full-page shot (through the CSSOM: the CSP refuses injected <style>).
        page.evaluate("document.querySelector('.bottom-nav').style.position = 'static'")
        if url.endswith("#log-sale"):
            assert page.get_by_role("button", name="Log sale").is_visible()  # opened
            top = page.evaluate("document.getElementById('log-sale').getBoundingClientRect().top")
            assert top >= 52, "the sticky top bar hides the form"
        assert page.get_by_role("heading", name=heading, exact=True).is_visible()
        page.screenshot(path=os.path.join(OUT, f"portal-{name}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
    page.set_viewport_size({"width": 360, "height": 740})
    for url in ("/partner/dashboard", "/partner/team", "/partner/earnings", "/partner/profile"):
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, url


@pytest.mark.browser
def test_leads_list_offline_and_a_lead_added_offline_is_sent_once_back_online(
        app, live_server, browser):
    """Sarah loses signal: her leads page still opens (the service worker kept it), the
    lead she adds waits on the phone ("Waiting to send 1") and is sent by itself when the
    signal is back: one lead, in the pipeline."""
    from core.program.models import Lead

    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
    page = phone(browser, live_server)
    log_in(page, "sarah@example.com")
    page.goto("/partner/leads")
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now under the worker's control, which keeps a copy of the page
    page.locator("#new-lead-form").wait_for(state="attached")
    assert page.evaluate("!!navigator.serviceWorker.controller")
    page.context.set_offline(True)
    page.reload()
    assert page.get_by_role("heading", name="#new").count() == 1  # the kept copy
    page.get_by_text("+ Add a lead").click()
    page.get_by_label("Company").fill("Offline Bistro")
    page.get_by_label("Contact name").fill("Ola")
    page.get_by_role("button", name="Add lead").click()
    queue = page.locator("#lead-queue")
    queue.wait_for(state="visible", timeout=5000)
    assert "Offline Bistro" in queue.inner_text()
    assert page.locator("#lead-queue-count").inner_text() == "1"
    with app.app_context():  # kept on the phone, not sent
        assert db.session.scalar(db.select(db.func.count()).select_from(Lead)) == 0
        db.session.remove()
    # Not reloaded while offline here: Chromium's offline emulation does not cover the
    # service worker's own requests, so a reloaded page may reach the server and send
    # the queue early (which is what the queue should do when the network works).
    os.makedirs(OUT, exist_ok=True)
    page.screenshot(path=os.path.join(OUT, "leads-offline-queue.png"))
    with page.expect_navigation(timeout=10000):  # the queue reloads the page once sent
        page.context.set_offline(False)
    page.locator(".column", has_text="Offline Bistro").wait_for(timeout=5000)
    assert page.locator("#lead-queue").is_hidden()
    with app.app_context():
        rows = db.session.scalars(db.select(Lead)).all()
        assert [(r.company_name, r.contact_name) for r in rows] == [("Offline Bistro", "Ola")]
        assert rows[0].client_ref


@pytest.mark.browser
def test_drag_a_lead_card_to_another_column(app, live_server, browser):
    """On a desktop, Maya drags "Harbor Realty" from #new to #qualified: after the page
    reloads it is in #qualified, and the database agrees. Dropping a card on #won opens
    the lead with "won" chosen, to enter the deal value."""
    from test_browser import desktop

    from core.program.leads import create_lead
    from core.program.models import Lead

    with app.app_context():
        p = make_partner("Maya Chen", email="maya@example.com")
        lead_id = create_lead(p, {"company_name": "Harbor Realty"}, p.user_id).id
        create_lead(p, {"company_name": "Urban Threads"}, p.user_id)
        db.session.commit()
    page = desktop(browser, live_server)
    log_in(page, "maya@example.com")
    page.goto("/partner/leads")
    card = page.locator(".lead-card", has_text="Harbor Realty")
    with page.expect_navigation():
        card.drag_to(page.locator(".column", has=page.locator("#st-qualified")))
    page.locator(".column", has=page.locator("#st-qualified")).locator(
        ".lead-card", has_text="Harbor Realty").wait_for()
    with app.app_context():
        assert db.session.get(Lead, lead_id).status == "qualified"
        db.session.remove()
    with page.expect_navigation():
        page.locator(".lead-card", has_text="Urban Threads").drag_to(
            page.locator(".column", has=page.locator("#st-won")))
    assert page.url.endswith("?stage=won#move")
    assert page.locator("select[name=move-status]").input_value() == "won"


@pytest.mark.browser
def test_playbook_library_on_a_phone(app, live_server, browser):
    """On a 390px phone a partner opens the playbook library from the dashboard, searches
    a word of a script's text, narrows it with an industry chip, opens the script and
    upvotes it (a plain form): the button says Upvoted and the count is 1. Then she shares
    her own from the form and finds it under My submissions, waiting for review. No page
    scrolls sideways."""
    from core.community.playbooks import save_playbook
    from core.seed.playbooks import DISCOVERY, REAL_ESTATE

    with app.app_context():
        cleo = make_staff("cleo@example.com", ("content",))
        make_partner("Sarah Thompson", email="sarah@example.com")
        save_playbook(cleo, None, title="Estate agents: own your leads", industry="Real estate",
                      kind="playbook", body=REAL_ESTATE, status="published")
        save_playbook(cleo, None, title="Discovery questions for restaurant owners",
                      industry="Restaurants & hospitality", kind="playbook", body=DISCOVERY,
                      status="published")
        db.session.commit()
    page = phone(browser, live_server)
    log_in(page, "sarah@example.com")
    page.get_by_role("link", name="Playbooks", exact=True).click()
    page.wait_for_url("**/partner/playbooks")
    page.get_by_label("Search", exact=True).fill("valuation")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("link", name="Real estate", exact=True).click()
    assert page.get_by_role("heading", name="1 playbook for “valuation” · Real estate").is_visible()
    assert page.get_by_text("Discovery questions for restaurant owners").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    os.makedirs(OUT, exist_ok=True)
    page.evaluate("document.querySelector('.bottom-nav').style.position = 'static'")
    page.screenshot(path=os.path.join(OUT, "portal-playbooks.png"), full_page=True)
    page.get_by_role("link", name="Estate agents: own your leads").click()
    page.get_by_role("button", name="Upvote", exact=True).click()
    page.wait_for_url("**#upvote")
    assert page.get_by_role("button", name="Upvoted", exact=True).get_attribute(
        "aria-pressed") == "true"
    assert page.locator("#upvote-count").inner_text() == "1"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.evaluate("document.querySelector('.bottom-nav').style.position = 'static'")
    page.screenshot(path=os.path.join(OUT, "portal-playbook.png"), full_page=True)

    page.goto("/partner/playbooks/new")
    page.get_by_label("Title").fill("Café walk-in: the QR menu pitch")
    page.get_by_label("Industry").select_option("Restaurants & hospitality")
    page.get_by_label("Kind").select_option("script")
    page.get_by_label("The script or playbook").fill(
        "Order a coffee at 2 pm, ask if the menu is online, show the owner how slow the "
        "PDF is on your phone, leave a co-branded flyer and come back next week.")
    page.get_by_role("button", name="Send for review").click()
    assert page.get_by_text("Waiting for review").first.is_visible()
    page.goto("/partner/playbooks#my-submissions")
    mine = page.locator("#my-submissions")
    assert "Café walk-in: the QR menu pitch" in mine.inner_text()
    assert "Waiting for review" in mine.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
