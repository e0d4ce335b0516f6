// Soporte Amazonas ERP: small enhancements only; every page works without this file.
(function () {
  "use strict";
  // The state filter applies as soon as it changes (its button stays for no-script use).
  document.querySelectorAll("select.js-autosubmit").forEach(function (select) {
    var form = select.form;
    form.querySelectorAll(".js-hide-when-auto").forEach(function (el) { el.hidden = true; });
    select.addEventListener("change", function () { form.submit(); });
  });
  // One click sends a form once (the server never doubles a ticket either).
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        window.setTimeout(function () { b.disabled = true; }, 0);
      });
    });
  });
  // The suggested priority only applies to support requests.
  var kinds = document.querySelectorAll("input[name=kind]");
  var support = document.querySelector(".js-support-only");
  function syncKind() {
    var checked = document.querySelector("input[name=kind]:checked");
    if (support) { support.hidden = !!checked && checked.value !== "support"; }
  }
  kinds.forEach(function (k) { k.addEventListener("change", syncKind); });
  syncKind();
  // Saved replies: with a script a click inserts the text where the cursor is (without
  // one, the select and "Insertar" send the form back with the text in place).
  document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
  document.querySelectorAll(".js-hide-when-script").forEach(function (el) { el.hidden = true; });
  document.querySelectorAll(".js-insert-reply").forEach(function (button) {
    button.addEventListener("click", function () {
      var box = document.getElementById(button.getAttribute("data-target"));
      if (!box) { return; }
      var text = button.getAttribute("data-text") || "";
      var start = box.selectionStart || 0, end = box.selectionEnd || 0;
      var before = box.value.slice(0, start), after = box.value.slice(end);
      var glue = before && !/\n$/.test(before) ? "\n\n" : "";
      box.value = before + glue + text + after;
      box.focus();
      var at = (before + glue + text).length;
      box.setSelectionRange(at, at);
    });
  });
})();
