"""Partner of the month: the worker proposes last month's top 3 once, an admin confirms one
once (409 after), and the news reaches #announcements, the badge list and every dashboard
(rules: "Partner of the month")."""

from datetime import timedelta

import pytest
from conftest import api_token, login, make_partner, make_staff, submit
from sqlalchemy import select, update

from core.base.errors import Conflict, Forbidden, ValidationError
from core.base.extensions import db
from core.base.models import AuditLog
from core.base.timeutil import now_utc
from core.community.models import Achievement, Channel, Message, Notification
from core.engagement import spotlight
from core.engagement.models import SpotlightCandidate, SpotlightMonth
from core.money.models import Deal


def _last_month_sales():
    """Four partners whose deals were confirmed last month (UTC), one suspended."""
    period, start, _ = spotlight.previous_period(now_utc())
    ana = make_partner("Ana Ace", email="ana@example.com", deals=4)
    ben = make_partner("Ben Busy", email="ben@example.com", deals=2)
    cy = make_partner("Cy Closer", email="cy@example.com", deals=3)
    dee = make_partner("Dee Dormant", email="dee@example.com")
    sus = make_partner("Sue Suspended", email="sue@example.com", deals=9)
    sus.status = "suspended"
    late = make_partner("Lou Late", email="lou@example.com", deals=9)
    db.session.execute(update(Deal).values(confirmed_at=start + timedelta(days=3)))
    # Lou's deals were confirmed this month: they count next month
    db.session.execute(update(Deal).where(Deal.partner_id == late.id).values(
        confirmed_at=now_utc()))
    db.session.commit()
    return period, ana, ben, cy, dee


def test_worker_proposes_last_months_top_three_once(app, run_worker):
    from core.base.jobs import get_queue

    with app.app_context():
        period, ana, ben, cy, dee = _last_month_sales()
        ids = (ana.id, cy.id, ben.id)
        boss = make_staff("boss@example.com", ("admin",))
        fin = make_staff("fin@example.com", ("finance",))
        boss_id, fin_id = boss.id, fin.id
        get_queue("default").enqueue("core.engagement.spotlight.propose_spotlight",
                                     job_id="spotlight-tick")
    run_worker()
    with app.app_context():
        month = db.session.scalar(select(SpotlightMonth))
        assert month.period == period and month.partner_id is None
        got = [(c.rank, c.partner_id, c.won_deals, c.revenue_cents, c.score)
               for c in month.candidates]
        # 50 points a deal + 1 per $100 ($1,000 deals): 4 deals = 200 + 40
        assert got == [(1, ids[0], 4, 400_000, 240), (2, ids[1], 3, 300_000, 180),
                       (3, ids[2], 2, 200_000, 120)]
        def notes(uid):
            return list(db.session.scalars(select(Notification.title).where(
                Notification.kind == "spotlight", Notification.user_id == uid)))
        assert notes(boss_id) == [f"Partner of the month: {spotlight.period_label(period)}"]
        assert notes(fin_id) == []  # admins choose
        assert spotlight.propose() is None  # once per month
        db.session.commit()
        assert db.session.scalar(select(db.func.count()).select_from(SpotlightMonth)) == 1


def test_training_counts_and_last_winner_is_not_proposed_again(ctx):
    from core.content.models import TrainingCompletion, TrainingModule

    period, ana, ben, cy, dee = _last_month_sales()
    _, start, _ = spotlight.previous_period(now_utc())
    # Ben passes 7 modules last month: 120 + 70 = 190 > Cy's 180
    modules = list(db.session.scalars(select(TrainingModule.id)))[:7]
    db.session.execute(db.delete(TrainingCompletion).where(TrainingCompletion.partner_id == ben.id))
    for mid in modules:
        db.session.add(TrainingCompletion(partner_id=ben.id, module_id=mid,
                                          completed_at=start + timedelta(days=1)))
    # Ana was partner of the month the month before
    before, _, _ = spotlight.previous_period(start)
    db.session.add(SpotlightMonth(period=before, partner_id=ana.id, confirmed_at=start))
    db.session.commit()
    assert len(modules) == 7
    spotlight.propose()
    db.session.commit()
    month = db.session.scalar(select(SpotlightMonth).where(SpotlightMonth.period == period))
    assert [c.partner_id for c in month.candidates] == [ben.id, cy.id]
    assert month.candidates[0].modules_passed == 7 and month.candidates[0].score == 190


def _proposed():
    period, ana, ben, cy, dee = _last_month_sales()
    spotlight.propose()
    db.session.commit()
    return db.session.scalar(select(SpotlightMonth)), ana, ben, cy, dee


