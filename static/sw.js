// Service worker: cache the app shell and static files; network first for pages (the
// dashboard and leads list are kept for reading offline, stamped with when they were
// saved; leads written offline wait in static/js/leads-queue.js).
const CACHE = "siso-v4";  // a new name drops the old caches on activate
const SHELL = ["/static/css/app.css", "/static/js/app.js", "/static/js/leads-queue.js",
               "/static/icons/icon.svg", "/static/offline.html", "/static/js/offline.js"];
const KEPT = /\/partner\/(dashboard|leads)$/;
self.addEventListener("install", (e) => { e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL))); self.skipWaiting(); });
self.addEventListener("activate", (e) => {
  e.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k)))));
  self.clients.claim();
});

// A kept page, stamped with the time it was saved (X-Saved-At).
function keep(req, res) {
  return res.clone().text().then((body) => {
    const headers = new Headers(res.headers);
    headers.set("X-Saved-At", new Date().toISOString());
    return caches.open(CACHE).then((c) => c.put(req, new Response(body, { status: res.status, headers })));
  });
}

// A kept page served offline says so at the top: "Offline · last updated HH:MM".
function offlineCopy(hit) {
  const saved = hit.headers.get("X-Saved-At");
  const at = saved ? new Date(saved).toTimeString().slice(0, 5) : "";
  return hit.text().then((body) => {
    const note = '<div class="flash flash-info offline-note" role="status">Offline · last updated ' + at +
      ". New changes appear when you are back online.</div>";
    const headers = new Headers(hit.headers);
    return new Response(body.replace('<main class="page">', '<main class="page">' + note),
                        { status: 200, headers });
  });
}

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
      if (res.ok && KEPT.test(new URL(req.url).pathname)) e.waitUntil(keep(req, res));
      return res;
    }).catch(() => caches.match(req, { ignoreSearch: false }).then((hit) =>
      hit ? offlineCopy(hit) : caches.match("/static/offline.html"))));
  }
});

// Web push (rules: "Web push"): show the notice the server sent ({title, body, url, tag})
// and, when it is tapped, focus a window of the app on its page (or open one).
self.addEventListener("push", (e) => {
  let data = {};
  try { data = e.data ? e.data.json() : {}; } catch (err) { data = { body: e.data ? e.data.text() : "" }; }
  const url = typeof data.url === "string" && data.url.startsWith("/") && !data.url.startsWith("//")
    ? data.url : "/partner/notifications";
  e.waitUntil(self.registration.showNotification(data.title || "SISO Partners", {
    body: data.body || "", tag: data.tag, icon: "/static/icons/icon-192.png",
    badge: "/static/icons/icon-192.png", data: { url },
  }));
});
self.addEventListener("notificationclick", (e) => {
  e.notification.close();
  const target = new URL((e.notification.data && e.notification.data.url) || "/partner/notifications",
                         self.location.origin).href;
  e.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((wins) => {
    for (const w of wins) {
      if (w.url === target && "focus" in w) return w.focus();
    }
    for (const w of wins) {
      if ("navigate" in w) return w.navigate(target).then((c) => (c || w).focus());
    }
    return self.clients.openWindow(target);
  }));
});
