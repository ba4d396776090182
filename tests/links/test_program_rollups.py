"""Program roll-ups (rules: "Program roll-ups"): the real worker rolls finished months,
this month so far, links, landing pages, closed approval cohorts and the open pipeline up;
the staff program analytics read them and always equal the raw computation, also for a deal
confirmed after the last roll-up, a deal cancelled in a rolled-up month, a commission paid
later, a lead written into an old activation window, a new partner's first lead and a lead
removed from the pipeline."""

from datetime import date, timedelta

from conftest import api_token, make_partner, make_staff
from sqlalchemy import update

from core.base.extensions import db
from core.base.timeutil import now_utc
from core.money.models import Commission, Deal
from core.program.models import Lead, Partner, ProgramCohort, ProgramMonth, ProgramPartnerMonth
from core.program.program_analytics import program_analytics, raw_program_analytics
from core.program.program_figures import State, month_of


def _backdate(deal_id: int, days: int) -> None:
    """Move a deal's lead, confirmation and commissions ``days`` back."""
    deal = db.session.get(Deal, deal_id)
    when = now_utc() - timedelta(days=days)
    deal.confirmed_at = when
    deal.lead.created_at = when - timedelta(days=1)
    for c in db.session.scalars(db.select(Commission).where(Commission.deal_id == deal_id)):
        c.created_at = when


def _settle() -> None:
    """Every row last changed two days ago: nothing is newer than the next roll-up."""
    old = now_utc() - timedelta(days=2)
    for model in (Deal, Commission, Lead, Partner):
        db.session.execute(update(model).values(updated_at=old))
    db.session.execute(update(Lead).values(counted_at=old))
    db.session.commit()


def _ranges() -> list[tuple[date, date]]:
    from core.program.program_analytics import parse_range

    today = now_utc().date()
    last = month_of(today) - timedelta(days=1)
    return [parse_range(None, None), parse_range((today - timedelta(days=730)).isoformat(), None),
            (month_of(month_of(last) - timedelta(days=1)), last),  # two whole finished months
            (today - timedelta(days=75), today - timedelta(days=20)),  # cut months
            (month_of(today), today), (today, today)]


def _same(app) -> None:
    with app.app_context():
        for start, end in _ranges():
            assert program_analytics(start, end) == raw_program_analytics(start, end), \
                (start, end)


def _world(app) -> dict:
    """Ann: three $1,000 deals confirmed 100, 70 and 40 days ago (one base commission paid),
    approved 130 days ago with her first lead 101 days ago (not activated). Ben: approved 110
    days ago, a lead 100 days ago (activated), Legal. Cy: approved 50 days ago, one deal 45
    days ago. Dee: approved this hour, a new lead."""
    from core.program.leads import create_lead

    with app.app_context():
        ann = make_partner("Ann Seller", email="ann@example.com", deals=3)
        ben = make_partner("Ben Early", email="ben@example.com")
        cy = make_partner("Cy Recent", email="cy@example.com", deals=1)
        dee = make_partner("Dee New", email="dee@example.com")
        deals = list(db.session.scalars(db.select(Deal).where(Deal.partner_id == ann.id)
                                        .order_by(Deal.id)))
        for deal, days in zip(deals, (100, 70, 40), strict=True):
            _backdate(deal.id, days)
        _backdate(db.session.scalar(db.select(Deal.id).where(Deal.partner_id == cy.id)), 45)
        ann.approved_at = now_utc() - timedelta(days=130)
        ben.approved_at = now_utc() - timedelta(days=110)
        cy.approved_at = now_utc() - timedelta(days=50)
        dee.approved_at = now_utc() - timedelta(minutes=30)
        ben.industry = "Legal"
        lead = create_lead(ben, {"company_name": "Ben's first"}, ben.user_id)
        lead.created_at = now_utc() - timedelta(days=100)
        create_lead(dee, {"company_name": "Dee's first"}, dee.user_id)
        paid = db.session.scalar(db.select(Commission).where(Commission.deal_id == deals[0].id))
        paid.status = "paid"
        # a campaign link to a landing page: clicks 70, 40 and 1 days ago and today, a lead
        # through it 40 days ago; a second link with one click 70 days ago
        from core.content.models import LandingPage
        from core.program.links import create_link
        from core.program.models import ReferralClick

        page = LandingPage(slug="apps", title="Apps", status="published")
        db.session.add(page)
        db.session.flush()
        link = create_link(ann, {"name": "Apps", "slug": "apps", "landing_page_id": page.id},
                           ann.user_id)
        other = create_link(ann, {"name": "Plain", "slug": "plain"}, ann.user_id)
        for days, link_id, n in ((70, link.id, 3), (40, link.id, 2), (1, link.id, 2),
                                 (0, link.id, 1), (70, other.id, 1), (40, None, 2)):
            for i in range(n):
                db.session.add(ReferralClick(partner_id=ann.id, link_id=link_id,
                                             ip_hash=f"{days}-{i}", referrer_host="",
                                             created_at=now_utc() - timedelta(days=days)))
        via = create_lead(ann, {"company_name": "Via link"}, ann.user_id)
        via.link_id, via.source = link.id, "referral_link"
        via.created_at = now_utc() - timedelta(days=40)
        db.session.commit()
        _settle()
        return {"ann": ann.id, "deals": [d.id for d in deals], "ben": ben.id}


