// Time zone picker (profile): search by city or region, and the device's own zone as the
// default while the partner has never chosen one (saved value UTC). Without this file the
// grouped <select> works as it is.
(function () {
  "use strict";
  var select = document.getElementById("timezone");
  var search = document.getElementById("tz-search");
  var note = document.getElementById("tz-note");
  if (!select || !search) return;
  var groups = Array.prototype.map.call(select.querySelectorAll("optgroup"), function (g) {
    return { label: g.label, options: Array.prototype.map.call(g.children, function (o) {
      return { value: o.value, text: o.textContent }; }) };
  });
  function render(query) {
    var q = query.trim().toLowerCase().replace(/[\s_/]+/g, " ");
    var current = select.value, shown = 0;
    select.textContent = "";
    groups.forEach(function (g) {
      var hits = g.options.filter(function (o) {
        return !q || (g.label + " " + o.text + " " + o.value.replace(/[_/]/g, " ")).toLowerCase().indexOf(q) >= 0;
      });
      if (!hits.length) return;
      var og = document.createElement("optgroup"); og.label = g.label;
      hits.forEach(function (o) {
        var opt = document.createElement("option"); opt.value = o.value; opt.textContent = o.text;
        if (o.value === current) opt.selected = true;
        og.appendChild(opt); shown += 1;
      });
      select.appendChild(og);
    });
    note.textContent = q ? shown + (shown === 1 ? " time zone matches." : " time zones match.") + (shown ? " Choose one below." : "")
      : "Times in the portal are shown in this zone.";
  }
  search.hidden = false;
  search.addEventListener("input", function () { render(search.value); });
  var device = "";
  try { device = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { device = ""; }
  if (note.getAttribute("data-saved") === "UTC" && device && device !== "UTC" &&
      select.querySelector('option[value="' + device.replace(/"/g, "") + '"]')) {
    select.value = device;
    note.textContent = "Set from this device (" + device.replace(/_/g, " ") + "). Save your profile to keep it.";
  }
})();