def test_admin_confirms_once_announced_badged_audited(ctx):
    month, ana, ben, cy, dee = _proposed()
    admin = make_staff("boss@example.com", ("admin",))
    finance = make_staff("fin@example.com", ("finance",))
    with pytest.raises(Forbidden):
        spotlight.confirm(finance, month.id, cy.id)
    with pytest.raises(ValidationError):  # not a candidate
        spotlight.confirm(admin, month.id, dee.id)
    with pytest.raises(ValidationError):
        spotlight.confirm(admin, month.id, cy.id, "x" * 301)
    db.session.rollback()
    assert db.session.get(SpotlightMonth, month.id).partner_id is None

    spotlight.confirm(admin, month.id, cy.id, "Three launches in one month.")
    db.session.commit()
    with pytest.raises(Conflict):
        spotlight.confirm(admin, month.id, ana.id)
    db.session.rollback()
    month = db.session.get(SpotlightMonth, month.id)
    assert month.partner_id == cy.id and month.confirmed_by_id == admin.id
    assert db.session.scalar(select(Achievement.key).where(
        Achievement.partner_id == cy.id, Achievement.key == "partner_of_the_month"))
    channel = db.session.scalar(select(Channel).where(Channel.slug == "announcements"))
    body = db.session.scalar(select(Message.body).where(Message.channel_id == channel.id))
    label = spotlight.period_label(month.period)
    assert body.startswith(f"🏆 Partner of the month for {label}: Cy Closer!")
    assert "3 deals won, $3,000 in confirmed revenue. Three launches in one month." in body
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "spotlight.confirm"))
    assert audit.actor_id == admin.id and audit.object_id == month.id
    assert spotlight.current()["name"] == "Cy Closer"
    # two months on, the spotlight is gone from the dashboards
    assert spotlight.current(now_utc() + timedelta(days=70)) is None


def test_back_office_and_dashboards(app, client):
    with app.app_context():
        month, ana, ben, cy, dee = _proposed()
        month_id, cy_id, ana_id = month.id, cy.id, ana.id
        make_staff("boss@example.com", ("admin",))
        make_staff("content@example.com", ("content",))
        label = spotlight.period_label(month.period)
    content = app.test_client()
    assert login(content, "content@example.com").status_code == 302
    assert content.get("/admin/spotlight/").status_code == 403
    assert login(client, "boss@example.com").status_code == 302
    page = client.get("/admin/spotlight/").get_data(as_text=True)
    assert "Ana Ace" in page and "Cy Closer" in page and "Ben Busy" in page
    resp = submit(client, "/admin/spotlight/", {"month_id": month_id, "partner_id": cy_id,
                                                "citation": "Three launches"},
                  post_url=f"/admin/spotlight/{month_id}/confirm")
    assert resp.status_code == 302
    again = submit(client, "/admin/spotlight/", {"month_id": month_id, "partner_id": ana_id},
                   post_url=f"/admin/spotlight/{month_id}/confirm")
    assert again.status_code == 409
    assert "already confirmed" in again.get_data(as_text=True)
    # every partner's dashboard shows the card, the API too
    other = app.test_client()
    assert login(other, "dee@example.com").status_code == 302
    dash = other.get("/partner/dashboard").get_data(as_text=True)
    assert "Partner of the month" in dash and "Cy Closer" in dash and label in dash
    headers = api_token(app.test_client(), "ana@example.com")
    got = app.test_client().get("/api/spotlight", headers=headers).get_json()["spotlight"]
    assert got["name"] == "Cy Closer" and got["label"] == label
    # the badge shows on Cy's achievements
    cy_headers = api_token(app.test_client(), "cy@example.com")
    badges = app.test_client().get("/api/partner/achievements", headers=cy_headers).get_json()
    assert any(b["key"] == "partner_of_the_month" and b["earned"] for b in badges["items"])


def test_api_confirm_twice_is_409(app):
    with app.app_context():
        month, ana, ben, cy, dee = _proposed()
        month_id, cy_id = month.id, cy.id
        make_staff("boss@example.com", ("admin",))
        make_staff("fin@example.com", ("finance",))
    c = app.test_client()
    fin = api_token(c, "fin@example.com", kind="staff")
    boss = api_token(c, "boss@example.com", kind="staff")
    assert c.get("/api/staff/spotlight", headers=fin).status_code == 403
    listed = c.get("/api/staff/spotlight", headers=boss).get_json()
    assert [x["name"] for x in listed["items"][0]["candidates"]] == \
        ["Ana Ace", "Cy Closer", "Ben Busy"]
    url = f"/api/staff/spotlight/{month_id}/confirm"
    assert c.post(url, json={"partner_id": cy_id}, headers=fin).status_code == 403
    assert c.post(url, json={"partner_id": 99999}, headers=boss).status_code == 422
    first = c.post(url, json={"partner_id": cy_id}, headers=boss)
    assert first.status_code == 200 and first.get_json()["partner_id"] == cy_id
    second = c.post(url, json={"partner_id": cy_id}, headers=boss)
    assert second.status_code == 409
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(AuditLog).where(
            AuditLog.action == "spotlight.confirm")) == 1
        assert db.session.scalar(select(db.func.count()).select_from(SpotlightCandidate)) == 3


def test_a_worker_without_the_faces_knows_the_new_jobs():
    """The worker starts from the core app (no portal, admin or API imported): the
    proposal and the certificate jobs must be in its allow-list and its ticker's list."""
    import subprocess
    import sys

    code = ("from core.base.jobs import load_jobs\n"
            "jobs = load_jobs()\n"
            "print(jobs['core.engagement.spotlight.propose_spotlight'].every,\n"
            "      jobs['core.content.certificates.issue_missing_certificates'].every,\n"
            "      'core.content.certificates.render_certificate' in jobs)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out == ["300", "3600", "True"]