def test_worker_rollups_equal_the_raw_figures(app, client, run_worker):
    from core.base.jobs import TICK_SECONDS
    from core.money.commissions import confirm_deal
    from core.program.leads import create_lead, move_lead
    from jobs.ticker import tick

    w = _world(app)
    _same(app)  # before any roll-up: the raw computation itself
    tick(app, TICK_SECONDS)
    run_worker()
    with app.app_context():
        st = State.load()
        assert st.through == month_of(now_utc().date())
        assert st.changed_months() == set() and st.changed_cohorts() == set()
        rolled = {r.month: r.revenue_cents for r in db.session.scalars(db.select(ProgramMonth))}
        assert sum(rolled.values()) == 400000  # Ann's three and Cy's one, all before this month
        assert rolled[month_of(now_utc().date())] == 0 and st.so_far == st.through
        ann_rows = db.session.scalars(db.select(ProgramPartnerMonth).where(
            ProgramPartnerMonth.partner_id == w["ann"])).all()
        assert sum(r.deals for r in ann_rows) == 3
        from core.program.models import ProgramLinkMonth, ProgramPageMonth

        # whole months and this month's rows so far: every click but today's
        assert sum(r.clicks for r in db.session.scalars(db.select(ProgramLinkMonth))) == 8
        assert sum(r.leads for r in db.session.scalars(db.select(ProgramPageMonth))) == 1
        cohorts = {c.month: (c.approved, c.activated)
                   for c in db.session.scalars(db.select(ProgramCohort))}
        ben_month = month_of((now_utc() - timedelta(days=110)).date())
        assert cohorts[ben_month][1] >= 1
    _same(app)

    with app.app_context():  # the figures come from the roll-up: a changed row shows
        start, end = _ranges()[2]
        before = program_analytics(start, end)["revenue_cents"]
        row = db.session.scalar(db.select(ProgramMonth).where(ProgramMonth.month == start))
        if row is not None:
            row.revenue_cents += 1
            db.session.flush()
            assert program_analytics(start, end)["revenue_cents"] == before + 1
            db.session.rollback()

    with app.app_context():  # after the roll-up: a new deal, a cancel, a payment, a late lead
        ann = db.session.get(Partner, w["ann"])
        staff = make_staff("fin@example.com", ("finance", "admin"))
        lead = create_lead(ann, {"company_name": "Today Co"}, ann.user_id)
        move_lead(lead, "won", ann.user_id, 250000)
        confirm_deal(lead.id, staff.id)
        db.session.get(Deal, w["deals"][1]).status = "cancelled"
        for c in db.session.scalars(db.select(Commission).where(
                Commission.deal_id == w["deals"][2])):
            c.status = "paid"
        ben = db.session.get(Partner, w["ben"])
        late = create_lead(ben, {"company_name": "Backdated"}, ben.user_id)
        late.created_at = ben.approved_at + timedelta(days=2)
        removed = db.session.scalar(db.select(Lead).where(Lead.company_name == "Dee's first"))
        removed.archived_at = now_utc()  # leaves the open pipeline
        fay = make_partner("Fay Fresh", email="fay@example.com")  # her first lead: active now
        create_lead(fay, {"company_name": "Fay's first"}, fay.user_id)
        db.session.commit()
        st = State.load()
        assert month_of((now_utc() - timedelta(days=70)).date()) in st.changed_months()
        body = client.get("/api/staff/analytics/program",
                          headers=api_token(client, "fin@example.com", kind="staff")).get_json()
        assert body["revenue_cents"] == raw_program_analytics(*_ranges()[0])["revenue_cents"]
    _same(app)

    from core.program.program_figures import roll_up_program_job

    with app.app_context():
        roll_up_program_job.enqueue()
    run_worker()
    _same(app)
    with app.app_context():
        rolled = sum(r.revenue_cents for r in db.session.scalars(db.select(ProgramMonth)))
        # the cancelled deal's month was rewritten; this month's rows so far hold Today Co
        assert rolled == 400000 - 100000 + 250000


