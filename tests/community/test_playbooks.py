"""The playbook library (rules: "Playbooks"; "share what works", "Basic Playbook
Library"): what a partner on a phone and a content staff member would check. Real
database (SQLite, or PostgreSQL with TEST_DATABASE_URL), real Redis; no mocks."""

import re
import threading

import pytest
from conftest import api_token, csrf_from, login, make_partner, make_staff, submit
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from core.accounts.models import User
from core.base.errors import Forbidden, ValidationError
from core.base.extensions import db
from core.base.models import AuditLog
from core.community import playbooks
from core.community.models import Notification, Playbook, PlaybookUpvote

BODY = ("Open with the problem you saw on their phone, not with our portfolio. "
        "Then ask for fifteen minutes, never for the sale.")


@pytest.fixture
def people(app):
    """Content staff Cleo; partners Ann (who shares) and Ben (who reads); an applied
    partner Pia. Returns their user ids."""
    with app.app_context():
        cleo = make_staff("cleo@example.com", ("content",))
        ann = make_partner("Ann Author", email="ann@example.com")
        ben = make_partner("Ben Reader", email="ben@example.com")
        pia = make_partner("Pia Pending", email="pia@example.com", status="applied")
        ids = {"cleo": cleo.id, "ann": ann.user_id, "ben": ben.user_id, "pia": pia.user_id}
        db.session.remove()
    return ids


def user(uid: int) -> User:
    return db.session.get(User, uid)


def staff_playbook(cleo_id: int, title: str, body: str = BODY, industry="Any industry",
                   kind="script", status="published") -> int:
    """A playbook content staff wrote (in an app context); returns its id."""
    pb = playbooks.save_playbook(user(cleo_id), None, title=title, industry=industry,
                                 kind=kind, body=body, status=status)
    db.session.commit()
    return pb.id


def partner_playbook(uid: int, title: str = "My opener for dentists", body: str = BODY,
                     industry="Health & dental") -> int:
    pb = playbooks.submit_playbook(user(uid), title, industry, "script", body)
    db.session.commit()
    return pb.id


def client_for(app, email: str):
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def counts(app) -> dict:
    with app.app_context():
        out = {m.__tablename__: db.session.scalar(select(func.count()).select_from(m))
               for m in (Playbook, PlaybookUpvote, AuditLog, Notification)}
        db.session.remove()
    return out


