/* A form that comes back with errors gets a summary at its top: focused at once (a phone's screen
   reader reads it, and the page scrolls there), with a link to each field that needs a change, and
   a plain line when a chosen photo must be chosen again (browsers never keep a chosen file when the
   page comes back). One script for every form of the portal: it reads what the shared field macro
   (templates/components/_field.html) marks, aria-invalid and data-choose-again; the heading is
   translated in base.html (data-error-summary). Works for full pages and htmx swaps alike. */
(function () {
  "use strict";

  function control(field) {  // the element to focus: the field, or the first input of a group (radio list)
    if (/^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(field.tagName)) { return field; }
    return field.querySelector("input, select, textarea") || field;
  }

  function labelOf(field) {
    var label = field.id ? document.querySelector('label[for="' + field.id + '"]') : null;
    label = label || field.closest("label");
    return label ? label.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function errorOf(field) {
    var ids = (field.getAttribute("aria-describedby") || "").split(/\s+/);
    for (var i = 0; i < ids.length; i++) {
      var el = ids[i] ? document.getElementById(ids[i]) : null;
      if (el && el.classList.contains("field-error")) { return el.textContent.replace(/\s+/g, " ").trim(); }
    }
    return "";
  }

  function addLink(list, field, text) {
    var target = control(field);
    var item = document.createElement("li");
    var link = document.createElement("a");
    link.href = "#" + target.id;
    link.textContent = text;
    link.addEventListener("click", function (e) {
      e.preventDefault();
      target.focus();
      target.scrollIntoView({ block: "center" });
    });
    item.appendChild(link);
    list.appendChild(item);
  }

  function summarise(form) {
    var old = form.querySelector(":scope > .error-summary");
    if (old) { old.remove(); }
    var invalid = Array.prototype.filter.call(form.querySelectorAll('[aria-invalid="true"]'), function (f) {
      return !f.closest(".hp");  // the honeypot is never a field to fix
    });
    var again = form.querySelectorAll("[data-choose-again]");
    if (!invalid.length && !again.length) { return null; }
    var box = document.createElement("div");
    box.className = "error-summary";
    box.tabIndex = -1;
    box.setAttribute("data-testid", "error-summary");
    var title = document.createElement("p");
    title.className = "error-summary-title";
    title.textContent = document.body.getAttribute("data-error-summary") || "";
    var list = document.createElement("ul");
    invalid.forEach(function (field) {
      var label = labelOf(field), error = errorOf(field);
      addLink(list, field, label && error ? label + ": " + error : label || error);
    });
    Array.prototype.forEach.call(again, function (note) {
      var field = document.getElementById(note.getAttribute("data-choose-again"));
      if (field) { addLink(list, field, note.textContent.replace(/\s+/g, " ").trim()); }
    });
    box.appendChild(title);
    box.appendChild(list);
    form.insertBefore(box, form.firstChild);
    return box;
  }

  function run(root) {
    var forms = root.tagName === "FORM" ? [root] : root.querySelectorAll("form");
    var first = null;
    Array.prototype.forEach.call(forms, function (form) {
      var box = summarise(form);
      first = first || box;
    });
    if (first) { first.focus(); }
  }

  document.addEventListener("DOMContentLoaded", function () { run(document); });
  document.addEventListener("htmx:afterSwap", function (e) {
    var el = e.detail.elt;
    run(el && el.isConnected ? el : document);
  });
})();
