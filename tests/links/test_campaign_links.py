"""Campaign links and landing pages (rules: "Links and attribution"): staff publish a
page, a partner links to it, a visitor sees it with the partner's branding, the lead
carries the link; archived links are 404 and slugs are never reused; bad input is 422."""

import json

from conftest import api_token, csrf_from, login, make_partner, make_staff, submit

from core.base.extensions import db
from core.base.models import AuditLog
from core.content.models import LandingPage
from core.program.models import Lead, ReferralClick, ReferralLink

PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")


def _publish_page(app, client, slug="websites", body="## Why SISO\n\n- fast\n\n<script>alert(1)</script>"):
    """A content staffer writes a page (a draft), previews it and publishes it."""
    with app.app_context():
        make_staff("content@example.com", ("content",))
    login(client, "content@example.com")
    resp = submit(client, "/admin/landing-pages/new/",
                  {"title": "Websites that sell", "slug": slug, "hero": "Launch in 4 weeks",
                   "service": "Websites", "body": body})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with app.app_context():
        page = db.session.scalar(db.select(LandingPage).where(LandingPage.slug == slug))
        assert page.status == "draft"
        page_id = page.id
    preview = client.get(f"/admin/landing-pages/preview/{page_id}").get_data(as_text=True)
    assert "<h2>Why SISO</h2>" in preview and "<script>alert" not in preview
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview
    token = csrf_from(client.get("/admin/landing-pages/").get_data(as_text=True))
    assert client.post("/admin/landing-pages/action/", data={
        "action": "publish", "rowid": [str(page_id)], "csrf_token": token}).status_code == 302
    with app.app_context():
        assert db.session.get(LandingPage, page_id).status == "published"
        assert db.session.scalar(db.select(AuditLog.id).where(
            AuditLog.action == "landing_page.publish", AuditLog.object_id == page_id))
    return page_id


