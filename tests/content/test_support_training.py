"""Support tickets, training with quizzes, and challenges, as partners and staff use them."""

from datetime import timedelta

import pytest
from conftest import api_token, login, make_partner, make_staff, submit

from core.base.extensions import db
from core.base.timeutil import now_utc
from core.community.models import Notification
from core.content.models import QuizQuestion, TrainingModule
from core.money.models import Commission
from core.program.models import Partner


def test_ticket_round_trip(app):
    """A partner opens a ticket; support sees it in the queue, adds an internal note and
    replies; the partner sees the reply and a notification but never the note; another
    partner gets 404 on it."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com", deals=3)
        make_partner("Mike Reyes", email="mike@example.com")
        make_staff("sup@example.com", ("support",))
    sarah, staff, mike = app.test_client(), app.test_client(), app.test_client()
    login(sarah, "sarah@example.com")
    resp = submit(sarah, "/partner/support", {"subject": "Payout <late>", "category": "payouts",
                                              "priority": "high", "body": "Where is my payout?"})
    assert resp.status_code == 302
    tid = int(resp.headers["Location"].rsplit("/", 1)[1])
    login(staff, "sup@example.com")
    queue = staff.get("/admin/tickets/").get_data(as_text=True)
    assert "Payout &lt;late&gt;" in queue
    assert submit(staff, f"/admin/tickets/ticket/{tid}",
                  {"r-body": "Checked bank file", "r-internal": "y"}, prefix="r-").status_code == 302
    assert submit(staff, f"/admin/tickets/ticket/{tid}",
                  {"r-body": "Sent today, reference W-42."}, prefix="r-").status_code == 302
    page = sarah.get(f"/partner/support/{tid}").get_data(as_text=True)
    assert "Sent today, reference W-42." in page and "Checked bank file" not in page
    with app.app_context():
        assert db.session.scalar(db.select(Notification.title).where(
            Notification.kind == "ticket")) == "Support replied: Payout <late>"
        from core.support.models import SupportTicket

        t = db.session.get(SupportTicket, tid)
        assert t.status == "in_progress" and t.first_response_at is not None
        assert (t.respond_by - t.created_at) == timedelta(hours=4)  # Active: 4-hour target
    login(mike, "mike@example.com")
    assert mike.get(f"/partner/support/{tid}").status_code == 404
    bad = submit(sarah, "/partner/support", {"subject": "", "category": "payouts",
                                             "priority": "high", "body": "x"})
    assert bad.status_code == 422


def test_required_quizzes_gate_the_first_promotion(app, client):
    """A partner with 3 deals but no training stays Starter; failing a quiz changes
    nothing; passing both required quizzes promotes them to Active. A locked module
    answers 403 with the tier that opens it."""
    with app.app_context():
        p = make_partner("Tom Trainee", email="tom@example.com", deals=3, training=False)
        assert p.tier.key == "starter"
        modules = {m.slug: m.id for m in db.session.scalars(db.select(TrainingModule))}
        answers = {m: {q.id: q.correct_index for q in db.session.scalars(
            db.select(QuizQuestion).where(QuizQuestion.module_id == mid))}
            for m, mid in modules.items()}
    h = api_token(client, "tom@example.com")
    locked = client.post("/api/partner/training/complete",
                         json={"module_id": modules["advanced-techniques"]}, headers=h)
    assert locked.status_code == 403 and "Active" in locked.get_json()["error"]["message"]
    wrong = {str(q): (a + 1) % 3 for q, a in answers["siso-overview"].items()}
    fail = client.post("/api/partner/training/quiz/submit", headers=h,
                       json={"module_id": modules["siso-overview"], "answers": wrong}).get_json()
    assert fail["passed"] is False and fail["score_percent"] == 0
    assert fail["wrong_question_ids"] == sorted(answers["siso-overview"])  # both, by id
    for slug in ("siso-overview", "sales-fundamentals"):
        ok = client.post("/api/partner/training/quiz/submit", headers=h, json={
            "module_id": modules[slug],
            "answers": {str(q): a for q, a in answers[slug].items()}}).get_json()
        assert ok == {"passed": True, "score_percent": 100, "pass_mark_percent": 80,
                      "correct": 2, "total": 2, "wrong_question_ids": []}
    status = client.get("/api/partner/tier-status", headers=h).get_json()
    assert status["current_tier"]["key"] == "active"
    progress = client.get("/api/partner/training/progress", headers=h).get_json()
    assert progress["required_completed"] == progress["required_total"] == 2
    missing = client.post("/api/partner/training/quiz/submit", headers=h,
                          json={"module_id": modules["siso-overview"], "answers": {}})
    assert missing.status_code == 422


def test_training_pages(app, client):
    """The training page lists modules by channel with locks; a quiz can be taken in the
    page and passing marks the module done."""
    with app.app_context():
        make_partner("Ann Learner", email="ann@example.com", training=False)
        m = db.session.scalar(db.select(TrainingModule).where(TrainingModule.slug == "siso-overview"))
        qs = db.session.scalars(db.select(QuizQuestion).where(QuizQuestion.module_id == m.id)).all()
        mid, form = m.id, {f"q{q.id}": str(q.correct_index) for q in qs}
    login(client, "ann@example.com")
    page = client.get("/partner/training").get_data(as_text=True)
    assert "#getting-started" in page and "Locked · unlocks at Active" in page
    assert submit(client, f"/partner/training/{mid}", form).status_code == 200
    assert "done · 100%" in client.get("/partner/training").get_data(as_text=True)


def test_challenge_award_creates_bonus_once(app):
    """Finance creates a challenge, deals in the window count, and after it ends awarding
    gives each winner a pending bonus commission; awarding twice is refused."""
    from core.base.errors import Conflict
    from core.community.challenges import award, create_challenge, standings

    with app.app_context():
        fin = make_staff("fin@example.com", ("finance",))
        start = now_utc() - timedelta(days=1)
        ch = create_challenge(fin.id, "Weekly Sprint", "deals", 2, 50000, start,
                              now_utc() + timedelta(hours=1))
        winner = make_partner("Win Ner", deals=2)
        make_partner("Al Most", deals=1)
        db.session.commit()
        rows = standings(ch)
        assert [(r["name"], r["value"], r["reached"]) for r in rows] == [
            ("Win Ner", 2, True), ("Al Most", 1, False)]
        with pytest.raises(Conflict, match="still running"):
            award(ch.id, fin.id)
        db.session.rollback()
        ch = db.session.get(type(ch), ch.id)
        ch.ends_at = now_utc()  # every deal above was confirmed before this instant
        db.session.commit()
        [bonus] = award(ch.id, fin.id)
        db.session.commit()
        assert (bonus.partner_id, bonus.type, bonus.amount_cents, bonus.status) == (
            winner.id, "bonus", 50000, "pending")
        try:
            award(ch.id, fin.id)
            raise AssertionError("awarded twice")
        except Conflict:
            db.session.rollback()
        assert db.session.scalar(db.select(db.func.count()).select_from(Commission).where(
            Commission.type == "bonus")) == 1
        assert db.session.get(Partner, winner.id) is not None


def test_module_markdown_is_formatted_and_hostile_markup_is_text(app, client):
    """Content staff write a module in Markdown: the partner sees headings, lists, bold
    text and links as such; a <script>, an inline handler or a javascript: link in the
    source never becomes markup."""
    with app.app_context():
        make_partner("Ann Learner", email="ann@example.com")
        m = db.session.scalar(db.select(TrainingModule).where(TrainingModule.slug == "siso-overview"))
        m.body = ("## Discovery call\n\n"
                  "Ask **three** questions:\n\n- budget\n- timing\n- decision maker\n\n"
                  "See [the playbook](https://siso.example/playbook).\n\n"
                  "<script>alert(1)</script> <img src=x onerror=alert(2)> "
                  "[bad](javascript:alert(3))\n")
        db.session.commit()
        mid = m.id
    login(client, "ann@example.com")
    page = client.get(f"/partner/training/{mid}").get_data(as_text=True)
    body = page.split('<div class="body prose">', 1)[1].split("</div>", 1)[0]
    assert "<h2>Discovery call</h2>" in body
    assert "<strong>three</strong>" in body
    assert "<li>budget</li>" in body and "<li>decision maker</li>" in body
    assert '<a href="https://siso.example/playbook" rel="noopener noreferrer nofollow">' in body
    assert "<script" not in body and "<img" not in body and 'href="javascript' not in body
    assert body.count("<a ") == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body  # shown as the text it is


def test_content_staff_add_a_quiz_question_through_the_back_office(app, client):
    """Content staff pick the module by its title from a list, write the choices one per
    line and say which is right; the partner then sees the question on the module."""
    from conftest import csrf_from

    with app.app_context():
        make_staff("content@example.com", roles=("content",))
        m = db.session.scalar(db.select(TrainingModule).where(
            TrainingModule.slug == "handling-objections"))
        mid = m.id
    login(client, "content@example.com")
    form = client.get("/admin/quiz/new/").get_data(as_text=True)
    assert f'<option value="{mid}">Handling objections guide</option>' in form
    resp = client.post("/admin/quiz/new/", data={
        "csrf_token": csrf_from(form), "module": str(mid),
        "prompt": 'A prospect says "not now". What do you do?',
        "choices": "Hang up\nAgree a date to call back", "correct_index": "1",
        "position": "0"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    with app.app_context():
        q = db.session.scalar(db.select(QuizQuestion).where(QuizQuestion.module_id == mid))
        assert q is not None and q.correct_index == 1
    with app.app_context():
        make_partner("Ann Learner", email="ann@example.com")
    client.get("/logout")
    login(client, "ann@example.com")
    page = client.get(f"/partner/training/{mid}").get_data(as_text=True)
    assert "Agree a date to call back" in page
