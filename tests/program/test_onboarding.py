"""The dashboard's onboarding checklist (PRD "Journey 1: New Partner Onboarding"): each
item ticks when its condition is met in existing data, links to where to do it, and the
checklist goes away when everything is done or the partner hides it."""

import re

import pytest
from conftest import csrf_from, login, make_partner
from sqlalchemy import event

from core.base.extensions import db
from core.content.models import TrainingCompletion, TrainingModule
from core.program.models import Lead, Partner
from core.program.onboarding import checklist
from core.program.referrals import record_click

#: A phone browser's user agent (bots and preview fetchers are not clicks).
PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")

def done_keys(partner, stripe=False) -> set[str]:
    result = checklist(db.session.get(Partner, partner.id), stripe)
    return {i["key"] for i in result["items"] if i["done"]} if result else {"ALL"}


def fill_profile(p):
    p.company_name, p.phone, p.industry = "Acme", "+44 20 1234 5678", "Retail & e-commerce"


def test_each_item_ticks_when_its_condition_is_met(ctx):
    """A new active partner has only the agreement done (accepted at sign-up); filling the
    profile, passing a module, logging a lead and someone opening the referral link each
    tick their item, and with all done the checklist is gone."""
    p = make_partner("Nina New", training=False)
    assert done_keys(p) == {"agreement"}
    fill_profile(p)
    assert done_keys(p) == {"agreement", "profile"}
    module = db.session.scalar(db.select(TrainingModule).order_by(TrainingModule.position))
    db.session.add(TrainingCompletion(partner_id=p.id, module_id=module.id))
    db.session.flush()
    assert done_keys(p) == {"agreement", "profile", "training"}
    db.session.add(Lead(partner_id=p.id, company_name="First prospect"))
    db.session.flush()
    assert done_keys(p) == {"agreement", "profile", "training", "lead"}
    record_click(p, "203.0.113.9", "https://social.example/post/1", PHONE)
    assert done_keys(p) == {"ALL"}


def test_half_filled_profile_is_not_complete(ctx):
    """Company, phone and industry must all be filled (blank space is not filled)."""
    p = make_partner("Hal Half")
    p.company_name, p.phone = "Acme", ""
    assert "profile" not in done_keys(p)
    p.phone, p.industry = "123", "   "
    assert "profile" not in done_keys(p)


def test_a_recruit_signing_up_counts_as_sharing(ctx):
    """Someone joining with the recruiting link is evidence the link was shared too."""
    p = make_partner("Rita Recruiter")
    assert "share" not in done_keys(p)
    make_partner("New Recruit", recruiter=p)
    assert "share" in done_keys(p)


def test_payout_item_only_when_stripe_payouts_are_on(ctx):
    """With manual payouts there is nothing to connect, so no item; with Stripe on, the
    item ticks once Stripe says the account can receive transfers."""
    p = make_partner("Stripe Sam")
    assert "payout" not in {i["key"] for i in checklist(p, False)["items"]}
    items = {i["key"]: i for i in checklist(p, True)["items"]}
    assert items["payout"]["done"] is False and items["payout"]["url"] == \
        "/partner/earnings#payout-method"
    p.stripe_payouts_enabled = True
    assert "payout" in done_keys(p, stripe=True)


def test_outdated_agreement_is_not_accepted(ctx):
    """Accepting an older agreement version does not tick the item."""
    p = make_partner("Old Terms")
    p.agreement_version = "2025-01"
    assert "agreement" not in done_keys(p)


def test_checklist_costs_one_query_whatever_the_data(app, ctx):
    """One query for the partner's training, leads and link visits together, however many
    of each there are; none once hidden."""
    p = make_partner("Quinn Query")
    for i in range(5):
        db.session.add(Lead(partner_id=p.id, company_name=f"L{i}"))
        record_click(p, f"198.51.100.{i}", None, PHONE)
    db.session.flush()
    seen = []

    def count(*args):
        seen.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        checklist(p, True)
        assert len(seen) == 1, seen
        p.onboarding_dismissed_at = p.created_at
        checklist(p, True)
        assert len(seen) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_dashboard_shows_items_linking_to_where_to_do_them(app, client):
    """Each open item links to the page where it is done; done ones say so."""
    with app.app_context():
        make_partner("Nina New", email="nina@example.com", training=False)
    login(client, "nina@example.com")
    html = client.get("/partner/dashboard").get_data(as_text=True)
    section = html.split('id="onboarding"')[1].split("</section>")[0]
    assert "Get started: 1 of 5 done" in section
    links = dict(re.findall(r'data-item="(\w+)">\s*<a href="([^"]+)"', section))
    assert links == {"profile": "/partner/profile", "training": "/partner/training",
                     "lead": "/partner/leads#new-lead", "share": "/partner/dashboard#referral-links"}
    assert 'data-item="agreement"' in section and "(done)" in section
    assert 'id="referral-links"' in html


def test_not_shown_before_approval(app, client):
    """An applicant cannot log leads or share a link yet: no checklist."""
    with app.app_context():
        make_partner("Ann Applied", email="ann@example.com", status="applied")
    login(client, "ann@example.com")
    assert 'id="onboarding"' not in client.get("/partner/dashboard").get_data(as_text=True)


def test_hiding_the_checklist_needs_the_form_and_sticks(app, client):
    """"Hide this checklist" hides it for good; a POST without the CSRF token is a 400 and
    changes nothing."""
    with app.app_context():
        p = make_partner("Dee Dismiss", email="dee@example.com")
        pid = p.id
    login(client, "dee@example.com")
    page = client.get("/partner/dashboard").get_data(as_text=True)
    assert 'id="onboarding"' in page
    assert client.post("/partner/onboarding/dismiss").status_code == 400
    with app.app_context():
        assert db.session.get(Partner, pid).onboarding_dismissed_at is None
    resp = client.post("/partner/onboarding/dismiss", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/partner/dashboard")
    page = client.get("/partner/dashboard").get_data(as_text=True)
    assert 'id="onboarding"' not in page and "Checklist hidden" in page
    with app.app_context():
        assert db.session.get(Partner, pid).onboarding_dismissed_at is not None


@pytest.mark.browser
def test_checklist_on_a_small_phone(app, live_server, browser):
    """At 360px the checklist fits the screen; tapping an open item goes to its page."""
    from test_browser import OUT, log_in
    from test_browser_drawer import small_phone

    with app.app_context():
        make_partner("Nina New", email="nina@example.com", training=False)
    for scheme in ("dark", "light"):
        page = small_phone(browser, live_server, scheme)
        log_in(page, "nina@example.com")
        card = page.locator("#onboarding")
        assert card.get_by_role("heading", name="Get started: 1 of 5 done").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        for link in card.get_by_role("link").all():
            assert link.bounding_box()["height"] >= 44
        card.screenshot(path=f"{OUT}/onboarding-{scheme}.png")
    card.get_by_role("link", name="Log your first lead").click()
    page.wait_for_url("**/partner/leads#new-lead")
