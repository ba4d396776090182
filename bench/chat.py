"""Benchmark: chat fan-out over two server processes and Redis (rules: "Chat").

N clients (python-socketio ``AsyncClient``, WebSocket) spread over two eventlet server
processes (``tests/chat_server.py``) join ``#general``; staff senders (no slow mode) send
time-stamped messages at a fixed rate; every receiver measures send-to-receive latency.
Clients run in several processes so the load generator is not the bottleneck, on uvloop
when it is installed (requirements-dev.txt).

Each measurement has two phases, timed apart:

1. **Connect**: the N clients connect and join at ``--connect-rate`` per second in all
   (a real population does not arrive in the same second), the receivers collect and
   freeze their garbage, the staff senders connect, then ``--settle`` seconds pass so
   the servers finish the joins' side work (presence broadcasts) before anything is
   measured. Reported: connect time, p50/p99 of connect+join per client, connect errors.
2. **Measured**: ``rate × seconds`` messages are sent; every client that was connected
   at the start must receive every one. After the last send the receivers wait until
   everything arrived or ``--drain`` seconds passed. A client that drops during the phase
   counts as an error and its missing messages as lost; a send not acknowledged ``ok``
   counts as an error.

Like an open chat page (``static/js/chat.js``), every client also sends a heartbeat every
25 s, asks for its unread badges every 30 s and sends its read marker at most every 5 s
while messages arrive (``--no-chatter``: none of these);
an answer that is not ``ok`` counts as an error.

Prints, per N: p50/p99 latency (ms), deliveries/s, lost, errors, the load average before
and after; then the highest of ``--rates`` at which p99 stays under 100 ms with nothing
lost. Asserts nothing.

With ``--generator node`` the clients are one Node.js process (bench/node/generator.mjs,
socket.io-client 4, installed by npm into ``BENCH_NODE_DIR`` on first use), and the same
clients, rates and phases run against ours (each ``--mode``) and a peer baseline started
in the same run: a minimal Node Socket.IO 4 pair with the Redis adapter
(bench/node/peer.mjs). Per ``--matrix`` point it prints p50/p99/lost for each target and
the ratio ours/peer; the targets take turns at each point, so a loaded box weighs on both.

    .venv/bin/python bench/chat.py --generator node [--matrix 1000:5,1000:20,1000:50,1000:100]
        [--servers 2] [--mode eventlet] [--no-peer] [--seconds 10]
    .venv/bin/python bench/chat.py --generator node --matrix 5000:5 --servers 4

    .venv/bin/python bench/chat.py [--clients 100,500,1000] [--rate 5] [--seconds 10]
        [--procs 4] [--connect-rate 100] [--settle 3] [--drain 10]
        [--database-url sqlite:////tmp/chat-bench.db] [--mode eventlet,gevent]
        [--max-rate-clients 1000] [--rates 5,10,20,40,80] [--history 200]
        [--profile DIR] [--no-direct-writes] [--no-chatter] [--verbose]

The database is rebuilt from the migrations and ``#general`` gets ``--history`` messages
(with mentions and reactions) so every join reads a real history page. The Redis database
of ``BENCH_REDIS_URL`` (default db 9) is flushed; the Socket.IO message queue uses a
channel of its own per run, so other processes on the same Redis cannot cross-talk.
``--profile DIR`` runs the servers under cProfile during the measured phases
(``tests/chat_server.py``) and writes ``DIR/server-<i>.prof``, per-event timings and the
servers' write paths (``web.fanout.stats``) when the benchmark ends.
"""

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
#: One pub/sub channel per benchmark run (Redis pub/sub ignores the database number).
CHANNEL = f"siso-bench-{os.getpid()}-{uuid.uuid4().hex[:8]}"
#: The signing key the server processes share (each would otherwise make its own).
SECRET = os.urandom(16).hex()


