// Progressive enhancement only: pages work without this file.
(function () {
  "use strict";
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(function () {});
  }
  // A link to #new-lead or #log-sale opens that folded form.
  if (location.hash === "#new-lead" || location.hash === "#log-sale") {
    var d = document.getElementById(location.hash.slice(1));
    if (d) { d.open = true; d.scrollIntoView(); }
  }
  // A chosen chip (playbook library industries) that is off-screen on a phone: show it.
  var chip = document.querySelector(".chips [aria-current]");
  if (chip && chip.scrollIntoView && chip.offsetLeft + chip.offsetWidth > chip.parentNode.clientWidth) {
    chip.parentNode.scrollLeft = chip.offsetLeft - chip.parentNode.offsetLeft - 16;
  }
  // Copy and Share next to a link to hand out (templates: share_link).
  var say = function (button, text) {
    var was = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", was);
    button.textContent = text; button.classList.add("copied");
    setTimeout(function () { button.textContent = was; button.classList.remove("copied"); }, 2500);
  };
  Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (b) {
    if (!navigator.clipboard) return;
    b.hidden = false;
    b.addEventListener("click", function () {
      var text = document.getElementById(b.getAttribute("data-copy")).textContent.trim();
      navigator.clipboard.writeText(text).then(function () { say(b, "Copied ✓"); },
        function () { say(b, "Copy failed"); });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-share]"), function (b) {
    if (!navigator.share) return;
    b.hidden = false;
    b.addEventListener("click", function () {
      var url = document.getElementById(b.getAttribute("data-share")).textContent.trim();
      navigator.share({ title: b.getAttribute("data-share-title") || document.title, url: url }).catch(function () {});
    });
  });
  // The commission a deal value would earn at the partner's rate, as it is typed
  // (round half up to the cent, as core.money.cents.commission_cents).
  var expected = document.getElementById("expected-commission");
  if (expected) {
    var valueBox = expected.parentNode.querySelector("input[inputmode=decimal]");
    var out = expected.querySelector("[data-expected]");
    var bps = +expected.getAttribute("data-rate-bps");
    var fmt = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
    var update = function () {
      var dollars = parseFloat((valueBox.value || "").replace(/[$,\s]/g, ""));
      var cents = Math.round(dollars * 100);
      out.textContent = dollars > 0 && isFinite(dollars) ? fmt.format(Math.floor((cents * bps + 5000) / 10000) / 100) : "—";
    };
    if (valueBox) valueBox.addEventListener("input", update);
  }
  // A button that does something lasting asks first (data-confirm holds the question).
  Array.prototype.forEach.call(document.querySelectorAll("button[data-confirm]"), function (b) {
    b.addEventListener("click", function (e) { if (!window.confirm(b.getAttribute("data-confirm"))) e.preventDefault(); });
  });
  // Theme toggle: switch in place and keep the choice in the same cookie the server reads.
  var themeForm = document.getElementById("theme-toggle");
  if (themeForm) {
    var root = document.documentElement;
    var btn = themeForm.querySelector("button[name=theme]");
    var light = window.matchMedia ? window.matchMedia("(prefers-color-scheme: light)") : null;
    var effective = function () {
      return root.getAttribute("data-theme") || (light && light.matches ? "light" : "dark");
    };
    var relabel = function () {
      var next = effective() === "light" ? "dark" : "light";
      btn.value = next;
      btn.setAttribute("aria-label", "Switch to " + next + " theme");
      btn.title = "Switch to " + next + " theme";
    };
    relabel();
    if (light && light.addEventListener) light.addEventListener("change", relabel);
    themeForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var theme = btn.value;
      root.setAttribute("data-theme", theme);
      document.cookie = "theme=" + theme + "; path=/; max-age=31536000; SameSite=Lax" +
        (location.protocol === "https:" ? "; Secure" : "");
      Array.prototype.forEach.call(document.querySelectorAll('meta[name="theme-color"]'), function (m) {
        m.removeAttribute("media");
        m.setAttribute("content", theme === "light" ? "#e3e5e8" : "#1e1f22");
      });
      relabel();
    });
  }
})();
