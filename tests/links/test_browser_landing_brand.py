"""A partner's branding on their landing pages (rules: "Links and attribution"): a phone
visitor of a partner's campaign link sees the partner's logo (loaded under the page's CSP),
display name, contact line and colour; an old logo's address and a partner without one are
404; a partner without branding shows SISO's page with their name."""

import io
import os

import pytest
from conftest import TEST_OUTPUT as OUTPUT
from conftest import make_partner

from core.base.extensions import db
from core.content.models import LandingPage

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")


def _logo(color) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (240, 80), color).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.browser
def test_landing_page_shows_the_partners_logo_and_branding(app, live_server, browser):
    from core.content.branding import save_branding
    from core.program.links import create_link

    with app.app_context():
        p = make_partner("Lena Brand", email="lena@example.com")
        plain = make_partner("Paul Plain", email="paul@example.com")
        page = LandingPage(slug="shops", title="Shops that sell online", status="published",
                           hero="Open in a month", body="Fast pages.")
        db.session.add(page)
        db.session.flush()
        create_link(p, {"name": "Shops", "slug": "shops", "landing_page_id": page.id}, p.user_id)
        old = save_branding(p, "Lena's Studio", "lena@studio.example · +1 555 0100", "#7c3aed",
                            logo=_logo((200, 30, 30))).logo_sha256[:12]
        row = save_branding(p, "Lena's Studio", "lena@studio.example · +1 555 0100", "#7c3aed",
                            logo=_logo((30, 30, 200)))
        db.session.commit()
        code, sha, plain_code = p.referral_code, row.logo_sha256[:12], plain.referral_code
    assert old != sha

    ctx = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server,
                              user_agent=IPHONE, is_mobile=True, has_touch=True)
    phone = ctx.new_page()
    errors = []
    phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    phone.goto(f"/r/{code}/shops")
    logo = phone.get_by_role("img", name="Lena's Studio logo")
    logo.wait_for()
    assert logo.get_attribute("src") == f"/r/{code}/brand/{sha}.png"
    phone.wait_for_function("document.querySelector('img.landing-logo').complete")
    assert phone.evaluate("document.querySelector('img.landing-logo').naturalWidth") == 240
    box = logo.bounding_box()
    assert box["height"] <= 56 and box["width"] <= 390
    brand = phone.locator("header.landing-brand")
    assert "Lena's Studio" in brand.inner_text()
    assert "lena@studio.example · +1 555 0100" in brand.inner_text()
    assert phone.get_by_role("heading", name="Shops that sell online").is_visible()
    button = phone.get_by_role("button", name="Ask for a call")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(124, 58, 237)"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert not [e for e in errors if "Content Security Policy" in e]
    os.makedirs(str(OUTPUT), exist_ok=True)
    phone.screenshot(path=os.path.join(str(OUTPUT), "landing-brand-phone.png"), full_page=True)

    # the default link shows the branding too
    phone.goto(f"/r/{code}")
    assert phone.get_by_role("img", name="Lena's Studio logo").is_visible()

    resp = phone.request.get(f"/r/{code}/brand/{sha}.png")
    assert resp.status == 200 and resp.headers["content-type"] == "image/png"
    assert "immutable" in resp.headers["cache-control"]
    assert phone.request.get(f"/r/{code}/brand/{old}.png").status == 404  # replaced logo
    assert phone.request.get(f"/r/{plain_code}/brand/{sha}.png").status == 404  # not Paul's
    assert phone.request.get(f"/r/NOPE123/brand/{sha}.png").status == 404

    phone.goto(f"/r/{plain_code}")  # no branding: SISO's page with the partner's name
    assert phone.locator("img.landing-logo").count() == 0
    assert "Paul Plain" in phone.locator("section.landing").inner_text()
    ctx.close()
