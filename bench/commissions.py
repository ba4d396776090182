"""Benchmark: staff confirming won deals (``core.money.commissions.confirm_deals``) on PostgreSQL.

Builds a fresh schema in the given database with the Alembic migrations, bulk-loads
partners in teams (about 1 in 10 leads a team of ~9; about half of the members were
recruited by an earlier partner; everyone passed the required training) and won leads
with realistic values, then confirms every lead the way a request does: one app
context, one ``confirm_deals`` of ``--batch`` leads (what ``POST /api/staff/deals/confirm``
does for a CRM sync; ``--batch 1`` is ``confirm_deal``, one lead a request), one commit.
Prints figures only; asserts nothing.

    .venv/bin/python bench/commissions.py [--deals 10000] [--partners 1000] [--batch 100]
        [--database-url postgresql://postgres@127.0.0.1/bench] [--no-analyze] [--profile 25]

The database (``--database-url`` or ``BENCH_DATABASE_URL``) is wiped: its ``public``
schema is dropped. Redis comes from ``REDIS_URL`` (default db 8 on localhost). On a
server running without autovacuum, the benchmark analyzes the tables it fills when
autovacuum would (time not counted), so plans are not frozen at "empty table" ones;
``--no-analyze`` shows what happens without it.
"""

import argparse
import cProfile
import io
import logging
import os
import pstats
import random
import shutil
import statistics
import tempfile
import time
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from sqlalchemy import event, func, insert, select, text, update  # noqa: E402

from core.base.config import TestingConfig, normalise_db_url  # noqa: E402
from core.base.extensions import db  # noqa: E402
from web.app import create_app  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1/bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/8"
TEAM_SIZE = 10  # one leader and nine members
COMPANIES = ["TechCorp", "StartupApp", "RetailSite", "Bella Cucina", "FitLife Gym",
             "Harbor Realty", "Smith & Co Law", "GreenLeaf Dental", "Urban Threads",
             "Nova Logistics"]


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
                    help="PostgreSQL URL; its public schema is dropped (default: "
                         "BENCH_DATABASE_URL or %(default)s)")
    ap.add_argument("--deals", type=int, default=10000, help="won leads to confirm")
    ap.add_argument("--partners", type=int, default=1000, help="partners to create")
    ap.add_argument("--seed", type=int, default=2026, help="random seed for the data")
    ap.add_argument("--batch", type=int, default=100,
                    help="leads per transaction (1 = confirm_deal, one lead a request)")
    ap.add_argument("--no-analyze", dest="analyze", action="store_false",
                    help="when the server runs without autovacuum, do not stand in for its "
                         "ANALYZE of the growing tables (shows stale-plan slowdown)")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="run the confirmations under cProfile and print the top N functions")
    return ap.parse_args(argv)


def build_schema(app) -> None:
    """Drop and recreate ``public``, then run every Alembic migration (all heads, so
    branches being merged by others still build)."""
    from flask_migrate import upgrade

    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
        upgrade(revision="heads")
        db.session.remove()


