"""Benchmark: PDFs through the real queue and workers vs WeasyPrint alone (BENCHMARKS.md).

For each case it issues N documents the way the app does (statements with
``core.money.statements.issue_statement``, co-branded FAQ sheets with
``core.content.materials.request_material``), lets W workers render them (each a supervisor with
one long-lived worker child running RQ's SimpleWorker, ``jobs.worker.run_supervised``, the
same as ``flask worker``), and times enqueue-to-last-commit. In the same
run it renders the same HTML with WeasyPrint alone, in one process, and prints both:

    overhead = pipeline time × W / WeasyPrint-alone time − 1

(the queue, data loading, storage and bookkeeping, per unit of WeasyPrint work; on a
machine with fewer cores than W, W is capped at the core count). It also prints the
worker processes' start-up (WeasyPrint import and warm-up, paid once per ``flask worker``
start, included in the pipeline time) and the overhead without it. Prints figures only.

    .venv/bin/python bench/pdf.py [--n 100] [--workers 1 2] [--cases one five material]
        [--database-url sqlite:///...|postgresql://...] [--redis-url redis://127.0.0.1:6379/10]

The database is created fresh (SQLite in a temp folder by default; a PostgreSQL URL has
its ``public`` schema dropped). Redis db 10 (or --redis-url) is flushed.
"""

import argparse
import multiprocessing
import os
import tempfile
import time
from datetime import timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from sqlalchemy import func, insert, select, text  # noqa: E402

from core.base.config import TestingConfig, normalise_db_url  # noqa: E402
from core.base.extensions import db  # noqa: E402
from web.app import create_app  # noqa: E402

LINES = {"one": 3, "five": 150}  # ledger lines per statement: 1 page and 5 pages


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100, help="documents per case")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cases", nargs="+", default=["one", "five", "material"],
                    choices=["one", "five", "material"])
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    ap.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL",
                                                          "redis://127.0.0.1:6379/10"))
    return ap.parse_args(argv)


def build_app(args):
    tmp = tempfile.mkdtemp(prefix="siso-bench-pdf-")
    url = normalise_db_url(args.database_url or f"sqlite:///{tmp}/bench.db")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, REDIS_URL=args.redis_url,
                     STORAGE_DIR=f"{tmp}/files")
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
        from flask_migrate import upgrade

        from core.seed.demo import seed_reference_data

        upgrade(revision="heads")
        seed_reference_data()
        db.session.commit()
    import logging

    logging.getLogger("rq.worker").setLevel(logging.WARNING)
    logging.getLogger("jobs").setLevel(logging.WARNING)
    return app


def make_partners(app, n: int, lines: int, tag: str) -> list[int]:
    """N active partners, each with ``lines`` commissions this month (bulk insert)."""
    from core.accounts.models import User
    from core.accounts.users import create_staff
    from core.base.timeutil import now_utc
    from core.money.models import Commission
    from core.program.partners import register_partner

    with app.app_context():
        if db.session.scalar(select(User).where(User.email == "bench@example.com")) is None:
            create_staff("bench@example.com", "bench-password-1", "Bench", ["admin"])
        ids = []
        for i in range(n):
            p = register_partner(f"{tag}{i}@bench.example", "bench-password-1",
                                 f"Partner {tag} {i}", True, company_name=f"Agency {i} LLC",
                                 email_verified=True)
            p.status = "active"
            ids.append(p.id)
        db.session.flush()
        start = now_utc().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        rows = [dict(partner_id=pid, type="base", amount_cents=30000 + (j * 137) % 9000,
                     rate_bps=2000, status="approved", note=f"Client project {j} at Starter",
                     created_at=start + timedelta(minutes=j))
                for pid in ids for j in range(lines)]
        if rows:
            db.session.execute(insert(Commission), rows)
        db.session.commit()
        return ids