def test_a_partner_approved_after_the_rollups_cut_off_counts_in_its_cohort(app):
    """Eve, applied, has a deal in a rolled-up month; the roll-up runs five minutes into this
    month (its cut-off: last month's last five minutes); Eve is approved two minutes before
    this month began. Her cohort (last month) shows her deal, from the roll-up's partner
    rows, equal to the raw computation."""
    from core.program.program_figures import at, roll_up_program

    with app.app_context():
        eve = make_partner("Eve Late", email="eve@example.com", deals=1)
        _backdate(db.session.scalar(db.select(Deal.id).where(Deal.partner_id == eve.id)), 70)
        eve.status, eve.approved_at = "applied", None
        db.session.commit()
        this_month = month_of(now_utc().date())
        ran = at(this_month) + timedelta(minutes=5)
        for model in (Deal, Commission, Lead, Partner):
            db.session.execute(update(model).values(updated_at=ran - timedelta(days=1)))
        db.session.execute(update(Lead).values(counted_at=ran - timedelta(days=1)))
        roll_up_program(now=ran)
        db.session.commit()
        eve = db.session.get(Partner, eve.id)
        eve.status, eve.approved_at = "active", at(this_month) - timedelta(minutes=2)
        db.session.commit()
        last = this_month - timedelta(days=1)
        start = month_of(month_of(month_of(last) - timedelta(days=1)) - timedelta(days=1))
        figures = program_analytics(start, last)
        assert figures == raw_program_analytics(start, last)
        cohort = {c["month"]: c for c in figures["cohorts"]}[month_of(last)]
        assert (cohort["approved"], cohort["revenue_cents"]) == (1, 100000)


def test_a_stage_moved_leaves_the_rolled_months_alone_a_redated_lead_does_not(app):
    """A partner moving an old lead's stage changes no rolled-up figure: its month stays read
    from the roll-up; a lead whose creation time is written again makes its month changed."""
    from core.program.leads import create_lead, move_lead
    from core.program.program_figures import roll_up_program

    with app.app_context():
        ann = make_partner("Ann Mover", email="ann@example.com")
        lead = create_lead(ann, {"company_name": "Old Co"}, ann.user_id)
        lead.created_at = now_utc() - timedelta(days=70)
        db.session.commit()
        _settle()
        roll_up_program()
        db.session.commit()
        old_month = month_of((now_utc() - timedelta(days=70)).date())
        move_lead(db.session.get(Lead, lead.id), "contacted", ann.user_id)
        db.session.commit()
        assert old_month not in State.load().changed_months()
        moved = db.session.get(Lead, lead.id)
        moved.created_at = moved.created_at + timedelta(seconds=1)  # same month
        db.session.commit()
        assert old_month in State.load().changed_months()
