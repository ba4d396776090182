"""E-mail (rules: "E-mail"): verification, password reset and notification e-mails,
sent by a real RQ worker into the development outbox (``STORAGE_DIR/outbox/*.eml``) or
over SMTP to a real SMTP server (aiosmtpd) running in the test process."""

import email
import email.policy
import os
import re
import time

import pytest
from conftest import (
    PASSWORD,
    api_token,
    csrf_from,
    free_port,
    login,
    make_partner,
    make_staff,
    submit,
)
from itsdangerous.timed import TimestampSigner

from core.accounts.models import User
from core.base.extensions import db
from core.community.models import Notification
from core.money.models import Payout

NEW_PASSWORD = "a-fresh-and-long-passphrase"


class Outbox:
    """The development outbox as a person would read it: one ``.eml`` file a message."""

    def __init__(self, folder: str):
        self.folder = folder

    def clear(self) -> None:
        if os.path.isdir(self.folder):
            for name in os.listdir(self.folder):
                os.remove(os.path.join(self.folder, name))

    def messages(self, to: str | None = None) -> list[email.message.EmailMessage]:
        if not os.path.isdir(self.folder):
            return []
        out = []
        for name in sorted(os.listdir(self.folder)):
            assert name.endswith(".eml"), name  # no half-written .tmp left behind
            with open(os.path.join(self.folder, name), "rb") as fh:
                msg = email.message_from_binary_file(fh, policy=email.policy.default)
            if to is None or msg["To"] == to:
                out.append(msg)
        return out


@pytest.fixture
def outbox(app):
    box = Outbox(os.path.join(app.config["STORAGE_DIR"], "outbox"))
    box.clear()
    yield box
    box.clear()


def parts(msg) -> tuple[str, str]:
    """The plain-text and HTML parts of a message (both must be there)."""
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    return text, html


def link_in(msg, path: str) -> str:
    """The path of the first link to ``path`` in the plain-text part."""
    text, _ = parts(msg)
    m = re.search(r"http://127\.0\.0\.1:5000(" + re.escape(path) + r"[A-Za-z0-9_.\-]+)", text)
    assert m, text
    return m.group(1)


def token_made_ago(monkeypatch, seconds: int, fn):
    """Run ``fn()`` (which makes a signed token) as if it were ``seconds`` ago."""
    monkeypatch.setattr(TimestampSigner, "get_timestamp",
                        lambda self: int(time.time()) - seconds)
    try:
        return fn()
    finally:
        monkeypatch.undo()


def register(client, email_addr, name="Nia Newcomer"):
    return submit(client, "/partner/register", {
        "name": name, "email": email_addr, "password": PASSWORD, "accept_terms": "y"})


# --- verification ---------------------------------------------------------------------

def test_registering_sends_a_verification_email_from_a_job(app, client, outbox, run_worker):
    """A new partner is told a link is on its way; nothing is sent inside the request; the
    worker then delivers one e-mail, from the configured sender, with a plain-text and an
    HTML part, the partner's name escaped in the HTML."""
    resp = register(client, "nia@example.com", name="Nia <b>Bold</b>")
    assert resp.status_code == 200
    assert "We sent a message to nia@example.com" in resp.get_data(as_text=True)
    assert login(client, "nia@example.com").status_code == 302
    page = client.get("/partner/dashboard").get_data(as_text=True)
    # an applicant's one status card carries the step (no second banner saying it again)
    assert "Confirm your e-mail: open the link we sent to" in page
    assert "Resend the e-mail" in page and "Please verify your e-mail address" not in page
    assert outbox.messages() == []  # the request sent nothing itself
    run_worker()
    [msg] = outbox.messages()
    assert msg["To"] == "nia@example.com"
    assert msg["From"] == app.config["MAIL_DEFAULT_SENDER"]
    assert msg["Subject"] == "Confirm your e-mail address for SISO Partners"
    text, html = parts(msg)
    assert "Hi Nia <b>Bold</b>," in text and "48 hours" in text
    assert "Nia &lt;b&gt;Bold&lt;/b&gt;" in html and "<b>Bold</b>" not in html
    assert "/verify-email/" in html


