"""Earnings on a 390 × 844 phone: a short page (commissions paged, one compact row each),
statements and payouts near the top, and a disabled payout button that says why."""

from datetime import timedelta

import pytest
from conftest import make_partner
from test_browser import log_in, phone

from core.base.extensions import db
from core.base.timeutil import now_utc
from core.money.models import Commission


@pytest.mark.browser
def test_earnings_pages_commissions_and_says_why_payout_is_disabled(app, live_server, browser):
    """Lena has 46 commissions, all still pending (holding period): the page shows 20 of
    them, one or two lines each, with "Older →" leading to the next 20; the Statements
    card comes before the commissions; "Request payout" is disabled and the reason is
    read out with it: $0.00 approved, the pending money and the day it is released."""
    release = now_utc() + timedelta(days=12)
    with app.app_context():
        p = make_partner("Lena Lead", email="lena@example.com")
        for i in range(46):
            db.session.add(Commission(partner_id=p.id, type="base", amount_cents=10000 + i,
                                      rate_bps=2000, status="pending", hold_until=release,
                                      note=f"Deal {i} with a longer client name Ltd",
                                      created_at=now_utc() - timedelta(hours=i)))
        db.session.commit()
    page = phone(browser, live_server)
    log_in(page, "lena@example.com")
    page.goto("/partner/earnings")
    rows = page.locator("#commission-list li")
    assert rows.count() == 20
    heights = [r.bounding_box()["height"] for r in rows.all()]
    assert max(heights) < 70, heights  # two lines at most, not five
    button = page.get_by_role("button", name="Request payout")
    assert button.is_disabled()
    why = page.locator("#" + button.get_attribute("aria-describedby"))
    text = why.inner_text()
    assert "once at least $50.00 is approved; $0.00 is approved now" in text
    assert "$4,610.35 is still pending" in text  # 46 × $100 + 0+1+…+45 cents
    assert release.strftime("%d %b %Y") in text
    statements = page.locator("#statements").bounding_box()["y"]
    assert statements < page.locator("#commissions").bounding_box()["y"]
    assert statements < page.locator("#breakdown-h").bounding_box()["y"]
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 4500, height
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("link", name="Older →").click()
    page.wait_for_url("**before=*")
    assert rows.count() == 20
    page.get_by_role("link", name="Older →").click()
    assert rows.count() == 6
    assert page.get_by_role("link", name="Older →").count() == 0
    page.get_by_role("link", name="← Newest").click()
    assert rows.count() == 20
