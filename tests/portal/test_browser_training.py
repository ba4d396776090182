"""Training on a 390 × 844 phone: real starter content (a getting-started path and the
essential sales scripts), and a failed quiz that says which answers were wrong."""

import pytest
from conftest import make_partner
from test_browser import log_in, phone

from core.base.extensions import db


@pytest.mark.browser
def test_starter_content_and_quiz_feedback(app, live_server, browser):
    """Sarah opens Training: a #getting-started path (overview, first week, using the
    portal) and a #sales-scripts section with at least five scripts, each a real page of
    text. In the overview's quiz she answers question 1 right and question 2 wrong: the
    page says 1 of 2 right and names question 2, which is marked; her answers stay
    chosen; the questions are cards, not browser-default fieldsets."""
    from core.content.models import QuizQuestion, TrainingModule

    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com", training=False)
        overview = db.session.scalar(db.select(TrainingModule).where(
            TrainingModule.slug == "siso-overview"))
        qs = db.session.scalars(db.select(QuizQuestion).where(
            QuizQuestion.module_id == overview.id).order_by(QuizQuestion.position)).all()
        right = [q.correct_index for q in qs]
        db.session.remove()
    page = phone(browser, live_server)
    log_in(page, "sarah@example.com")
    page.goto("/partner/training")
    path = page.locator("section", has=page.get_by_role("heading", name="#getting-started"))
    for title in ("SISO overview: what we build and for whom",
                  "Your first week: a step-by-step plan",
                  "Using the portal: leads, links and earnings"):
        assert path.get_by_role("link", name=title).is_visible(), title
    scripts = page.locator("section", has=page.get_by_role("heading", name="#sales-scripts"))
    assert scripts.get_by_role("link").count() >= 5
    scripts.get_by_role("link", name="Script: the discovery call questions").click()
    words = len(page.locator(".prose").inner_text().split())
    assert words > 120, words
    page.goto("/partner/training")
    path.get_by_role("link", name="Your first week: a step-by-step plan").click()
    assert len(page.locator(".prose").inner_text().split()) > 250
    page.goto("/partner/training")
    path.get_by_role("link", name="SISO overview: what we build and for whom").click()
    assert page.get_by_role("table").count() == 1  # the services table
    q1, q2 = page.locator("fieldset.question").all()
    assert q1.evaluate("(e) => getComputedStyle(e).borderTopStyle") == "solid"
    q1.locator("input[type=radio]").nth(right[0]).check()
    q2.locator("input[type=radio]").nth((right[1] + 1) % 3).check()
    page.get_by_role("button", name="Submit answers").click()
    page.wait_for_load_state()
    result = page.get_by_role("alert")
    assert "1 of 2 right (50%)" in result.inner_text()
    assert result.get_by_role("link", name="question 2").is_visible()
    q1, q2 = page.locator("fieldset.question").all()
    assert "Not the right answer" in q2.inner_text() and "is-wrong" in q2.get_attribute("class")
    assert "Right" in q1.inner_text()
    assert q2.locator("input:checked").count() == 1  # her answer kept, to change
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