def test_api_registration_sends_the_same_verification_email(app, outbox, run_worker):
    """Registering through the API (the PWA's and CRMs' way in) also sends the link; the
    profile says the address is not verified yet."""
    client = app.test_client()
    resp = client.post("/api/auth/partner/register", json={
        "email": "api.nia@example.com", "password": PASSWORD, "name": "Api Nia",
        "accept_terms": True})
    assert resp.status_code == 202 and resp.get_json()["status"] == "check_email"
    headers = api_token(client, "api.nia@example.com")
    assert client.get("/api/partner/profile", headers=headers).get_json()[
        "email_verified"] is False
    run_worker()
    [msg] = outbox.messages()
    assert msg["To"] == "api.nia@example.com"
    assert link_in(msg, "/verify-email/").startswith("/verify-email/")


def test_the_link_verifies_the_address_and_the_banner_goes(app, client, outbox, run_worker):
    """Opening the link (no log-in needed) says the address is verified; the portal's
    banner is gone; opening it again says it already is."""
    register(client, "vic@example.com")
    run_worker()
    path = link_in(outbox.messages()[0], "/verify-email/")
    anon = app.test_client()
    done = anon.get(path)
    assert done.status_code == 200
    assert "Thanks, your e-mail address is verified" in done.get_data(as_text=True)
    assert login(client, "vic@example.com").status_code == 302
    page = client.get("/partner/dashboard").get_data(as_text=True)
    assert "E-mail confirmed" in page and "Confirm your e-mail:" not in page
    assert "Please verify your e-mail address" not in page
    again = anon.get(path).get_data(as_text=True)
    assert "Your e-mail address is already verified" in again
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "vic@example.com"))
        assert user.email_verified_at is not None


def test_tampered_expired_and_foreign_links_are_refused(app, client, monkeypatch):
    """A link with a changed character, one older than 48 hours, a reset token used as a
    verification link: each is a 400 page saying why and what to do; the address stays
    unverified."""
    from core.accounts import email_links as account_email

    with app.app_context():
        p = make_partner("Tess Tamper", email="tess@example.com", verified=False)
        user = db.session.get(User, p.user_id)
        good = account_email.verification_token(user)
        old = token_made_ago(monkeypatch, 49 * 3600,
                             lambda: account_email.verification_token(user))
        reset = account_email.reset_token(user)
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    for token, words in ((tampered, "not valid"), (old, "has expired"), (reset, "not valid"),
                         ("", None)):
        resp = client.get(f"/verify-email/{token}")
        if words is None:
            assert resp.status_code == 404
            continue
        body = resp.get_data(as_text=True)
        assert resp.status_code == 400, token
        assert words in body and "Nothing was changed." in body
        assert "Log in to ask for a new link" in body
    with app.app_context():
        assert db.session.get(User, p.user_id).email_verified_at is None


def test_unverified_partner_may_look_but_not_request_a_payout(app, client, outbox,
                                                             run_worker):
    """An unverified partner with enough approved money sees the earnings page with the
    request button disabled and why; the page's POST and the API are refused with the
    same sentence (403 email_unverified) and no payout exists; once verified, the API
    request goes through."""
    from core.accounts import email_links as account_email
    from core.money.commissions import approve_commissions
    from core.money.models import Commission

    with app.app_context():
        p = make_partner("Una Verified", email="una@example.com", deals=1, verified=False)
        staff = make_staff("fin@example.com")
        approve_commissions(list(db.session.scalars(db.select(Commission.id).where(
            Commission.partner_id == p.id))), staff.id)
        db.session.commit()
        pid, uid = p.id, p.user_id
    login(client, "una@example.com")
    page = client.get("/partner/earnings").get_data(as_text=True)
    assert "Verify your e-mail address to request payouts" in page
    assert re.search(r'<button class="btn primary block" type="submit"\s+disabled', page)
    resp = submit(client, "/partner/earnings", {}, post_url="/partner/payouts/request")
    assert resp.status_code == 303
    refused = client.get("/partner/earnings").get_data(as_text=True)
    assert "Verify your e-mail address before you request a payout" in refused
    headers = api_token(app.test_client(), "una@example.com")
    api = app.test_client().post("/api/partner/payout/request", headers=headers, json={})
    assert api.status_code == 403
    assert api.get_json()["error"]["code"] == "email_unverified"
    assert app.test_client().get("/api/partner/profile", headers=headers) \
        .get_json()["email_verified"] is False
    with app.app_context():
        assert db.session.scalar(db.select(Payout.id).where(Payout.partner_id == pid)) is None
        token = account_email.verification_token(db.session.get(User, uid))
    assert client.get(f"/verify-email/{token}").status_code == 200
    ok = app.test_client().post("/api/partner/payout/request", headers=headers, json={})
    assert ok.status_code == 201, ok.get_json()


