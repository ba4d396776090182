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
        page.on("response", lambda r: r.status >= 400 and errors.append(
            f"{page.url}: {r.status} {r.url}"))
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
    assert page.get_by_label("Deal value ($)").bounding_box()["width"] <= 700  # not 1,440 px
    page.get_by_role("button", name="Confirm deal and create commissions").click()
    page.locator(".alert-success").wait_for()
    page.goto("/admin/to-confirm/")
    assert page.locator("#to-confirm-count").inner_text() == "2"
    with app.app_context():
        deal = db.session.scalar(db.select(Deal).where(Deal.lead_id == ids[1]))
        assert deal is not None and db.session.scalar(db.select(Commission.amount_cents).where(
            Commission.deal_id == deal.id)) == 20000
        db.session.remove()


@pytest.mark.browser
def test_finance_four_eyes_partner_picker_and_open_month_warning(app, live_server, browser):
    """Fay turns on four eyes, finds Ana by typing "ana sil" in New payout's partner box
    (the suggestion reads "Ana Silva (#id)") and creates her payout; approving it herself
    is refused with the four-eyes message and it stays requested; Gus approves it. A
    statement for the current month asks to tick that the month is still open first."""
    from core.base.models import AuditLog
    from core.base.timeutil import now_utc
    from core.money.models import Commission, Payout, Statement

    with app.app_context():
        make_staff("fay@example.com", ("finance",))
        make_staff("gus@example.com", ("finance",))
        ana = make_partner("Ana Silva", deals=1)
        make_partner("Anatole Other")
        db.session.execute(db.update(Commission).values(status="approved", hold_until=None))
        db.session.commit()
        ana_id = ana.id

    page = wide(browser, live_server)
    staff_log_in(page, "fay@example.com")
    page.goto("/admin/settings/")
    page.get_by_label("Four eyes: whoever creates a payout may not approve it").check()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("four eyes on").wait_for()

    page.goto("/admin/payouts/new")
    box = page.get_by_label("Partner")
    assert box.bounding_box()["width"] <= 700
    box.press_sequentially("ana sil", delay=30)
    option = page.locator("#partner-options option")
    option.first.wait_for(state="attached")
    assert option.evaluate_all("os => os.map(o => o.value)") == [f"Ana Silva (#{ana_id})"]
    box.fill(f"Ana Silva (#{ana_id})")
    page.get_by_role("button", name="Create payout").click()
    page.get_by_text("of $200.00 requested.").wait_for()
    with app.app_context():
        pid = db.session.scalar(db.select(Payout.id).where(Payout.partner_id == ana_id))

    page.goto("/admin/payouts/?flt1_status_equals=requested")
    page.locator(f"input.action-checkbox[value='{pid}']").check()
    page.once("dialog", lambda d: d.accept())
    page.get_by_text("With selected").click()
    page.get_by_text("Approve payout", exact=True).click()
    page.get_by_text(f"Payout #{pid}: Four-eyes rule: you created payout #{pid}, so someone "
                     "else in finance must approve it.").wait_for()
    shot(page, "admin-four-eyes-refused.png")
    with app.app_context():
        assert db.session.get(Payout, pid).status == "requested"
        assert db.session.scalar(db.select(AuditLog.action).where(
            AuditLog.action == "payout.approve.refused", AuditLog.object_id == pid))
        db.session.remove()

    gus = wide(browser, live_server)
    staff_log_in(gus, "gus@example.com")
    gus.goto("/admin/payouts/?flt1_status_equals=requested")
    gus.locator(f"input.action-checkbox[value='{pid}']").check()
    gus.once("dialog", lambda d: d.accept())
    gus.get_by_text("With selected").click()
    gus.get_by_text("Approve payout", exact=True).click()
    gus.get_by_text("Approved 1 payout(s)").wait_for()
    with app.app_context():
        assert db.session.get(Payout, pid).status == "approved"
        db.session.remove()

    period = now_utc().strftime("%Y-%m")
    page.goto(f"/admin/statements/new?partner_id={ana_id}")
    assert page.get_by_label("Partner").input_value() == f"Ana Silva (#{ana_id})"
    page.get_by_label("Month (YYYY-MM)").fill(period)
    page.get_by_role("button", name="Generate").click()
    page.get_by_text(f"{period} is still open: its statements show only the activity so far"
                     ).wait_for()
    assert page.get_by_label("Month (YYYY-MM)").get_attribute("aria-invalid") == "true"
    with app.app_context():
        assert db.session.scalar(db.select(Statement.id)) is None
        db.session.remove()
    page.get_by_label("Issue it although the month is still open").check()
    page.get_by_role("button", name="Generate").click()
    page.get_by_text(f"Statement {period} v1 queued for rendering.").wait_for()


