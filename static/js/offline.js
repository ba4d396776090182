// The offline page lists only the pages this phone really kept (static/sw.js caches the
// dashboard and the leads list when they are opened online), with when they were saved.
(function () {
  "use strict";
  if (!window.caches) return;
  var PAGES = [["/partner/dashboard", "Dashboard"], ["/partner/leads", "Leads"]];
  var list = document.getElementById("offline-pages");
  Promise.all(PAGES.map(function (p) {
    return caches.match(p[0]).then(function (hit) { return hit ? [p, hit.headers.get("X-Saved-At")] : null; });
  })).then(function (found) {
    found.filter(Boolean).forEach(function (f) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.href = f[0][0]; a.textContent = f[0][1];
      li.appendChild(a);
      if (f[1]) li.appendChild(document.createTextNode(" (last updated " + new Date(f[1]).toTimeString().slice(0, 5) + ")"));
      list.appendChild(li);
    });
    document.getElementById("offline-saved").hidden = !list.children.length;
  });
})();