def client_loop() -> str:
    """The receivers' event loop: ``uvloop`` when installed (requirements-dev.txt), else
    asyncio's own."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def loadavg() -> str:
    """The 1/5/15-minute load averages, e.g. ``"0.52 0.61 0.70"``."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (``/proc/<pid>/stat``)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_busy() -> tuple[float, float]:
    """``(busy, total)`` CPU jiffies of the whole machine so far (``/proc/stat``)."""
    with open("/proc/stat") as fh:
        vals = [int(x) for x in fh.readline().split()[1:]]
    idle = vals[3] + vals[4]  # idle + iowait
    return sum(vals) - idle, sum(vals)


def redis_pid() -> int | None:
    """The Redis server's process id (it serves the message queue), if it says."""
    import redis

    try:
        return int(redis.Redis.from_url(REDIS).info("server")["process_id"])
    except Exception:
        return None


def build_database(url: str, partners: int, history: int = 200) -> tuple[list[str], list[str]]:
    """Migrate a fresh database, create partners and staff with login tokens (fast
    inserts, no password hashing) and ``history`` messages in ``#general`` (every fifth
    mentions a partner, every third has two reactions). Returns
    ``(partner_tokens, staff_tokens)``."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from core.accounts.models import User
    from core.accounts.users import issue_token
    from core.base.config import TestingConfig
    from core.base.extensions import db
    from core.base.timeutil import now_utc
    from core.community.models import Channel, Mention, Message, Reaction
    from core.program.models import Partner, Tier
    from core.seed.demo import seed_reference_data
    from web.app import create_app

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
        general = db.session.scalar(db.select(Channel).where(Channel.slug == "general"))
        for i in range(history):
            author = users[i % len(users)]
            body = f"Closed a **deal** today, see https://example.com/deal/{i}"
            if i % 5 == 0:
                body += f" thanks @bench.partner.{(i + 1) % len(users)}"
            m = Message(channel_id=general.id, user_id=author.id, body=body)
            db.session.add(m)
            db.session.flush()
            if i % 5 == 0:
                db.session.add(Mention(message_id=m.id, user_id=users[(i + 1) % len(users)].id,
                                       channel_id=general.id))
            if i % 3 == 0:
                db.session.add(Reaction(message_id=m.id, user_id=users[(i + 2) % len(users)].id,
                                        emoji="🎉"))
                db.session.add(Reaction(message_id=m.id, user_id=users[(i + 3) % len(users)].id,
                                        emoji="👍"))
        ptok = [issue_token(u)[0] for u in users]
        stok = [issue_token(s)[0] for s in staff]
        db.session.commit()
        from core.base.jobs import redis_connection

        redis_connection().flushdb()
    return ptok, stok


def stop_all(procs) -> None:
    """Terminate the server processes, killing any still there after 30 s."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


def wait_healthy(urls, seconds: float = 30) -> None:
    """Wait (up to ``seconds`` each) until every server in ``urls`` answers ``/healthz``."""
    import requests

    for url in urls:
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)


def start_servers(url: str, mode: str, count: int = 2, profile_dir: str | None = None,
                  direct_writes: bool = True) -> tuple[list[str], list]:
    """Start ``count`` chat server processes on free ports; returns their URLs and Popens.
    ``direct_writes=False`` runs them with ``SOCKETIO_DIRECT_WRITES=0`` (``web.fanout``
    off: every packet through Engine.IO's queue, as before 2026-12-01)."""

    urls, procs = [], []
    for i in range(count):
        port = free_port()
        env = dict(os.environ, DATABASE_URL=url, REDIS_URL=REDIS, PORT=str(port),
                   SOCKETIO_MESSAGE_QUEUE=REDIS + "?max_connections=10000",
                   SOCKETIO_CHANNEL=CHANNEL, SOCKETIO_ASYNC_MODE=mode, PYTHONWARNINGS="ignore",
                   SOCKETIO_DIRECT_WRITES="1" if direct_writes else "0", SECRET_KEY=SECRET)
        if mode in ("eventlet", "gevent"):  # the C build blocks either loop
            env["PSYCOPG_IMPL"] = "python"
        if profile_dir:
            env["CHAT_PROFILE"] = os.path.join(profile_dir, f"server-{i}.prof")
        procs.append(subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "chat_server.py")],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        urls.append(f"http://127.0.0.1:{port}")
    wait_healthy(urls)
    return urls, procs


