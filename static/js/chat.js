// Live chat over Socket.IO (rules: "Chat"): join with catch-up after reconnects, send with
// acknowledgement, threads, reactions, edits, deletes, typing, presence, unread badges,
// read markers, search, attachments. Text from the server is either plain (textContent)
// or the server's sanitised HTML (the `html` field); nothing else reaches innerHTML.
(function () {
  "use strict";
  var root = document.querySelector(".chat");
  if (!root || typeof io === "undefined") return;
  var cfg = JSON.parse(document.getElementById("chat-config").textContent);
  var me = cfg.me, channelId = cfg.channel.id, slug = cfg.channel.slug;
  var list = document.getElementById("messages");
  var form = document.getElementById("chat-form");
  var errorBox = document.getElementById("chat-error");
  var typingBox = document.getElementById("typing");
  var connBox = document.getElementById("conn-state");
  var threadBox = document.getElementById("thread");
  var threadList = document.getElementById("thread-messages");
  var threadForm = document.getElementById("thread-form");
  var csrf = (document.querySelector("#chat-form input[name=csrf_token]") ||
              document.querySelector("input[name=csrf_token]") || {}).value;
  var REACTIONS = ["👍", "❤️", "😂", "🎉", "🔥", "👀"];
  var lastId = 0, readId = cfg.last_read_id || 0, openThread = null, typers = {};
  var byId = {};
  // Replies up to the newest id at render time are in their thread's reply_count already;
  // a newer one is counted once, however often it arrives (catch-up after a join, the
  // send acknowledgement and the broadcast).
  var renderedUpTo = cfg.latest_id || 0, counted = {};

  function showError(msg) { if (!errorBox) return; errorBox.textContent = msg || ""; errorBox.hidden = !msg; }
  function el(tag, cls, text) {
    var n = document.createElement(tag); if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text; return n;
  }
  function hhmm(iso) { return new Date(iso).toISOString().slice(11, 16); }

  function build(m) {
    var li = el("li", "msg" + (m.deleted ? " is-deleted" : ""));
    li.dataset.id = m.id; li.dataset.userId = m.user_id; li.id = (m.parent_id ? "t" : "m") + m.id;
    var head = el("div", "msg-head");
    head.append(el("strong", "author", m.author));
    if (m.author_is_staff) { head.append(" "); head.append(el("span", "tag", "staff")); }
    var t = el("time", "muted", hhmm(m.created_at)); t.dateTime = m.created_at;
    head.append(" ", t);
    if (m.edited_at && !m.deleted) head.append(" ", el("span", "muted edited", "(edited)"));
    if (!m.deleted) head.append(moreButton(m.author));
    li.append(head);
    if (m.deleted) li.append(el("p", "body muted", "Message deleted"));
    else { var body = el("div", "body"); body.innerHTML = m.html; li.append(body); }
    if (m.attachments && m.attachments.length) {
      var files = el("div", "attachments");
      m.attachments.forEach(function (a) {
        var link = el("a"); link.href = a.url + (a.content_type.indexOf("image/") === 0 ? "" : "?download=1");
        if (a.content_type.indexOf("image/") === 0) { var img = el("img"); img.src = a.url; img.alt = a.filename; link.append(img); }
        else { link.className = "file"; link.textContent = "📄 " + a.filename; }
        files.append(link);
      });
      li.append(files);
    }
    var reacts = el("div", "reactions");
    (m.reactions || []).forEach(function (r) {
      var mine = r.user_ids.indexOf(me.id) >= 0;
      var b = el("button", "reaction" + (mine ? " mine" : ""));
      b.type = "button"; b.dataset.emoji = r.emoji; b.setAttribute("aria-pressed", mine ? "true" : "false");
      b.append(r.emoji + " ", el("span", "count", String(r.count)));
      reacts.append(b);
    });
    li.append(reacts);
    if (!m.parent_id && m.reply_count) {
      var rb = el("button", "linkish replies", m.reply_count + (m.reply_count === 1 ? " reply" : " replies"));
      rb.type = "button"; rb.dataset.action = "thread"; li.append(rb);
    }
    return li;
  }

  // "⋯": the way to a message's actions by tap, keyboard and screen reader (hover is a
  // mouse's shortcut to the same bar).
  function moreButton(author) {
    var b = el("button", "msg-more", "⋯"); b.type = "button"; b.dataset.action = "more";
    b.setAttribute("aria-label", "Actions for " + author + "'s message");
    b.setAttribute("aria-expanded", "false"); b.setAttribute("aria-haspopup", "true");
    return b;
  }
  function closeActions(except) {
    root.querySelectorAll("li.msg.actions-open").forEach(function (li) {
      if (li === except) return;
      li.classList.remove("actions-open");
      var b = li.querySelector(".msg-more"); if (b) b.setAttribute("aria-expanded", "false");
    });
  }
  function toggleActions(li, btn) {
    actions(li);
    var open = !li.classList.contains("actions-open");
    closeActions(li);
    li.classList.toggle("actions-open", open);
    btn.setAttribute("aria-expanded", open ? "true" : "false");
    var first = open && li.querySelector(".msg-actions button");
    if (first) first.focus();
  }

  function actions(li) {
    // Hover/tap toolbar, built on demand so server-rendered and live messages match.
    if (li.querySelector(".msg-actions") || li.classList.contains("is-deleted")) return;
    var bar = el("div", "msg-actions");
    bar.setAttribute("role", "group"); bar.setAttribute("aria-label", "Message actions");
    if (cfg.channel.can_post) {
      REACTIONS.forEach(function (e) {
        var b = el("button", "linkish", e); b.type = "button"; b.dataset.react = e;
        b.setAttribute("aria-label", "React " + e); bar.append(b);
      });
      if (!li.id.startsWith("t")) { var r = el("button", "linkish", "Reply"); r.type = "button"; r.dataset.action = "thread"; bar.append(r); }
    }
    var m = byId[li.dataset.id];
    var own = +li.dataset.userId === me.id;
    if (own && m && (Date.now() - new Date(m.created_at).getTime()) < 10 * 60 * 1000) {
      var e2 = el("button", "linkish", "Edit"); e2.type = "button"; e2.dataset.action = "edit"; bar.append(e2);
    }
    if (own || me.is_staff) { var d = el("button", "linkish", "Delete"); d.type = "button"; d.dataset.action = "delete"; bar.append(d); }
    li.append(bar);
  }

  function countReply(m) {
    if (m.id <= renderedUpTo || counted[m.id] || m.deleted) return;
    counted[m.id] = true;
    var p = byId[m.parent_id];
    if (p) { p.reply_count = (p.reply_count || 0) + 1; if (document.getElementById("m" + p.id)) upsert(p); }
  }

  function upsert(m) {
    byId[m.id] = m;
    if (m.channel_id !== channelId) return;
    var target = m.parent_id ? threadList : list;
    if (m.parent_id) {
      countReply(m);
      lastId = Math.max(lastId, m.id);
      if (openThread !== m.parent_id) return;
    }
    var old = document.getElementById((m.parent_id ? "t" : "m") + m.id);
    var li = build(m);
    if (old) { old.replaceWith(li); return; }
    var stick = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    var after = null;
    target.querySelectorAll("li.msg").forEach(function (x) { if (+x.dataset.id > m.id && !after) after = x; });
    target.insertBefore(li, after);
    lastId = Math.max(lastId, m.id);
    if (stick || m.user_id === me.id) list.scrollTop = list.scrollHeight;
  }

  list.querySelectorAll("li.msg").forEach(function (li) { lastId = Math.max(lastId, +li.dataset.id); });
  lastId = Math.max(lastId, renderedUpTo);

  // The page's one socket (static/js/live.js opens it and shows notifications).
  var socket = window.sisoSocket || (window.sisoSocket = io({
    transports: ["websocket", "polling"], reconnectionDelayMax: 5000 }));
  var joined = false;
  function setConn(text) { connBox.textContent = text; }

  // The read marker is a database write on the server. Sent for every message, a busy
  // channel with 1,000 readers would cost 1,000 writes a message; send it at most once
  // every READ_EVERY_MS, the last call always going out when the wait is over.
  var READ_EVERY_MS = 5000, readTimer = null, readSentAt = 0;
  function markRead() {
    if (readTimer) return;  // a send is already scheduled; it will use the newest lastId
    var wait = readSentAt + READ_EVERY_MS - Date.now();
    if (wait > 0) { readTimer = setTimeout(function () { readTimer = null; markRead(); }, wait); return; }
    if (lastId > readId && document.visibilityState === "visible") {
      readSentAt = Date.now();
      socket.emit("read", { channel: channelId, last_id: lastId }, function (ack) { if (ack && ack.ok) readId = ack.last_read_id; });
    }
  }

  // Apply a catch-up page; while the server says there is more, ask for the next one
  // from the highest id seen (replies included), so nothing missed offline is dropped.
  function catchUp(messages, more) {
    var top = 0;
    messages.forEach(function (m) { upsert(m); top = Math.max(top, m.id); });
    if (more && top) {
      socket.emit("history", { channel: channelId, after: top }, function (ack) {
        if (ack && ack.ok) catchUp(ack.messages, ack.more);
      });
    }
  }

  function join() {
    // First join: the page already holds the newest 50; later joins: only what we missed.
    socket.emit("join", { channel: channelId, after: lastId }, function (ack) {
      if (!ack || !ack.ok) { showError(ack ? ack.error.message : "Could not join."); return; }
      joined = true; setConn("");
      catchUp(ack.messages, ack.more);
      ack.typing.forEach(function (uid) { typers[uid] = typers[uid] || { name: "Someone", until: Date.now() + 6000 }; });
      ack.presence.forEach(function (p) { presenceDot(p.user_id, p.state); });
      renderTyping(); markRead();
    });
  }
  socket.on("connect", join);
  if (socket.connected) join();  // the shared socket may have connected already
  socket.on("disconnect", function (reason) {
    joined = false; setConn("Reconnecting…");
    if (reason === "io server disconnect") setTimeout(function () { socket.connect(); }, 1500);
  });
  socket.on("connect_error", function (err) { setConn(err && err.message ? err.message : "Offline"); });
  socket.on("kicked", function (k) { showError(k.reason); });
  socket.on("message", function (m) {
    if (m.channel_id === channelId) { upsert(m); delete typers[m.user_id]; renderTyping(); markRead(); }
    else bump(m);
  });
  socket.on("message_updated", function (m) { if (m.channel_id === channelId) upsert(m); });
  socket.on("error", function (e) { showError(e.message); });
  socket.on("channel_lost", function (c) { if (c.channel_id === channelId) showError("You no longer have access to this channel."); });
  socket.on("channel_added", function (c) {
    // A channel staff just opened (or opened to this tier): list it without a reload.
    if (document.querySelector('.channels a[data-channel-id="' + c.channel_id + '"]')) return;
    var a = document.createElement("a");
    a.href = "/partner/chat/" + encodeURIComponent(c.slug);
    a.setAttribute("data-channel-id", String(c.channel_id));
    var name = document.createElement("span");
    name.className = "name"; name.textContent = (c.locked ? "🔒 " : "# ") + c.title;
    var unread = document.createElement("span");
    unread.className = "unread"; unread.hidden = true; unread.textContent = "0";
    var mentions = document.createElement("span");
    mentions.className = "mentions"; mentions.hidden = true; mentions.textContent = "@0";
    a.appendChild(name); a.appendChild(unread); a.appendChild(mentions);
    var titles = document.querySelectorAll(".channels .side-title");
    var dms = titles.length > 1 ? titles[1] : null;
    document.querySelector(".channels").insertBefore(a, dms);
  });
  socket.on("read", function (r) { if (r.channel_id === channelId) readId = Math.max(readId, r.last_read_id); else clearBadge(r.channel_id); });

  // --- unread badges for other channels ---
  function badge(cid, cls) {
    var a = document.querySelector('.channels a[data-channel-id="' + cid + '"]');
    return a ? a.querySelector("." + cls) : null;
  }
  function bump(m) {
    if (m.user_id === me.id) return;
    var u = badge(m.channel_id, "unread");
    if (u) { u.textContent = String((+u.textContent || 0) + 1); u.hidden = false; }
    if ((m.mentions || []).indexOf(me.id) >= 0) {
      var mm = badge(m.channel_id, "mentions");
      if (mm) { mm.textContent = "@" + ((+mm.textContent.slice(1) || 0) + 1); mm.hidden = false; }
    }
  }
  function clearBadge(cid) {
    ["unread", "mentions"].forEach(function (c) { var b = badge(cid, c); if (b) { b.hidden = true; b.textContent = c === "mentions" ? "@0" : "0"; } });
  }
  setInterval(function () {
    if (!joined) return;
    socket.emit("unread", {}, function (ack) {
      if (!ack || !ack.ok) return;
      Object.keys(ack.channels).forEach(function (cid) {
        if (+cid === channelId) return;
        var c = ack.channels[cid], u = badge(cid, "unread"), mm = badge(cid, "mentions");
        if (u) { u.textContent = String(c.unread); u.hidden = !c.unread; }
        if (mm) { mm.textContent = "@" + c.mentions; mm.hidden = !c.mentions; }
      });
    });
  }, 30000);

  // --- presence and typing ---
  function presenceDot(uid, state) {
    document.querySelectorAll('li.msg[data-user-id="' + uid + '"] .author').forEach(function (a) { a.dataset.presence = state; });
  }
  socket.on("presence", function (p) { (p.changes || []).forEach(function (c) { presenceDot(c.user_id, c.state); }); });
  function heartbeat() { if (socket.connected) socket.emit("heartbeat", { state: document.visibilityState === "visible" ? "online" : "away" }); }
  setInterval(heartbeat, (cfg.heartbeat || 25) * 1000);
  document.addEventListener("visibilitychange", function () { heartbeat(); markRead(); });

  function renderTyping() {
    var now = Date.now(), names = [];
    Object.keys(typers).forEach(function (k) { if (typers[k].until > now) names.push(typers[k].name); else delete typers[k]; });
    typingBox.textContent = !names.length ? "" : names.length === 1 ? names[0] + " is typing…"
      : names.length < 4 ? names.join(", ") + " are typing…" : "Several people are typing…";
  }
  socket.on("typing", function (t) {
    if (t.channel_id !== channelId || t.user_id === me.id) return;
    typers[t.user_id] = { name: t.name, until: Date.now() + t.expires_in * 1000 };
    renderTyping();
  });
  setInterval(renderTyping, 1000);
  var lastTyping = 0;
  function typing() {
    if (Date.now() - lastTyping > 3000 && socket.connected) { lastTyping = Date.now(); socket.emit("typing", { channel: channelId }); }
  }

  // --- sending ---
  function send(box, parentId, done) {
    var text = box.value.trim();
    if (!text) return;
    showError("");
    var payload = { channel: channelId, body: text };
    if (parentId) payload.parent_id = parentId;
    socket.emit("send", payload, function (ack) {
      if (ack && ack.ok) { box.value = ""; upsert(ack.message); lastTyping = 0; if (done) done(); }
      else showError(ack ? ack.error.message : "Not sent; check your connection.");
    });
  }
  if (form) {
    var box = form.querySelector("textarea");
    form.addEventListener("submit", function (ev) { ev.preventDefault(); send(box); });
    box.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
    });
    box.addEventListener("input", typing);
    var file = document.getElementById("attach");
    if (file) file.addEventListener("change", function () {
      if (!file.files.length) return;
      var fd = new FormData(); fd.append("file", file.files[0]); fd.append("caption", box.value.trim());
      showError("");
      fetch("/partner/chat/" + encodeURIComponent(slug) + "/attachments", {
        method: "POST", body: fd, headers: { "X-CSRFToken": csrf }, credentials: "same-origin"
      }).then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
        .then(function (res) {
          if (res[0]) { box.value = ""; upsert(res[1].message); } else showError(res[1].error ? res[1].error.message : "Upload failed.");
        }).catch(function () { showError("Upload failed."); });
      file.value = "";
    });
  }

  // --- threads ---
  var threadOpener = null;
  function closeThread() {
    openThread = null; threadBox.hidden = true; document.body.classList.remove("thread-open");
    if (threadOpener && document.contains(threadOpener)) threadOpener.focus();
  }
  function showThread(id, opener) {
    openThread = id; threadList.textContent = ""; threadOpener = opener || null;
    var parent = byId[id]; if (parent) threadList.append(build(Object.assign({}, parent, { reply_count: 0, parent_id: null })));
    threadBox.hidden = false; document.body.classList.add("thread-open");
    // In view: a panel over the page on a phone, beside the channel on a desktop.
    var heading = threadBox.querySelector("h2");
    if (heading) heading.focus({ preventScroll: true });
    threadBox.scrollIntoView({ block: "nearest" });
    socket.emit("history", { channel: channelId, thread: id }, function (ack) {
      if (ack && ack.ok) ack.messages.forEach(upsert);
    });
  }
  document.getElementById("thread-close").addEventListener("click", closeThread);
  if (threadForm) {
    var tbox = threadForm.querySelector("textarea");
    threadForm.addEventListener("submit", function (ev) { ev.preventDefault(); send(tbox, openThread); });
    tbox.addEventListener("keydown", function (ev) { if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); threadForm.requestSubmit(); } });
  }

  // --- message actions (delegated) ---
  root.addEventListener("mouseover", function (ev) { var li = ev.target.closest("li.msg"); if (li) actions(li); });
  root.addEventListener("focusin", function (ev) { var li = ev.target.closest("li.msg"); if (li) actions(li); });
  root.addEventListener("click", function (ev) {
    var li = ev.target.closest("li.msg");
    var btn = ev.target.closest("button");
    if (li && !btn) { actions(li); return; }
    if (!li || !btn) return;
    var id = +li.dataset.id;
    var emoji = btn.dataset.react || btn.dataset.emoji;
    if (btn.dataset.action === "more") { toggleActions(li, btn); return; }
    if (btn.closest(".msg-actions")) closeActions(null);
    if (emoji) {
      socket.emit("react", { id: id, emoji: emoji }, function (ack) { if (ack && ack.ok) upsert(ack.message); else if (ack) showError(ack.error.message); });
    } else if (btn.dataset.action === "thread") {
      var opener = li.querySelector(".replies") || li.querySelector(".msg-more");
      showThread(li.closest("#thread") ? openThread : id, opener);
    } else if (btn.dataset.action === "delete") {
      if (window.confirm("Delete this message?")) socket.emit("delete", { id: id }, function (ack) { if (ack && ack.ok) upsert(ack.message); else if (ack) showError(ack.error.message); });
    } else if (btn.dataset.action === "edit") {
      var m = byId[id]; var text = window.prompt("Edit message", m ? m.body : "");
      if (text) socket.emit("edit", { id: id, body: text }, function (ack) { if (ack && ack.ok) upsert(ack.message); else if (ack) showError(ack.error.message); });
    }
  });

  // Escape closes an open action bar (focus back on its "⋯") or the thread panel.
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    var open = root.querySelector("li.msg.actions-open");
    if (open) { closeActions(null); var b = open.querySelector(".msg-more"); if (b) b.focus(); return; }
    if (!threadBox.hidden) closeThread();
  });
  document.addEventListener("click", function (ev) { if (!ev.target.closest("li.msg")) closeActions(null); });

  // --- history, jump to unread, search ---
  document.getElementById("older").addEventListener("click", function () {
    var first = list.querySelector("li.msg");
    socket.emit("history", { channel: channelId, before: first ? +first.dataset.id : undefined }, function (ack) {
      if (ack && ack.ok) { ack.messages.forEach(upsert); if (!ack.messages.length) document.getElementById("older").hidden = true; }
    });
  });
  // Jump to the first unread message, loading older pages (at most 40) until the page
  // reaches back to it; a reply's place is the first message at or after its id.
  var jump = document.getElementById("jump-unread");
  if (jump) jump.addEventListener("click", function () {
    var target = +jump.dataset.target, pages = 0;
    jump.disabled = true;
    function landing() {
      var found = null;
      list.querySelectorAll("li.msg").forEach(function (li) { if (!found && +li.dataset.id >= target) found = li; });
      return found;
    }
    function reached() {
      var first = list.querySelector("li.msg");
      return !first || +first.dataset.id <= target;
    }
    function go() {
      if (reached() || pages >= 40) {
        var t = landing();
        if (t) t.scrollIntoView({ block: "center" });
        jump.hidden = true; jump.disabled = false;
        return;
      }
      pages += 1;
      var first = list.querySelector("li.msg");
      socket.emit("history", { channel: channelId, before: +first.dataset.id }, function (ack) {
        if (!ack || !ack.ok || !ack.messages.length) { pages = 40; }
        else ack.messages.forEach(upsert);
        go();
      });
    }
    go();
  });
  var search = document.getElementById("search-form"), results = document.getElementById("search-results");
  search.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = document.getElementById("search-q").value.trim();
    if (q.length < 2) { results.hidden = true; return; }
    socket.emit("search", { channel: channelId, q: q }, function (ack) {
      results.textContent = "";
      if (!ack || !ack.ok) { showError(ack ? ack.error.message : ""); return; }
      if (!ack.messages.length) results.append(el("li", "muted", "Nothing found."));
      ack.messages.forEach(function (m) { results.append(build(Object.assign({}, m, { reply_count: 0 }))); });
      results.hidden = false;
    });
  });
  var dmForm = document.querySelector(".dm-form");
  if (dmForm) dmForm.addEventListener("submit", function () { dmForm.action = dmForm.dataset.base + dmForm.who.value; });

  // the JSON of the server-rendered messages (edit windows, reactions, threads)
  (cfg.messages || []).forEach(function (m) { byId[m.id] = m; });
  list.scrollTop = list.scrollHeight;
})();
