// The peer baseline of bench/chat.py: a minimal Socket.IO 4 server with the Redis adapter,
// speaking the chat events the load generator uses (join, send -> message; heartbeat, read,
// unread acknowledged) so the same clients, rates and measurements run against it and
// against ours. It persists nothing and checks no token: what a user who picked plain
// Socket.IO would start from. Usage: node peer.mjs PORT REDIS_URL CHANNEL
import http from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const [port, redisUrl, channel] = process.argv.slice(2);
const pub = createClient({ url: redisUrl });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);

const server = http.createServer((req, res) => {
  if (req.url === "/healthz") { res.writeHead(200); res.end("ok"); return; }
  res.writeHead(404); res.end();
});
const io = new Server(server, { adapter: createAdapter(pub, sub, { key: channel }),
                                transports: ["websocket"] });
let nextId = Number(port) * 1e7;  // unique across the pair without a shared counter

io.on("connection", (socket) => {
  const name = `Partner ${socket.id.slice(0, 6)}`;
  socket.on("join", (data, ack) => {
    socket.join(String(data?.channel ?? ""));
    if (typeof ack === "function") ack({ ok: true, channel: data?.channel, history: [] });
  });
  socket.on("send", (data, ack) => {
    const message = { id: ++nextId, channel: data?.channel, body: data?.body,
                      author: { id: 0, name, tier: "active" }, thread_root_id: null,
                      reply_count: 0, reactions: [], mentions: [], attachment: null,
                      created_at: new Date().toISOString(), edited_at: null };
    io.to(String(data?.channel ?? "")).emit("message", message);
    if (typeof ack === "function") ack({ ok: true, id: message.id });
  });
  for (const event of ["heartbeat", "read", "unread"]) {
    socket.on(event, (_data, ack) => { if (typeof ack === "function") ack({ ok: true }); });
  }
});
server.listen(Number(port), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