@pytest.mark.browser
def test_every_back_office_page_loads_without_console_errors(app, live_server, browser):
    """An admin opens every back-office page reachable from the menu (and a partner's
    page, the tier editor, a confirm form): no console error, no CSP report, no page
    error; rates read as percentages, never "bps"."""
    from core.program.leads import create_lead, move_lead

    with app.app_context():
        make_staff("admin@example.com", ("admin",))
        p = make_partner("Ana Silva", deals=2)
        lead = create_lead(p, {"company_name": "Harbor Realty"}, p.user_id)
        move_lead(lead, "won", p.user_id, deal_value_cents=250000)
        db.session.commit()
        pid, lead_id = p.id, lead.id

    errors: list = []
    page = wide(browser, live_server, errors)
    staff_log_in(page, "admin@example.com")
    links = page.evaluate("""() => [...document.querySelectorAll('nav a[href^="/admin"]')]
                                     .map(a => a.getAttribute('href'))""")
    urls = sorted(set(links) | {"/admin/", f"/admin/partners/profile/{pid}",
                                f"/admin/leads/confirm/{lead_id}", "/admin/tiers/",
                                "/admin/payouts/new", "/admin/statements/new"})
    assert len(urls) > 20, urls
    for url in urls:
        resp = page.goto(url)
        assert resp.status == 200, url
        page.wait_for_load_state("load")
        if url != "/admin/audit/":  # the audit log shows the recorded values as they are
            body = page.locator("body").inner_text()
            assert "bps" not in body and "Partner id" not in body, url
    assert errors == [], errors
    page.goto("/admin/tiers/")
    assert page.locator("td", has_text="22%").count() >= 1


#: Page weight limits at 1440 × 900 (rules: "Static files"): bytes transferred.
FIRST_LOAD_LIMIT, REPEAT_LOAD_LIMIT = 300 * 1024, 50 * 1024

