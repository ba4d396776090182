"""Referral links: a visit is counted, its lead is attributed, unknown codes are 404."""

import json

from conftest import login, make_partner, submit

from core.extensions import db
from core.models import Lead, ReferralClick


def test_visit_then_lead_is_attributed(app):
    """A client opens a partner's link: the visit is stored with a hashed IP, a 60-day
    cookie is set, and the form creates a lead for that partner carrying the attribution;
    the partner's dashboard counts the click and the lead."""
    with app.app_context():
        p = make_partner("Sarah Thompson", email="sarah@example.com")
        code, pid = p.referral_code, p.id
    visitor = app.test_client()
    page = visitor.get(f"/r/{code}", headers={"Referer": "https://www.instagram.com/p/xyz?a=1"},
                       environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert page.status_code == 200 and "Sarah Thompson" in page.get_data(as_text=True)
    cookie = page.headers["Set-Cookie"]
    assert f"siso_ref={code}:" in cookie and "Max-Age=5184000" in cookie and "HttpOnly" in cookie
    with app.app_context():
        click = db.session.scalar(db.select(ReferralClick))
        assert click.referrer_host == "www.instagram.com" and "203.0.113.9" not in click.ip_hash
        assert len(click.ip_hash) == 64
    resp = submit(visitor, f"/r/{code}", {"contact_name": "John Smith", "company_name": "TechCorp",
                                          "contact_email": "john@techcorp.example"})
    assert resp.status_code == 200 and "will be in touch" in resp.get_data(as_text=True)
    with app.app_context():
        lead = db.session.scalar(db.select(Lead))
        assert (lead.partner_id, lead.source, lead.status) == (pid, "referral_link", "new")
        attribution = json.loads(lead.attribution)
        assert attribution["referral_code"] == code and attribution["click_id"] == click.id
        assert db.session.scalar(db.select(db.func.count()).select_from(ReferralClick)) == 1
    partner = app.test_client()
    login(partner, "sarah@example.com")
    dash = partner.get("/partner/dashboard").get_data(as_text=True)
    assert "1 clicks · 1 visitors · 1 leads · 0 deals" in dash


def test_unknown_code_and_bad_form(app, client):
    """Unknown codes are a plain 404; a form without any way to reach the client is
    refused with a message and creates nothing."""
    assert client.get("/r/NOSUCHCODE").status_code == 404
    assert client.get("/r/..%2Fetc").status_code == 404
    with app.app_context():
        p = make_partner("Mike Reyes")
        code = p.referral_code
    resp = submit(client, f"/r/{code}", {"contact_name": "No Contact", "company_name": "Ghost"})
    assert resp.status_code == 422 and "e-mail or a phone" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Lead)) == 0


def test_qr_codes(app, client):
    """A partner downloads their link as PNG and SVG QR codes."""
    with app.app_context():
        make_partner("Ann Qr", email="ann@example.com")
    login(client, "ann@example.com")
    png = client.get("/partner/referral/qr.png?download=1")
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert "attachment" in png.headers["Content-Disposition"]
    svg = client.get("/partner/referral/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    assert client.get("/partner/referral/qr.gif").status_code == 404