def _gc_pauses() -> list[float]:
    """Record the duration (ms) of every garbage collection of this process from now on."""
    import gc

    pauses: list[float] = []
    started = [0.0]

    def cb(phase, info):
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((time.perf_counter() - started[0]) * 1000)

    gc.callbacks.append(cb)
    return pauses


async def _receivers(tokens, offset, urls, connect_rate, ready, go, done_sending, drain, conn):
    """One client process: connect and join ``tokens`` at ``connect_rate`` per second,
    report ready, then count what arrives until the senders are done and everything (or
    nothing more within ``drain`` s) has arrived."""
    import socketio

    lat, seen, counted = [], set(), set()
    newest: dict[int, int] = {}  # client → highest message id received
    worst: dict[int, float] = {}  # message number → slowest delivery (ms)
    chatter_tasks = []
    connect_errors, phase_errors = [], []
    join_ms = []
    clients = []
    measuring = False
    dropped = 0

    async def one(i, token):
        nonlocal dropped
        c = socketio.AsyncClient(reconnection=False)

        @c.on("message")
        def on_message(m):  # not a coroutine: one object less per delivery
            try:
                body = json.loads(m["body"])
                if body.get("run") != RUN or i not in counted:
                    return  # another run's message, or a client whose join failed
                lat.append((time.time() - body["t"]) * 1000)
                worst[body["n"]] = max(worst.get(body["n"], 0.0), lat[-1])
                seen.add((i, body["n"]))
                newest[i] = max(newest.get(i, 0), m["id"])
            except (ValueError, KeyError, TypeError, AttributeError):
                pass

        @c.on("error")
        async def on_error(e):
            (phase_errors if measuring else connect_errors).append(e)

        @c.on("disconnect")
        async def on_disconnect(*_):
            nonlocal dropped
            if measuring:
                dropped += 1

        t0 = time.perf_counter()
        try:
            await c.connect(urls[i % len(urls)], auth={"token": token}, transports=["websocket"],
                            wait_timeout=30)
            ack = await c.call("join", {"channel": "general"}, timeout=30)
            if not ack.get("ok"):
                connect_errors.append(ack)
                return
            join_ms.append((time.perf_counter() - t0) * 1000)
            clients.append(c)
            counted.add(i)
            if CHATTER:
                chatter_tasks.append(asyncio.ensure_future(chatter(i, c)))
        except Exception as exc:  # counted, not fatal
            connect_errors.append(repr(exc))
            await c.disconnect()

    def answered(ack):
        if not (isinstance(ack, dict) and ack.get("ok")):
            (phase_errors if measuring else connect_errors).append(ack)

    async def chatter(i, c):
        """What an open chat page sends besides messages (static/js/chat.js): a heartbeat
        every 25 s, the unread badges every 30 s, and the read marker at most every 5 s
        while messages arrive."""
        next_beat = time.time() + random.uniform(0, 25)
        next_unread = time.time() + random.uniform(0, 30)
        sent_read = 0
        while c.connected:
            await asyncio.sleep(random.uniform(4.5, 5.5))
            if newest.get(i, 0) > sent_read:
                sent_read = newest[i]
                await c.emit("read", {"channel": "general", "last_id": sent_read},
                             callback=answered)
            if time.time() >= next_beat:
                next_beat += 25
                await c.emit("heartbeat", {"state": "online"}, callback=answered)
            if time.time() >= next_unread:
                next_unread += 30
                await c.emit("unread", {}, callback=answered)

    start = time.time()
    tasks = []
    for k, token in enumerate(tokens):
        delay = start + k / connect_rate - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(offset + k, token)))
    await asyncio.gather(*tasks)
    conn.send({"connected": len(clients), "connect_errors": len(connect_errors),
               "join_ms": join_ms})
    # The load generator's own full collections (a quarter of a million objects for
    # 250 clients) paused a receiver process for up to 90 ms, and with it the delivery
    # times of its clients: freeze what the connect phase built, collect only what the
    # measured phase adds. Done before reporting ready: a collection still running when
    # the first message arrives delayed its deliveries by 60 ms.
    import gc

    gc.collect()
    gc.freeze()
    ready.set()
    while not go.is_set():
        await asyncio.sleep(0.02)
    measuring = True
    gc_pauses = _gc_pauses()
    while not done_sending.is_set():
        await asyncio.sleep(0.05)
    expected = conn.recv() * len(clients)  # messages sent ok
    deadline = time.time() + drain
    last = -1
    while len(seen) < expected and time.time() < deadline:
        if len(seen) != last:
            last = len(seen)
            deadline = max(deadline, time.time() + 2)  # still arriving: keep waiting
        await asyncio.sleep(0.1)
    measuring = False
    for t in chatter_tasks:
        t.cancel()
    conn.send({"lat": lat, "worst": worst, "gc_max_ms": max(gc_pauses, default=0.0),
               "gc_ms": sum(gc_pauses), "errors": len(phase_errors) + dropped, "dropped": dropped,
               "clients": len(clients), "received": len(seen)})
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)


