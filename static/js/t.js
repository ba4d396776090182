/* SISO lead tag: reports a lead from SISO's website with the visitor's partner
   attribution (the siso_ref cookie travels with the request). No third-party code.
   Use: <script src="https://partners.siso.example/t.js" defer></script>, then either
   <form data-siso-lead> with inputs named company_name, contact_name, contact_email,
   contact_phone, notes, or sisoLead({...}) which returns a Promise of the answer. */
(function () {
  "use strict";
  var me = document.currentScript;
  var base = me ? new URL(me.src).origin : "";
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "id-" + Date.now().toString(16) + "-" + Math.random().toString(16).slice(2, 12);
  }
  function send(fields) {
    var body = {};
    for (var k in fields) if (Object.prototype.hasOwnProperty.call(fields, k)) body[k] = fields[k];
    body.client_id = body.client_id || newId();
    return fetch(base + "/t/lead", {
      method: "POST", mode: "cors", credentials: "include",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (j) { j.status = r.status; return j; }); });
  }
  window.sisoLead = send;
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-siso-lead")) return;
    e.preventDefault();
    if (!form.dataset.sisoId) form.dataset.sisoId = newId();  // a second submit is the same lead
    var fields = { client_id: form.dataset.sisoId };
    ["company_name", "contact_name", "contact_email", "contact_phone", "notes"].forEach(function (n) {
      if (form.elements[n]) fields[n] = form.elements[n].value;
    });
    send(fields).then(function (answer) {
      form.dispatchEvent(new CustomEvent("siso:lead", { detail: answer, bubbles: true }));
    }, function (err) {
      form.dispatchEvent(new CustomEvent("siso:lead", { detail: { error: String(err) }, bubbles: true }));
    });
  });
})();
