// The client's sheet: a button that opens the browser's print dialogue (print, or save as
// PDF). A file, not inline script: the Content-Security-Policy forbids inline JavaScript.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-print-page]");
  if (button) {
    window.print();
  }
});

// Opened as sheet/#print (the referral page's "Print the client's sheet"): the dialogue opens
// as the sheet loads, so one click prints it. The fragment never reaches the server.
window.addEventListener("load", function () {
  if (window.location.hash === "#print") {
    window.print();
  }
});
