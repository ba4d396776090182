// Campaign links: a Share button where the phone has the Web Share API (hidden elsewhere),
// a Copy button beside each address. No third-party code.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("button[data-share-url]"), function (b) {
    if (!navigator.share) { b.hidden = true; return; }
    b.hidden = false;
    b.addEventListener("click", function () {
      navigator.share({ title: b.getAttribute("data-share-title") || "SISO", url: b.getAttribute("data-share-url") })
        .catch(function () { /* the person closed the share sheet */ });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy-url]"), function (b) {
    if (!navigator.clipboard) { b.hidden = true; return; }
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(b.getAttribute("data-copy-url")).then(function () { b.textContent = "Copied"; });
    });
  });
})();