RUN = ""
CHATTER = True


def receiver_proc(tokens, offset, urls, connect_rate, ready, go, done_sending, drain, conn, run_id,
                  chatter):
    """Entry point of one client process."""
    global RUN, CHATTER
    RUN, CHATTER = run_id, chatter
    try:  # the load generator's event loop: uvloop's costs a receiver a tenth less CPU
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_receivers(tokens, offset, urls, connect_rate, ready, go, done_sending, drain, conn))


async def _send(stokens, urls, rate, seconds, run_id, settle, start_measuring):
    """Connect the staff senders, let ``settle`` seconds pass (their presence batch, the
    servers' side work of the joins), call ``start_measuring()``, then send
    ``rate × seconds`` stamped messages. Returns ``(sent, acknowledged ok, seconds)``."""
    import socketio

    senders = []
    for i, t in enumerate(stokens):
        c = socketio.AsyncClient(reconnection=False)
        await c.connect(urls[i % len(urls)], auth={"token": t}, transports=["websocket"])
        senders.append(c)
    await asyncio.sleep(settle)
    start_measuring()
    total = int(rate * seconds)
    start = time.time()
    pending = []
    for n in range(total):
        due = start + n / rate
        delay = due - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        c = senders[n % len(senders)]
        body = json.dumps({"t": time.time(), "n": n, "run": run_id})
        pending.append(asyncio.ensure_future(c.call("send", {"channel": "general", "body": body},
                                                    timeout=30)))
    ok = sum(1 for r in await asyncio.gather(*pending, return_exceptions=True)
             if isinstance(r, dict) and r.get("ok"))
    elapsed = time.time() - start
    for c in senders:
        await c.disconnect()
    return total, ok, elapsed


def _q(xs, p):
    if len(xs) < 2:
        return xs[0] if xs else 0.0
    return statistics.quantiles(xs, n=100)[p - 1]


