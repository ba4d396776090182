"""The leads pipeline page with more leads than a column shows (issue 5 "/partner/leads"):
every column says how many leads it really holds, shows the newest 100 and says so, and
the page's query count does not grow with the number of leads."""

import re

from conftest import login, make_partner
from sqlalchemy import event, insert

from core.extensions import db
from core.models import Lead
from core.timeutil import now_utc


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
