// The notifications drawer (progressive enhancement: without this file the bell is a
// plain link to /partner/notifications). The bell opens a dialog with the newest
// notifications, fetched from data-src each time it opens; "Mark all read" posts its
// form in place; Escape, the close button or a tap outside closes it and focus returns
// to the bell. No inline script or handler: the CSP forbids them.
(function () {
  "use strict";
  var bell = document.querySelector(".bell[data-drawer]");
  var drawer = bell && document.getElementById(bell.getAttribute("data-drawer"));
  if (!bell || !drawer || !window.fetch || !window.FormData) return;
  var body = drawer.querySelector("[data-drawer-body]");
  var heading = drawer.querySelector("h2");
  var closer = drawer.querySelector("[data-drawer-close]");
  var loading = 0;

  bell.setAttribute("role", "button");
  bell.setAttribute("aria-haspopup", "dialog");
  bell.setAttribute("aria-controls", drawer.id);
  bell.setAttribute("aria-expanded", "false");

  function setUnread(n) {
    var badge = document.getElementById("unread-count");
    if (n > 0) {
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "badge";
        badge.id = "unread-count";
        bell.appendChild(badge);
      }
      badge.textContent = String(n);
    } else if (badge) {
      badge.parentNode.removeChild(badge);
    }
    bell.setAttribute("aria-label", "Notifications, " + n + " unread");
  }

  function isOpen() { return !drawer.hidden; }

  function load() {
    var mine = ++loading;
    body.setAttribute("aria-busy", "true");
    return fetch(drawer.getAttribute("data-src"), {
      credentials: "same-origin", headers: { "Accept": "text/html" }, cache: "no-store"
    }).then(function (r) {
      if (!r.ok || r.redirected) throw new Error("drawer " + r.status);
      return r.text();
    }).then(function (html) {
      if (mine !== loading) return;
      body.innerHTML = html;  // rendered and escaped by the server (Jinja)
      body.removeAttribute("aria-busy");
      var summary = body.querySelector("[data-unread]");
      if (summary) setUnread(+summary.getAttribute("data-unread") || 0);
    }).catch(function () {
      window.location.href = bell.href;  // session gone or server trouble: the page
    });
  }

  function focusables() {
    return Array.prototype.filter.call(
      drawer.querySelectorAll("a[href], button:not([disabled]), [tabindex='-1']"),
      function (el) { return el.offsetParent !== null || el === heading; });
  }

  function open() {
    drawer.hidden = false;
    bell.setAttribute("aria-expanded", "true");
    document.body.classList.add("drawer-open");
    heading.focus();
    load();
  }

  function close() {
    if (!isOpen()) return;
    drawer.hidden = true;
    bell.setAttribute("aria-expanded", "false");
    document.body.classList.remove("drawer-open");
    bell.focus();
  }

  bell.addEventListener("click", function (e) {
    e.preventDefault();
    if (isOpen()) close(); else open();
  });
  bell.addEventListener("keydown", function (e) {
    if (e.key === " ") { e.preventDefault(); bell.click(); }  // a button answers Space too
  });
  closer.addEventListener("click", close);
  drawer.addEventListener("click", function (e) {
    if (e.target === drawer) close();  // the dimmed area outside the panel
  });
  document.addEventListener("keydown", function (e) {
    if (!isOpen()) return;
    if (e.key === "Escape") { e.preventDefault(); close(); return; }
    if (e.key !== "Tab") return;
    var items = focusables();
    if (!items.length) return;
    var first = items[0], last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
  });

  // "Mark all read": post the form (its CSRF token included) and update in place.
  body.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute("data-mark-all")) return;
    e.preventDefault();
    var button = form.querySelector("button");
    if (button) button.disabled = true;
    fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (r) {
      if (!r.ok) throw new Error("mark all read " + r.status);
      return r.json();
    }).then(function () {
      setUnread(0);
      Array.prototype.forEach.call(body.querySelectorAll(".notif.unread"), function (li) {
        li.classList.remove("unread");
      });
      Array.prototype.forEach.call(body.querySelectorAll(".notif-unread-label"), function (s) {
        s.parentNode.removeChild(s);
      });
      var summary = body.querySelector("[data-unread]");
      if (summary) {
        summary.setAttribute("data-unread", "0");
        summary.textContent = "All caught up: no unread notifications";
        summary.setAttribute("tabindex", "-1");
        summary.setAttribute("role", "status");
      }
      form.parentNode.removeChild(form);
      (summary || heading).focus();
    }).catch(function () {
      form.submit();  // plain POST; the server answers with the notifications page
    });
  });

  // A notification arriving live (static/js/live.js) refreshes an open drawer.
  document.addEventListener("siso:notification", function () {
    if (isOpen()) load();
  });
})();
