// Back office under a Content-Security-Policy without inline script (loaded on every page by
// templates/admin/master.html). Flask-Admin's markup has two kinds of inline script:
// 1. onclick="..." that does something: bulk actions and delete confirmations. Our copies
//    of those templates (templates/admin/actions.html, model/row_actions.html) carry data
//    attributes instead, bound here.
// 2. Placeholders that do nothing: href="javascript:void(0)" and onclick="return false;"
//    on menu toggles, filters and pager links. The policy would block them and report a
//    violation on every click, so they become href="#" links whose navigation is stopped.
(function () {
  "use strict";
  if (window.sisoAdminCsp) { return; }
  window.sisoAdminCsp = true;

  function neutralise(root) {
    root.querySelectorAll("a[href^='javascript:']").forEach(function (a) {
      a.setAttribute("href", "#");
      a.setAttribute("data-noop-link", "");
    });
    root.querySelectorAll("[onclick='return false;']").forEach(function (el) {
      el.removeAttribute("onclick");
      el.setAttribute("data-noop-link", "");
    });
  }
  neutralise(document);

  // Capture phase: stop the "#" navigation but let Bootstrap and filters.js see the click.
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-noop-link]")) { event.preventDefault(); }
  }, true);

  document.addEventListener("click", function (event) {
    var action = event.target.closest("[data-fa-action]");
    if (action) {
      event.preventDefault();
      if (window.modelActions) { window.modelActions.execute(action.getAttribute("data-fa-action")); }
      return;
    }
    var confirmer = event.target.closest("[data-confirm]");
    if (confirmer && !window.confirm(confirmer.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
}());
