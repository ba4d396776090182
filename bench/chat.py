"""Benchmark: chat fan-out over two server processes and Redis (issue 8 "Proof").

N clients (python-socketio ``AsyncClient``, WebSocket) spread over two eventlet server
processes (``tests/chat_server.py``) join ``#general``; staff senders (no slow mode) send
time-stamped messages at a fixed rate; every receiver measures send-to-receive latency.
Clients run in several processes so the load generator is not the bottleneck. Prints,
per N: p50/p99 latency (ms), deliveries/s, messages lost, errors; then the highest rate
at which p99 stays under 100 ms. Asserts nothing.

    .venv/bin/python bench/chat.py [--clients 100,500,1000] [--rate 5] [--seconds 10]
        [--procs 4] [--database-url sqlite:////tmp/chat-bench.db] [--mode eventlet]
        [--max-rate-clients 1000] [--rates 5,10,20,40,80]

The database is rebuilt from the migrations; Redis db 9 (``BENCH_REDIS_URL``) is flushed.
"""

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")


def build_database(url: str, partners: int) -> tuple[list[str], list[str]]:
    """Migrate a fresh database and create partners and staff with login tokens (fast
    inserts, no password hashing). Returns ``(partner_tokens, staff_tokens)``."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from core import create_app
    from core.accounts import issue_token
    from core.config import TestingConfig
    from core.extensions import db
    from core.models import Partner, Tier, User
    from core.seed import seed_reference_data
    from core.timeutil import now_utc

    if url.startswith("sqlite:///") and os.path.exists(url[len("sqlite:///"):]):
        os.remove(url[len("sqlite:///"):])
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, REDIS_URL=REDIS,
                     STORAGE_DIR="/tmp/chat-bench-files")
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
        upgrade(revision="heads")
        seed_reference_data()
        starter = db.session.scalar(db.select(Tier).where(Tier.key == "starter"))
        users = []
        for i in range(partners):
            u = User(email=f"bench{i}@example.com", name=f"Bench Partner {i}", password_hash="x")
            db.session.add(u)
            db.session.flush()
            db.session.add(Partner(user_id=u.id, status="active", referral_code=f"B{i:07d}",
                                   agreement_version="2026-11", agreement_accepted_at=now_utc(),
                                   tier_id=starter.id))
            users.append(u)
        staff = []
        for i in range(4):
            s = User(email=f"benchstaff{i}@example.com", name=f"Bench Staff {i}",
                     password_hash="x", is_staff=True, roles="admin")
            db.session.add(s)
            staff.append(s)
        db.session.flush()
        ptok = [issue_token(u)[0] for u in users]
        stok = [issue_token(s)[0] for s in staff]
        db.session.commit()
        from core.tasks import redis_connection

        redis_connection().flushdb()
    return ptok, stok


def start_servers(url: str, mode: str, count: int = 2) -> tuple[list[str], list]:
    """Start ``count`` chat server processes on free ports; returns their URLs and Popens."""
    import requests
    from conftest import free_port

    urls, procs = [], []
    for _ in range(count):
        port = free_port()
        env = dict(os.environ, DATABASE_URL=url, REDIS_URL=REDIS, PORT=str(port),
                   SOCKETIO_MESSAGE_QUEUE=REDIS + "?max_connections=10000",
                   SOCKETIO_ASYNC_MODE=mode, PYTHONWARNINGS="ignore")
        if mode == "eventlet":
            env["PSYCOPG_IMPL"] = "python"
        procs.append(subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "chat_server.py")],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        urls.append(f"http://127.0.0.1:{port}")
    for url in urls:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
    return urls, procs


async def _receivers(tokens, urls, ready, go, conn):
    import socketio

    lat, errors, seen = [], [], set()
    clients = []

    async def one(i, token):
        c = socketio.AsyncClient(reconnection=False)

        @c.on("message")
        async def on_message(m):
            try:
                body = json.loads(m["body"])
                lat.append((time.time() - body["t"]) * 1000)
                seen.add((body["s"], body["n"]))
            except (ValueError, KeyError, TypeError):
                pass

        @c.on("error")
        async def on_error(e):
            errors.append(e)

        try:
            await c.connect(urls[i % len(urls)], auth={"token": token}, transports=["websocket"],
                            wait_timeout=30)
            ack = await c.call("join", {"channel": "general"}, timeout=30)
            if not ack.get("ok"):
                errors.append(ack)
            clients.append(c)
        except Exception as exc:  # counted, not fatal
            errors.append(repr(exc))

    for start in range(0, len(tokens), 50):
        await asyncio.gather(*(one(start + i, t) for i, t in enumerate(tokens[start:start + 50])))
    ready.set()
    while not go.is_set():
        await asyncio.sleep(0.05)
    while go.is_set():
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # stragglers
    conn.send({"lat": lat, "errors": len(errors), "clients": len(clients),
               "received": len(lat), "distinct": len(seen)})
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)


def receiver_proc(tokens, urls, ready, go, conn):
    asyncio.run(_receivers(tokens, urls, ready, go, conn))


async def _send(stokens, urls, rate, seconds):
    import socketio

    senders = []
    for i, t in enumerate(stokens):
        c = socketio.AsyncClient(reconnection=False)
        await c.connect(urls[i % len(urls)], auth={"token": t}, transports=["websocket"])
        senders.append(c)
    total = int(rate * seconds)
    errors = 0
    start = time.time()
    pending = []
    for n in range(total):
        due = start + n / rate
        delay = due - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        c = senders[n % len(senders)]
        body = json.dumps({"t": time.time(), "s": n % len(senders), "n": n})
        pending.append(asyncio.ensure_future(c.call("send", {"channel": "general", "body": body},
                                                    timeout=30)))
    for r in await asyncio.gather(*pending, return_exceptions=True):
        if not isinstance(r, dict) or not r.get("ok"):
            errors += 1
    for c in senders:
        await c.disconnect()
    return total, errors, time.time() - start


def run(n_clients, rate, seconds, procs, ptok, stok, urls):
    """One measurement: returns a dict of figures."""
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    parts, pipes = [], []
    chunk = -(-n_clients // procs)
    readies = []
    for p in range(procs):
        toks = ptok[p * chunk:(p + 1) * chunk][: max(0, n_clients - p * chunk)]
        if not toks:
            continue
        r = ctx.Event()
        a, b = ctx.Pipe()
        proc = ctx.Process(target=receiver_proc, args=(toks, urls, r, go, b))
        proc.start()
        parts.append(proc)
        pipes.append(a)
        readies.append(r)
    t0 = time.time()
    for r in readies:
        r.wait(300)
    connect_s = time.time() - t0
    go.set()
    sent, send_errors, elapsed = asyncio.run(_send(stok, urls, rate, seconds))
    go.clear()
    results = [pipe.recv() for pipe in pipes]
    for proc in parts:
        proc.join(30)
    lat = sorted(x for r in results for x in r["lat"])
    clients = sum(r["clients"] for r in results)
    expected = sent * clients
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [0] * 99
    return {"clients": clients, "rate": rate, "sent": sent, "received": len(lat),
            "lost": expected - len(lat), "errors": send_errors + sum(r["errors"] for r in results),
            "p50_ms": round(q[49], 1), "p99_ms": round(q[98], 1),
            "deliveries_per_s": round(len(lat) / elapsed), "connect_s": round(connect_s, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", default="100,500,1000")
    ap.add_argument("--rate", type=float, default=5)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--mode", default="eventlet")
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "sqlite:////tmp/chat-bench.db"))
    ap.add_argument("--max-rate-clients", type=int, default=1000)
    ap.add_argument("--rates", default="5,10,20,40,80")
    args = ap.parse_args()
    sizes = [int(x) for x in args.clients.split(",")]
    need = max(sizes + [args.max_rate_clients])
    ptok, stok = build_database(args.database_url, need)
    urls, procs = start_servers(args.database_url, args.mode)
    try:
        print(f"mode={args.mode} servers=2 client_procs={args.procs} db={args.database_url.split(':')[0]}")
        print("clients  rate/s  sent  received  lost  errors  p50_ms  p99_ms  deliveries/s  connect_s")
        for n in sizes:
            r = run(n, args.rate, args.seconds, args.procs, ptok, stok, urls)
            print(f"{r['clients']:7d}  {r['rate']:6g}  {r['sent']:4d}  {r['received']:8d}  "
                  f"{r['lost']:4d}  {r['errors']:6d}  {r['p50_ms']:6.1f}  {r['p99_ms']:6.1f}  "
                  f"{r['deliveries_per_s']:12d}  {r['connect_s']:9.1f}", flush=True)
        best = None
        for rate in [float(x) for x in args.rates.split(",")]:
            r = run(args.max_rate_clients, rate, args.seconds, args.procs, ptok, stok, urls)
            print(f"max-rate probe: clients={r['clients']} rate={rate:g}/s p50={r['p50_ms']} ms "
                  f"p99={r['p99_ms']} ms lost={r['lost']} errors={r['errors']} "
                  f"deliveries/s={r['deliveries_per_s']}", flush=True)
            if r["p99_ms"] < 100 and r["lost"] == 0:
                best = rate
            else:
                break
        print(f"highest rate with p99 < 100 ms at {args.max_rate_clients} clients: "
              f"{best if best is not None else 'none tried'} msg/s")
    finally:
        for p in procs:
            p.terminate()


if __name__ == "__main__":
    main()