def test_link_to_landing_page_with_branding_and_attributed_lead(app):
    staff = app.test_client()
    page_id = _publish_page(app, staff)
    with app.app_context():
        p = make_partner("Sarah Thompson", email="sarah@example.com")
        from core.content.branding import save_branding

        save_branding(p, "Thompson Digital", "sarah@thompson.example", "#aa3300", None, False)
        db.session.commit()
        code, pid = p.referral_code, p.id
    partner = app.test_client()
    login(partner, "sarah@example.com")
    page = partner.get("/partner/links").get_data(as_text=True)
    assert "Websites that sell" in page  # the published page is offered
    resp = submit(partner, "/partner/links", {
        "name": "Instagram spring", "slug": "insta-spring", "landing_page_id": str(page_id),
        "utm_source": "instagram", "utm_medium": "social", "utm_campaign": "spring",
        "sub_id": "story-1"})
    assert resp.status_code == 302
    listing = partner.get("/partner/links").get_data(as_text=True)
    assert f"/r/{code}/insta-spring" in listing and "data-share-url" in listing
    with app.app_context():
        link = db.session.scalar(db.select(ReferralLink))
        link_id = link.id
    qr = partner.get(f"/partner/links/{link_id}/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    assert partner.get(f"/partner/links/{link_id}/qr.png").data[:8] == b"\x89PNG\r\n\x1a\n"

    visitor = app.test_client()
    land = visitor.get(f"/r/{code}/insta-spring", headers={"User-Agent": PHONE})
    html = land.get_data(as_text=True)
    assert land.status_code == 200
    assert "Websites that sell" in html and "Launch in 4 weeks" in html
    assert "Thompson Digital" in html and "sarah@thompson.example" in html and "#aa3300" in html
    assert "<script>alert" not in html
    cookie = land.headers["Set-Cookie"]
    assert f"siso_ref={code}:" in cookie and f"Max-Age={90 * 86400}" in cookie
    resp = submit(visitor, f"/r/{code}/insta-spring",
                  {"contact_name": "John Smith", "company_name": "TechCorp",
                   "contact_email": "john@techcorp.example"})
    assert resp.status_code == 200 and "will be in touch" in resp.get_data(as_text=True)
    with app.app_context():
        click = db.session.scalar(db.select(ReferralClick))
        assert (click.partner_id, click.link_id) == (pid, link_id)
        lead = db.session.scalar(db.select(Lead))
        attribution = json.loads(lead.attribution)
        assert lead.partner_id == pid and attribution["click_id"] == click.id
        assert (attribution["link_id"], attribution["utm_source"], attribution["sub_id"]) == \
            (link_id, "instagram", "story-1")
        assert click.lead_id == lead.id


def test_siso_address_redirect_archive_and_never_reused(app, client):
    with app.app_context():
        p = make_partner("Mike Reyes", email="mike@example.com")
        other = make_partner("Olga Other", email="olga@example.com")
        code, other_code = p.referral_code, other.referral_code
    headers = api_token(client, "mike@example.com")
    made = client.post("/api/partner/links", headers=headers, json={
        "name": "Pricing", "slug": "pricing", "target_url": "https://www.siso.example/pricing?x=1",
        "utm_source": "newsletter", "sub_id": "dec"})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["url"].endswith(f"/r/{code}/pricing") and body["archived_at"] is None
    go = app.test_client().get(f"/r/{code}/pricing", headers={"User-Agent": PHONE})
    assert go.status_code == 302
    assert go.headers["Location"] == \
        "https://www.siso.example/pricing?x=1&utm_source=newsletter&sub_id=dec"
    assert "siso_ref=" in go.headers["Set-Cookie"]
    # someone else's link is not theirs to see or archive
    olga = api_token(client, "olga@example.com")
    assert client.delete(f"/api/partner/links/{body['id']}", headers=olga).status_code == 404
    assert app.test_client().get(f"/r/{other_code}/pricing").status_code == 404
    assert client.get("/api/partner/links", headers=olga).get_json()["items"] == []
    gone = client.delete(f"/api/partner/links/{body['id']}", headers=headers)
    assert gone.status_code == 200 and gone.get_json()["archived_at"]
    missing = app.test_client().get(f"/r/{code}/pricing", headers={"User-Agent": PHONE})
    assert missing.status_code == 404 and "<html" in missing.get_data(as_text=True).lower()
    again = client.post("/api/partner/links", headers=headers, json={"name": "P2", "slug": "pricing"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "slug_taken"
    assert client.get("/api/partner/links", headers=headers).get_json()["items"] == []
    # another partner may use the same words under their own code
    assert client.post("/api/partner/links", headers=olga,
                       json={"name": "Mine", "slug": "pricing"}).status_code == 201
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditLog).where(
            AuditLog.action.in_(("link.create", "link.archive")))) == 3


def test_bad_link_input_is_422_and_changes_nothing(app, client):
    with app.app_context():
        make_partner("Ann Bad", email="ann@example.com")
    headers = api_token(client, "ann@example.com")
    cases = [
        {"name": "x", "slug": "<b>x</b>"},
        {"name": "x", "slug": "a" * 41},
        {"name": "x", "slug": "ok", "utm_source": "a\x07b"},
        {"name": "x", "slug": "ok", "utm_campaign": "<script>alert(1)</script>"},
        {"name": "x", "slug": "ok", "utm_medium": "m" * 101},
        {"name": "x", "slug": "ok", "sub_id": "a\nb"},
        {"name": "x", "slug": "ok", "target_url": "https://evil.example/"},
        {"name": "x", "slug": "ok", "target_url": "http://www.siso.example/"},
        {"name": "x", "slug": "ok", "landing_page_id": 12345},
    ]
    for case in cases:
        resp = client.post("/api/partner/links", headers=headers, json=case)
        assert resp.status_code in (422, 404), (case, resp.get_json())
        assert resp.status_code == (404 if "landing_page_id" in case else 422)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ReferralLink)) == 0
    # the portal form refuses HTML the same way and shows it escaped
    page = app.test_client()
    login(page, "ann@example.com")
    resp = submit(page, "/partner/links", {"name": "<i>n</i>", "slug": "ok",
                                           "utm_source": "<img src=x>"})
    assert resp.status_code == 422 and "<img src=x>" not in resp.get_data(as_text=True)


def test_draft_page_not_offered_and_unknown_codes(app, client):
    with app.app_context():
        p = make_partner("Dee Draft", email="dee@example.com")
        page = LandingPage(slug="draft", title="Secret draft", body="hi")
        db.session.add(page)
        db.session.commit()
        code, page_id = p.referral_code, page.id
    headers = api_token(client, "dee@example.com")
    resp = client.post("/api/partner/links", headers=headers,
                       json={"name": "d", "slug": "d", "landing_page_id": page_id})
    assert resp.status_code == 404
    assert client.get(f"/r/{code}/nosuch").status_code == 404
    assert client.get("/r/NOSUCH/abc").status_code == 404
    assert client.get(f"/r/{code}/%3Cb%3E").status_code == 404