def test_resend_is_throttled(app, client, outbox, run_worker, monkeypatch):
    """The banner's resend sends a new link each time up to the limit; beyond it the
    partner gets a 429 page with the wait, and no further e-mail is queued."""
    monkeypatch.setitem(app.config, "VERIFY_RESEND_LIMIT", "2 per hour")
    with app.app_context():
        make_partner("Rae Resend", email="rae@example.com", verified=False)
    run_worker()
    outbox.clear()  # the e-mail of the registration itself
    login(client, "rae@example.com")
    dash = client.get("/partner/dashboard").get_data(as_text=True)
    assert 'action="/account/verify-email"' in dash
    for _ in range(2):
        token = csrf_from(client.get("/partner/dashboard").get_data(as_text=True))
        resp = client.post("/account/verify-email", data={"csrf_token": token})
        assert resp.status_code == 303
        assert "We sent a new verification link to rae@example.com" in \
            client.get("/partner/dashboard").get_data(as_text=True)
    token = csrf_from(client.get("/partner/dashboard").get_data(as_text=True))
    resp = client.post("/account/verify-email", data={"csrf_token": token})
    assert resp.status_code == 429
    assert 0 < int(resp.headers["Retry-After"]) <= 3601
    assert re.search(r"You asked for several verification e-mails just now\..*ask again in "
                     r"\d+ minutes?\.", resp.get_data(as_text=True))
    run_worker()
    assert len(outbox.messages("rae@example.com")) == 2


def test_staff_and_seeded_partners_count_as_verified(app, client):
    """Staff and partners made by the seed see no banner and may request payouts."""
    from core.accounts import email_links as account_email
    from core.accounts.users import create_staff

    with app.app_context():
        staff = create_staff("ops@example.com", PASSWORD, "Ops", ["support"])
        seeded = make_partner("Sid Seeded", email="sid@example.com")  # as seed-demo makes them
        db.session.commit()
        assert account_email.is_verified(staff) and staff.email_verified_at is not None
        assert account_email.is_verified(db.session.get(User, seeded.user_id))
    login(client, "sid@example.com")
    assert "Please verify your e-mail address" not in \
        client.get("/partner/dashboard").get_data(as_text=True)


