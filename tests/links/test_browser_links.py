"""Real headless Chromium against the live app (rules: "Links and attribution",
"Analytics"): a partner creates and shares a campaign link on a phone, a phone visitor
clicks it and leaves a lead, Slack's preview fetcher opens it without counting, and the
partner's analytics page shows the funnel exactly."""

import os

import pytest
from conftest import PASSWORD, make_partner
from conftest import TEST_OUTPUT as OUTPUT

from core.base.extensions import db
from core.content.models import LandingPage
from core.program.models import Lead, ReferralClick

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"


def _phone(browser, base, user_agent=None):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, base_url=base,
                              user_agent=user_agent, is_mobile=True, has_touch=True)
    return ctx.new_page()


@pytest.mark.browser
def test_link_created_shared_clicked_and_counted(app, live_server, browser):
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        db.session.add(LandingPage(slug="websites", title="Websites that sell", status="published",
                                   hero="Launch in four weeks", body="## Why SISO\n\n- **fast**"))
        db.session.commit()
    page = _phone(browser, live_server)
    # a phone with the Web Share API: the Share button hands the link to the share sheet
    page.add_init_script("navigator.share = (data) => { window.__shared = data; return Promise.resolve(); };")
    page.goto("/login")
    page.get_by_label("E-mail").fill("sarah@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/partner/dashboard")
    page.get_by_role("link", name="Campaign links").click()
    page.get_by_label("Name").fill("Spring & Bea's promo")
    page.get_by_label("Short path (a-z, 0-9, -)").fill("spring")
    page.get_by_label("Landing page").select_option(label="Websites that sell")
    page.get_by_label("UTM source").fill("whatsapp")
    with page.expect_navigation():
        page.get_by_role("button", name="Create link").click()
    card = page.locator("li.link-card", has_text="Spring & Bea's promo")
    url = card.locator("code.copy").inner_text().strip()
    assert url.endswith("/r/" + url.split("/r/")[1]) and url.endswith("/spring")
    card.get_by_role("button", name="Share").click()
    assert page.evaluate("window.__shared.url") == url
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    os.makedirs(str(OUTPUT), exist_ok=True)
    page.screenshot(path=os.path.join(str(OUTPUT), "links-phone.png"), full_page=True)

    # Slack unfurls the link: the page is fetched, nothing is counted
    slack = _phone(browser, live_server, SLACK)
    assert slack.goto(url).status == 200
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ReferralClick)) == 0

    # a client taps it on their phone and asks for a call
    visitor = _phone(browser, live_server, IPHONE)
    visitor.goto(url)
    assert visitor.get_by_role("heading", name="Websites that sell").is_visible()
    assert visitor.get_by_role("heading", name="Why SISO").is_visible()
    visitor.reload()  # a second look within 30 minutes is the same click
    visitor.get_by_label("Your name").fill("John Smith")
    visitor.get_by_label("Business name").fill("TechCorp")
    visitor.get_by_label("E-mail").fill("john@techcorp.example")
    with visitor.expect_navigation():
        visitor.get_by_role("button", name="Ask for a call").click()
    visitor.get_by_text("will be in touch").wait_for()
    assert visitor.evaluate("document.documentElement.scrollWidth") <= 390
    with app.app_context():
        lead = db.session.scalar(db.select(Lead))
        assert lead.company_name == "TechCorp" and lead.link_id is not None
        assert '"utm_source": "whatsapp"' in lead.attribution

    # the partner's analytics show the funnel exactly
    page.goto("/partner/analytics")
    funnel = page.locator("#funnel-table")
    rows = funnel.locator("tr").all_inner_texts()
    assert [r.replace("\t", " ").strip() for r in rows] == \
        ["Clicks 1", "Unique clicks 1", "Leads 1", "Won 0"]
    link_row = page.locator("#links-table tr", has_text="Spring & Bea's promo").inner_text()
    assert link_row.split("\t")[1:5] == ["1", "1", "1", "0"]
    wide = page.evaluate("""[...document.querySelectorAll('body *')].filter(
        e => e.getBoundingClientRect().right > 391).map(e => e.tagName + '.' + e.className)""")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide
    page.screenshot(path=os.path.join(str(OUTPUT), "analytics-phone.png"), full_page=True)
