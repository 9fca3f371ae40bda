/* Buttons with data-print open the browser's print dialog (the page has a print style sheet). */
document.addEventListener("click", function (e) {
  var button = e.target.closest ? e.target.closest("[data-print]") : null;
  if (button) { window.print(); }
});
