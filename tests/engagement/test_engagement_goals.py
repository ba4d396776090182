"""Goals (rules: "Goals"): registration and the profile ask the experience level and a
monthly goal; bad goals are refused with a sentence and nothing is stored; the dashboard
reads progress, the pace needed and last month's result in the partner's time zone."""

from datetime import UTC, datetime

import pytest
from conftest import login, make_partner, make_staff_once, submit
from sqlalchemy import select

from core.accounts.models import User
from core.base.extensions import db
from core.base.models import AuditLog
from core.engagement.goals import GoalError, goal_progress, local_month, set_goals
from core.money.commissions import confirm_deal
from core.money.models import Deal
from core.program.leads import create_lead, move_lead
from core.program.models import Partner


def _deal(partner, cents, at):
    """A confirmed won deal of ``cents`` for ``partner`` confirmed at ``at``."""
    lead = create_lead(partner, {"company_name": f"Client {cents} {at:%m%d%H}"},
                       partner.user_id)
    move_lead(lead, "won", partner.user_id, cents)
    deal, _ = confirm_deal(lead.id, make_staff_once().id)
    deal.confirmed_at = at
    db.session.commit()
    return deal


def _partner_by_email(email):
    return db.session.scalar(select(Partner).join(User, Partner.user_id == User.id)
                             .where(User.email == email))


def test_registration_stores_the_level_and_goal(app, client):
    """Applying with "intermediate", 4 deals and $12,500 a month stores exactly those."""
    resp = submit(client, "/partner/register", {
        "name": "Gail Goal", "email": "gail@example.com", "password": "long enough pw 1",
        "accept_terms": "y", "experience_level": "intermediate", "goal_deals": "4",
        "goal_revenue": "12,500"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    with app.app_context():
        p = _partner_by_email("gail@example.com")
        assert (p.experience_level, p.goal_deals, p.goal_revenue_cents) == \
            ("intermediate", 4, 1_250_000)


@pytest.mark.parametrize("deals, revenue, message", [
    ("-3", "", "Your monthly deals goal cannot be negative."),
    ("100000", "", "A goal of more than 500 deals a month is not one we can track"),
    ("", "-50", "Your monthly revenue goal cannot be negative."),
    ("", "99999999999", "A revenue goal above $10,000,000 a month is not one we can track"),
    ("three", "", "Your monthly deals goal must be a whole number"),
])
def test_registration_with_a_bad_goal_is_refused_and_creates_nothing(app, client, deals,
                                                                       revenue, message):
    """A negative or absurd goal: 422, the sentence at the field, no account made."""
    resp = submit(client, "/partner/register", {
        "name": "Bad Goal", "email": "bad@example.com", "password": "long enough pw 1",
        "accept_terms": "y", "experience_level": "beginner", "goal_deals": deals,
        "goal_revenue": revenue})
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.email == "bad@example.com")) is None


def test_profile_goal_form_saves_and_refuses_bad_values(app, client):
    """The profile's goal form saves level and goal (audited); a negative revenue goal is
    refused with a sentence (422) and the saved goal stays as it was."""
    with app.app_context():
        make_partner("Pia Profile", email="pia@example.com")
    login(client, "pia@example.com")
    resp = submit(client, "/partner/profile", {
        "experience_level": "advanced", "goal_deals": "6", "goal_revenue": "20000"},
        post_url="/partner/profile/goals")
    assert resp.status_code == 303
    page = client.get("/partner/profile").get_data(as_text=True)
    assert 'value="6"' in page and 'value="20000"' in page
    resp = submit(client, "/partner/profile", {
        "experience_level": "advanced", "goal_deals": "2", "goal_revenue": "-1"},
        post_url="/partner/profile/goals")
    assert resp.status_code == 422
    assert "Your monthly revenue goal cannot be negative." in resp.get_data(as_text=True)
    with app.app_context():
        p = _partner_by_email("pia@example.com")
        assert (p.experience_level, p.goal_deals, p.goal_revenue_cents) == \
            ("advanced", 6, 2_000_000)
        rows = db.session.scalars(select(AuditLog).where(
            AuditLog.action == "partner.goals")).all()
        assert len(rows) == 1


def test_set_goals_checks_everything_before_changing_anything(ctx):
    """A good deals goal sent with an unknown level changes neither."""
    p = make_partner("Cal Check", email="cal@example.com")
    with pytest.raises(GoalError) as err:
        set_goals(p, {"goal_deals": 3, "experience_level": "guru"})
    assert err.value.field == "experience_level"
    assert p.goal_deals is None and p.experience_level is None
    with pytest.raises(GoalError):
        set_goals(p, {"goal_revenue_cents": True})


