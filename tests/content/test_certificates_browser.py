"""A learning path and its certificate on a 390 × 844 phone (real Chromium, live server,
real worker): progress, passing the last module, the download, the public /verify page."""

import pytest
from conftest import PASSWORD, TEST_OUTPUT, make_partner
from sqlalchemy import select

from core.base.extensions import db
from core.content.models import Certificate, TrainingCompletion
from core.content.paths import save_path
from tests.content.test_paths import modules


def phone(browser, base):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, base_url=base)
    return ctx.new_page()


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.browser
def test_path_progress_certificate_and_verify_page_on_a_phone(app, live_server, browser,
                                                             run_worker):
    """Mara has passed 2 of the 3 modules of "Closing 101": the path says so with a bar and
    offers the next module; she marks it complete, the path says her certificate is being
    prepared; once the worker has made it she downloads the PDF and opens its verification
    link, which shows her name, the path and "Valid" to anyone (a fresh browser, no
    log-in). Nothing is wider than the phone."""
    with app.app_context():
        rows = modules(3)
        save_path(None, None, "closing-101", "Closing 101", "From first call to signature.",
                  ["sell-1", "sell-2", "sell-3"])
        p = make_partner("Mara Quinn", email="mara@example.com")
        for m in rows[:2]:
            db.session.add(TrainingCompletion(partner_id=p.id, module_id=m.id))
        # last month's partner of the month, confirmed: on every dashboard
        from core.base.timeutil import now_utc
        from core.engagement.models import SpotlightCandidate, SpotlightMonth
        from core.engagement.spotlight import period_label, previous_period

        star = make_partner("Stella Star", email="stella@example.com")
        period = previous_period(now_utc())[0]
        month = SpotlightMonth(period=period, partner_id=star.id, confirmed_at=now_utc(),
                               citation="Four launches and a glowing review.")
        db.session.add(month)
        db.session.flush()
        db.session.add(SpotlightCandidate(month_id=month.id, partner_id=star.id, rank=1,
                                          score=240, won_deals=4, revenue_cents=400_000,
                                          modules_passed=0))
        db.session.commit()
        label = period_label(period)
        db.session.remove()
    page = phone(browser, live_server)
    page.goto("/login")
    page.get_by_label("E-mail").fill("mara@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/partner/dashboard")
    spot = page.locator("section.spotlight-card")
    assert spot.get_by_role("heading", name=f"Partner of the month · {label}").is_visible()
    assert spot.get_by_text("Stella Star").is_visible()
    assert spot.get_by_text("4 deals won · $4,000.00 confirmed revenue").is_visible()
    assert fits(page)
    spot.screenshot(path=str(TEST_OUTPUT / "spotlight-card-390.png"))
    page.goto("/partner/training")
    page.get_by_role("link", name="Learning paths and certificates").click()
    page.wait_for_url("**/partner/learning-paths")
    card = page.locator("section.path", has=page.get_by_role("heading", name="Closing 101"))
    assert card.get_by_text("2 of 3 modules passed").is_visible()
    assert card.locator("progress").get_attribute("value") == "2"
    assert fits(page)
    page.screenshot(path=str(TEST_OUTPUT / "learning-path-390.png"), full_page=True)
    card.get_by_role("link", name="Next: Selling step 3").click()
    page.get_by_role("button", name="Mark as complete").click()
    page.get_by_text("Module complete.").wait_for()
    page.goto("/partner/learning-paths")
    assert card.get_by_text("3 of 3 modules passed").is_visible()
    assert card.get_by_text("being prepared").is_visible()

    run_worker()

    page.reload()
    with page.expect_download() as dl:
        card.get_by_role("link", name="Download your certificate (PDF)").click()
    assert dl.value.suggested_filename == "siso-certificate-closing-101.pdf"
    with app.app_context():
        code = db.session.scalar(select(Certificate.code))
    link = card.get_by_role("link", name=f"/verify/{code}")
    href = link.get_attribute("href")
    assert href.endswith(f"/verify/{code}")

    stranger = phone(browser, live_server)  # a new context: no session
    stranger.goto(f"/verify/{code}")
    assert stranger.get_by_role("heading", name="Valid certificate").is_visible()
    assert stranger.locator("#holder").inner_text() == "Mara Quinn"
    assert stranger.locator("#path").inner_text() == "Closing 101"
    assert fits(stranger)
    stranger.screenshot(path=str(TEST_OUTPUT / "verify-390.png"), full_page=True)
    resp = stranger.goto("/verify/ABCD-EFGH-JKMN-PQRS")
    assert resp.status == 404
    assert stranger.get_by_text("There is no certificate with this code").is_visible()
    assert fits(stranger)
