"""Click recording a marketer would trust (rules: "Clicks", "Links and attribution"):
preview fetchers and bots are no clicks, one visitor's repeats within 30 minutes count
once, the IP is only a keyed hash whose key changes daily, and the attribution cookie
follows the staff's window and first/last-click setting."""

from datetime import date, timedelta

from conftest import login, make_partner, make_staff, submit

from core.base.extensions import db
from core.base.models import AuditLog
from core.program.models import Lead, ReferralClick

PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/124.0.0.0 Mobile Safari/537.36")
PREVIEWS = {
    "slack": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "whatsapp": "WhatsApp/2.23.20.0",
    "facebook": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "headless": ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "HeadlessChrome/124.0.0.0 Safari/537.36"),
    "empty": "",
}


def _clicks(app) -> list[ReferralClick]:
    with app.app_context():
        rows = list(db.session.scalars(db.select(ReferralClick).order_by(ReferralClick.id)))
        db.session.expunge_all()
        return rows


def _link(app, partner_email, slug="spring"):
    from core.program.links import create_link
    from core.program.models import Partner

    with app.app_context():
        p = db.session.scalar(db.select(Partner).join(Partner.user).where(
            Partner.user.property.mapper.class_.email == partner_email))
        link = create_link(p, {"name": "Spring", "slug": slug}, p.user_id)
        db.session.commit()
        return p.referral_code, link.id


def test_previews_are_not_clicks_and_repeats_count_once(app):
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
    code, link_id = _link(app, "sarah@example.com")
    for name, ua in PREVIEWS.items():
        resp = app.test_client().get(f"/r/{code}/spring", headers={"User-Agent": ua},
                                     environ_base={"REMOTE_ADDR": "198.51.100.7"})
        assert resp.status_code == 200, name  # the fetcher gets the page for its preview
        assert "siso_ref" not in resp.headers.get("Set-Cookie", ""), name
    assert _clicks(app) == []
    # a phone clicks twice within 30 minutes (new tab without the cookie): one click
    for _ in range(2):
        app.test_client().get(f"/r/{code}/spring", headers={"User-Agent": PHONE},
                              environ_base={"REMOTE_ADDR": "203.0.113.5"})
    clicks = _clicks(app)
    assert len(clicks) == 1 and clicks[0].link_id == link_id
    assert "203.0.113.5" not in clicks[0].ip_hash and len(clicks[0].ip_hash) == 64
    # the same phone on the default link is another link's click
    app.test_client().get(f"/r/{code}", headers={"User-Agent": PHONE},
                          environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert [c.link_id for c in _clicks(app)] == [link_id, None]
    # 31 minutes later the same visitor counts again; another phone counts at once
    with app.app_context():
        first = db.session.get(ReferralClick, clicks[0].id)
        first.created_at = first.created_at - timedelta(minutes=31)
        db.session.commit()
    app.test_client().get(f"/r/{code}/spring", headers={"User-Agent": PHONE},
                          environ_base={"REMOTE_ADDR": "203.0.113.5"})
    app.test_client().get(f"/r/{code}/spring", headers={"User-Agent": ANDROID},
                          environ_base={"REMOTE_ADDR": "203.0.113.6"})
    assert len(_clicks(app)) == 4


def test_visitor_hash_key_rotates_daily(app):
    from core.program.referrals import visitor_hash

    with app.app_context():
        today = date(2026, 12, 7)
        a = visitor_hash("203.0.113.5", PHONE, today)
        assert a == visitor_hash("203.0.113.5", PHONE, today)
        assert a != visitor_hash("203.0.113.5", PHONE, today + timedelta(days=1))
        assert a != visitor_hash("203.0.113.6", PHONE, today)
        assert "203.0.113.5" not in a


def test_first_click_then_last_click_set_by_admin(app):
    with app.app_context():
        make_partner("Ann First", email="ann@example.com")
        make_partner("Bob Second", email="bob@example.com")
        make_staff("admin@example.com", ("admin",))
        make_staff("support@example.com", ("support",))
    a_code, _ = _link(app, "ann@example.com", "a")
    b_code, _ = _link(app, "bob@example.com", "b")
    visitor = app.test_client()
    visitor.get(f"/r/{a_code}/a", headers={"User-Agent": PHONE})
    assert visitor.get_cookie("siso_ref").value.startswith(f"{a_code}:")
    resp = visitor.get(f"/r/{b_code}/b", headers={"User-Agent": PHONE})
    assert "siso_ref" not in resp.headers.get("Set-Cookie", "")  # first click wins
    assert visitor.get_cookie("siso_ref").value.startswith(f"{a_code}:")
    assert len(_clicks(app)) == 2  # Bob's click is still a click

    support = app.test_client()
    login(support, "support@example.com")
    assert support.get("/admin/attribution/").status_code == 403
    staff = app.test_client()
    login(staff, "admin@example.com")
    assert submit(staff, "/admin/attribution/", {"days": "0", "model": "last"}).status_code == 200
    assert submit(staff, "/admin/attribution/", {"days": "7", "model": "middle"}).status_code == 200
    assert submit(staff, "/admin/attribution/", {"days": "7", "model": "last"}).status_code == 302
    with app.app_context():
        row = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "settings.attribution"))
        assert '"days": 90' in row.before and '"days": 7' in row.after and '"last"' in row.after
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditLog).where(
            AuditLog.action == "settings.attribution")) == 1
    other = app.test_client()
    other.get(f"/r/{a_code}/a", headers={"User-Agent": ANDROID})
    resp = other.get(f"/r/{b_code}/b", headers={"User-Agent": ANDROID})
    assert f"siso_ref={b_code}:" in resp.headers["Set-Cookie"]
    assert f"Max-Age={7 * 86400}" in resp.headers["Set-Cookie"]


def test_click_older_than_the_window_is_not_attached(app):
    with app.app_context():
        p = make_partner("Old Click", email="old@example.com")
        code = p.referral_code
    visitor = app.test_client()
    visitor.get(f"/r/{code}", headers={"User-Agent": PHONE})
    with app.app_context():
        click = db.session.scalar(db.select(ReferralClick))
        click.created_at = click.created_at - timedelta(days=91)
        db.session.commit()
    submit(visitor, f"/r/{code}", {"contact_name": "Late", "company_name": "Late Co",
                                   "contact_email": "late@example.com"})
    with app.app_context():
        lead = db.session.scalar(db.select(Lead))
        assert lead.partner_id == p.id and '"click_id": null' in lead.attribution
