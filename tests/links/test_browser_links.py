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


def _phone(browser, base, user_agent=None, service_workers="allow"):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, base_url=base,
                              user_agent=user_agent, is_mobile=True, has_touch=True,
                              service_workers=service_workers)
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


def _serve(html: str):
    """Serve one page from another origin (another port): SISO's website in the test."""
    import http.server
    import threading

    from conftest import free_port

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{port}"


WEBSITE = """<!doctype html><html><body>
<form data-siso-lead><label>Company <input name="company_name"></label>
<label>E-mail <input name="contact_email"></label><button>Send</button></form>
<p id="out"></p>
<script src="{app}/t.js"></script>
<script>document.addEventListener("siso:lead", function (e) {{
  document.getElementById("out").textContent = JSON.stringify(e.detail); }});</script>
</body></html>"""


@pytest.mark.browser
def test_lead_through_tag_on_a_second_origin(app, live_server, browser):
    from core.program.links import create_link, set_lead_origins

    site, site_url = _serve(WEBSITE.format(app=live_server))
    evil, evil_url = _serve(WEBSITE.format(app=live_server))
    try:
        with app.app_context():
            p = make_partner("Sarah Thompson", email="sarah@example.com")
            page = LandingPage(slug="apps", title="Apps that sell", status="published")
            db.session.add(page)
            db.session.flush()
            link = create_link(p, {"name": "Home page", "slug": "home",
                                   "landing_page_id": page.id}, p.user_id)
            set_lead_origins(site_url, None)
            db.session.commit()
            code, link_id = p.referral_code, link.id
        visitor = _phone(browser, live_server, IPHONE)
        visitor.goto(f"/r/{code}/home")  # the campaign link's landing page: counted
        assert visitor.get_by_role("heading", name="Apps that sell").is_visible()
        with app.app_context():
            assert db.session.scalar(db.select(db.func.count()).select_from(ReferralClick)) == 1
        visitor.goto(site_url)
        visitor.get_by_label("Company").fill("Web Co")
        visitor.get_by_label("E-mail").fill("wendy@webco.example")
        visitor.get_by_role("button", name="Send").click()
        visitor.wait_for_function("document.getElementById('out').textContent.length > 0")
        assert '"attributed":true' in visitor.locator("#out").inner_text()
        visitor.get_by_role("button", name="Send").click()  # a double submit is one lead
        visitor.wait_for_function("document.getElementById('out').textContent.includes('\"created\":false')")
        with app.app_context():
            leads = list(db.session.scalars(db.select(Lead)))
            assert [(x.company_name, x.source, x.link_id) for x in leads] == \
                [("Web Co", "website", link_id)]
        # the same visitor on an origin staff did not list: the browser refuses, nothing stored
        visitor.goto(evil_url)
        visitor.get_by_label("Company").fill("Evil Co")
        visitor.get_by_label("E-mail").fill("x@evil.example")
        visitor.get_by_role("button", name="Send").click()
        visitor.wait_for_function("document.getElementById('out').textContent.length > 0")
        assert "error" in visitor.locator("#out").inner_text()
        with app.app_context():
            assert db.session.scalar(db.select(db.func.count()).select_from(Lead)) == 1
        # the funnel counts the website's lead on the link
        page = _phone(browser, live_server)
        page.goto("/login")
        page.get_by_label("E-mail").fill("sarah@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/partner/dashboard")
        page.goto("/partner/analytics")
        row = page.locator("#links-table tr", has_text="Home page").inner_text()
        assert row.split("\t")[1:5] == ["1", "1", "1", "0"]
    finally:
        site.shutdown()
        evil.shutdown()