def test_migration_counts_existing_accounts_as_verified(app):
    """Accounts that exist when the migration runs are verified by it (nobody already
    using the portal is suddenly refused a payout)."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    with app.app_context():
        db.session.remove()
        downgrade(revision="e5f6a7b8c9d0")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO users (email, name, password_hash, is_staff, roles, "
                "session_version, created_at) VALUES ('old@example.com', 'Old', 'x', "
                ":f, '', 1, CURRENT_TIMESTAMP)"), {"f": False})
        upgrade(revision="heads")
        user = db.session.scalar(db.select(User).where(User.email == "old@example.com"))
        assert user.email_verified_at is not None
        db.session.remove()


# --- password reset -----------------------------------------------------------------------

def ask_reset(client, email_addr):
    return submit(client, "/password/forgot", {"email": email_addr})


def test_forgot_password_answers_the_same_for_unknown_addresses(app, client, outbox,
                                                                run_worker):
    """"Forgot password?" is on the log-in page; asking for a known and an unknown address
    gives the same page (only the address differs); only the account gets an e-mail."""
    with app.app_context():
        make_partner("Kim Known", email="kim@example.com")
    assert 'href="/password/forgot"' in client.get("/login").get_data(as_text=True)
    known = ask_reset(client, "Kim@Example.com")
    unknown = ask_reset(app.test_client(), "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    k = known.get_data(as_text=True).replace("kim@example.com", "ADDR")
    u = unknown.get_data(as_text=True).replace("nobody@example.com", "ADDR")
    strip = re.compile(r'name="csrf_token" type="hidden" value="[^"]+"')
    assert strip.sub("", k) == strip.sub("", u)
    assert "If an account uses ADDR, we have sent it a link" in k
    run_worker()
    [msg] = outbox.messages()
    assert msg["To"] == "kim@example.com"
    assert msg["Subject"] == "Reset your SISO Partners password"
    text, html = parts(msg)
    assert "works once, for 60 minutes" in text and "/password/reset/" in html


def test_reset_sets_the_password_ends_other_sessions_and_dies(app, outbox, run_worker):
    """The link opens a form with the project's password rules (a common password is
    refused, nothing changes); a good password logs the person out everywhere (another
    browser and an API token), the old password stops working, the new one works, and
    the same link then says it was used already."""
    with app.app_context():
        make_partner("Rita Reset", email="rita@example.com")
    elsewhere = app.test_client()
    login(elsewhere, "rita@example.com")
    headers = api_token(app.test_client(), "rita@example.com")
    browser = app.test_client()
    ask_reset(browser, "rita@example.com")
    run_worker()
    path = link_in(outbox.messages()[0], "/password/reset/")
    form = browser.get(path)
    assert form.status_code == 200 and "Choose a new password" in form.get_data(as_text=True)
    weak = submit(browser, path, {"new_password": "password1234", "confirm": "password1234"})
    assert weak.status_code == 422
    assert "list of common passwords" in weak.get_data(as_text=True)
    assert login(app.test_client(), "rita@example.com").status_code == 302  # unchanged
    done = submit(browser, path, {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["Location"].endswith("/login")
    assert "Your password is changed and you are logged out everywhere" in \
        browser.get("/login").get_data(as_text=True)
    assert elsewhere.get("/partner/dashboard").status_code == 302  # to the log-in page
    assert app.test_client().get("/api/partner/profile", headers=headers).status_code == 401
    assert login(app.test_client(), "rita@example.com").status_code == 401
    assert login(app.test_client(), "rita@example.com", NEW_PASSWORD).status_code == 302
    reused = app.test_client().get(path)
    body = reused.get_data(as_text=True)
    assert reused.status_code == 400 and "was used already" in body
    assert "Ask for a new reset link" in body and "Nothing was changed." in body
    again = submit(app.test_client(), "/password/forgot", {"email": "x@example.com"},
                   post_url=path)
    assert again.status_code == 400
    assert login(app.test_client(), "rita@example.com", NEW_PASSWORD).status_code == 302


def test_expired_and_tampered_reset_links_change_nothing(app, client, monkeypatch):
    """A reset link older than an hour, or altered, is a 400 page with a way to ask for
    a new one, also when the form is posted; the password stays as it was."""
    from core.accounts import email_links as account_email

    with app.app_context():
        p = make_partner("Ed Expired", email="ed@example.com")
        user = db.session.get(User, p.user_id)
        old = token_made_ago(monkeypatch, 61 * 60, lambda: account_email.reset_token(user))
        good = account_email.reset_token(user)
    page = client.get(f"/password/reset/{old}")
    assert page.status_code == 400
    assert "has expired (links work for 1 hour)" in page.get_data(as_text=True)
    csrf = csrf_from(client.get("/password/forgot").get_data(as_text=True))
    for token in (old, good.replace(".", "x", 1), good[:20]):
        resp = client.post(f"/password/reset/{token}", data={
            "csrf_token": csrf, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert resp.status_code == 400
        assert 'href="/password/forgot"' in resp.get_data(as_text=True)
    assert login(app.test_client(), "ed@example.com").status_code == 302


def test_forgot_password_is_throttled_per_address(app, client, outbox, run_worker,
                                                  monkeypatch):
    """Past the limit for one address, "forgot" answers 429 with the wait, for a known
    and an unknown address alike; no more e-mails are queued."""
    monkeypatch.setitem(app.config, "RESET_LIMIT_PER_ACCOUNT", "2 per hour")
    with app.app_context():
        make_partner("Tia Throttle", email="tia@example.com")
    for addr in ("tia@example.com", "ghost@example.com"):
        for _ in range(2):
            assert ask_reset(client, addr).status_code == 200
        resp = ask_reset(client, addr)
        assert resp.status_code == 429
        assert int(resp.headers["Retry-After"]) > 0
        assert re.search(r"Too many password-reset requests\. For your security, ask again "
                         r"in \d+ minutes?\.", resp.get_data(as_text=True))
    run_worker()
    assert len(outbox.messages("tia@example.com")) == 2


# --- notifications --------------------------------------------------------------------------

def test_ticket_reply_email_honours_the_contact_preference(app, outbox, run_worker):
    """Support replies to two partners' tickets: the one with "E-mail me..." on gets an
    e-mail (both parts, the reply escaped in the HTML); the one who turned it off in the
    profile gets none, but both see the notice in the portal."""
    from core.program.profile import update_profile
    from core.support.tickets import open_ticket, reply

    with app.app_context():
        on = make_partner("Ona Optin", email="ona@example.com")
        off = make_partner("Otto Optout", email="otto@example.com")
        staff = make_staff("sup@example.com", ("support",))
        update_profile(off, {"notify_email": False})
        tickets = [open_ticket(p, "Where is my payout?", "Please check", "payouts")
                   for p in (on, off)]
        db.session.commit()
        for t in tickets:
            reply(staff, t, "Sent today <script>alert(1)</script> ref W-42")
        db.session.commit()
    run_worker()
    [msg] = outbox.messages()
    assert msg["To"] == "ona@example.com"
    assert msg["Subject"] == "Support replied: Where is my payout?"
    text, html = parts(msg)
    assert "Sent today <script>alert(1)</script> ref W-42" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert re.search(r"http://127\.0\.0\.1:5000/partner/support/\d+", text)
    assert "http://127.0.0.1:5000/partner/profile" in text
    for addr in ("ona@example.com", "otto@example.com"):
        reader = app.test_client()
        login(reader, addr)
        assert "Support replied: Where is my payout?" in \
            reader.get("/partner/notifications").get_data(as_text=True)


def test_what_matters_is_emailed_and_the_rest_is_not(app, outbox, run_worker):
    """Approval, commission approved, tier up, payout sent and payout failed each reach
    a verified partner's inbox; a new pending commission and an unverified partner's
    notices stay in the portal only."""
    from core.money.commissions import approve_commissions, confirm_deal
    from core.money.models import Commission
    from core.money.payouts import create_payout, fail_payout, mark_paid
    from core.program.leads import create_lead, move_lead
    from core.program.models import Partner
    from core.program.partners import approve_partner

    with app.app_context():
        staff = make_staff("fin@example.com", ("admin", "finance"))
        p = make_partner("Ana Applied", email="ana@example.com", status="applied")
        quiet = make_partner("Uma Unverified", email="uma@example.com", status="applied",
                             verified=False)
        approve_partner(p.id, staff.id)
        approve_partner(quiet.id, staff.id)
        for i in range(3):  # the 3rd confirmed deal promotes to Active
            lead = create_lead(p, {"company_name": f"Deal {i}"}, p.user_id)
            move_lead(lead, "won", p.user_id, 100000)
            confirm_deal(lead.id, staff.id)
        db.session.commit()
        approve_commissions(list(db.session.scalars(db.select(Commission.id).where(
            Commission.partner_id == p.id))), staff.id)
        db.session.commit()
        first = create_payout(p.id, p.user_id)
        fail_payout(first, "The bank refused the account number.", staff.id)
        db.session.commit()
        second = create_payout(p.id, p.user_id)
        second.status = "approved"  # as finance's approval would (its job is not the point)
        db.session.flush()
        mark_paid(second, "W-77", staff.id)
        db.session.commit()
        assert db.session.get(Partner, p.id).tier.key == "active"
        in_app = {n.kind for n in db.session.scalars(db.select(Notification).where(
            Notification.user_id == quiet.user_id))}
        assert in_app == {"approval"}
    run_worker()
    subjects = [m["Subject"] for m in outbox.messages("ana@example.com")]
    assert "Your application is approved" in subjects
    assert "3 commissions approved: $600.00" in subjects
    assert "You reached Active!" in subjects
    assert "Payout failed" in subjects and "Payout sent: $600.00" in subjects
    assert not [s for s in subjects if s.startswith("New ")]  # pending commissions
    assert len(subjects) == 5
    assert [m["Subject"] for m in outbox.messages("uma@example.com")] == \
        ["Confirm your e-mail address for SISO Partners"]
    for msg in outbox.messages("ana@example.com"):
        parts(msg)


def test_a_redelivered_job_sends_the_copy_once(app, outbox):
    """RQ delivers at least once: running the notification job twice sends one e-mail,
    and a partner who opted out after the notice was made gets none."""
    from core.base.jobs import set_app
    from core.community.notifications import notify, send_notification_email
    from core.program.models import Partner
    from core.program.profile import update_profile

    set_app(app)  # the job runs here, in this process, as RQ would run it
    with app.app_context():
        p = make_partner("Dee Dup", email="dee@example.com")
        n = notify(p.user_id, "tier_up", "You reached Performer!", "Base rate 25%.",
                   "/partner/tier-progression")
        late = notify(p.user_id, "payout", "Payout sent: $80.00", "", "/partner/earnings")
        db.session.commit()
        nid, late_id, pid = n.id, late.id, p.id
        update_profile(db.session.get(Partner, pid), {"notify_email": False})
        db.session.commit()
    # the opt-out came after the first notice was queued: the job checks again
    assert send_notification_email(late_id) == "skipped"
    with app.app_context():
        update_profile(db.session.get(Partner, pid), {"notify_email": True})
        db.session.commit()
    assert send_notification_email(nid) == "sent"
    assert send_notification_email(nid) == "already_sent"
    assert [m["Subject"] for m in outbox.messages()] == ["You reached Performer!"]


# --- transport ------------------------------------------------------------------------------

@pytest.fixture
def smtp_server(app):
    """A real SMTP server (aiosmtpd) on a free local port, and the app switched to SMTP
    as ``MAIL_SERVER`` would (then switched back)."""
    from aiosmtpd.controller import Controller

    from core.base.extensions import mail

    class Collect:
        def __init__(self):
            self.envelopes = []

        async def handle_DATA(self, server, session, envelope):
            self.envelopes.append(envelope)
            return "250 Message accepted for delivery"

    handler = Collect()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config[k] for k in ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS",
                                         "MAIL_BACKEND")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False,
                      MAIL_BACKEND="smtp")
    mail.init_app(app)
    try:
        yield handler
    finally:
        app.config.update(saved)
        mail.init_app(app)
        controller.stop()


def test_smtp_delivers_a_message_with_both_parts(app, smtp_server, outbox, run_worker):
    """With MAIL_SERVER set, the worker sends over SMTP: the server receives one message
    from the configured sender to the partner, with a plain-text and an HTML part; the
    outbox stays empty."""
    from core.community.notifications import notify

    with app.app_context():
        p = make_partner("Sam Smtp", email="sam@example.com")
        notify(p.user_id, "approval", "Your application is approved", "Welcome aboard.",
               "/partner/dashboard")
        db.session.commit()
    run_worker()
    [env] = smtp_server.envelopes
    assert env.rcpt_tos == ["sam@example.com"]
    assert env.mail_from == "partners@siso.example"
    msg = email.message_from_bytes(env.original_content, policy=email.policy.default)
    assert msg["Subject"] == "Your application is approved"
    text, html = parts(msg)
    assert "Welcome aboard." in text and "Welcome aboard." in html
    assert outbox.messages() == []


def test_mail_settings_from_the_environment(monkeypatch):
    """MAIL_SERVER switches to SMTP with the given port, login and TLS; without it mail
    goes to the outbox; STARTTLS and implicit TLS together are refused."""
    from core.base.config import OUTBOX_BACKEND, Config, mail_settings

    for name in ("MAIL_SERVER", "MAIL_PORT", "MAIL_USERNAME", "MAIL_PASSWORD",
                 "MAIL_USE_TLS", "MAIL_USE_SSL", "MAIL_DEFAULT_SENDER"):
        monkeypatch.delenv(name, raising=False)
    assert mail_settings(Config)["MAIL_BACKEND"] == OUTBOX_BACKEND
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.com")
    monkeypatch.setenv("MAIL_PORT", "2525")
    monkeypatch.setenv("MAIL_USERNAME", "apikey")
    monkeypatch.setenv("MAIL_DEFAULT_SENDER", "Partners <p@siso.example>")
    cfg = mail_settings(Config)
    assert (cfg["MAIL_BACKEND"], cfg["MAIL_PORT"], cfg["MAIL_USERNAME"], cfg["MAIL_USE_TLS"],
            cfg["MAIL_DEFAULT_SENDER"]) == ("smtp", 2525, "apikey", True,
                                            "Partners <p@siso.example>")
    monkeypatch.setenv("MAIL_USE_SSL", "1")
    assert mail_settings(Config)["MAIL_USE_TLS"] is False
    monkeypatch.setenv("MAIL_USE_TLS", "1")
    with pytest.raises(RuntimeError, match="not both"):
        mail_settings(Config)


def test_new_pages_carry_no_inline_script(app, client):
    """The CSP forbids inline script: the new pages use none (no <script> without src,
    no on*= handlers)."""
    from core.accounts import email_links as account_email

    with app.app_context():
        p = make_partner("Cy Csp", email="cy@example.com", verified=False)
        user = db.session.get(User, p.user_id)
        reset = account_email.reset_token(user)
        verify = account_email.verification_token(user)
    pages = [client.get("/password/forgot"), client.get(f"/password/reset/{reset}"),
             client.get("/password/reset/bad"), client.get("/verify-email/bad")]
    login(client, "cy@example.com")
    pages += [client.get("/partner/dashboard"), client.get(f"/verify-email/{verify}")]
    for resp in pages:
        html = resp.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), resp.request.path
        assert not re.search(r"\son[a-z]+\s*=", html), resp.request.path


def test_support_sends_a_locked_out_partner_a_reset_link(app, client, outbox, run_worker):
    """Rita calls support: they press "Send password reset e-mail" on her profile; the
    link reaches her own address only (support never sees it), and it is audited. A
    content user may not, and a suspended partner gets none."""
    from core.base.models import AuditLog
    from core.program.models import Partner

    with app.app_context():
        rita = make_partner("Rita Reset", email="rita@example.com")
        gone = make_partner("Sam Suspended", email="sam@example.com", status="suspended")
        make_staff("support@example.com", roles=("support",))
        make_staff("content@example.com", roles=("content",))
        rita_id, gone_id = rita.id, gone.id
    login(client, "support@example.com")
    page = client.get(f"/admin/partners/profile/{rita_id}").get_data(as_text=True)
    assert "Send password reset e-mail" in page
    resp = submit(client, f"/admin/partners/profile/{rita_id}", {},
                  post_url=f"/admin/partners/profile/{rita_id}/reset-password", prefix="pw-")
    assert resp.status_code == 302
    after = client.get(f"/admin/partners/profile/{rita_id}").get_data(as_text=True)
    assert "A password reset link is on its way" in after
    assert "/password/reset/" not in after
    run_worker()
    [msg] = outbox.messages()
    assert msg["To"] == "rita@example.com"
    assert link_in(msg, "/password/reset/")
    with app.app_context():
        assert db.session.scalar(db.select(AuditLog.id).where(
            AuditLog.action == "user.password_reset_sent",
            AuditLog.object_id == rita_id)) is not None
    assert "Send password reset e-mail" not in client.get(
        f"/admin/partners/profile/{gone_id}").get_data(as_text=True)
    refused = submit(client, f"/admin/partners/profile/{rita_id}", {},
                     post_url=f"/admin/partners/profile/{gone_id}/reset-password", prefix="pw-")
    assert refused.status_code == 302
    assert "suspended" in client.get(f"/admin/partners/profile/{gone_id}").get_data(
        as_text=True)
    content = app.test_client()
    login(content, "content@example.com")
    token = csrf_from(content.get("/account/password").get_data(as_text=True))
    assert content.post(f"/admin/partners/profile/{rita_id}/reset-password",
                        data={"pw-csrf_token": token}).status_code == 403
    run_worker()
    assert len(outbox.messages()) == 1
    with app.app_context():
        assert db.session.get(Partner, gone_id).status == "suspended"


# --- registration that tells nothing about who has an account ---------------------------

def test_registration_answers_the_same_for_a_new_and_a_known_address(app, outbox,
                                                                     run_worker):
    """Applying with a new address and with one that has an account gives the same
    status and the same words (page and API); the known address's owner gets an e-mail
    saying someone tried, nothing about the account changes, and the newcomer gets the
    verification link."""
    with app.app_context():
        make_partner("Kim Known", email="kim@example.com")
        before = db.session.scalar(db.select(User).where(User.email == "kim@example.com"))
        before = (before.password_hash, before.name, before.session_version)

    def page(addr):
        return submit(app.test_client(), "/partner/register", {
            "name": "Someone", "email": addr, "password": PASSWORD, "accept_terms": "y"})

    def api(addr):
        return app.test_client().post("/api/auth/partner/register", json={
            "email": addr, "password": PASSWORD, "name": "Someone", "accept_terms": True})

    def words(resp, addr):  # the page as read, without its per-session CSRF tokens
        return re.sub(r'(csrf[^>]*value=")[^"]*"', r"\1", resp.get_data(as_text=True)
                      ).replace(addr, "X@example.com")

    known, new = page("kim@example.com"), page("newbie@example.com")
    assert known.status_code == new.status_code == 200
    assert words(known, "kim@example.com") == words(new, "newbie@example.com")
    assert "We sent a message to kim@example.com" in known.get_data(as_text=True)
    known, new = api("KIM@example.com"), api("newbie2@example.com")
    assert known.status_code == new.status_code == 202
    assert known.get_json()["message"].replace("kim@", "X@") == \
        new.get_json()["message"].replace("newbie2@", "X@")
    run_worker()
    to_kim = outbox.messages("kim@example.com")
    assert [m["Subject"] for m in to_kim] == ["You already have a SISO Partners account"] * 2
    text, _ = parts(to_kim[0])
    assert "Hi Kim Known," in text and "/password/forgot" in text and "/login" in text
    assert [m["Subject"] for m in outbox.messages("newbie@example.com")] == [
        "Confirm your e-mail address for SISO Partners"]
    with app.app_context():
        kim = db.session.scalar(db.select(User).where(User.email == "kim@example.com"))
        assert (kim.password_hash, kim.name, kim.session_version) == before
        assert db.session.scalar(db.select(db.func.count()).select_from(User).where(
            User.email.like("kim%"))) == 1


def test_registration_is_throttled_per_client_address(app, monkeypatch):
    """Past ``REGISTER_LIMIT_PER_IP`` applications from one address (every attempt counts,
    new or known address, page or API), the next is a 429 with the wait and creates
    nothing; another address can still apply."""
    monkeypatch.setitem(app.config, "REGISTER_LIMIT_PER_IP", "3 per hour")
    client = app.test_client()

    def api(addr, ip="10.0.0.7"):
        return client.post("/api/auth/partner/register", environ_base={"REMOTE_ADDR": ip},
                           json={"email": addr, "password": PASSWORD, "name": "Flood",
                                 "accept_terms": True})

    assert [api(f"flood{i}@example.com").status_code for i in range(3)] == [202] * 3
    resp = api("flood3@example.com")
    assert resp.status_code == 429 and 0 < int(resp.headers["Retry-After"]) <= 3601
    assert resp.get_json()["error"]["code"] == "too_many_attempts"
    assert "Too many applications" in resp.get_json()["error"]["message"]
    page = client.get("/partner/register", environ_base={"REMOTE_ADDR": "10.0.0.7"})
    resp = client.post("/partner/register", environ_base={"REMOTE_ADDR": "10.0.0.7"}, data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "name": "Flood",
        "email": "flood4@example.com", "password": PASSWORD, "accept_terms": "y"})
    assert resp.status_code == 429
    assert "Too many applications" in resp.get_data(as_text=True)
    assert api("other@example.com", ip="10.0.0.8").status_code == 202
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User).where(
            User.email.like("flood%"))) == 3