def review(app, client, playbook_id: int, decision: str, note: str = ""):
    """Publish or reject from the back office's review queue, as the page's form does
    (the CSRF token from the queue, or from another form once the queue is empty)."""
    page = client.get("/admin/playbook-review/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    if "csrf_token" not in html:
        html = client.get("/account/password").get_data(as_text=True)
    return client.post(f"/admin/playbook-review/{playbook_id}/{decision}",
                       data={"csrf_token": csrf_from(html), "note": note})


# --- search -------------------------------------------------------------------------------

def test_search_finds_body_text_and_filters_by_industry(app, people):
    """Searching "VALUATION" finds the estate agents' playbook by a word of its body (any
    case); the industry chips keep only that industry; drafts, submissions and other
    industries never show; % and _ in the search box are plain characters."""
    with app.app_context():
        agents = staff_playbook(people["cleo"], "Estate agents: own your leads",
                                BODY + " Ask how many valuation requests came in last month.",
                                industry="Real estate", kind="playbook")
        menus = staff_playbook(people["cleo"], "Restaurants: the PDF menu fix",
                               BODY + " A PDF menu is slow on a phone: 100% of owners agree.",
                               industry="Restaurants & hospitality")
        staff_playbook(people["cleo"], "Draft about valuation", BODY + " valuation",
                       industry="Real estate", status="draft")
        partner_playbook(people["ann"], "Valuation tips, waiting", BODY + " valuation",
                         industry="Real estate")

        def titles(**kw):
            return [pb.title for pb in playbooks.list_published(**kw)["items"]]

        assert titles(query="VALUATION") == ["Estate agents: own your leads"]
        assert titles(query="valuation requests") == ["Estate agents: own your leads"]
        assert titles(query="valuation menu") == []  # every word must appear
        assert titles(query="pdf", industry="Restaurants & hospitality") == [
            "Restaurants: the PDF menu fix"]
        assert titles(query="valuation", industry="Restaurants & hospitality") == []
        assert titles(industry="Real estate") == ["Estate agents: own your leads"]
        assert titles(query="100%") == ["Restaurants: the PDF menu fix"]
        assert titles(query="%") == ["Restaurants: the PDF menu fix"]
        assert titles(query="_") == []
        assert set(titles()) == {"Estate agents: own your leads",
                                 "Restaurants: the PDF menu fix"}
        with pytest.raises(ValidationError):
            playbooks.list_published(industry="Space mining")
        db.session.remove()

    ben = client_for(app, "ben@example.com")
    html = ben.get("/partner/playbooks?q=Valuation&industry=Real+estate").get_data(as_text=True)
    assert f'data-playbook-id="{agents}"' in html and f'data-playbook-id="{menus}"' not in html
    assert "1 playbook for “Valuation” · Real estate" in html
    headers = api_token(app.test_client(), "ben@example.com")
    body = ben.get("/api/partner/playbooks?q=valuation&industry=Real estate",
                   headers=headers).get_json()
    assert [i["id"] for i in body["items"]] == [agents] and body["total"] == 1
    assert body["items"][0]["excerpt"].startswith("Open with the problem")
    bad = ben.get("/api/partner/playbooks?industry=Space+mining", headers=headers)
    assert bad.status_code == 422 and "industry" in bad.get_json()["error"]["message"]
    # the page ignores an unknown industry instead of failing
    assert ben.get("/partner/playbooks?industry=Space+mining&sort=bogus&page=x").status_code == 200


def test_sort_by_upvotes_or_newest_and_pages(app, people):
    """"Top upvoted" puts the most upvoted first, "Newest" the last published; the list
    pages by 20 with a next link, and its query count does not grow with the rows."""
    with app.app_context():
        ids = [staff_playbook(people["cleo"], f"Script number {n:02d}") for n in range(25)]
        playbooks.set_upvote(user(people["ben"]), ids[3], True)
        playbooks.set_upvote(user(people["ann"]), ids[3], True)
        playbooks.set_upvote(user(people["ann"]), ids[7], True)
        db.session.commit()
        top = playbooks.list_published(sort="top")
        assert [pb.id for pb in top["items"][:3]] == [ids[3], ids[7], ids[24]]
        assert top["total"] == 25 and top["next_offset"] == 20
        new = playbooks.list_published(sort="new", offset=20)
        assert [pb.id for pb in new["items"]] == ids[4::-1] and new["next_offset"] is None
        db.session.remove()
    ben = client_for(app, "ben@example.com")
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        html = ben.get("/partner/playbooks").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert html.count("data-playbook-id=") == 20 and 'rel="next"' in html
    assert len(statements) <= 12, statements  # fixed: session, user, count, rows, votes...
    page2 = ben.get("/partner/playbooks?page=2").get_data(as_text=True)
    assert page2.count("data-playbook-id=") == 5 and 'rel="prev"' in page2


# --- sharing and review -----------------------------------------------------------------

def test_partner_submission_is_invisible_to_others_until_published(app, people):
    """Ann shares a script from the form on her phone; until content staff publish it only
    she sees it (with "Waiting for review"); Ben gets 404 on the page, the API and the
    upvote, and search does not find it. Publishing shows it to Ben, tells Ann, and is
    in the audit log."""
    ann = client_for(app, "ann@example.com")
    resp = submit(ann, "/partner/playbooks/new", {
        "title": "Dentists: the 9 pm booking question", "industry": "Health & dental",
        "kind": "script", "body": BODY + " Ask what happens when someone books at 9 pm."})
    assert resp.status_code == 303
    pid = int(resp.headers["Location"].rsplit("/", 1)[1])
    page = ann.get(f"/partner/playbooks/{pid}").get_data(as_text=True)
    assert "Waiting for review" in page and "9 pm booking question" in page
    assert 'name="vote"' not in page  # nothing to upvote, and never one's own
    mine = ann.get("/partner/playbooks").get_data(as_text=True)
    assert "My submissions" in mine and "Waiting for review" in mine

    ben = client_for(app, "ben@example.com")
    headers = api_token(app.test_client(), "ben@example.com")
    assert ben.get(f"/partner/playbooks/{pid}").status_code == 404
    assert ben.get(f"/api/partner/playbooks/{pid}", headers=headers).status_code == 404
    assert ben.post(f"/api/partner/playbooks/{pid}/upvote", headers=headers,
                    json={"upvoted": True}).status_code == 404
    assert "9 pm" not in ben.get("/partner/playbooks?q=booking").get_data(as_text=True)
    assert ben.get("/api/partner/playbooks?q=booking", headers=headers).get_json()["total"] == 0

    cleo = client_for(app, "cleo@example.com")
    queue = cleo.get("/admin/playbook-review/").get_data(as_text=True)
    assert "9 pm booking question" in queue and "1 waiting" in queue
    assert review(app, cleo, pid, "publish", "Thanks, Ann!").status_code == 302
    assert "Nothing waits for review" in cleo.get("/admin/playbook-review/").get_data(
        as_text=True)

    assert ben.get(f"/partner/playbooks/{pid}").status_code == 200
    found = ben.get("/api/partner/playbooks?q=booking", headers=headers).get_json()
    assert [i["id"] for i in found["items"]] == [pid]
    assert found["items"][0]["author"] == "Ann Author" and "review_note" not in found["items"][0]
    with app.app_context():
        note = db.session.scalar(select(Notification).where(
            Notification.user_id == people["ann"], Notification.kind == "playbook"))
        assert note.title == "Your playbook is published: Dentists: the 9 pm booking question"
        assert note.body == "Thanks, Ann!" and note.url == f"/partner/playbooks/{pid}"
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "playbook.publish"))
        assert (row.actor_id, row.object_type, row.object_id) == (people["cleo"], "playbook",
                                                                 pid)
        pb = db.session.get(Playbook, pid)
        assert pb.reviewed_by_id == people["cleo"] and pb.published_at.tzinfo is not None
        db.session.remove()
    # a second reviewer clicking afterwards decides nothing
    review(app, cleo, pid, "reject", "Too late, it is out")
    with app.app_context():
        assert db.session.get(Playbook, pid).status == "published"