def load_data(app, n_partners: int, n_deals: int, seed: int) -> dict:
    """Bulk-insert staff, partners (teams, recruiters, training) and won leads."""
    from core.accounts.models import User
    from core.accounts.users import hash_password
    from core.base.timeutil import now_utc
    from core.content.models import TrainingCompletion, TrainingModule
    from core.program.models import Lead, Partner, Tier
    from core.seed.demo import seed_reference_data

    rng = random.Random(seed)
    pw_hash = hash_password("bench-password-2026")  # one scrypt hash for every account
    now = now_utc()
    with app.app_context():
        seed_reference_data()
        staff_id = db.session.scalar(insert(User).returning(User.id).values(
            email="finance@bench.example", name="Bench Finance", password_hash=pw_hash,
            is_staff=True, roles="finance"))
        user_ids = list(db.session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [{"email": f"partner{i}@bench.example", "name": f"Partner {i}",
              "password_hash": pw_hash} for i in range(n_partners)]))
        starter = db.session.scalar(select(Tier).order_by(Tier.min_deals).limit(1))
        partner_ids = list(db.session.scalars(
            insert(Partner).returning(Partner.id, sort_by_parameter_order=True),
            [{"user_id": uid, "status": "active", "referral_code": f"B{i:07d}",
              "agreement_version": app.config["AGREEMENT_VERSION"],
              "agreement_accepted_at": now, "approved_at": now, "tier_id": starter.id,
              "tier_since": now, "won_deals_count": 0, "company_name": f"Partner {i} Digital"}
             for i, uid in enumerate(user_ids)]))

        # Teams: every TEAM_SIZE-th partner leads the ones after it. About half of the
        # members were recruited by an earlier partner (often their leader), so the
        # recruiter chains have no loops.
        links, leaders, recruited = [], 0, 0
        for i, pid in enumerate(partner_ids):
            if i % TEAM_SIZE == 0:
                leaders += 1
                continue
            leader = partner_ids[i - i % TEAM_SIZE]
            recruiter = None
            if rng.random() < 0.5:
                recruiter = leader if rng.random() < 0.6 else partner_ids[rng.randrange(i)]
                recruited += 1
            links.append({"id": pid, "team_leader_id": leader, "recruiter_id": recruiter})
        if links:
            db.session.execute(update(Partner), links)

        required = list(db.session.scalars(
            select(TrainingModule.id).where(TrainingModule.required)))
        if required:
            db.session.execute(insert(TrainingCompletion), [
                {"partner_id": pid, "module_id": mid, "completed_at": now}
                for pid in partner_ids for mid in required])

        # Who closes: a skewed spread (a few busy partners, a long tail); leaders sell more.
        weights = [min(rng.paretovariate(1.3), 50.0) * (3 if i % TEAM_SIZE == 0 else 1)
                   for i in range(n_partners)]
        closers = rng.choices(partner_ids, weights=weights, k=n_deals)
        rows = []
        for n, pid in enumerate(closers):
            # Websites from $1,500, web apps up to tens of thousands: log-normal, $50 steps.
            dollars = min(max(round(rng.lognormvariate(8.2, 0.7) / 50) * 50, 500), 250_000)
            rows.append({"partner_id": pid, "company_name": f"{rng.choice(COMPANIES)} {n}",
                         "status": "won", "won_value_cents": dollars * 100,
                         "estimated_value_cents": dollars * 100, "source": "portal",
                         "stage_changed_at": now, "created_at": now, "updated_at": now})
        lead_ids = []
        for start in range(0, len(rows), 5000):
            lead_ids += db.session.scalars(
                insert(Lead).returning(Lead.id, sort_by_parameter_order=True),
                rows[start:start + 5000])
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        db.session.remove()
    return {"staff_id": staff_id, "lead_ids": lead_ids, "leaders": leaders,
            "recruited": recruited, "required_modules": len(required),
            "value_cents": sum(r["won_value_cents"] for r in rows)}


#: Tables confirm_deal writes; their statistics go stale as the run fills them.
WRITTEN_TABLES = ("deals", "commissions", "audit_log", "notifications", "partners")


def run(app, lead_ids: list[int], staff_id: int, profile: int, analyze: bool, batch: int = 1):
    """Confirm every lead, ``batch`` leads per request-like transaction; return timings and
    the statement count of each transaction.

    With ``analyze``, the written tables are analyzed whenever autovacuum's default rule
    would (more than 50 + 10% of the rows changed since the last analyze, counted here in
    deals); that time is left out of the wall time, as autovacuum runs in its own process.
    """
    from core.money.commissions import confirm_deal, confirm_deals

    counter = [0]
    with app.app_context():
        engine = db.engine

    def count(*_args, **_kw):
        counter[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    per_deal = []
    analyzed, analyze_s, since, base = 0, 0.0, 0, 0
    prof = cProfile.Profile() if profile else None
    try:
        if prof:
            prof.enable()
        t0 = time.perf_counter()
        for start in range(0, len(lead_ids), batch):
            chunk = lead_ids[start:start + batch]
            before = counter[0]
            with app.app_context():  # a request: fresh session, one commit, teardown
                if batch == 1:
                    confirm_deal(chunk[0], staff_id)
                else:
                    confirm_deals([(lead_id, None) for lead_id in chunk], staff_id)
                db.session.commit()
            per_deal.append(counter[0] - before)
            since += len(chunk)
            if analyze and since > 50 + 0.1 * base:
                a0 = time.perf_counter()
                with engine.connect() as conn:
                    conn.execute(text("ANALYZE " + ", ".join(WRITTEN_TABLES)))
                    conn.commit()
                analyze_s += time.perf_counter() - a0
                analyzed, base, since = analyzed + 1, base + since, 0
        wall = time.perf_counter() - t0 - analyze_s
        if prof:
            prof.disable()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return wall, per_deal, prof, (analyzed, analyze_s)


def summary(app) -> dict:
    """Figures that show what the run produced (identical for the same seed and code rules)."""
    from core.base.models import AuditLog
    from core.community.models import Notification
    from core.money.models import Commission, Deal
    from core.program.models import Partner, Tier

    with app.app_context():
        out = {
            "deals": db.session.scalar(select(func.count()).select_from(Deal)),
            "commissions": list(db.session.execute(
                select(Commission.type, func.count(), func.sum(Commission.amount_cents))
                .group_by(Commission.type).order_by(Commission.type))),
            "tiers": list(db.session.execute(
                select(Tier.key, func.count(Partner.id)).join(Partner, Partner.tier_id == Tier.id)
                .group_by(Tier.key, Tier.min_deals).order_by(Tier.min_deals))),
            "audit": list(db.session.execute(
                select(AuditLog.action, func.count()).group_by(AuditLog.action)
                .order_by(AuditLog.action))),
            "notifications": list(db.session.execute(
                select(Notification.kind, func.count()).group_by(Notification.kind)
                .order_by(Notification.kind))),
        }
        db.session.remove()
    return out


def money(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def table(title: str, rows: list[tuple]) -> None:
    print(f"\n{title}")
    width = max(len(str(r[0])) for r in rows)
    for label, *values in rows:
        print(f"  {str(label):<{width}}  " + "  ".join(f"{v:>14}" for v in values))


def main(argv=None) -> None:
    args = parse_args(argv)
    url = normalise_db_url(args.database_url)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS)
    storage = tempfile.mkdtemp(prefix="siso-bench-")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, REDIS_URL=redis_url,
                     STORAGE_DIR=storage)
    logging.getLogger().setLevel(logging.WARNING)
    try:
        report(app, args, url)
    finally:
        shutil.rmtree(storage, ignore_errors=True)


