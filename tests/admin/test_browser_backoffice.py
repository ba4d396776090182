"""The back office following the work, in real headless Chromium at 1440 × 900: deciding an
application on the applicant's page, the "To confirm" queue, the finance screens, and no
console error (CSP included) on any page."""

import os

import pytest
from conftest import make_partner, make_staff
from test_browser import OUT, staff_log_in

from core.base.extensions import db

#: The staff desktop the back office is tried at.
WIDE = {"width": 1440, "height": 900}


def wide(browser, base, errors: list | None = None):
    """A 1440 × 900 page; console errors and page errors are appended to ``errors``."""
    page = browser.new_context(viewport=WIDE, base_url=base).new_page()
    if errors is not None:
        page.on("console", lambda m: m.type == "error" and errors.append(f"{page.url}: {m.text}"))
        page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
    return page


def shot(page, name):
    os.makedirs(OUT, exist_ok=True)
    page.screenshot(path=os.path.join(OUT, name), full_page=True)


@pytest.mark.browser
def test_admin_approves_and_rejects_applications_on_their_pages(app, live_server, browser):
    """An admin opens Ann's application from the dashboard's review link, approves it on
    her page (she is active, told so). On Rob's page an empty reason is refused and
    changes nothing; with a reason he is rejected, receives the reason as a notice queued
    for e-mail, and the audit trail on his page shows who rejected him and why."""
    from core.base.models import AuditLog
    from core.community.models import Notification
    from core.program.models import Partner

    with app.app_context():
        make_staff("admin@example.com", ("admin",))
        ann = make_partner("Ann Applicant", email="ann@example.com", status="applied")
        rob = make_partner("Rob Reject", email="rob@example.com", status="applied")
        db.session.commit()
        ann_id, rob_id, rob_user = ann.id, rob.id, rob.user_id

    page = wide(browser, live_server)
    staff_log_in(page, "admin@example.com")
    page.get_by_role("link", name="Review 2 applications").click()
    page.get_by_role("link", name="Ann Applicant").click()
    page.wait_for_url(f"**/admin/partners/profile/{ann_id}")
    card = page.locator("#application")
    assert card.is_visible()
    page.once("dialog", lambda d: d.accept())
    card.get_by_role("button", name="Approve").click()
    page.get_by_text("Application approved; the partner has been told.").wait_for()
    assert page.locator("#application").count() == 0
    with app.app_context():
        assert db.session.get(Partner, ann_id).status == "active"
        assert db.session.scalar(db.select(Notification.title).where(
            Notification.user_id == db.session.get(Partner, ann_id).user_id)) \
            == "Your application is approved"
        db.session.remove()

    page.goto(f"/admin/partners/profile/{rob_id}")
    reason = page.get_by_label("Reason (the applicant receives it by notice and e-mail)")
    box = reason.bounding_box()
    assert box["width"] <= 700, box  # a readable text box, not the page's width
    page.evaluate("document.querySelector('#rj-reason').removeAttribute('required')")
    page.get_by_role("button", name="Reject").click()
    page.get_by_text("Give the applicant a reason: they receive it.").wait_for()
    with app.app_context():
        assert db.session.get(Partner, rob_id).status == "applied"
        db.session.remove()
    page.get_by_label("Reason (the applicant receives it by notice and e-mail)").fill(
        "We only take partners in the EU for now.")
    page.get_by_role("button", name="Reject").click()
    page.get_by_text("Application rejected; the applicant has been sent the reason.").wait_for()
    assert page.locator(".badge", has_text="rejected").is_visible()
    assert page.get_by_text("partner.reject").is_visible()
    shot(page, "admin-application-rejected.png")
    with app.app_context():
        assert db.session.get(Partner, rob_id).status == "rejected"
        n = db.session.scalar(db.select(Notification).where(Notification.user_id == rob_user))
        assert (n.kind, n.title, n.body) == ("rejection", "Your application was not approved",
                                             "We only take partners in the EU for now.")
        trail = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "partner.reject"))
        assert trail.object_id == rob_id and "EU" in str(trail.after)
        db.session.remove()


@pytest.mark.browser
def test_finance_works_the_to_confirm_queue_oldest_first(app, live_server, browser):
    """Three won leads wait: the dashboard says 3 and links to "To confirm", which lists
    them oldest first with how long each waited; confirming the oldest leaves two and
    creates its commission."""
    from datetime import timedelta

    from core.base.timeutil import now_utc
    from core.money.models import Commission, Deal
    from core.program.leads import create_lead, move_lead

    with app.app_context():
        make_staff("finance@example.com", ("finance",))
        dan = make_partner("Dan Dealer")
        ids = []
        for name, days in (("Newest Co", 0), ("Oldest Co", 9), ("Middle Co", 3)):
            lead = create_lead(dan, {"company_name": name}, dan.user_id)
            move_lead(lead, "won", dan.user_id, deal_value_cents=100000)
            lead.stage_changed_at = now_utc() - timedelta(days=days, minutes=5)
            ids.append(lead.id)
        db.session.commit()

    page = wide(browser, live_server)
    staff_log_in(page, "finance@example.com")
    assert page.locator("#to-confirm-figure").inner_text() == "Waiting for confirmation: 3"
    page.get_by_role("link", name="Confirm 3 deals").click()
    page.wait_for_url("**/admin/to-confirm/")
    rows = page.locator("#to-confirm tbody tr")
    assert [rows.nth(i).locator("td").nth(2).inner_text() for i in range(3)] == [
        "Oldest Co", "Middle Co", "Newest Co"]
    assert rows.nth(0).locator("td").first.inner_text() == "9 days"
    assert rows.nth(2).locator("td").first.inner_text() == "5 min"
    shot(page, "admin-to-confirm.png")
    rows.nth(0).get_by_role("link", name="Confirm deal").click()
    page.get_by_role("button", name="Confirm deal and create commissions").click()
    page.locator(".alert-success").wait_for()
    page.goto("/admin/to-confirm/")
    assert page.locator("#to-confirm-count").inner_text() == "2"
    with app.app_context():
        deal = db.session.scalar(db.select(Deal).where(Deal.lead_id == ids[1]))
        assert deal is not None and db.session.scalar(db.select(Commission.amount_cents).where(
            Commission.deal_id == deal.id)) == 20000
        db.session.remove()
