"""Benchmark: the partner portal under load, through the production web server on
PostgreSQL (BENCHMARKS.md).

Fills the database as ``bench/portal_pages.py`` does (10,000 partners in teams, leads,
deals, commissions, payouts), starts ``--web`` web processes with the Procfile's command
(``deploy/run web``, production settings), logs ``--users`` partners in through the real
log-in form (CSRF token and all), then each of them browses for ``--seconds``: dashboard,
leads, earnings, chat, in turn, with ``--think`` seconds between pages (0: back to back).
Prints per page p50/p95/max and the errors, and the pages a second served.

    .venv/bin/python bench/portal_load.py [--users 50] [--seconds 60] [--think 1]
        [--partners 10000] [--commissions 200000] [--web 2] [--mode eventlet]
        [--database-url postgresql://postgres@127.0.0.1/bench_portal]

The database is wiped. One machine sends every log-in, so the per-address log-in limit is
raised for the run (``LOGIN_LIMIT_PER_IP``); nothing else differs from production. Prints
figures only.
"""

import argparse
import asyncio
import os
import random
import re
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from admin_lists import filled_app  # noqa: E402
from confirm_http import start_web, stop_web  # noqa: E402

PAGES = ["/partner/dashboard", "/partner/leads", "/partner/earnings", "/partner/chat/general"]
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/bench_portal"))
    ap.add_argument("--partners", type=int, default=10_000)
    ap.add_argument("--commissions", type=int, default=200_000)
    ap.add_argument("--users", type=int, default=50, help="partners browsing at once")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--think", type=float, default=1.0,
                    help="mean seconds between a partner's pages (0: back to back)")
    ap.add_argument("--web", type=int, default=2, help="web processes")
    ap.add_argument("--mode", default="eventlet", choices=("eventlet", "gevent", "threading"))
    return ap.parse_args(argv)


async def browse(bases, emails, seconds: float, think: float):
    """Each e-mail logs in (web process k mod N), then browses :data:`PAGES` in turn until
    ``seconds`` have passed. Returns ``({page: [ms]}, {page: errors}, login failures,
    wall seconds)``."""
    import aiohttp
    from yarl import URL

    times = {p: [] for p in PAGES}
    errors = {p: 0 for p in PAGES}
    failed_logins = 0
    rng = random.Random(2026)

    async def partner(k, email):
        nonlocal failed_logins
        base = bases[k % len(bases)]
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[URL(base)])
        async with aiohttp.ClientSession(cookie_jar=jar) as s:
            async with s.get(f"{base}/login") as r:
                token = CSRF_RE.search(await r.text())
            async with s.post(f"{base}/login", allow_redirects=False, data={
                    "email": email, "password": "bench-password-1",
                    "csrf_token": token.group(1) if token else ""}) as r:
                logged_in = r.status == 302
            arrived.append(k)
            if not logged_in:
                failed_logins += 1
                return
            await ready.wait()
            n = k  # partners start on different pages
            while time.perf_counter() < stop:
                page = PAGES[n % len(PAGES)]
                n += 1
                t = time.perf_counter()
                try:
                    async with s.get(f"{base}{page}", allow_redirects=False) as r:
                        await r.read()
                        ok = r.status == 200
                except aiohttp.ClientError:
                    ok = False
                times[page].append((time.perf_counter() - t) * 1000)
                if not ok:
                    errors[page] += 1
                if think:
                    await asyncio.sleep(rng.uniform(0, 2 * think))

    ready = asyncio.Event()
    arrived: list[int] = []
    stop = float("inf")
    tasks = [asyncio.ensure_future(partner(k, e)) for k, e in enumerate(emails)]
    while len(arrived) < len(emails) and not all(t.done() for t in tasks):
        await asyncio.sleep(0.1)  # every partner past the log-in (scrypt) before browsing
    start = time.perf_counter()
    stop = start + seconds
    ready.set()
    await asyncio.gather(*tasks)
    return times, errors, failed_logins, time.perf_counter() - start


def main(argv=None) -> None:
    args = parse_args(argv)
    t0 = time.perf_counter()
    filled_app(args.database_url, args.partners, args.commissions)
    built = time.perf_counter() - t0
    # active partners (every 50th is an application): the first --users of them
    emails = [f"partner{g}@bench.example" for g in range(1, args.partners + 1)
              if g % 50][:args.users]
    logdir = tempfile.mkdtemp(prefix="siso-bench-portal-")
    os.environ["LOGIN_LIMIT_PER_IP"] = f"{10 * args.users} per 15 minutes"
    bases, procs = start_web(args.database_url, os.environ.get(
        "REDIS_URL", "redis://127.0.0.1:6379/8"), args.web, args.mode, logdir)
    try:
        load_before = os.getloadavg()[0]
        times, errors, failed, wall = asyncio.run(browse(bases, emails, args.seconds,
                                                         args.think))
        load_after = os.getloadavg()[0]
    finally:
        stop_web(procs)
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, {os.cpu_count()} CPUs; "
          f"load average (1 min) {load_before:.2f} -> {load_after:.2f}")
    print(f"data: {args.partners:,} partners, {args.commissions:,} commissions (built in "
          f"{built:.0f} s); {args.web} web processes ({args.mode}, deploy/run web); "
          f"{len(emails)} partners browsing {args.seconds:g} s, think {args.think:g} s; "
          f"log-ins failed: {failed}")
    print(f"{'page':26} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'errors':>7}")
    every = []
    for page in PAGES:
        xs = times[page]
        every += xs
        if not xs:
            print(f"{page:26} {0:8d}")
            continue
        q = statistics.quantiles(xs, n=100) if len(xs) > 1 else [xs[0]] * 99
        print(f"{page:26} {len(xs):8d} {q[49]:8.1f} {q[94]:8.1f} {max(xs):8.1f} "
              f"{errors[page]:7d}")
    if every:
        q = statistics.quantiles(every, n=100) if len(every) > 1 else [every[0]] * 99
        print(f"all pages: {len(every) / wall:.1f} pages/s, p95 {q[94]:.1f} ms (target < 150), "
              f"errors {sum(errors.values())}")


if __name__ == "__main__":
    main()
