"""Benchmark: deal confirmations over HTTP, one a request, as a CRM or a busy staff team
sends them (rules: "Commissions"), through the production web server on PostgreSQL.

Loads the same data as ``bench/commissions.py`` (partners in teams with recruiters, won
leads with realistic values), starts ``--web`` web processes with the Procfile's own
command (``deploy/run web``, ``SOCKETIO_ASYNC_MODE`` = ``--mode``), then ``--clients``
concurrent HTTP clients (aiohttp) confirm every lead with ``POST
/api/staff/leads/<id>/confirm`` and a finance API key, spread over the processes. Prints
confirmations a second and the latency percentiles, then checks what was made against the
rules: one deal per lead, one base commission per deal, every amount equal to the deal
value times its recorded rate (half up), team overrides paid to the closer's team leader,
referrals to the recruiter and at most once per recruited partner.

    .venv/bin/python bench/confirm_http.py [--deals 5000] [--partners 1000] [--clients 32]
        [--web 2] [--mode eventlet] [--database-url postgresql://postgres@127.0.0.1/bench]

The database is wiped (its ``public`` schema dropped). Redis: ``REDIS_URL`` (default db 8).
Prints figures and the checks; exits 1 when a check fails.
"""

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from commissions import DEFAULT_URL, build_schema, load_data  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from core.base.config import TestingConfig, normalise_db_url  # noqa: E402
from core.base.extensions import db  # noqa: E402
from web.app import create_app  # noqa: E402

DEFAULT_REDIS = "redis://127.0.0.1:6379/8"


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    ap.add_argument("--deals", type=int, default=5000, help="won leads to confirm")
    ap.add_argument("--partners", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--clients", type=int, default=32, help="concurrent HTTP clients")
    ap.add_argument("--web", type=int, default=2, help="web processes")
    ap.add_argument("--mode", default="eventlet", choices=("eventlet", "gevent", "threading"))
    return ap.parse_args(argv)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def finance_key(app, staff_id: int) -> str:
    """A finance-scoped staff API key of the bench's finance user (what a CRM holds)."""
    from core.accounts.models import User
    from core.accounts.users import create_api_key

    with app.app_context():
        key, _row = create_api_key(db.session.get(User, staff_id), "CRM bench", ["finance"])
        db.session.commit()
        db.session.remove()
    return key


def fernet_key() -> str:
    """A fresh field-encryption key (production refuses to start without one)."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def start_web(url: str, redis_url: str, count: int, mode: str, logdir: str):
    """``count`` web processes by ``deploy/run web``; returns their base URLs and Popens."""
    import requests

    bases, procs = [], []
    secret = os.urandom(24).hex()
    for i in range(count):
        port = free_port()
        env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_url, PORT=str(port),
                   BIND_HOST="127.0.0.1", SOCKETIO_ASYNC_MODE=mode, SECRET_KEY=secret,
                   STORAGE_DIR=os.path.join(logdir, "files"), PYTHONWARNINGS="ignore",
                   SISO_ENV="production", FIELD_ENCRYPTION_KEYS=fernet_key(),
                   PATH=f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}")
        if mode in ("eventlet", "gevent"):
            env["PSYCOPG_IMPL"] = "python"  # the C build blocks either loop
        log = open(os.path.join(logdir, f"web-{i}.log"), "ab")
        procs.append(subprocess.Popen([os.path.join(ROOT, "deploy", "run"), "web"], cwd=ROOT,
                                      env=env, stdout=log, stderr=log, start_new_session=True))
        bases.append(f"http://127.0.0.1:{port}")
    for base, proc in zip(bases, procs, strict=True):
        deadline = time.time() + 60
        while True:
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"web process at {base} did not start (logs in {logdir})")
            try:
                if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.3)
    return bases, procs


def stop_web(procs) -> None:
    """SIGTERM each web process's group, then SIGKILL what is still there after 20 s."""
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


async def confirm_all(bases, key: str, lead_ids: list[int], clients: int):
    """Every lead confirmed once by ``clients`` concurrent clients (client k talks to web
    process k mod N); returns ``(wall seconds, latencies ms, answers by status)``."""
    import aiohttp

    queue = list(lead_ids)
    queue.reverse()
    lat, statuses = [], {}
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        async def client(k):
            base = bases[k % len(bases)]
            while queue:
                lead_id = queue.pop()
                t = time.perf_counter()
                async with session.post(f"{base}/api/staff/leads/{lead_id}/confirm",
                                        data=b"{}") as resp:
                    await resp.read()
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
                lat.append((time.perf_counter() - t) * 1000)

        start = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(clients)))
        return time.perf_counter() - start, lat, statuses


