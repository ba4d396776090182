// Service worker: cache the app shell and static files; network first for pages (the
// dashboard and leads list are kept for reading offline; leads written offline wait in
// static/js/leads-queue.js).
const CACHE = "siso-v3";  // a new name drops the old caches on activate
const SHELL = ["/static/css/app.css", "/static/js/app.js", "/static/js/leads-queue.js",
               "/static/icons/icon.svg", "/static/offline.html"];
self.addEventListener("install", (e) => { e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL))); self.skipWaiting(); });
self.addEventListener("activate", (e) => {
  e.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k)))));
  self.clients.claim();
});
self.addEventListener("fetch", (e) => {
  const req = e.request;
  if (req.method !== "GET" || new URL(req.url).origin !== location.origin) return;
  if (req.url.includes("/static/")) {
    // Stale while revalidate: answer from the cache at once, refresh it from the network
    // (so a new release's files arrive by the next load), the network when not cached.
    e.respondWith(caches.match(req).then((hit) => {
      const fresh = fetch(req).then((res) => {
        if (res.ok) { const copy = res.clone(); caches.open(CACHE).then((c) => c.put(req, copy)); }
        return res;
      });
      if (hit) { fresh.catch(() => {}); return hit; }
      return fresh;
    }));
    return;
  }
  if (req.mode === "navigate") {
    e.respondWith(fetch(req).then((res) => {
      if (res.ok && /\/partner\/(dashboard|leads)$/.test(new URL(req.url).pathname)) {
        const copy = res.clone(); caches.open(CACHE).then((c) => c.put(req, copy));
      }
      return res;
    }).catch(() => caches.match(req).then((hit) => hit || caches.match("/static/offline.html"))));
  }
});