def test_reject_shows_the_note_to_the_author(app, people):
    """Cleo rejects Ann's playbook with a note: Ann reads the note on the playbook, in "My
    submissions", in the API and in her notification; Ben still gets 404. Rejecting
    without a note is refused and changes nothing."""
    with app.app_context():
        pid = partner_playbook(people["ann"])
    cleo = client_for(app, "cleo@example.com")
    resp = review(app, cleo, pid, "reject", "")
    assert resp.status_code == 302
    flashed = cleo.get("/admin/playbook-review/").get_data(as_text=True)
    assert "Say why in a note" in flashed
    with app.app_context():
        assert db.session.get(Playbook, pid).status == "submitted"
        db.session.remove()
    why = "Please add what you say after they agree to a call & <how> you follow up."
    review(app, cleo, pid, "reject", why)

    ann = client_for(app, "ann@example.com")
    escaped = "Please add what you say after they agree to a call &amp; &lt;how&gt; you follow up."
    page = ann.get(f"/partner/playbooks/{pid}").get_data(as_text=True)
    assert "Not published" in page and escaped in page
    assert escaped in ann.get("/partner/playbooks").get_data(as_text=True)
    headers = api_token(app.test_client(), "ann@example.com")
    mine = ann.get("/api/partner/playbooks/submissions", headers=headers).get_json()["items"]
    assert [(i["id"], i["status"], i["review_note"]) for i in mine] == [(pid, "rejected", why)]
    ben = client_for(app, "ben@example.com")
    assert ben.get(f"/partner/playbooks/{pid}").status_code == 404
    with app.app_context():
        note = db.session.scalar(select(Notification).where(
            Notification.user_id == people["ann"], Notification.kind == "playbook"))
        assert note.title.startswith("Your playbook was not published") and note.body == why
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "playbook.reject")) == 1


