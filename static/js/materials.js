// Materials page: follow renders in progress. Live "notification" events over Socket.IO
// trigger a refresh at once; polling every 3 s is the fallback. Works without JS too.
(function () {
  "use strict";
  document.querySelectorAll(".swatch[data-color]").forEach(function (el) {
    if (/^#[0-9a-f]{6}$/i.test(el.dataset.color)) el.style.background = el.dataset.color;
  });
  function waiting() {
    return Array.prototype.filter.call(document.querySelectorAll("#renders li[data-status]"),
      function (li) { return li.dataset.status === "pending" || li.dataset.status === "rendering"; });
  }
  function check() {
    waiting().forEach(function (li) {
      fetch(li.dataset.statusUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); })
        .then(function (s) {
          if (s.status === li.dataset.status) return;
          li.dataset.status = s.status;
          var box = li.querySelector(".render-state");
          box.textContent = "";
          if (s.status === "ready") {
            var a = document.createElement("a");
            a.href = s.download_url; a.textContent = "Download PDF";
            box.appendChild(a);
          } else if (s.status === "failed") {
            box.textContent = "failed: " + s.error;
          } else {
            box.textContent = "rendering…";
          }
        }).catch(function () {});
    });
  }
  if (!waiting().length) return;
  var timer = setInterval(function () { if (!waiting().length) clearInterval(timer); else check(); }, 3000);
  if (window.io) {
    var socket = window.sisoSocket || (window.sisoSocket = window.io({ transports: ["websocket", "polling"] }));
    socket.on("notification", function (n) { if (n.kind === "material") check(); });
  }
})();
