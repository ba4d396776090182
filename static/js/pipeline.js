// Pipeline drag and drop (rules: "Leads": draggable columns that also work
// by buttons). A card dropped on another column moves the lead there through the same
// form post as the card's button; a card dropped on #won opens the lead to enter the deal
// value. Touch screens swipe between columns and use the buttons: HTML drag and drop is
// a mouse affair.
(function () {
  "use strict";
  var board = document.querySelector(".pipeline");
  if (!board || !window.fetch) return;
  var token = document.querySelector(".lead-card input[name='move-csrf_token']");
  var dragged = null;

  function stageOf(column) {
    var h = column.querySelector("h2");
    return h ? h.id.replace(/^st-/, "") : "";
  }
  board.addEventListener("dragstart", function (e) {
    var card = e.target.closest ? e.target.closest(".lead-card[draggable=true]") : null;
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", card.getAttribute("data-lead-id"));
  });
  board.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    Array.prototype.forEach.call(board.querySelectorAll(".drop-target"), function (c) {
      c.classList.remove("drop-target");
    });
  });
  board.addEventListener("dragover", function (e) {
    var column = e.target.closest ? e.target.closest(".column") : null;
    if (!dragged || !column || column.contains(dragged)) return;
    e.preventDefault();
    column.classList.add("drop-target");
  });
  board.addEventListener("dragleave", function (e) {
    var column = e.target.closest ? e.target.closest(".column") : null;
    if (column && !column.contains(e.relatedTarget)) column.classList.remove("drop-target");
  });
  board.addEventListener("drop", function (e) {
    var column = e.target.closest ? e.target.closest(".column") : null;
    if (!dragged || !column || column.contains(dragged)) return;
    e.preventDefault();
    var stage = stageOf(column);
    var card = dragged;
    if (stage === "won") {  // the deal value is asked for on the lead's page
      location.href = card.querySelector(".lead-link").getAttribute("href") + "?stage=won#move";
      return;
    }
    var body = new URLSearchParams();
    if (token) body.set("move-csrf_token", token.value);
    body.set("move-status", stage);
    body.set("back", "pipeline");
    column.appendChild(card);  // show it where it was dropped while the post runs
    fetch(card.getAttribute("data-move-url"), {
      method: "POST", body: body, credentials: "same-origin"
    }).then(function () { location.reload(); }, function () { location.reload(); });
  });
})();