WEIGHT_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  return {html: nav.transferSize, assets: res.reduce((n, r) => n + r.transferSize, 0),
          files: res.length, fetched: res.filter(r => r.transferSize > 0).length};
}"""


def page_weights(browser, base, email, urls, extra_log=None):
    """Each URL twice in one 1440 × 900 browser: on a cold cache (first load) and again
    (after). Returns ``[(url, first, after, files)]``, bytes as transferred."""
    page = wide(browser, base)
    staff_log_in(page, email)
    rows = []
    for url in urls:
        cold = browser.new_context(viewport=WIDE, base_url=base,
                                   storage_state=page.context.storage_state()).new_page()
        assert cold.goto(url).status == 200, url
        cold.wait_for_load_state("load")
        first = cold.evaluate(WEIGHT_JS)
        assert cold.goto(url).status == 200, url
        cold.wait_for_load_state("load")
        again = cold.evaluate(WEIGHT_JS)
        rows.append((url, first["html"] + first["assets"], again["html"] + again["assets"],
                     first["files"], again["fetched"]))
        cold.context.close()
    return rows


@pytest.mark.browser
@pytest.mark.slow
def test_back_office_pages_are_light(app, live_server, browser):
    """Every back-office page with full lists (55 partners, leads, deals, commissions,
    payouts) weighs under 300 KB on a first visit and under 50 KB on the next, in
    Chromium at 1440 × 900; the figures are printed (BENCHMARKS.md "Back-office page
    weights")."""
    from core.program.leads import create_lead

    with app.app_context():
        make_staff("admin@example.com", ("admin",))
        partners = [make_partner(f"Partner {i:02d}", deals=1) for i in range(55)]
        for p in partners:
            create_lead(p, {"company_name": f"Open lead of {p.id}",
                            "contact_name": "Sam Buyer", "contact_email": "sam@example.com",
                            "estimated_value_cents": 1_250_000}, p.user_id)
        db.session.commit()
        pid = partners[0].id

    page = wide(browser, live_server)
    staff_log_in(page, "admin@example.com")
    links = page.evaluate("""() => [...document.querySelectorAll('nav a[href^="/admin"]')]
                                     .map(a => a.getAttribute('href'))""")
    urls = sorted(set(links) | {"/admin/", f"/admin/partners/profile/{pid}"})
    rows = page_weights(browser, live_server, "admin@example.com", urls)
    print(f"\n{'page':44} {'first load KB':>14} {'after KB':>9} {'files':>6} {'refetched':>9}")
    for url, first, again, files, fetched in rows:
        print(f"{url:44} {first / 1024:14.1f} {again / 1024:9.1f} {files:6d} {fetched:9d}")
    heavy = [r for r in rows if r[1] > FIRST_LOAD_LIMIT or r[2] > REPEAT_LOAD_LIMIT]
    print(f"heaviest first load {max(r[1] for r in rows) / 1024:.1f} KB, heaviest after "
          f"{max(r[2] for r in rows) / 1024:.1f} KB")
    assert heavy == [], heavy


@pytest.mark.browser
def test_material_template_draft_preview_publish(app, live_server, browser, run_worker):
    """Content staff see the seeded templates as published (nothing "pending"); an edit of
    the FAQ sheet is saved as a draft partners do not get; Publish waits for a preview;
    the preview shows the chosen partner's branding and their own referral link (not the
    recruiting link); publishing makes it version 2 for partners."""
    import io

    import pypdf

    from core.content.materials import install_builtin_templates
    from core.content.models import MaterialTemplate

    with app.app_context():
        make_staff("cora@example.com", ("content",))
        ana = make_partner("Ana Silva")
        ana.company_name = "Silva Realty"
        install_builtin_templates()
        db.session.commit()
        ana_id, code = ana.id, ana.referral_code
        faq = db.session.scalar(db.select(MaterialTemplate).where(
            MaterialTemplate.key == "faq-sheet"))
        tid, live_html = faq.id, faq.html

    page = wide(browser, live_server)
    staff_log_in(page, "cora@example.com")
    page.goto("/admin/materials/")
    table = page.locator("table.model-list")
    assert "pending" not in table.inner_text()
    assert table.get_by_text("published v1").count() >= 4
    page.goto(f"/admin/materials/edit/?id={tid}")
    body = page.locator("textarea#draft_html")
    body.fill("<p>Winter offer: 10% off setup</p>\n" + body.input_value())
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(f"**/admin/materials/review/{tid}")
    page.get_by_text("Saved as a draft: partners still get version 1.").wait_for()
    assert page.get_by_role("button", name="Publish").is_disabled()
    with app.app_context():
        t = db.session.get(MaterialTemplate, tid)
        assert t.html == live_html and "Winter offer" in t.draft_html and t.version == 1
        db.session.remove()

    page.get_by_label("Preview as partner").fill(f"Ana Silva (#{ana_id})")
    page.get_by_role("button", name="Render preview").click()
    page.get_by_text("Preview queued").wait_for()
    run_worker()
    page.goto(f"/admin/materials/review/{tid}")
    link = page.get_by_role("link", name="Open the preview PDF")
    pdf = page.request.get(link.get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.body())).pages)
    assert "Winter offer" in text and "Silva Realty" in text
    assert f"/r/{code}" in text and "SAMPLE" not in text
    shot(page, "admin-material-review.png")

    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Publish").click()
    page.get_by_text("Published: partners get version 2 from now on.").wait_for()
    with app.app_context():
        t = db.session.get(MaterialTemplate, tid)
        assert "Winter offer" in t.html and t.draft_html is None and t.version == 2
        db.session.remove()
