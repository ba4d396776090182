// Live notifications on every portal page (rules: "Notifications": they ride the same socket in a
// per-user room). One Socket.IO connection per page, shared as window.sisoSocket with
// the page's own scripts (chat, materials). Pages work without it.
(function () {
  "use strict";
  if (!window.io || !document.getElementById("live-toast")) return;
  var socket = window.sisoSocket || (window.sisoSocket = window.io({
    transports: ["websocket", "polling"], reconnectionDelayMax: 5000 }));
  var toast = document.getElementById("live-toast");
  var timer = null;

  function bumpBadge() {
    var bell = document.querySelector(".bell");
    if (!bell) return;
    var badge = document.getElementById("unread-count");
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "badge";
      badge.id = "unread-count";
      badge.textContent = "0";
      bell.appendChild(badge);
    }
    var n = (+badge.textContent || 0) + 1;
    badge.textContent = String(n);
    bell.setAttribute("aria-label", "Notifications, " + n + " unread");
  }

  // One event often brings several notices at once (a confirmed deal: the commission,
  // a promotion, a badge), so the toast stacks the newest few, newest last.
  var MAX_SHOWN = 3;

  function show(n) {
    if (toast.hidden) toast.textContent = "";
    var line = document.createElement("div");
    line.className = "live-toast-item";
    var text = document.createElement(n.url && n.url.charAt(0) === "/" && n.url.charAt(1) !== "/" ? "a" : "span");
    if (text.tagName === "A") text.href = n.url;
    text.textContent = n.title || "New notification";
    line.appendChild(text);
    toast.appendChild(line);
    while (toast.children.length > MAX_SHOWN) toast.removeChild(toast.firstChild);
    toast.hidden = false;
    clearTimeout(timer);
    timer = setTimeout(function () { toast.hidden = true; }, 8000);
  }

  socket.on("notification", function (n) {
    bumpBadge();
    show(n || {});
    // The notifications drawer (drawer.js) listens for this to refresh itself.
    if (window.CustomEvent) document.dispatchEvent(new CustomEvent("siso:notification", { detail: n || {} }));
  });
})();