def report(app, args, url: str) -> None:
    """Build, load, run, print."""
    t0 = time.perf_counter()
    build_schema(app)
    t_schema = time.perf_counter() - t0
    t0 = time.perf_counter()
    data = load_data(app, args.partners, args.deals, args.seed)
    t_load = time.perf_counter() - t0

    with app.app_context():
        autovacuum = db.session.scalar(text("SHOW autovacuum"))
        server = db.session.scalar(text("SHOW server_version"))
        db.session.remove()
    stand_in = args.analyze and autovacuum != "on"
    load_before = os.getloadavg()
    wall, per_batch, prof, (analyzed, analyze_s) = run(
        app, data["lead_ids"], data["staff_id"], args.profile, stand_in, args.batch)
    load_after = os.getloadavg()
    n = len(data["lead_ids"])

    print(f"confirm_deal benchmark — PostgreSQL {server} at {url.split('@')[-1]}, "
          f"seed {args.seed}")
    if autovacuum == "on":
        print("autovacuum: on (the server keeps statistics)")
    elif stand_in:
        print(f"autovacuum: off on this server; the benchmark ran ANALYZE {analyzed} times "
              f"as autovacuum would ({analyze_s:.2f} s, not in the wall time)")
    else:
        print("autovacuum: off and not stood in for (--no-analyze): plans go stale as the "
              "tables grow")
    print(f"load average (1 min) before/after the run: {load_before[0]:.2f} / "
          f"{load_after[0]:.2f} on {os.cpu_count()} CPUs")
    table("Data", [
        ("partners", args.partners),
        ("  team leaders", data["leaders"]),
        ("  members with a recruiter", data["recruited"]),
        ("  required training modules", data["required_modules"]),
        ("won leads", len(data["lead_ids"])),
        ("  total value", money(data["value_cents"])),
        ("schema (migrations), s", f"{t_schema:.2f}"),
        ("bulk load, s", f"{t_load:.2f}"),
    ])
    rows = [
        ("deals confirmed", n),
        ("wall time, s", f"{wall:.2f}"),
        ("confirmations/s", f"{n / wall:.0f}" if wall else "-"),
        ("ms per confirmation", f"{1000 * wall / n:.2f}" if n else "-"),
    ]
    table(f"Confirmations ({args.batch} a transaction, {len(per_batch)} transactions)", rows)
    if per_batch:
        k = min(10, len(per_batch))
        size = args.batch
        table(f"SQL statements per transaction of {size} (and per confirmation)", [
            ("min", min(per_batch), f"{min(per_batch) / size:.2f}"),
            ("median", f"{statistics.median(per_batch):g}",
             f"{statistics.median(per_batch) / size:.2f}"),
            ("max", max(per_batch), f"{max(per_batch) / size:.2f}"),
            (f"median, first {k}", f"{statistics.median(per_batch[:k]):g}",
             f"{statistics.median(per_batch[:k]) / size:.2f}"),
            (f"median, last {k}", f"{statistics.median(per_batch[-k:]):g}",
             f"{statistics.median(per_batch[-k:]) / size:.2f}"),
            ("total", sum(per_batch), f"{sum(per_batch) / n:.2f}"),
        ])
        if size == 1:
            table("Statements → confirmations", sorted(Counter(per_batch).items()))

    out = summary(app)
    table("Commissions created", [(t, c, money(s)) for t, c, s in out["commissions"]] or
          [("none", 0, "")])
    table("Partners by computed tier", out["tiers"])
    table("Audit rows", out["audit"])
    table("Notifications", out["notifications"])

    if prof:
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(args.profile)
        print("\nProfile (cumulative):")
        print(buf.getvalue())


if __name__ == "__main__":
    main()