def time_renders(folder: str) -> None:
    """Wrap WeasyPrint's entry point (``core.base.pdf.render_pdf_with_pages``, which
    ``render_pdf`` and the material job call) so that every process forked from here
    appends each render's start time and duration to ``folder/<pid>``: the pipeline's
    own WeasyPrint time, measured where the jobs run."""
    import core.base.pdf
    import core.content.materials

    real = core.base.pdf.render_pdf_with_pages

    def timed(*args, **kwargs):
        start = time.time()
        t = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            with open(os.path.join(folder, str(os.getpid())), "a") as f:
                f.write(f"{start:.6f} {time.perf_counter() - t:.6f}\n")

    core.base.pdf.render_pdf_with_pages = timed
    core.content.materials.render_pdf_with_pages = timed


def rendered_seconds(folder: str, since: float) -> float:
    """Seconds of WeasyPrint the renders that started after ``since`` took, all
    processes together (see :func:`time_renders`)."""
    total = 0.0
    for name in os.listdir(folder):
        with open(os.path.join(folder, name)) as f:
            for line in f:
                start, took = map(float, line.split())
                if start >= since:
                    total += took
    return total


def start_workers(app, count: int):
    """Start ``count`` worker processes, each a ``jobs.worker.run_supervised`` supervisor
    with its worker child, as ``flask worker`` runs (not in burst mode: documents arrive
    at workers that are already up, as in production). Returns the processes and the
    longest start-up (WeasyPrint import and warm-up, ``prepare_supervisor``) of one
    process, in seconds, once every worker is listening."""
    import signal

    from core.base.jobs import redis_connection
    from jobs.worker import prepare_supervisor, run_supervised

    startups = multiprocessing.Array("d", count)

    def work(i):
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        t = time.perf_counter()
        prepare_supervisor(app)
        startups[i] = time.perf_counter() - t
        try:
            run_supervised(app, burst=False, with_scheduler=False)
        except KeyboardInterrupt:
            pass

    procs = [multiprocessing.Process(target=work, args=(i,)) for i in range(count)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    with app.app_context():
        conn = redis_connection()
        # Listening = every worker child registered in Redis (after its supervisor's warm-up).
        while len(conn.keys("rq:worker:*")) < count or min(startups) == 0:
            if time.perf_counter() - t0 > 120:
                raise RuntimeError("workers did not start within 120 s")
            time.sleep(0.05)
    time.sleep(0.5)  # let each child reach its blocking dequeue
    return procs, max(startups)


def stop_workers(procs) -> None:
    """Warm shutdown of the supervisors (SIGTERM, as a service manager sends)."""
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(60)


def enqueue(app, case: str, ids: list[int]) -> list[tuple[str, int]]:
    from core.accounts.models import User
    from core.base.timeutil import now_utc
    from core.content.materials import request_material
    from core.content.models import MaterialTemplate
    from core.money.statements import issue_statement
    from core.program.models import Partner

    with app.app_context():
        staff = db.session.scalar(select(User.id).where(User.email == "bench@example.com"))
        now = now_utc()
        out = []
        if case == "material":
            faq = db.session.scalar(select(MaterialTemplate).where(
                MaterialTemplate.key == "faq-sheet"))
            for pid in ids:
                p = db.session.get(Partner, pid)
                row, _ = request_material(p, p.user_id, faq.id,
                                          f"https://partners.siso.example/r/{p.referral_code}")
                out.append(("material", row.id))
        else:
            for pid in ids:
                out.append(("statement", issue_statement(pid, now.year, now.month, staff).id))
        db.session.commit()
        return out


def weasyprint_alone(app, docs) -> float:
    """Seconds WeasyPrint takes for the same documents' HTML, in this one process (a
    statement with its stylesheet and font configuration, as the job gives them)."""
    from core.base.pdf import render_pdf
    from core.content.materials import render_job_inputs, render_material_html
    from core.content.models import MaterialRender
    from core.money.models import Statement
    from core.money.statement_pdf import render_statement_html, statement_stylesheet
    from core.money.statements import statement_context

    css, fonts = statement_stylesheet()
    with app.app_context():
        work = []
        for kind, oid in docs:
            if kind == "statement":
                ctx = statement_context(db.session.get(Statement, oid))
                work.append((render_statement_html(ctx), [css], fonts))
            else:
                fields, ctx = render_job_inputs(db.session.get(MaterialRender, oid))
                work.append((render_material_html(fields, ctx), None, None))
    render_pdf(*work[0])  # warm fonts
    t = time.perf_counter()
    for html, sheets, font_config in work:
        render_pdf(html, sheets, font_config)
    return time.perf_counter() - t


def wait_done(app, docs) -> int:
    from core.content.models import MaterialRender
    from core.money.models import Statement

    with app.app_context():
        sids = [i for k, i in docs if k == "statement"]
        mids = [i for k, i in docs if k == "material"]
        n = 0
        if sids:
            n += db.session.scalar(select(func.count()).select_from(Statement).where(
                Statement.id.in_(sids), Statement.status == "ready"))
        if mids:
            n += db.session.scalar(select(func.count()).select_from(MaterialRender).where(
                MaterialRender.id.in_(mids), MaterialRender.status == "ready"))
        return n


def pages_of(app, docs) -> int:
    import pypdf

    from core.content.models import MaterialRender
    from core.money.models import Statement

    kind, oid = docs[0]
    with app.app_context():
        row = db.session.get(Statement if kind == "statement" else MaterialRender, oid)
        return len(pypdf.PdfReader(os.path.join(app.config["STORAGE_DIR"], row.file_path)).pages)


def main(argv=None):
    args = parse_args(argv)
    app = build_app(args)
    from core.base.jobs import redis_connection

    renders = tempfile.mkdtemp(prefix="siso-bench-renders-")
    time_renders(renders)
    cores = os.cpu_count() or 1
    print(f"{args.n} documents per case; workers {args.workers}; {cores} cores; "
          f"database {args.database_url or 'sqlite'}; load average (1 min) at start "
          f"{os.getloadavg()[0]:.2f}")
    print("pipeline = jobs queued (issue committed) to last document stored, workers "
          "already running; in-job = WeasyPrint inside the workers' jobs; alone = the same "
          "HTML in this process, after; issue = issuing the documents and queueing their "
          "jobs (one transaction, not in the pipeline time)")
    print(f"{'case':10} {'W':>2} {'pages':>5} {'pipeline s':>10} {'docs/s':>7} "
          f"{'in-job s':>8} {'overhead':>8} {'alone s':>8} {'vs alone':>8} "
          f"{'startup s':>9} {'issue s':>7} {'load':>5}")
    for case in args.cases:
        for w in args.workers:
            with app.app_context():
                redis_connection().flushdb()
            ids = make_partners(app, args.n, LINES.get(case, 0), f"{case}{w}-")
            procs, startup = start_workers(app, w)
            try:
                t_issue = time.perf_counter()
                docs = enqueue(app, case, ids)  # one commit, then every job is queued
                issue = time.perf_counter() - t_issue
                since = time.time()
                t0 = time.perf_counter()
                while (done := wait_done(app, docs)) < len(docs):
                    if time.perf_counter() - t0 > 1800:
                        break
                    time.sleep(0.05)
                elapsed = time.perf_counter() - t0
            finally:
                stop_workers(procs)
            in_job = rendered_seconds(renders, since)
            alone = weasyprint_alone(app, docs)
            used = min(w, cores)
            print(f"{case:10} {w:>2} {pages_of(app, docs):>5} {elapsed:>10.2f} "
                  f"{done / elapsed:>7.1f} {in_job:>8.2f} {elapsed * used / in_job - 1:>7.1%} "
                  f"{alone:>8.2f} {elapsed * used / alone - 1:>7.1%} {startup:>9.2f} {issue:>7.2f} "
                  f"{os.getloadavg()[0]:>5.2f}"
                  + ("" if done == len(docs) else f"  ({done} ok!)"), flush=True)


if __name__ == "__main__":
    main()
