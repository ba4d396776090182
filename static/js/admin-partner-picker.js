// Partner pickers in the back office (admin/views/fields.py partner_field): a text box
// whose suggestions come from /admin/partner-lookup/?q=... as the user types. Choosing a
// suggestion fills in "Ana Silva (#1042)", which the server reads back as partner 1042;
// without JavaScript the box still takes a name, e-mail, code or #number.
(function () {
  "use strict";
  var inputs = document.querySelectorAll("input[data-partner-search]");
  if (!inputs.length) { return; }
  var list = document.getElementById("partner-options");
  if (!list) {
    list = document.createElement("datalist");
    list.id = "partner-options";
    document.body.appendChild(list);
  }
  var timer = null;
  var asked = "";
  function suggest(input) {
    var q = input.value.trim();
    if (q.length < 2 || q === asked || /\(#\d+\)$/.test(q)) { return; }
    asked = q;
    fetch(input.getAttribute("data-partner-search") + "?q=" + encodeURIComponent(q),
          {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (rows) {
        if (input.value.trim() !== q) { return; }
        list.textContent = "";
        rows.forEach(function (p) {
          var o = document.createElement("option");
          o.value = p.label;
          o.textContent = [p.email, p.company, p.status].filter(Boolean).join(" · ");
          list.appendChild(o);
        });
      })
      .catch(function () {});
  }
  inputs.forEach(function (input) {
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { suggest(input); }, 150);
    });
  });
}());
