"""Admin lists run a fixed number of queries however many rows they show (no N+1)."""

import pytest
from conftest import login, make_partner, make_staff
from sqlalchemy import event

from core.extensions import db

LISTS = ["/admin/partners/", "/admin/leads/", "/admin/deals/", "/admin/commissions/",
         "/admin/payouts/", "/admin/statements/", "/admin/audit/", "/admin/tiers/",
         "/admin/staff/", "/admin/"]


def count_queries(app, client, url):
    seen = []

    def before(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
        from core.tasks import redis_connection

        redis_connection().delete("siso:dashboard:figures")  # measure the real work (cold)
    event.listen(engine, "before_cursor_execute", before)
    try:
        resp = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert resp.status_code == 200, (url, resp.status_code)
    return len(seen)


def add_rows(app, n):
    with app.app_context():
        leader = make_partner(f"Leader {n}", deals=2)
        for i in range(n):
            make_partner(f"Member {n}-{i}", deals=1, leader=leader)
        from core.models import Commission, Partner
        from core.payouts import create_payout

        db.session.execute(db.update(Commission).values(status="approved"))
        for p in db.session.scalars(db.select(Partner)).all():
            try:
                create_payout(p.id, p.user_id)
            except Exception:
                db.session.rollback()
        db.session.commit()


@pytest.mark.parametrize("url", LISTS)
def test_list_query_count_does_not_grow(app, client, url):
    """Each admin list page costs the same number of queries with 3 rows or with 12."""
    with app.app_context():
        make_staff("admin@example.com", ("admin", "finance"))
    login(client, "admin@example.com")
    add_rows(app, 2)
    small = count_queries(app, client, url)
    add_rows(app, 9)
    large = count_queries(app, client, url)
    assert large == small, f"{url}: {small} queries with few rows, {large} with more"
    assert small <= 15, f"{url} runs {small} queries"
