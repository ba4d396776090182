"""Partner portal pages at scale: 10,000 partners on PostgreSQL (BENCHMARKS.md,
"Quality bar").

Builds a fresh schema with the migrations in the given database, fills it with SQL
(the same generator as ``bench/admin_lists.py``: teams of ten, leads, deals,
commissions, payouts), logs in as a team leader through the real login form and
requests every portal page several times through the real app. Prints per page the
p50 and p95 time, the SQL statements, and what a first visit transfers gzip-compressed:
the HTML plus every same-origin stylesheet, script and image it links. Targets: the
dashboard under 100 ms; every page's first load under 150 KB compressed. Prints figures
only; asserts nothing.

    .venv/bin/python bench/portal_pages.py --database-url postgresql://postgres@127.0.0.1/bench_portal
        [--partners 10000] [--commissions 200000] [--repeat 20]
"""

import argparse
import gzip
import os
import re
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from sqlalchemy import event  # noqa: E402

PAGES = ["/partner/dashboard", "/partner/leads", "/partner/earnings", "/partner/team",
         "/partner/leaderboard", "/partner/tier-progression", "/partner/training",
         "/partner/resources", "/partner/materials", "/partner/notifications",
         "/partner/profile", "/partner/support", "/partner/chat/general"]
ASSET_RE = re.compile(r'(?:href|src)="(/static/[^"?#]+)')


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (0–100) of ``values`` by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/bench_portal"))
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--commissions", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    from admin_lists import filled_app

    from core.base.extensions import db

    t0 = time.perf_counter()
    app = filled_app(args.database_url, args.partners, args.commissions)
    print(f"data: {args.partners:,} partners, {args.commissions:,} commissions, "
          f"{args.commissions // 2:,} leads and deals (built in {time.perf_counter() - t0:.1f} s)")
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")

    client = app.test_client()
    who = "partner11@bench.example"  # leads a team of nine (fill: every tenth partner)
    resp = client.post("/login", data={"email": who, "password": "bench-password-1"})
    assert resp.status_code == 302, resp.status_code
    with app.app_context():
        engine = db.engine
    counter = []
    event.listen(engine, "before_cursor_execute", lambda *a, **k: counter.append(1))
    resources: dict[str, int] = {}

    def asset_size(path: str) -> int:
        if path not in resources:
            r = client.get(path)
            resources[path] = len(gzip.compress(r.get_data())) if r.status_code == 200 else 0
            r.close()
        return resources[path]

    print(f"{'page':28} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'HTML KB gz':>11} "
          f"{'first load KB gz':>17}")
    dashboard_p50 = None
    heaviest = 0.0
    for page in PAGES:
        times = []
        body = b""
        for _ in range(args.repeat):
            counter.clear()
            start = time.perf_counter()
            r = client.get(page)
            times.append((time.perf_counter() - start) * 1000)
            assert r.status_code == 200, (page, r.status_code)
            body = r.get_data()
        queries = len(counter)
        html_gz = len(gzip.compress(body))
        linked = sorted(set(ASSET_RE.findall(body.decode())))
        first = html_gz + sum(asset_size(a) for a in linked)
        heaviest = max(heaviest, first / 1024)
        p50 = statistics.median(times)
        if page == "/partner/dashboard":
            dashboard_p50 = p50
        print(f"{page:28} {p50:8.1f} {percentile(times, 95):8.1f} {queries:8d} "
              f"{html_gz / 1024:11.1f} {first / 1024:17.1f}")
    print(f"dashboard p50: {dashboard_p50:.1f} ms (target < 100 ms); heaviest first load: "
          f"{heaviest:.1f} KB gzip (target < 150 KB)")
    print(f"load average (1 min) after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
