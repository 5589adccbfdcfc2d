// The client's sheet: a button that opens the browser's print dialogue (print, or save as
// PDF). A file, not inline script: the Content-Security-Policy forbids inline JavaScript.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-print-page]");
  if (button) {
    window.print();
  }
});