def check_rules(app, lead_ids: list[int]) -> list[str]:
    """What the confirmations made, against the rules; returns the failures (empty: all
    good)."""
    from core.money.cents import commission_cents
    from core.money.models import Commission, Deal
    from core.program.models import Partner

    failures = []
    with app.app_context():
        deals = {d.id: d for d in db.session.scalars(select(Deal))}
        if len(deals) != len(lead_ids) or {d.lead_id for d in deals.values()} != set(lead_ids):
            failures.append(f"{len(deals)} deals for {len(lead_ids)} leads")
        partners = {p.id: p for p in db.session.scalars(select(Partner))}
        base_count, referred = {}, set()
        for c in db.session.scalars(select(Commission).where(Commission.deal_id.is_not(None))):
            deal = deals.get(c.deal_id)
            if deal is None:
                failures.append(f"commission {c.id} of no deal")
                continue
            if c.rate_bps is not None and c.amount_cents != commission_cents(deal.value_cents,
                                                                            c.rate_bps):
                failures.append(f"commission {c.id}: {c.amount_cents} ≠ {deal.value_cents} × "
                                f"{c.rate_bps} bps")
            closer = partners[deal.partner_id]
            if c.type == "base":
                base_count[deal.id] = base_count.get(deal.id, 0) + 1
                if c.partner_id != closer.id:
                    failures.append(f"base commission {c.id} not to the closer")
            elif c.type == "team_override" and c.partner_id != closer.team_leader_id:
                failures.append(f"override {c.id} not to the team leader")
            elif c.type == "referral":
                if c.partner_id != closer.recruiter_id:
                    failures.append(f"referral {c.id} not to the recruiter")
                if closer.id in referred:
                    failures.append(f"second referral for partner {closer.id}")
                referred.add(closer.id)
        missing = [d for d in deals if base_count.get(d, 0) != 1]
        if missing:
            failures.append(f"{len(missing)} deals without exactly one base commission")
        db.session.remove()
    return failures


def main(argv=None) -> None:
    args = parse_args(argv)
    url = normalise_db_url(args.database_url)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS)
    logdir = tempfile.mkdtemp(prefix="siso-bench-confirm-")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, REDIS_URL=redis_url,
                     STORAGE_DIR=os.path.join(logdir, "files"))
    build_schema(app)
    data = load_data(app, args.partners, args.deals, args.seed)
    key = finance_key(app, data["staff_id"])
    lead_ids = list(data["lead_ids"])
    random.Random(args.seed).shuffle(lead_ids)  # a CRM sends them in no useful order
    bases, procs = start_web(url, redis_url, args.web, args.mode, logdir)
    try:
        load_before = os.getloadavg()[0]
        wall, lat, statuses = asyncio.run(confirm_all(bases, key, lead_ids, args.clients))
        load_after = os.getloadavg()[0]
    finally:
        stop_web(procs)
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
    with app.app_context():
        server = db.session.scalar(text("SHOW server_version"))
        db.session.remove()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, {os.cpu_count()} CPUs, "
          f"PostgreSQL {server}; load average (1 min) {load_before:.2f} -> {load_after:.2f}")
    print(f"web processes {args.web} ({args.mode}, deploy/run web), clients {args.clients}, "
          f"partners {args.partners}, leads {len(lead_ids)}")
    print("confirmations  wall_s  per_s  p50_ms  p95_ms  p99_ms  max_ms  answers")
    print(f"{len(lat):13d}  {wall:6.1f}  {len(lat) / wall:5.0f}  {q[49]:6.1f}  {q[94]:6.1f}  "
          f"{q[98]:6.1f}  {max(lat):6.1f}  " + ", ".join(f"{k}: {v}" for k, v in
                                                         sorted(statuses.items())))
    failures = check_rules(app, lead_ids)
    with app.app_context():
        from core.money.models import Commission

        made = db.session.execute(select(Commission.type, func.count(),
                                         func.sum(Commission.amount_cents))
                                  .group_by(Commission.type).order_by(Commission.type)).all()
        db.session.remove()
    print("commissions made: " + "; ".join(f"{t} {n} (${(s or 0) / 100:,.2f})"
                                           for t, n, s in made))
    if statuses != {201: len(lead_ids)} or failures:
        print("CHECK FAILED: " + "; ".join(failures or [f"answers {statuses}"]))
        raise SystemExit(1)
    print("checks: every lead confirmed once (201), one base commission per deal, every "
          "amount = value × recorded rate (half up), overrides to team leaders, referrals "
          "to recruiters, at most once per partner: all good")


if __name__ == "__main__":
    main()
