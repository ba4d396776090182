// Leads written without a connection (rules: "Leads"): the "Add a lead" form
// is kept on this device and sent when the phone is back online. Every lead carries an id
// made here (client_ref); the server turns a resend of the same id into the same lead, so
// a send whose answer was lost, or a second tab flushing too, never makes a duplicate.
// Without JavaScript the form posts as usual.
(function () {
  "use strict";
  var KEY = "siso:queued-leads";
  var form = document.getElementById("new-lead-form");
  var box = document.getElementById("lead-queue");
  if (!form || !box || !window.localStorage || !window.fetch) return;
  var ref = form.querySelector("input[name=client_ref]");
  var FIELDS = ["company_name", "contact_name", "contact_email", "contact_phone",
                "project_type", "estimated_value"];
  var sending = false;

  // Reload to show what was sent, scrolled to the message ("Lead added"), not to the form.
  function reloadToMessage() {
    history.scrollRestoration = "manual";
    history.replaceState(history.state, "", location.pathname + location.search + "#flashes");
    location.reload();
  }

  function newRef() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var s = "";
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes.forEach(function (b) { s += (b + 256).toString(16).slice(1); });
    return s;
  }
  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function save(items) { localStorage.setItem(KEY, JSON.stringify(items)); render(items); }
  function render(items) {
    var list = document.getElementById("lead-queue-list");
    list.textContent = "";
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.textContent = item.fields.company_name + (item.error ? " — " + item.error : "");
      if (item.error) li.className = "error";
      list.appendChild(li);
    });
    document.getElementById("lead-queue-count").textContent = String(items.length);
    box.hidden = items.length === 0;
  }
  function status(text) { document.getElementById("lead-queue-status").textContent = text; }

  if (ref && !ref.value) ref.value = newRef();

  function queue() {
    var fields = {};
    FIELDS.forEach(function (name) {
      var input = form.querySelector("[name=" + name + "]");
      fields[name] = input ? input.value.trim() : "";
    });
    var items = load();
    if (!items.some(function (i) { return i.client_ref === ref.value; })) {
      items.push({ client_ref: ref.value, fields: fields, queued_at: new Date().toISOString() });
    }
    save(items);
    status("Saved on this device. It is sent when you are back online.");
    form.reset();
    ref.value = newRef();
    var details = document.getElementById("new-lead");
    if (details) details.open = false;
  }

  // Send one queued lead; resolves "sent", "refused" (the server said no: keep it with
  // the reason) or "later" (offline, or logged out: try again later).
  function send(item) {
    var body = new URLSearchParams();
    var token = form.querySelector("input[name=csrf_token]");
    if (token) body.set("csrf_token", token.value);
    body.set("client_ref", item.client_ref);
    FIELDS.forEach(function (name) { body.set(name, item.fields[name] || ""); });
    return fetch(form.action || location.pathname, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (res) {
      var json = (res.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (!json) {
        item.error = "log in again to send it";
        return "later";
      }
      return res.json().then(function (data) {
        if (res.ok) return "sent";
        item.error = data.error ? data.error.message : "refused";
        return "refused";
      });
    }, function () { return "later"; });
  }

  function flush() {
    if (sending || navigator.onLine === false) return;
    var items = load();
    if (!items.length) return;
    sending = true;
    status("Sending…");
    var sent = 0;
    var next = function (i) {
      if (i >= items.length) {
        sending = false;
        var left = items.filter(function (x) { return !x.done; });
        save(left);
        if (sent && !left.length) { reloadToMessage(); return; }
        status(left.length ? "Some leads could not be sent yet; see the reason next to each."
                           : "Saved on this device. They are sent when you are back online.");
        return;
      }
      if (items[i].error && items[i].refused) { next(i + 1); return; }
      send(items[i]).then(function (outcome) {
        if (outcome === "sent") { items[i].done = true; sent += 1; }
        if (outcome === "refused") items[i].refused = true;
        next(i + 1);
      });
    };
    next(0);
  }

  // Every submit goes through fetch: a phone that says it is online but has no signal
  // must not lose the lead to a browser error page. Refusals (bad fields) and expired
  // sessions fall back to the normal post, which shows the errors or the log-in page.
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var company = form.querySelector("[name=company_name]");
    if (!company.value.trim()) { form.submit(); return; }
    if (navigator.onLine === false) { queue(); return; }
    var item = { client_ref: ref.value, fields: {} };
    FIELDS.forEach(function (name) {
      var input = form.querySelector("[name=" + name + "]");
      item.fields[name] = input ? input.value.trim() : "";
    });
    send(item).then(function (outcome) {
      if (outcome === "sent") { reloadToMessage(); return; }
      if (outcome === "later" && !item.error) { queue(); return; }
      form.submit();
    });
  });
  window.addEventListener("online", flush);
  render(load());
  flush();
})();