def test_staff_write_playbooks_directly(app, people):
    """Content staff write a playbook in the back office: published ones reach partners
    at once, drafts stay hidden until published; other staff cannot write one."""
    cleo = client_for(app, "cleo@example.com")
    form = cleo.get("/admin/playbooks/new/").get_data(as_text=True)
    for status, title in (("published", "Trades: the missed-calls opener"),
                          ("draft", "Gyms: a script still being written")):
        resp = cleo.post("/admin/playbooks/new/", data={
            "csrf_token": csrf_from(form), "title": title, "industry": "Trades & home services",
            "kind": "script", "body": BODY, "status": status})
        assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        rows = {pb.title: pb for pb in db.session.scalars(select(Playbook))}
        live, draft = rows["Trades: the missed-calls opener"], rows[
            "Gyms: a script still being written"]
        assert (live.status, live.author_id, draft.status) == ("published", people["cleo"],
                                                               "draft")
        live_id, draft_id = live.id, draft.id
        db.session.remove()
    ben = client_for(app, "ben@example.com")
    assert "by SISO team" in ben.get(f"/partner/playbooks/{live_id}").get_data(as_text=True)
    assert ben.get(f"/partner/playbooks/{draft_id}").status_code == 404
    edit = cleo.get(f"/admin/playbooks/edit/?id={draft_id}").get_data(as_text=True)
    cleo.post(f"/admin/playbooks/edit/?id={draft_id}", data={
        "csrf_token": csrf_from(edit), "title": "Gyms: the free-trial script",
        "industry": "Any industry", "kind": "script", "body": BODY, "status": "published"})
    assert "Gyms: the free-trial script" in ben.get(f"/partner/playbooks/{draft_id}").get_data(
        as_text=True)
    with app.app_context():
        actions = list(db.session.scalars(select(AuditLog.action).where(
            AuditLog.object_type == "playbook").order_by(AuditLog.id)))
        assert actions == ["playbook.create", "playbook.create", "playbook.update"]
        sue = make_staff("sue@example.com", ("support",))
        with pytest.raises(Forbidden):
            playbooks.save_playbook(sue, None, title="Not mine to write",
                                    industry="Any industry", kind="script", body=BODY,
                                    status="published")


# --- upvotes -------------------------------------------------------------------------------