def test_progress_pace_and_last_month_in_the_partners_time_zone(ctx):
    """In Tokyo on 21 March at 10:00 local: 2 of 5 deals and $3,000 of $10,000 this month,
    11 days left (21..31): 3 more deals need 2 a week (1 a day); $7,000 needs $4,454.55 a
    week. A deal confirmed 28 Feb 23:30 UTC is 1 March in Tokyo, so it is this month's;
    last month had one $2,000 deal against the goal of 5: not met."""
    p = make_partner("Tomo Tokyo", email="tomo@example.com")
    p.timezone = "Asia/Tokyo"
    set_goals(p, {"goal_deals": 5, "goal_revenue_cents": 1_000_000})
    db.session.commit()
    _deal(p, 100_000, datetime(2027, 2, 28, 23, 30, tzinfo=UTC))  # 1 March, Tokyo
    _deal(p, 200_000, datetime(2027, 3, 15, 3, 0, tzinfo=UTC))
    _deal(p, 200_000, datetime(2027, 2, 10, 3, 0, tzinfo=UTC))    # last month
    now = datetime(2027, 3, 21, 1, 0, tzinfo=UTC)                  # 10:00 in Tokyo
    got = goal_progress(p, now)
    assert got["month"] == "2027-03" and got["days_left"] == 11
    assert got["deals"] == {"done": 2, "goal": 5, "remaining": 3, "percent": 40,
                            "per_day": 1, "per_week": 2}
    assert got["revenue"]["done"] == 300_000 and got["revenue"]["remaining"] == 700_000
    assert got["revenue"]["per_week"] == 445_455  # ceil(700,000 × 7 / 11)
    assert got["last_month"] == {"month": "2027-02", "deals": 1, "revenue_cents": 200_000,
                                 "deals_met": False, "revenue_met": False}


def test_a_cancelled_deal_does_not_count_toward_the_goal(ctx):
    """Progress counts confirmed won deals that are not cancelled."""
    p = make_partner("Cass Cancel", email="cass@example.com")
    set_goals(p, {"goal_deals": 2})
    at = datetime(2027, 5, 3, 12, tzinfo=UTC)
    deal = _deal(p, 100_000, at)
    db.session.execute(Deal.__table__.update().where(Deal.id == deal.id)
                       .values(status="cancelled"))
    assert goal_progress(p, datetime(2027, 5, 20, tzinfo=UTC))["deals"]["done"] == 0


def test_local_month_handles_the_year_end():
    """December in New York ends at 05:00 UTC on 1 January; the month before is November."""
    start, end, prev = local_month(datetime(2026, 12, 31, 12, tzinfo=UTC), "America/New_York")
    assert start == datetime(2026, 12, 1, 5, tzinfo=UTC)
    assert end == datetime(2027, 1, 1, 5, tzinfo=UTC)
    assert prev == datetime(2026, 11, 1, 4, tzinfo=UTC)  # EDT until 1 November


def test_dashboard_shows_progress_and_pace(app, client):
    """The dashboard reads "1 of 3 deals", the pace and last month's line."""
    with app.app_context():
        p = make_partner("Dee Dash", email="dee@example.com")
        set_goals(p, {"goal_deals": 3})
        db.session.commit()
        _deal(p, 150_000, datetime.now(UTC))
    login(client, "dee@example.com")
    page = client.get("/partner/dashboard").get_data(as_text=True)
    assert "1 of 3 deals" in page
    assert "To reach it:" in page and "left." in page
    assert "Last month: 0 deals" in page


def test_api_registration_takes_the_goal_and_refuses_a_negative_one(app, client):
    """POST /api/auth/partner/register with a level and goal stores them; a negative goal
    is a 422 naming the field, and no account is made."""
    base = {"email": "api.goal@example.com", "password": "long enough pw 1",
            "name": "Api Goal", "accept_terms": True}
    bad = client.post("/api/auth/partner/register",
                      json={**base, "goal_deals": -2, "email": "neg@example.com"})
    assert bad.status_code == 422 and "goal_deals" in bad.get_data(as_text=True)
    ok = client.post("/api/auth/partner/register", json={
        **base, "experience_level": "advanced", "goal_deals": 8,
        "goal_revenue_cents": 5_000_000})
    assert ok.status_code == 202
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.email == "neg@example.com")) is None
        p = _partner_by_email("api.goal@example.com")
        assert (p.experience_level, p.goal_deals, p.goal_revenue_cents) == \
            ("advanced", 8, 5_000_000)
