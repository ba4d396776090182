"""Referral links: a visit is counted, its lead is attributed, unknown codes are 404."""

import json

from conftest import login, make_partner, submit

from core.base.extensions import db
from core.program.models import Lead, ReferralClick


def test_visit_then_lead_is_attributed(app):
    """A client opens a partner's link: the visit is stored with a hashed IP, a 90-day (the default attribution window)
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
    assert f"siso_ref={code}:" in cookie and "Max-Age=7776000" in cookie and "HttpOnly" in cookie
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


PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
FETCHERS = ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "WhatsApp/2.23.20.0", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "HeadlessChrome/156.0.0.0 Safari/537.36", "curl/8.5.0", "")


def _clicks(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(ReferralClick))


def test_bots_previews_and_repeat_visits_are_not_clicks(app, monkeypatch):
    """Link-preview fetchers, crawlers, headless browsers and requests without a user
    agent are not counted; a phone's cookie-less repeat visits within 30 minutes count
    once; after 30 minutes, or from another phone, they count again; the stored hash is
    keyed by the day, so tomorrow's hash of the same visitor is another."""
    from datetime import timedelta

    import core.program.referrals as referrals

    with app.app_context():
        code = make_partner("Cleo Counted").referral_code
    for ua in FETCHERS:
        resp = app.test_client().get(f"/r/{code}", headers={"User-Agent": ua},
                                     environ_base={"REMOTE_ADDR": "198.51.100.20"})
        assert resp.status_code == 200, ua  # the page is served, the click not counted
        assert "siso_ref" not in resp.headers.get("Set-Cookie", ""), ua
    assert _clicks(app) == 0
    for _ in range(5):  # no cookie kept: a script, or a phone in private mode
        app.test_client().get(f"/r/{code}", headers={"User-Agent": PHONE},
                              environ_base={"REMOTE_ADDR": "198.51.100.21"})
    assert _clicks(app) == 1
    app.test_client().get(f"/r/{code}", headers={"User-Agent": PHONE},
                          environ_base={"REMOTE_ADDR": "198.51.100.22"})
    assert _clicks(app) == 2
    later = referrals.now_utc() + timedelta(minutes=31)
    monkeypatch.setattr(referrals, "now_utc", lambda: later)
    app.test_client().get(f"/r/{code}", headers={"User-Agent": PHONE},
                          environ_base={"REMOTE_ADDR": "198.51.100.21"})
    assert _clicks(app) == 3
    with app.app_context():
        today = later.date()
        a = referrals.visitor_hash("198.51.100.21", PHONE, today)
        b = referrals.visitor_hash("198.51.100.21", PHONE, today + timedelta(days=1))
        assert a != b and len(a) == 64 and "198.51.100.21" not in a


def test_landing_leads_are_throttled_and_a_honeypot_stores_nothing(app, monkeypatch):
    """Anonymous leads on one partner's page: past the per-address limit the next is a
    429 page with the wait; past the per-partner limit, other addresses are refused too;
    a form whose hidden honeypot is filled looks sent and stores nothing."""
    monkeypatch.setitem(app.config, "LANDING_LEAD_LIMIT_PER_IP", "2 per hour")
    monkeypatch.setitem(app.config, "LANDING_LEAD_LIMIT_PER_PARTNER", "3 per hour")
    with app.app_context():
        codes = [make_partner(f"Lola Landing{i}").referral_code for i in range(3)]

    def leave(code, ip, n, **extra):
        from conftest import csrf_from

        client = app.test_client()
        page = client.get(f"/r/{code}", headers={"User-Agent": PHONE},
                          environ_base={"REMOTE_ADDR": ip})
        return client.post(f"/r/{code}", headers={"User-Agent": PHONE},
                           environ_base={"REMOTE_ADDR": ip}, data={
                               "csrf_token": csrf_from(page.get_data(as_text=True)),
                               "contact_name": f"Client {n}", "company_name": f"Co {n}",
                               "contact_email": f"c{n}@client.example", **extra})

    trap = leave(codes[0], "192.0.2.1", 0, website="http://spam.example")
    assert trap.status_code == 200 and "will be in touch" in trap.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Lead)) == 0
    # One address: two leads, then 429 with the wait.
    assert [leave(codes[1], "192.0.2.2", n).status_code for n in (1, 2)] == [200, 200]
    resp = leave(codes[1], "192.0.2.2", 3)
    assert resp.status_code == 429 and "try again in" in resp.get_data(as_text=True)
    assert int(resp.headers["Retry-After"]) > 0
    # One partner's link: three leads from three addresses, then 429 from a fourth.
    assert [leave(codes[2], f"192.0.2.{10 + n}", n).status_code for n in (4, 5, 6)] == [200] * 3
    assert leave(codes[2], "192.0.2.20", 7).status_code == 429
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Lead)) == 5
