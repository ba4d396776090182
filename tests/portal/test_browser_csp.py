"""The Content-Security-Policy in a real browser (headless Chromium): no page of the portal
or the back office trips it, and Flask-Admin's list actions, delete confirmations, filters
and edit forms still work under it."""

import pytest
from conftest import PASSWORD, make_partner, make_staff

from core.base.extensions import db
from core.content.models import QuizQuestion, TrainingModule
from core.program.models import Partner


class Page:
    """A page that records every CSP violation Chromium reports in its console."""

    def __init__(self, browser, base):
        self.ctx = browser.new_context(base_url=base)
        self.page = self.ctx.new_page()
        self.violations = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.violations.append(f"pageerror: {exc}"))

    def _console(self, msg):
        if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text:
            self.violations.append(msg.text)

    def log_in(self, email, lands):
        self.page.goto("/login")
        self.page.get_by_label("E-mail").fill(email)
        self.page.get_by_label("Password", exact=True).fill(PASSWORD)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_url(lands)


@pytest.mark.browser
def test_admin_pages_work_under_csp(app, live_server, browser):
    """An admin approves an application with the bulk action (confirm dialog), filters the
    list, edits a training module and deletes a quiz question after a confirm
    (dismissed first: nothing deleted); Chromium reports no CSP violation."""
    with app.app_context():
        make_staff("alex@example.com", ("admin",))
        applied = make_partner("Ann Applied", email="ann@example.com", status="applied")
        module = db.session.scalar(db.select(TrainingModule).order_by(TrainingModule.id))
        q1 = QuizQuestion(module_id=module.id, prompt="First?", choices="a\nb", correct_index=0,
                          position=1)
        q2 = QuizQuestion(module_id=module.id, prompt="Second?", choices="a\nb", correct_index=1,
                          position=2)
        db.session.add_all([q1, q2])
        db.session.commit()
        applied_id, q2_id, module_id = applied.id, q2.id, module.id
    b = Page(browser, live_server)
    page = b.page
    b.log_in("alex@example.com", "**/admin/")

    # bulk action: select the row, "With selected" → "Approve application" → confirm
    page.goto("/admin/partners/")
    page.locator(f"input.action-checkbox[value='{applied_id}']").check()
    page.get_by_role("button", name="With selected").click()
    page.once("dialog", lambda d: d.accept())
    with page.expect_navigation():
        page.get_by_role("button", name="Approve application").click()
    with app.app_context():
        assert db.session.get(Partner, applied_id).status == "active"

    # filters: the menu adds a filter row without navigating to javascript:
    page.goto("/admin/partners/")
    page.get_by_role("link", name="Add Filter").click()
    page.locator("a.filter", has_text="Status").first.click()
    page.locator(".filter-op").first.wait_for(timeout=5000)

    # edit form (Flask-Admin's form.js loads under the nonce): saving works
    page.goto(f"/admin/training/edit/?id={module_id}")
    page.get_by_label("Title").fill("Welcome, edited")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    with app.app_context():
        assert db.session.get(TrainingModule, module_id).title == "Welcome, edited"

    # delete: dismissing the confirm keeps the row; accepting deletes it
    page.goto("/admin/quiz/")
    row = page.locator("tr", has_text="Second?")
    page.once("dialog", lambda d: d.dismiss())
    row.locator("button[title='Delete Record']").click()
    page.wait_for_timeout(300)
    with app.app_context():
        assert db.session.get(QuizQuestion, q2_id) is not None
    page.once("dialog", lambda d: d.accept())
    with page.expect_navigation():
        row.locator("button[title='Delete Record']").click()
    with app.app_context():
        db.session.expire_all()
        assert db.session.get(QuizQuestion, q2_id) is None

    for url in ("/admin/", "/admin/commissions/", "/admin/payouts/", "/admin/staff/",
                "/admin/training/new/", "/admin/audit/"):
        page.goto(url)
        page.wait_for_load_state("load")
    # The Flatly swatch's CSS @imports a Google Fonts stylesheet: the policy blocks it on
    # purpose (no CDN, no staff IPs sent elsewhere); the pages fall back to system fonts.
    violations = [v for v in b.violations if "fonts.googleapis.com" not in v]
    assert violations == [], "\n".join(sorted(set(violations)))
    b.ctx.close()


@pytest.mark.browser
def test_portal_pages_work_under_csp(app, live_server, browser):
    """A partner's pages (dashboard, leads, chat with its live socket, earnings, materials,
    password change) run without a single CSP violation."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
    b = Page(browser, live_server)
    b.log_in("sarah@example.com", "**/partner/dashboard")
    for url in ("/partner/leads", "/partner/earnings", "/partner/materials",
                "/account/password", "/partner/chat/general"):
        b.page.goto(url)
        b.page.wait_for_load_state("load")
    b.page.wait_for_function("() => window.io !== undefined")
    b.page.get_by_label("Message #general-chat").fill("Hello under CSP")
    b.page.keyboard.press("Enter")
    b.page.locator("#messages").get_by_text("Hello under CSP").wait_for(timeout=15000)
    assert b.violations == []
    b.ctx.close()
