// The Node.js load generator of bench/chat.py (--generator node): one process holds every
// receiver (socket.io-client over WebSocket), the staff senders send time-stamped messages
// at a fixed rate, every receiver measures send-to-receive latency on the same clock.
// The same phases as the Python generator: connect and join at a fixed rate, settle, a
// measured phase, a drain. Reads a JSON config (path in argv[2]), prints one JSON result.
import fs from "node:fs";
import { io } from "socket.io-client";

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const now = () => performance.timeOrigin + performance.now();  // ms since the epoch
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const quantile = (xs, p) => {
  if (!xs.length) return 0;
  const s = Float64Array.from(xs).sort();
  const k = (s.length - 1) * p;
  const lo = Math.floor(k), hi = Math.ceil(k);
  return s[lo] + (s[hi] - s[lo]) * (k - lo);
};
const r1 = (x) => Math.round(x * 10) / 10;

let measuring = false;
const lat = [];
const seen = new Set();
const joinMs = [];
let connectErrors = 0, phaseErrors = 0, dropped = 0;

function connect(url, token) {
  return io(url, { auth: { token }, transports: ["websocket"], reconnection: false,
                   forceNew: true, timeout: 30000 });
}

async function receiver(i, token) {
  const t0 = now();
  const c = connect(cfg.urls[i % cfg.urls.length], token);
  c.on("message", (m) => {
    let body;
    try { body = JSON.parse(m.body); } catch { return; }
    if (!body || body.run !== cfg.run) return;
    lat.push(now() - body.t * 1000);
    seen.add(i * 1e6 + body.n);
  });
  c.on("disconnect", () => { if (measuring) dropped += 1; });
  try {
    await new Promise((resolve, reject) => {
      c.once("connect", resolve);
      c.once("connect_error", reject);
    });
    const ack = await c.timeout(30000).emitWithAck("join", { channel: "general" });
    if (!ack || !ack.ok) { connectErrors += 1; c.close(); return null; }
    joinMs.push(now() - t0);
    return c;
  } catch {
    connectErrors += 1;
    c.close();
    return null;
  }
}

const startConnect = now();
const pending = [];
cfg.receiver_tokens.forEach((token, k) => {
  pending.push(sleep(startConnect + (k / cfg.connect_rate) * 1000 - now())
    .then(() => receiver(k, token)));
});
const receivers = (await Promise.all(pending)).filter(Boolean);
const connectS = (now() - startConnect) / 1000;

const senders = [];
for (const [k, token] of cfg.sender_tokens.entries()) {
  const c = connect(cfg.urls[k % cfg.urls.length], token);
  await new Promise((resolve, reject) => { c.once("connect", resolve); c.once("connect_error", reject); });
  senders.push(c);
}
await sleep(cfg.settle * 1000);

measuring = true;
const cpu0 = process.cpuUsage();
const total = Math.round(cfg.rate * cfg.seconds);
const start = now();
const acks = [];
for (let n = 0; n < total; n++) {
  await sleep(start + (n / cfg.rate) * 1000 - now());
  const c = senders[n % senders.length];
  const body = JSON.stringify({ t: now() / 1000, n, run: cfg.run });
  acks.push(c.timeout(30000).emitWithAck("send", { channel: "general", body })
    .then((a) => (a && a.ok ? 1 : 0), () => 0));
}
const ok = (await Promise.all(acks)).reduce((a, b) => a + b, 0);
phaseErrors += total - ok;
const expected = ok * receivers.length;
let deadline = now() + cfg.drain * 1000, last = -1;
while (seen.size < expected && now() < deadline) {
  if (seen.size !== last) { last = seen.size; deadline = Math.max(deadline, now() + 2000); }
  await sleep(100);
}
measuring = false;
const cpu = process.cpuUsage(cpu0);
const elapsed = (now() - start) / 1000;
for (const c of [...receivers, ...senders]) c.close();

process.stdout.write(JSON.stringify({
  clients: receivers.length, rate: cfg.rate, sent: total, ok, received: seen.size,
  lost: Math.max(0, expected - seen.size), errors: phaseErrors + dropped, dropped,
  p50_ms: r1(quantile(lat, 0.5)), p99_ms: r1(quantile(lat, 0.99)),
  max_ms: r1(lat.reduce((a, b) => (b > a ? b : a), 0)),
  deliveries_per_s: Math.round(seen.size / Math.max(elapsed, 1e-9)),
  connect_s: r1(connectS), join_p50_ms: r1(quantile(joinMs, 0.5)),
  join_p99_ms: r1(quantile(joinMs, 0.99)), conn_err: connectErrors,
  generator_cpu_pct: Math.round(((cpu.user + cpu.system) / 1000) / (elapsed * 1000) * 100),
}) + "\n");
process.exit(0);