def run(n_clients, rate, seconds, procs, ptok, stok, urls, connect_rate, settle, drain,
        chatter=True, server_pids=(), profiling=False):
    """One measurement (connect phase, settle, measured phase): returns a dict of figures."""
    ctx = mp.get_context("spawn")
    go, done_sending = ctx.Event(), ctx.Event()
    run_id = uuid.uuid4().hex[:8]
    parts, pipes, readies = [], [], []
    chunk = -(-n_clients // procs)
    for p in range(procs):
        toks = ptok[p * chunk:min(n_clients, (p + 1) * chunk)]
        if not toks:
            continue
        r = ctx.Event()
        a, b = ctx.Pipe()
        proc = ctx.Process(target=receiver_proc, args=(toks, p * chunk, urls, connect_rate / procs,
                                                       r, go, done_sending, drain, b, run_id,
                                                       chatter))
        proc.start()
        parts.append(proc)
        pipes.append(a)
        readies.append(r)
    t0 = time.time()
    for r in readies:
        r.wait(600)
    connect_s = time.time() - t0
    conn_results = [pipe.recv() for pipe in pipes]
    # CPU used during the measured phase, by side: which one ran out first.
    sides = {"servers": list(server_pids), "clients": [p.pid for p in parts],
             "sender": [os.getpid()], "redis": [pid] if (pid := redis_pid()) else []}
    at_go = {}

    def start_measuring():
        at_go.update(load=loadavg(), box=machine_busy(), wall=time.time(),
                     cpu={k: sum(cpu_seconds(p) for p in v) for k, v in sides.items()})
        go.set()
        if profiling:  # the servers' profilers start now (tests/chat_server.py)
            for pid in server_pids:
                os.kill(pid, signal.SIGUSR1)

    sent, sent_ok, elapsed = asyncio.run(_send(stok, urls, rate, seconds, run_id, settle,
                                               start_measuring))
    load_before, box0, wall0, cpu0 = at_go["load"], at_go["box"], at_go["wall"], at_go["cpu"]
    for pipe in pipes:  # before the event, so the receivers' recv() never blocks
        pipe.send(sent_ok)
    done_sending.set()
    results = [pipe.recv() for pipe in pipes]
    wall = time.time() - wall0
    cpu = {k: round(100 * (sum(cpu_seconds(p) for p in v) - cpu0[k]) / wall)
           for k, v in sides.items()}
    box1 = machine_busy()
    cpu["machine"] = round(100 * os.cpu_count() * (box1[0] - box0[0]) / max(1, box1[1] - box0[1]))
    load_after = loadavg()
    for proc in parts:
        proc.join(30)
    lat = sorted(x for r in results for x in r["lat"])
    worst: dict[int, float] = {}
    for r in results:
        for n, ms in r["worst"].items():
            worst[n] = max(worst.get(n, 0.0), ms)
    join_ms = sorted(x for r in conn_results for x in r["join_ms"])
    clients = sum(r["clients"] for r in results)
    received = sum(r["received"] for r in results)
    return {"clients": clients, "rate": rate, "sent": sent, "received": received,
            "lost": sent * clients - received,
            "errors": (sent - sent_ok) + sum(r["errors"] for r in results),
            "dropped": sum(r["dropped"] for r in results),
            "connect_errors": n_clients - sum(r["connected"] for r in conn_results),
            "p50_ms": round(_q(lat, 50), 1), "p99_ms": round(_q(lat, 99), 1),
            "max_ms": round(lat[-1], 1) if lat else 0.0,
            "deliveries_per_s": round(received / elapsed) if elapsed else 0,
            "connect_s": round(connect_s, 1), "join_p50_ms": round(_q(join_ms, 50), 1),
            "join_p99_ms": round(_q(join_ms, 99), 1),
            "load_before": load_before, "load_after": load_after, "cpu": cpu,
            "worst_per_message": [round(worst.get(n, -1)) for n in range(sent)],
            "client_gc_max_ms": round(max(r["gc_max_ms"] for r in results), 1),
            "client_gc_ms": round(sum(r["gc_ms"] for r in results))}


HEADER = ("clients  rate/s  sent  received   lost  errors  p50_ms  p99_ms  max_ms  deliv/s  "
          "connect_s  join_p50  join_p99  conn_err  load before -> after")


def fmt(r) -> str:
    """One table row, then the CPU line (percent of one core, during the measured phase)."""
    c = r["cpu"]
    return (f"{r['clients']:7d}  {r['rate']:6g}  {r['sent']:4d}  {r['received']:8d}  "
            f"{r['lost']:5d}  {r['errors']:6d}  {r['p50_ms']:6.1f}  {r['p99_ms']:6.1f}  "
            f"{r['max_ms']:6.1f}  {r['deliveries_per_s']:7d}  {r['connect_s']:9.1f}  "
            f"{r['join_p50_ms']:8.1f}  {r['join_p99_ms']:8.1f}  {r['connect_errors']:8d}  "
            f"{r['load_before']} -> {r['load_after']}\n"
            f"         CPU % of one core, measured phase: servers {c['servers']} (2 processes), "
            f"receivers {c['clients']}, sender {c['sender']}, "
            f"redis {c['redis']}; whole machine {c['machine']} of {100 * os.cpu_count()}")


def main() -> None:
    """Parse the options, build the data, start the servers, run every measurement."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", default="100,500,1000")
    ap.add_argument("--rate", type=float, default=5)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--connect-rate", type=float, default=100,
                    help="connects + joins per second, all client processes together")
    ap.add_argument("--settle", type=float, default=3)
    ap.add_argument("--drain", type=float, default=10)
    ap.add_argument("--generator", choices=("node", "python"), default="python",
                    help="node: one Node.js process of socket.io-client clients, against ours "
                         "and the peer Node pair (--matrix); python: the asyncio clients")
    ap.add_argument("--matrix", default="1000:5,1000:20,1000:50,1000:100",
                    help="--generator node: clients:rate points")
    ap.add_argument("--servers", type=int, default=2,
                    help="--generator node: server processes per target")
    ap.add_argument("--no-peer", action="store_true",
                    help="--generator node: measure ours only")
    ap.add_argument("--mode", default="eventlet,gevent",
                    help="server modes, comma-separated: one set of rows per mode")
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "sqlite:////tmp/chat-bench.db"))
    ap.add_argument("--max-rate-clients", type=int, default=1000)
    ap.add_argument("--rates", default="5,10,20,40,80", help="empty: skip the probe")
    ap.add_argument("--history", type=int, default=200)
    ap.add_argument("--no-chatter", action="store_true",
                    help="clients send only joins (no heartbeats, no read markers)")
    ap.add_argument("--profile", default=None,
                    help="directory for server profiles (of the measured phases)")
    ap.add_argument("--no-direct-writes", action="store_true",
                    help="servers send every packet through Engine.IO's queue (web.fanout off)")
    ap.add_argument("--verbose", action="store_true",
                    help="also print each message's slowest delivery")
    args = ap.parse_args()
    if args.generator == "node":
        matrix = [(int(c), float(r)) for c, r in (p.split(":") for p in args.matrix.split(",") if p)]
        ptok, stok = build_database(args.database_url, max(c for c, _ in matrix), args.history)
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, {platform.node()}, "
              f"{os.cpu_count()} CPUs, load average {loadavg()}")
        node_main(args, matrix, ptok, stok)
        print(f"load average at the end: {loadavg()}")
        return
    sizes = [int(x) for x in args.clients.split(",") if x]
    rates = [float(x) for x in args.rates.split(",") if x]
    need = max(sizes + ([args.max_rate_clients] if rates else []))
    ptok, stok = build_database(args.database_url, need, args.history)
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
    modes = [m for m in args.mode.split(",") if m]
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, {platform.node()}, "
          f"{os.cpu_count()} CPUs, load average {loadavg()}")
    summary = []
    for mode in modes:
        summary += measure_mode(args, mode, sizes, rates, ptok, stok)
    if len(modes) > 1:
        print("one row per server mode (same database, clients and rates, run one after "
              "the other):")
        print("mode      clients  rate  p50 ms  p99 ms  lost")
        for mode, r in summary:
            print(f"{mode:<9} {r['clients']:>7} {r['rate']:>5g} {r['p50_ms']:>7} "
                  f"{r['p99_ms']:>7} {r['lost']:>5}")
    print(f"load average at the end: {loadavg()}")


def measure_mode(args, mode: str, sizes, rates, ptok, stok) -> list[tuple[str, dict]]:
    """Start the two chat servers in ``mode`` (eventlet, gevent or threading), run the
    client sizes and the rate probe against them, print each row; returns
    ``[(mode, result)]`` of the size rows."""
    urls, procs = start_servers(args.database_url, mode, profile_dir=args.profile,
                                direct_writes=not args.no_direct_writes)
    pids = [p.pid for p in procs]
    rows = []
    try:
        print(f"mode={mode} servers=2 client_procs={args.procs} "
              f"db={args.database_url.split(':')[0]} connect_rate={args.connect_rate:g}/s "
              f"settle={args.settle:g}s seconds={args.seconds:g} history={args.history} "
              f"direct_writes={'off' if args.no_direct_writes else 'on'} "
              f"client_loop={client_loop()} "
              f"chatter={'off' if args.no_chatter else 'heartbeat 25 s, unread 30 s, read 5 s'}")
        print(HEADER)
        for n in sizes:
            r = run(n, args.rate, args.seconds, args.procs, ptok, stok, urls,
                    args.connect_rate, args.settle, args.drain, not args.no_chatter, pids,
                    bool(args.profile))
            print(fmt(r), flush=True)
            rows.append((mode, r))
            if args.verbose:
                print("         slowest delivery of each message, ms:", r["worst_per_message"])
                print(f"         receivers' garbage collection in the measured phase: "
                      f"{r['client_gc_ms']} ms in all, longest pause {r['client_gc_max_ms']} ms")
        best = None
        for rate in rates:
            r = run(args.max_rate_clients, rate, args.seconds, args.procs, ptok, stok, urls,
                    args.connect_rate, args.settle, args.drain, not args.no_chatter, pids,
                    bool(args.profile))
            print("max-rate probe: " + fmt(r), flush=True)
            if r["p99_ms"] < 100 and r["lost"] == 0 and r["errors"] == 0:
                best = rate
            else:
                break
        if rates:
            print(f"{mode}: highest rate with p99 < 100 ms, nothing lost, at "
                  f"{args.max_rate_clients} clients: "
                  f"{best if best is not None else 'none of ' + args.rates} msg/s")
    finally:
        stop_all(procs)
    return rows


# --- the Node.js generator and the peer baseline (--generator node) ----------------------

NODE_DIR = os.path.join(ROOT, "bench", "node")


def node_scratch() -> str:
    """A scratch folder holding bench/node's scripts and their npm packages (the versions
    pinned in bench/node/package.json), installed by npm on first use or when the pins
    change; ``BENCH_NODE_DIR`` picks the folder (default ``/tmp/siso-bench-node``).
    Raises ``RuntimeError`` when node or npm is missing or npm fails."""
    import shutil

    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise RuntimeError("--generator node needs Node.js and npm on PATH")
    scratch = os.environ.get("BENCH_NODE_DIR", "/tmp/siso-bench-node")
    os.makedirs(scratch, exist_ok=True)
    with open(os.path.join(NODE_DIR, "package.json")) as fh:
        pins = fh.read()
    installed = os.path.join(scratch, ".installed-package.json")
    if not os.path.exists(installed) or open(installed).read() != pins:
        with open(os.path.join(scratch, "package.json"), "w") as fh:
            fh.write(pins)
        done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent"],
                              cwd=scratch, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"npm install failed: {done.stderr[-2000:]}")
        with open(installed, "w") as fh:
            fh.write(pins)
    for name in ("generator.mjs", "peer.mjs"):
        shutil.copyfile(os.path.join(NODE_DIR, name), os.path.join(scratch, name))
    return scratch


def start_peers(scratch: str, count: int) -> tuple[list[str], list]:
    """Start ``count`` peer Socket.IO processes (bench/node/peer.mjs, Redis adapter on
    the bench's Redis, a channel of their own); returns their URLs and Popens."""
    urls, procs = [], []
    for _ in range(count):
        port = free_port()
        procs.append(subprocess.Popen(["node", "peer.mjs", str(port), REDIS.split("?")[0],
                                       CHANNEL + "-peer"], cwd=scratch,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        urls.append(f"http://127.0.0.1:{port}")
    wait_healthy(urls)
    return urls, procs


def run_node(scratch: str, urls, ptok, stok, clients: int, rate: float, args) -> dict:
    """One measurement with the Node generator (bench/node/generator.mjs) against
    ``urls``: ``clients`` receivers, the staff senders, ``rate`` msg/s for
    ``args.seconds``. Returns the generator's result (p50_ms, p99_ms, lost, ...)."""
    import tempfile

    cfg = {"urls": urls, "receiver_tokens": ptok[:clients], "sender_tokens": stok,
           "rate": rate, "seconds": args.seconds, "connect_rate": args.connect_rate,
           "settle": args.settle, "drain": args.drain, "run": uuid.uuid4().hex[:12]}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(cfg, fh)
    try:
        done = subprocess.run(["node", "--max-old-space-size=4096", "generator.mjs", fh.name],
                              cwd=scratch, capture_output=True, text=True,
                              timeout=120 + clients / args.connect_rate + args.seconds * 3)
    finally:
        os.unlink(fh.name)
    if done.returncode != 0:
        raise RuntimeError(f"node generator failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


NODE_HEADER = ("target          clients  rate/s  sent  received   lost  errors  p50_ms  p99_ms  "
               "max_ms  connect_s  gen_cpu%")


def node_row(target: str, r: dict) -> str:
    """One printed row of a Node-generator measurement."""
    return (f"{target:<15} {r['clients']:7d}  {r['rate']:6g}  {r['sent']:4d}  "
            f"{r['received']:8d}  {r['lost']:5d}  {r['errors']:6d}  {r['p50_ms']:6.1f}  "
            f"{r['p99_ms']:6.1f}  {r['max_ms']:6.1f}  {r['connect_s']:9.1f}  "
            f"{r['generator_cpu_pct']:8d}")


def node_main(args, matrix, ptok, stok) -> None:
    """Ours (each ``--mode``) and the peer pair, same generator, clients and rates, the
    targets taking turns at each point of ``matrix`` (``[(clients, rate)]``); prints a row
    per measurement and the ours/peer p99 ratio per point."""
    scratch = node_scratch()
    modes = [m for m in args.mode.split(",") if m]
    targets, procs = {}, []
    try:
        for mode in modes:
            urls, ps = start_servers(args.database_url, mode, count=args.servers,
                                     direct_writes=not args.no_direct_writes)
            targets[f"ours-{mode}"] = urls
            procs += ps
        if not args.no_peer:
            urls, ps = start_peers(scratch, args.servers)
            targets["peer-node"] = urls
            procs += ps
        print(f"generator=node (one process, socket.io-client 4) servers={args.servers} per "
              f"target db={args.database_url.split(':')[0]} connect_rate={args.connect_rate:g}/s "
              f"settle={args.settle:g}s seconds={args.seconds:g} chatter=off")
        print(NODE_HEADER)
        results = []
        for clients, rate in matrix:
            for target, urls in targets.items():
                r = run_node(scratch, urls, ptok, stok, clients, rate, args)
                results.append((target, clients, rate, r))
                print(node_row(target, r), flush=True)
        if not args.no_peer:
            print("ratio ours/peer (p99; lost):")
            peer = {(c, rt): r for t, c, rt, r in results if t == "peer-node"}
            for target, clients, rate, r in results:
                if target == "peer-node":
                    continue
                p = peer[(clients, rate)]
                ratio = r["p99_ms"] / p["p99_ms"] if p["p99_ms"] else float("inf")
                print(f"  {target:<15} {clients:6d} clients {rate:5g} msg/s: p99 "
                      f"{r['p99_ms']:.1f} / {p['p99_ms']:.1f} ms = {ratio:.2f}; "
                      f"lost {r['lost']} / {p['lost']}")
    finally:
        stop_all(procs)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    main()
