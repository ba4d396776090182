// Progressive enhancement only: pages work without this file.
(function () {
  "use strict";
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(function () {});
  }
  if (location.hash === "#new-lead") {
    var d = document.getElementById("new-lead");
    if (d) d.open = true;
  }
  var link = document.getElementById("ref-link");
  if (link && navigator.clipboard) {
    link.setAttribute("role", "button");
    link.setAttribute("tabindex", "0");
    link.title = "Copy link";
    var copy = function () { navigator.clipboard.writeText(link.textContent.trim()); link.classList.add("copied"); };
    link.addEventListener("click", copy);
    link.addEventListener("keydown", function (e) { if (e.key === "Enter") copy(); });
  }
})();
