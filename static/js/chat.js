// Live chat over Socket.IO: join the channel, send with acknowledgement, render safely.
(function () {
  "use strict";
  var root = document.querySelector(".chat");
  if (!root || typeof io === "undefined") return;
  var channelId = parseInt(root.dataset.channelId, 10);
  var list = document.getElementById("messages");
  var form = document.getElementById("chat-form");
  var errorBox = document.getElementById("chat-error");
  var lastId = 0;
  list.querySelectorAll("li[data-id]").forEach(function (li) { lastId = Math.max(lastId, +li.dataset.id); });

  function render(m) {
    if (list.querySelector('li[data-id="' + m.id + '"]')) return;
    var li = document.createElement("li");
    li.dataset.id = m.id;
    var who = document.createElement("strong"); who.className = "author"; who.textContent = m.author;
    var when = document.createElement("time"); when.className = "muted";
    when.textContent = " " + new Date(m.created_at).toISOString().slice(11, 16);
    var body = document.createElement("p"); body.className = "body"; body.textContent = m.body;
    li.append(who, when, body);
    list.appendChild(li);
    lastId = Math.max(lastId, m.id);
    list.scrollTop = list.scrollHeight;
  }
  function showError(msg) { errorBox.textContent = msg; errorBox.hidden = !msg; }

  var socket = io({ transports: ["websocket", "polling"] });
  socket.on("connect", function () {
    socket.emit("join", { channel: channelId }, function (ack) {
      if (ack && ack.ok) ack.messages.forEach(function (m) { if (m.id > lastId || true) render(m); });
      else if (ack) showError(ack.error.message);
    });
  });
  socket.on("message", function (m) { if (m.channel_id === channelId) render(m); });
  socket.on("error", function (e) { showError(e.message); });
  list.scrollTop = list.scrollHeight;
  if (!form) return;
  var box = form.querySelector("textarea");
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = box.value.trim();
    if (!text) return;
    showError("");
    socket.emit("send", { channel: channelId, body: text }, function (ack) {
      if (ack && ack.ok) box.value = ""; else showError(ack ? ack.error.message : "Not sent; check your connection.");
    });
  });
  box.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
  });
})();
