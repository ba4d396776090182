"""No portal page is wider than a 390px phone: every page a partner (and a visitor) can
open, with real content in it, loaded in headless Chromium at 390 × 844; the document
may not scroll sideways and the bottom tab bar stays on screen."""

import pytest
from conftest import make_partner, make_staff
from test_browser import log_in, phone

from core.base.extensions import db

PUBLIC = ["/", "/login", "/partner/register", "/password/forgot", "/partner/no-such-page"]


def fill_portal() -> dict:
    """A partner with a team, leads, a ticket, a playbook, chat messages and a long name:
    the content that made pages overflow. Returns ids for the detail pages."""
    from core.community.chat import post_message
    from core.community.models import Channel
    from core.community.playbooks import save_playbook
    from core.content.models import TrainingModule
    from core.program.leads import create_lead
    from core.seed.playbooks import DISCOVERY
    from core.support.tickets import open_ticket

    lena = make_partner("Lena Longname-Hyphenated", email="lena@example.com", deals=4)
    make_partner("Amy Alpha", leader=lena, deals=1)
    make_partner("Bob Beta-Longname-Hyphenated-Again", leader=lena)
    lead = create_lead(lena, {"company_name": "Harbour View Dental & Implant Centre",
                              "contact_name": "Dr. Anneliese Montgomery-Whitfield",
                              "estimated_value_cents": 250000}, lena.user_id)
    create_lead(lena, {"company_name": "Bistro"}, lena.user_id)
    ticket = open_ticket(lena, "Where is my payout?", "https://example.com/" + "x" * 120)
    cleo = make_staff("cleo@example.com", ("content",))
    book = save_playbook(cleo, None, title="Discovery questions for restaurant owners",
                         industry="Restaurants & hospitality", kind="playbook", body=DISCOVERY,
                         status="published")
    general = db.session.scalar(db.select(Channel).where(Channel.slug == "general"))
    post_message(lena.user, general, "A very long link https://example.com/" + "y" * 150)
    module = db.session.scalar(db.select(TrainingModule).order_by(TrainingModule.position))
    db.session.commit()
    return {"lead": lead.id, "ticket": ticket.id, "playbook": book.id, "module": module.id,
            "code": lena.referral_code}


def partner_pages(ids: dict) -> list[str]:
    """Every page of the portal a partner opens (GET), detail pages included."""
    return ["/partner/dashboard", "/partner/leads", f"/partner/leads/{ids['lead']}",
            "/partner/leads?stage=won", "/partner/earnings", "/partner/team",
            "/partner/leaderboard", "/partner/tier-progression", "/partner/training",
            f"/partner/training/{ids['module']}", "/partner/resources", "/partner/playbooks",
            "/partner/playbooks/new", f"/partner/playbooks/{ids['playbook']}",
            "/partner/materials", "/partner/branding", "/partner/notifications",
            "/partner/profile", "/partner/support", f"/partner/support/{ids['ticket']}",
            "/partner/tax-form", "/account/password", "/partner/chat/general",
            "/partner/chat/daily-wins", "/partner/chat/elite-council",
            "/partner/leads/999999"]


def too_wide(page, width: int) -> int | None:
    """The document's scroll width when it is wider than ``width``, else ``None``."""
    sw = page.evaluate("document.documentElement.scrollWidth")
    return sw if sw > width else None


@pytest.mark.browser
def test_no_portal_page_is_wider_than_a_phone(app, live_server, browser):
    """A partner opens every portal page, and a visitor every public page, on a 390 × 844
    phone: no page scrolls sideways (document width ≤ 390) and the bottom tab bar is
    entirely on screen."""
    with app.app_context():
        ids = fill_portal()
        db.session.remove()
    visitor = phone(browser, live_server)
    wide = {}
    for url in [*PUBLIC, f"/r/{ids['code']}"]:
        visitor.goto(url)
        if (w := too_wide(visitor, 390)) is not None:
            wide[url] = w
    page = phone(browser, live_server)
    log_in(page, "lena@example.com")
    for url in partner_pages(ids):
        page.goto(url)
        page.wait_for_load_state("load")
        if (w := too_wide(page, 390)) is not None:
            wide[url] = w
        nav = page.locator(".bottom-nav")
        box = nav.bounding_box() if nav.count() else None
        if box and (box["x"] < 0 or box["x"] + box["width"] > 390):
            wide[url + " (tab bar)"] = box
    assert wide == {}, wide


def lit_tab(page) -> list[str]:
    """The bottom tabs a partner sees lit (visible links of the tab bar in aria-current)."""
    return [a.inner_text().strip() for a in page.locator(".bottom-nav a[aria-current]").all()
            if a.is_visible()]


@pytest.mark.browser
def test_bottom_tab_lights_the_section_of_the_page(app, live_server, browser):
    """On a phone the lit bottom tab is the page's own: Home on the leaderboard, the team,
    tier progress and training pages (reached from Home), Leads on a lead, Chat in chat,
    Earnings on earnings, Materials on resources. Never Leads on the leaderboard nor Chat
    on the team page."""
    with app.app_context():
        ids = fill_portal()
        db.session.remove()
    page = phone(browser, live_server)
    log_in(page, "lena@example.com")
    expected = {"/partner/leaderboard": "Home", "/partner/team": "Home",
                "/partner/tier-progression": "Home", "/partner/training": "Home",
                "/partner/dashboard": "Home", f"/partner/leads/{ids['lead']}": "Leads",
                "/partner/chat/general": "Chat", "/partner/earnings": "Earnings",
                "/partner/resources": "Materials", "/partner/support": "Home"}
    seen = {}
    for url in expected:
        page.goto(url)
        seen[url] = lit_tab(page)
    assert seen == {url: [tab] for url, tab in expected.items()}
    page.goto("/partner/profile")
    assert lit_tab(page) == []  # the profile is the top bar's link
    assert page.get_by_role("link", name="Your profile").get_attribute("aria-current") == "page"
