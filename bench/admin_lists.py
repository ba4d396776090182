"""Admin list pages at scale: 50,000 partners and 1,000,000 commissions on PostgreSQL.

Builds a fresh schema with the migrations in the given database, fills it with SQL
(generate_series, so the load takes seconds, not hours), then requests every admin
list page as a logged-in admin through the real app and prints, per page, the median
and worst time of several requests and the number of SQL statements (the dashboard with
its figures cached, as every load but the first after a start finds them; that first,
cold load is printed on its own line). Target (back-office
issue): every list page under 300 ms with a bounded number of queries.

    .venv/bin/python bench/admin_lists.py --database-url postgresql://postgres@127.0.0.1/bench_admin

It prints figures only; it asserts nothing.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

from sqlalchemy import event, text  # noqa: E402

PAGES = ["/admin/", "/admin/partners/", "/admin/partners/?search=Partner%2049999",
         "/admin/partners/?flt1_status_equals=applied", "/admin/leads/", "/admin/deals/",
         "/admin/commissions/", "/admin/commissions/?flt1_status_equals=approved",
         "/admin/payouts/", "/admin/statements/", "/admin/audit/", "/admin/tiers/"]


def fill(conn, partners: int, commissions: int, pw_hash: str) -> None:
    """Insert users, partners, leads, deals, commissions and payouts with plain SQL."""
    conn.execute(text("""
        INSERT INTO users (id, email, name, password_hash, is_staff, roles, session_version, created_at)
        SELECT g, 'partner' || g || '@bench.example', 'Partner ' || g, :pw, false, '', 1,
               now() - (g || ' minutes')::interval
        FROM generate_series(1, :n) g"""), {"pw": pw_hash, "n": partners})
    conn.execute(text("""
        INSERT INTO partners (id, user_id, status, referral_code, company_name, industry, phone,
                              agreement_version, agreement_accepted_at, won_deals_count, tier_id,
                              tier_since, stripe_payouts_enabled, created_at, team_leader_id)
        SELECT g, g, CASE WHEN g % 50 = 0 THEN 'applied' ELSE 'active' END,
               'B' || lpad(g::text, 7, '0'), 'Company ' || g,
               (ARRAY['Restaurants','Real estate','Fitness','Legal'])[1 + g % 4], '',
               '2026-11', now(), g % 30, (SELECT id FROM tiers ORDER BY min_deals LIMIT 1), now(),
               false, now() - (g || ' minutes')::interval,
               CASE WHEN (g - 1) % 10 <> 0 THEN g - ((g - 1) % 10) END
        FROM generate_series(1, :n) g"""), {"n": partners})
    conn.execute(text("""
        INSERT INTO leads (id, partner_id, company_name, contact_name, contact_email, contact_phone,
                           project_type, estimated_value_cents, status, won_value_cents, source,
                           attribution, next_action, notes, stage_changed_at, created_at, updated_at)
        SELECT g, 1 + (g % :p), 'Client ' || g, 'Contact ' || g, 'c' || g || '@client.example', '',
               'website', 150000, 'won', 150000, 'portal', '', '', '', now(), now(), now()
        FROM generate_series(1, :d) g"""), {"p": partners, "d": commissions // 2})
    conn.execute(text("""
        INSERT INTO deals (id, lead_id, partner_id, value_cents, currency, status, confirmed_by_id,
                           confirmed_at, cancel_reason)
        SELECT g, g, 1 + (g % :p), 150000, 'USD', 'won', 1, now() - (g || ' seconds')::interval, ''
        FROM generate_series(1, :d) g"""), {"p": partners, "d": commissions // 2})
    conn.execute(text("""
        INSERT INTO commissions (partner_id, deal_id, source_partner_id, type, amount_cents, currency,
                                 rate_bps, status, note, created_at)
        SELECT 1 + ((g / 2) % :p), 1 + ((g / 2) % (:c / 2)), 1 + ((g / 2) % :p),
               CASE WHEN g % 2 = 0 THEN 'base' ELSE 'team_override' END,
               CASE WHEN g % 2 = 0 THEN 30000 ELSE 15000 END, 'USD',
               CASE WHEN g % 2 = 0 THEN 2000 ELSE 1000 END,
               (ARRAY['pending','approved','paid','approved'])[1 + g % 4], '',
               now() - (g || ' seconds')::interval
        FROM generate_series(0, :c - 1) g"""), {"p": partners, "c": commissions})
    conn.execute(text("""
        INSERT INTO payouts (partner_id, amount_cents, currency, status, gateway, reference,
                             failure_message, requested_by_id, created_at)
        SELECT g, 60000, 'USD', (ARRAY['requested','paid','approved'])[1 + g % 3], 'manual', '', '',
               g, now() FROM generate_series(1, :p) g"""), {"p": partners})
    for table in ("users", "partners", "leads", "deals", "commissions", "payouts"):
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                          f"(SELECT max(id) FROM {table}))"))
    conn.execute(text("ANALYZE"))


def filled_app(database_url: str, partners: int, commissions: int):
    """A test-config app (CSRF off) on ``database_url`` with a fresh migrated schema
    filled by :func:`fill` (``partners`` partners, ``commissions`` commissions; every
    partner's password is ``bench-password-1``). Shared with ``bench/portal_pages.py``."""
    from flask_migrate import upgrade

    from core.accounts.users import hash_password
    from core.base.config import TestingConfig, normalise_db_url
    from core.base.extensions import db
    from web.app import create_app

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=normalise_db_url(database_url),
                     REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/8"),
                     STORAGE_DIR=tempfile.mkdtemp(), WTF_CSRF_ENABLED=False)
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
        upgrade(revision="heads")
        with db.engine.begin() as conn:
            fill(conn, partners, commissions, hash_password("bench-password-1"))
        db.session.remove()
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/bench_admin"))
    parser.add_argument("--partners", type=int, default=50_000)
    parser.add_argument("--commissions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from core.accounts.users import create_staff
    from core.base.extensions import db

    t0 = time.perf_counter()
    app = filled_app(args.database_url, args.partners, args.commissions)
    with app.app_context():
        create_staff("bench-admin@example.com", "bench-password-1", "Bench Admin",
                     ["admin", "finance"])
        db.session.commit()
        db.session.remove()
    print(f"data: {args.partners:,} partners, {args.commissions:,} commissions, "
          f"{args.commissions // 2:,} deals, {args.partners:,} payouts "
          f"(built in {time.perf_counter() - t0:.1f} s)")

    client = app.test_client()
    client.post("/login", data={"email": "bench-admin@example.com",
                                "password": "bench-password-1"})
    with app.app_context():
        engine = db.engine
    counter = []
    event.listen(engine, "before_cursor_execute",
                 lambda *a, **k: counter.append(1))
    # The dashboard's figures sum the whole ledger; a page computes them only when none
    # are cached (the first load after a start, or Redis down). Timed apart, once.
    with app.app_context():
        from core.base.jobs import redis_connection
        from core.program.backoffice import CACHE_KEY

        redis_connection().delete(CACHE_KEY)
    start = time.perf_counter()
    assert client.get("/admin/").status_code == 200
    cold = (time.perf_counter() - start) * 1000
    print(f"dashboard figures computed in the request (nothing cached yet): {cold:.1f} ms")
    print(f"{'page':55} {'median ms':>10} {'worst ms':>9} {'queries':>8}")
    worst_page = 0.0
    for page in PAGES:
        times = []
        for _ in range(args.repeat):
            counter.clear()
            start = time.perf_counter()
            resp = client.get(page)
            times.append((time.perf_counter() - start) * 1000)
            assert resp.status_code == 200, (page, resp.status_code)
        worst_page = max(worst_page, max(times))
        print(f"{page:55} {statistics.median(times):10.1f} {max(times):9.1f} {len(counter):8d}")
    print(f"slowest request: {worst_page:.1f} ms (target < 300 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
