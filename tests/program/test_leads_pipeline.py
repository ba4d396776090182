"""The leads pipeline page with more leads than a column shows (rules: "Leads"):
every column says how many leads it really holds, shows the newest 100 and says so, and
the page's query count does not grow with the number of leads."""

import re

from conftest import login, make_partner
from sqlalchemy import event, insert

from core.base.extensions import db
from core.base.timeutil import now_utc
from core.program.models import Lead


def add_leads(partner_id: int, count: int, status: str, prefix: str) -> None:
    now = now_utc()
    db.session.execute(insert(Lead), [
        dict(partner_id=partner_id, company_name=f"{prefix} {i:03d}", status=status,
             created_at=now, updated_at=now, stage_changed_at=now) for i in range(count)])


def page_and_queries(app, client):
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        html = client.get("/partner/leads").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return html, len(statements)


def column(html: str, stage: str) -> str:
    start = html.index(f'id="st-{stage}"')
    end = html.find("</section>", start)
    return html[start:end]


def test_big_columns_say_how_many_they_hold(app):
    with app.app_context():
        maya = make_partner("Maya Chen", email="maya@example.com")
        other = make_partner("Omar Reyes", email="omar@example.com")
        add_leads(maya.id, 3, "contacted", "Contacted")
        add_leads(other.id, 40, "new", "Not Maya's")
        db.session.commit()
        maya_id = maya.id
    client = app.test_client()
    assert login(client, "maya@example.com").status_code == 302
    small, queries_small = page_and_queries(app, client)

    with app.app_context():
        add_leads(maya_id, 130, "new", "Agency")
        db.session.commit()
    html, queries_big = page_and_queries(app, client)

    new = column(html, "new")
    assert re.search(r'<span class="count">130</span>', new)
    assert "Newest 100 of 130 shown." in new
    assert new.count('class="lead-card"') == 100
    assert "Agency 129" in new and "Agency 029" not in new  # the newest ones
    contacted = column(html, "contacted")
    assert re.search(r'<span class="count">3</span>', contacted)
    assert "shown." not in contacted
    assert "Not Maya" not in html
    assert queries_big == queries_small, (queries_small, queries_big)


def test_a_lead_sent_twice_by_the_offline_queue_is_one_lead(app, client):
    """The phone sends a queued lead, the answer is lost, it sends it again: one lead,
    and the second answer says it was there already. A malformed device id is refused
    with nothing stored; another partner's lead with the same device id is their own."""
    from conftest import csrf_from

    from core.program.models import Lead

    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        make_partner("Mike Reyes", email="mike@example.com")
    login(client, "sarah@example.com")
    token = csrf_from(client.get("/partner/leads").get_data(as_text=True))
    lead = {"csrf_token": token, "company_name": "Bella Cucina", "contact_name": "Gia",
            "estimated_value": "1,500", "client_ref": "5b0c1f9e-8c1d-4a57-9a56-0d2a4c1e7f10"}
    as_json = {"Accept": "application/json"}
    first = client.post("/partner/leads", data=lead, headers=as_json)
    assert first.status_code == 201, first.get_data(as_text=True)
    assert first.get_json()["created"] is True
    again = client.post("/partner/leads", data=lead, headers=as_json)
    assert again.status_code == 200 and again.get_json() == dict(first.get_json(),
                                                                  created=False)
    # The plain form post with the same id (a double tap without the script) too.
    assert client.post("/partner/leads", data=lead).status_code == 302
    bad = client.post("/partner/leads", data=dict(lead, client_ref="x';--"), headers=as_json)
    assert bad.status_code == 422 and "device id" in bad.get_json()["error"]["message"]
    empty = client.post("/partner/leads", data=dict(lead, company_name=""), headers=as_json)
    assert empty.status_code == 422 and "company_name" in empty.get_json()["fields"]
    assert empty.get_json()["error"]["message"] == "Company: This field is required."
    with app.app_context():
        rows = db.session.scalars(db.select(Lead)).all()
        assert [(r.company_name, r.estimated_value_cents) for r in rows] == [
            ("Bella Cucina", 150000)]
    client.get("/logout")
    login(client, "mike@example.com")
    token = csrf_from(client.get("/partner/leads").get_data(as_text=True))
    mine = client.post("/partner/leads", headers=as_json,
                       data=dict(lead, csrf_token=token, company_name="Mike's client"))
    assert mine.status_code == 201 and mine.get_json()["company_name"] == "Mike's client"
    page = client.get("/partner/leads").get_data(as_text=True)
    assert "Mike&#39;s client" in page and "Bella Cucina" not in page


def test_pipeline_cards_move_on_by_button_and_back_to_the_pipeline(app, client):
    """Each open lead's card has a button to the next stage that works without script and
    comes back to the pipeline; a proposal's card opens the lead with "won" chosen for
    the deal value; won and lost cards have no button. Another partner's lead cannot be
    moved by posting its id."""
    from conftest import csrf_from

    from core.program.leads import create_lead, move_lead

    with app.app_context():
        p = make_partner("Maya Chen", email="maya@example.com")
        other = make_partner("Not Maya", email="other@example.com")
        a = create_lead(p, {"company_name": "Harbor Realty"}, p.user_id)
        b = create_lead(p, {"company_name": "Urban Threads"}, p.user_id)
        move_lead(b, "proposal", p.user_id)
        foreign = create_lead(other, {"company_name": "Theirs"}, other.user_id)
        db.session.commit()
        a_id, b_id, foreign_id = a.id, b.id, foreign.id
    login(client, "maya@example.com")
    html = client.get("/partner/leads").get_data(as_text=True)
    assert 'aria-label="Move Harbor Realty to contacted"' in html
    assert f'/partner/leads/{b_id}?stage=won#move">Mark won…' in html
    token = re.search(r'name="move-csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    resp = client.post(f"/partner/leads/{a_id}/move", data={
        "move-csrf_token": token, "move-status": "contacted", "back": "pipeline"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/partner/leads")
    html = client.get("/partner/leads").get_data(as_text=True)
    assert "Harbor Realty moved to contacted." in html
    assert "Harbor Realty" in column(html, "contacted")
    detail = client.get(f"/partner/leads/{b_id}?stage=won").get_data(as_text=True)
    assert re.search(r'<option selected value="won">|<option value="won" selected', detail)
    assert client.post(f"/partner/leads/{foreign_id}/move", data={
        "move-csrf_token": csrf_from(html), "move-status": "contacted",
        "back": "pipeline"}).status_code == 404
    with app.app_context():
        assert db.session.get(Lead, foreign_id).status == "new"