def test_upvote_toggles_and_cannot_be_doubled(app, people):
    """Ben upvotes with the button (a plain form, no JavaScript): 1; sending the same
    form again keeps 1; taking it back: 0. Over the API an empty body toggles and
    {"upvoted": true} twice counts once. The count always equals the rows."""
    with app.app_context():
        pid = staff_playbook(people["cleo"], "Follow-up e-mail after the first call")
    ben = client_for(app, "ben@example.com")
    page = ben.get(f"/partner/playbooks/{pid}").get_data(as_text=True)
    assert 'aria-pressed="false"' in page and 'value="up"' in page
    token = csrf_from(page)
    resp = ben.post(f"/partner/playbooks/{pid}/upvote", data={"csrf_token": token, "vote": "up"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/{pid}#upvote")
    page = ben.get(f"/partner/playbooks/{pid}").get_data(as_text=True)
    assert 'aria-pressed="true"' in page and '<strong id="upvote-count">1</strong>' in page
    ben.post(f"/partner/playbooks/{pid}/upvote", data={"csrf_token": token, "vote": "up"})
    assert '<strong id="upvote-count">1</strong>' in ben.get(
        f"/partner/playbooks/{pid}").get_data(as_text=True)
    ben.post(f"/partner/playbooks/{pid}/upvote", data={"csrf_token": token, "vote": "down"})
    assert '<strong id="upvote-count">0</strong>' in ben.get(
        f"/partner/playbooks/{pid}").get_data(as_text=True)
    assert ben.post(f"/partner/playbooks/{pid}/upvote", data={"vote": "up"}).status_code == 400

    headers = api_token(app.test_client(), "ben@example.com")
    url = f"/api/partner/playbooks/{pid}/upvote"
    assert ben.post(url, headers=headers).get_json() == {"id": pid, "upvoted": True,
                                                          "upvote_count": 1}
    assert ben.post(url, headers=headers).get_json()["upvote_count"] == 0
    for _ in range(2):
        assert ben.post(url, headers=headers, json={"upvoted": True}).get_json() == {
            "id": pid, "upvoted": True, "upvote_count": 1}
    ann_headers = api_token(app.test_client(), "ann@example.com")
    assert ben.post(url, headers=ann_headers, json={"upvoted": True}).get_json()[
        "upvote_count"] == 2
    bad = ben.post(url, headers=headers, json={"upvoted": "yes"})
    assert bad.status_code == 422 and "true or false" in bad.get_json()["error"]["message"]
    detail = ben.get(f"/api/partner/playbooks/{pid}", headers=headers).get_json()
    assert (detail["upvoted"], detail["upvote_count"]) == (True, 2)
    with app.app_context():
        rows = db.session.scalar(select(func.count()).select_from(PlaybookUpvote).where(
            PlaybookUpvote.playbook_id == pid))
        assert rows == db.session.get(Playbook, pid).upvote_count == 2


def test_one_upvote_per_partner_is_a_database_rule(app, people):
    """The database itself refuses a second upvote row for the same partner and
    playbook (the unique constraint every upvote relies on)."""
    with app.app_context():
        pid = staff_playbook(people["cleo"], "Cold-call opener: the website check")
        db.session.add(PlaybookUpvote(playbook_id=pid, user_id=people["ben"]))
        db.session.commit()
        db.session.add(PlaybookUpvote(playbook_id=pid, user_id=people["ben"]))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_concurrent_double_upvote_counts_once(app, people):
    """Ben double-taps on two devices at the same moment: one upvote, count 1; Ann and Ben
    upvoting at the same moment: count 2. (Threads with their own connections; on
    PostgreSQL the requests really overlap, on SQLite its write lock queues them.)"""
    with app.app_context():
        pid = staff_playbook(people["cleo"], "Objections: price, timing, nephew")
        db.session.remove()

    def race(uids):
        barrier = threading.Barrier(len(uids), timeout=20)
        results = []

        def tap(uid):
            with app.app_context():
                try:
                    actor = db.session.get(User, uid)
                    actor.partner  # noqa: B018  (load before the race)
                    barrier.wait()
                    results.append(playbooks.set_upvote(actor, pid, True))
                    db.session.commit()
                except Exception as exc:  # reported by the assertion below
                    db.session.rollback()
                    results.append(repr(exc))
                finally:
                    db.session.remove()

        threads = [threading.Thread(target=tap, args=(u,)) for u in uids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        return results

    results = race([people["ben"], people["ben"]])
    assert all(isinstance(r, dict) and r["upvoted"] for r in results), results
    with app.app_context():
        assert db.session.get(Playbook, pid).upvote_count == 1
        assert db.session.scalar(select(func.count()).select_from(PlaybookUpvote)) == 1
        db.session.remove()
    results = race([people["ann"], people["ann"], people["ben"]])
    assert all(isinstance(r, dict) for r in results), results
    with app.app_context():
        assert db.session.get(Playbook, pid).upvote_count == 2
        assert db.session.scalar(select(func.count()).select_from(PlaybookUpvote)) == 2


def test_own_playbook_upvote_is_refused(app, people):
    """Ann cannot upvote her own published playbook: the API answers 403 own_playbook with
    a sentence, the page has no button and a crafted form gets the 403 page; the count
    stays 0. An applied partner reads but cannot upvote or share."""
    with app.app_context():
        pid = partner_playbook(people["ann"])
        playbooks.review_playbook(user(people["cleo"]), pid, "publish")
        db.session.commit()
    headers = api_token(app.test_client(), "ann@example.com")
    ann = client_for(app, "ann@example.com")
    resp = ann.post(f"/api/partner/playbooks/{pid}/upvote", headers=headers,
                    json={"upvoted": True})
    assert resp.status_code == 403
    assert resp.get_json()["error"] == {"code": "own_playbook",
                                        "message": "You cannot upvote your own playbook."}
    page = ann.get(f"/partner/playbooks/{pid}").get_data(as_text=True)
    assert 'name="vote"' not in page and "upvoted your playbook" in page
    crafted = ann.post(f"/partner/playbooks/{pid}/upvote",
                       data={"csrf_token": csrf_from(page), "vote": "up"})
    assert crafted.status_code == 403 and "cannot upvote your own" in crafted.get_data(
        as_text=True)
    with app.app_context():
        assert db.session.get(Playbook, pid).upvote_count == 0

    pia = client_for(app, "pia@example.com")
    assert pia.get(f"/partner/playbooks/{pid}").status_code == 200  # reading is open
    sharing = pia.get("/partner/playbooks/new")                   # sharing is not
    assert sharing.status_code == 403
    assert "opens when your application is approved" in sharing.get_data(as_text=True)
    pia_headers = api_token(app.test_client(), "pia@example.com")
    refused = pia.post(f"/api/partner/playbooks/{pid}/upvote", headers=pia_headers)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "not_approved"


# --- bad input, markup, access ---------------------------------------------------------------

def test_bad_input_is_refused_with_a_message_and_nothing_changes(app, people):
    """A too-short title, an unknown industry, an oversized or too-short body, control
    characters and a non-JSON body are each refused (422 with a sentence naming the
    field, 400 for non-JSON) over the API and the form, and no row is added; a sixth
    submission while five wait for review is 409 too_many_pending."""
    headers = api_token(app.test_client(), "ann@example.com")
    client = app.test_client()
    ann = client_for(app, "ann@example.com")
    good = {"title": "Gyms: the free-trial script", "industry": "Any industry",
            "kind": "script", "body": BODY}
    before = counts(app)
    cases = [({"title": "Hey"}, "Title must be 5 to 120"),
             ({"title": "x" * 121}, "Title must be 5 to 120"),
             ({"title": "Two\nlines here"}, "one line"),
             ({"industry": "Space mining"}, "Choose an industry"),
             ({"kind": "poem"}, "sales script or a playbook"),
             ({"body": "Too short."}, "at least 50"),
             ({"body": "x" * 20_001}, "at most 20,000"),
             ({"body": BODY + "\x07"}, "control characters"),
             ({"title": 12345}, "Title must be text")]
    for change, message in cases:
        resp = client.post("/api/partner/playbooks", headers=headers, json={**good, **change})
        assert resp.status_code == 422, (change, resp.get_json())
        assert message in resp.get_json()["error"]["message"], (change, resp.get_json())
    # NUL is refused for every request before any view runs (web.app.create_app)
    resp = client.post("/api/partner/playbooks", headers=headers,
                       json={**good, "body": BODY + "\x00"})
    assert resp.status_code == 400 and "NUL" in resp.get_json()["error"]["message"]
    resp = client.post("/api/partner/playbooks", headers=headers, data="title=x")
    assert resp.status_code == 400
    assert client.get("/api/partner/playbooks?q=" + "x" * 101, headers=headers).status_code == 422
    assert client.get("/api/partner/playbooks?q=a%07b", headers=headers).status_code == 422
    assert client.get("/api/partner/playbooks?q=a%00b", headers=headers).status_code == 400

    form = {**good, "title": "Hey"}
    resp = submit(ann, "/partner/playbooks/new", form)
    assert resp.status_code == 422 and "Field must be between 5 and 120" in resp.get_data(
        as_text=True)
    resp = submit(ann, "/partner/playbooks/new", {**good, "industry": "Space mining"})
    assert resp.status_code == 422 and "Not a valid choice" in resp.get_data(as_text=True)
    resp = submit(ann, "/partner/playbooks/new", {**good, "body": "x" * 20_001})
    assert resp.status_code == 422 and "between 50 and 20000" in resp.get_data(as_text=True)
    resp = submit(ann, "/partner/playbooks/new", {**good, "body": " " * 40 + "x" * 20})
    assert resp.status_code == 422 and "Write at least 50" in resp.get_data(as_text=True)
    assert counts(app) == before

    for n in range(playbooks.MAX_PENDING):
        assert client.post("/api/partner/playbooks", headers=headers,
                           json={**good, "title": f"Script {n} for gyms"}).status_code == 201
    sixth = client.post("/api/partner/playbooks", headers=headers, json=good)
    assert sixth.status_code == 409 and sixth.get_json()["error"]["code"] == "too_many_pending"
    resp = submit(ann, "/partner/playbooks/new", good)
    assert resp.status_code == 422 and "waiting for review" in resp.get_data(as_text=True)
    assert counts(app)["playbooks"] == before["playbooks"] + playbooks.MAX_PENDING


XSS_TITLE = "<script>alert('t')</script> Openers"
XSS_BODY = (BODY + "\n\n<script>alert('b')</script>\n\n<img src=x onerror=alert(1)>\n\n"
            "[click me](javascript:alert(2)) and <a href=\"javascript:alert(3)\">raw</a>\n\n"
            "[a real link](https://siso.example/case-study)")


def test_markup_in_title_and_body_is_escaped_or_removed(app, people):
    """A partner's title and body full of HTML and javascript: links: the library, the
    playbook page, the review queue and the API's body_html show it as text or drop it;
    the safe Markdown (a real https link) still works."""
    with app.app_context():
        pid = partner_playbook(people["ann"], XSS_TITLE, XSS_BODY, industry="Any industry")
    cleo = client_for(app, "cleo@example.com")
    queue = cleo.get("/admin/playbook-review/").get_data(as_text=True)
    review(app, cleo, pid, "publish")
    ben = client_for(app, "ben@example.com")
    headers = api_token(app.test_client(), "ben@example.com")
    pages = {"queue": queue, "list": ben.get("/partner/playbooks").get_data(as_text=True),
             "page": ben.get(f"/partner/playbooks/{pid}").get_data(as_text=True),
             "admin list": cleo.get("/admin/playbooks/").get_data(as_text=True),
             "api": ben.get(f"/api/partner/playbooks/{pid}", headers=headers).get_json()[
                 "body_html"]}
    for name, html in pages.items():
        assert "<script>alert" not in html, name
        assert "onerror=" not in html.replace("onerror=alert(1)&gt;", ""), name
        assert not re.search(r"<a\b[^>]*javascript:alert", html), name  # as text only
    for name in ("list", "page", "admin list"):
        assert "&lt;script&gt;alert(" in pages[name], name
    assert '<a href="https://siso.example/case-study" rel="noopener noreferrer nofollow">' \
           'a real link</a>' in pages["page"]


def test_partners_cannot_reach_the_review_screens(app, people):
    """A partner (and support staff, who do not run content) get 403 on the back office's
    playbook screens, also posting a publish with a valid CSRF token; the playbook stays
    waiting."""
    with app.app_context():
        pid = partner_playbook(people["ann"])
        make_staff("sue@example.com", ("support",))
    for email in ("ann@example.com", "sue@example.com"):
        c = client_for(app, email)
        token = csrf_from(c.get("/account/password").get_data(as_text=True))
        assert c.get("/admin/playbook-review/").status_code == 403, email
        assert c.get("/admin/playbooks/").status_code == 403, email
        assert c.post(f"/admin/playbook-review/{pid}/publish",
                      data={"csrf_token": token}).status_code == 403, email
    headers = api_token(app.test_client(), "sue@example.com", kind="staff")
    assert app.test_client().get("/api/partner/playbooks", headers=headers).status_code == 403
    with app.app_context():
        assert db.session.get(Playbook, pid).status == "submitted"
        with pytest.raises(Forbidden):
            playbooks.review_playbook(user(people["ann"]), pid, "publish")


def test_foreign_and_impossible_ids_are_not_found(app, people):
    """Another partner's waiting or rejected playbook, a staff draft, an unknown id and
    an id too big for the database are all the same 404, on the page, the API and the
    upvote; the author opens her own."""
    with app.app_context():
        waiting = partner_playbook(people["ann"])
        rejected = partner_playbook(people["ann"], "A rejected opener")
        playbooks.review_playbook(user(people["cleo"]), rejected, "reject", "Not yet, sorry")
        draft = staff_playbook(people["cleo"], "A staff draft", status="draft")
        db.session.commit()
    ben = client_for(app, "ben@example.com")
    headers = api_token(app.test_client(), "ben@example.com")
    token = csrf_from(ben.get("/partner/playbooks").get_data(as_text=True))
    for pid in (waiting, rejected, draft, 999_999, 10**12):
        assert ben.get(f"/partner/playbooks/{pid}").status_code == 404, pid
        assert ben.get(f"/api/partner/playbooks/{pid}", headers=headers).status_code == 404
        assert ben.post(f"/partner/playbooks/{pid}/upvote",
                        data={"csrf_token": token}).status_code == 404, pid
        assert ben.post(f"/api/partner/playbooks/{pid}/upvote",
                        headers=headers).status_code == 404, pid
    ann = client_for(app, "ann@example.com")
    assert ann.get(f"/partner/playbooks/{rejected}").status_code == 200
    assert ann.get(f"/partner/playbooks/{draft}").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PlaybookUpvote)) == 0


def test_demo_seed_has_the_essential_scripts(ctx):
    """The demo data holds 5-10 published staff scripts across industries (seed 003), a
    partner's published playbook with upvotes and one submission waiting for review."""
    from core.seed.demo import seed_demo

    seed_demo()
    db.session.commit()
    rows = list(db.session.scalars(select(Playbook).order_by(Playbook.id)))
    staff = [pb for pb in rows if pb.author.is_staff]
    assert 5 <= len(staff) <= 10 and all(pb.status == "published" for pb in staff)
    assert len({pb.industry for pb in staff}) >= 4
    assert [pb.status for pb in rows if not pb.author.is_staff] == ["published", "submitted"]
    for pb in rows:
        assert pb.upvote_count == db.session.scalar(select(func.count()).select_from(
            PlaybookUpvote).where(PlaybookUpvote.playbook_id == pb.id))
    assert playbooks.list_published(query="objection")["total"] >= 1
