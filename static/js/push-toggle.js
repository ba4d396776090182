// The push toggle of the notifications page (rules: "Web push"). The browser's permission
// is asked only when the partner turns the toggle on, never on page load. On: permission,
// then the Push API subscription (VAPID key from data-vapid-key) handed to the server;
// off: the subscription dropped here and on the server. No inline script: the CSP forbids it.
(function () {
  "use strict";
  var box = document.querySelector("[data-push-toggle]");
  if (!box) return;
  var toggle = document.getElementById("push-enabled");
  var status = document.getElementById("push-status");
  var devices = document.getElementById("push-devices");
  var token = (document.querySelector("input[name=csrf_token]") || {}).value || "";

  function say(text) { status.textContent = text; }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say("This browser cannot receive push notices. On a phone, add the app to your home screen first.");
    return;
  }

  function keyBytes(b64) {
    var pad = "=".repeat((4 - (b64.length % 4)) % 4);
    var raw = atob((b64 + pad).replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "X-CSRFToken": token, "Accept": "application/json" }
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error((data.error && data.error.message) || ("HTTP " + r.status));
        if (devices && typeof data.devices === "number") devices.textContent = String(data.devices);
        return data;
      });
    });
  }

  function registration() {
    return navigator.serviceWorker.getRegistration().then(function (reg) {
      return reg || navigator.serviceWorker.register("/sw.js");
    }).then(function () { return navigator.serviceWorker.ready; });
  }

  function turnOn() {
    say("Asking your browser for permission…");
    return Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") {
        toggle.checked = false;
        say(permission === "denied"
          ? "Notifications are blocked for this site. Allow them in the browser's site settings, then turn this on again."
          : "Push stays off: permission was not given.");
        return;
      }
      return registration().then(function (reg) {
        return reg.pushManager.subscribe({
          userVisibleOnly: true, applicationServerKey: keyBytes(box.getAttribute("data-vapid-key"))
        });
      }).then(function (sub) {
        return post(box.getAttribute("data-subscribe-url"), sub.toJSON());
      }).then(function () { say("Push is on for this device."); });
    }).catch(function (err) {
      toggle.checked = false;
      say("Push could not be turned on: " + err.message);
    });
  }

  function turnOff() {
    return registration().then(function (reg) { return reg.pushManager.getSubscription(); })
      .then(function (sub) {
        if (!sub) return null;
        var endpoint = sub.endpoint;
        return sub.unsubscribe().then(function () {
          return post(box.getAttribute("data-unsubscribe-url"), { endpoint: endpoint });
        });
      }).then(function () { say("Push is off for this device."); })
      .catch(function (err) { say("Push could not be turned off: " + err.message); });
  }

  toggle.disabled = false;
  // Show the current state without asking anything: a subscription exists and permission
  // was given earlier.
  if (Notification.permission === "granted") {
    navigator.serviceWorker.getRegistration().then(function (reg) {
      return reg ? reg.pushManager.getSubscription() : null;
    }).then(function (sub) {
      if (sub) { toggle.checked = true; say("Push is on for this device."); }
    }).catch(function () {});
  }
  toggle.addEventListener("change", function () {
    if (toggle.checked) turnOn(); else turnOff();
  });
})();
