// The referral's working page (templates/referrals/_work.html): each form saves in place with
// htmx and the server answers the region again. A file, not inline script (the CSP).
//
// 400 (bad input) and 409 (the policy's order refused it, or the page was older than the last
// save) carry the region with the message beside the step and the input kept, so they are
// swapped in like a 200; the site-wide config (base.html) swaps no 4xx but 422, and stays so
// for every other page.
var regionSwapped = false;

document.addEventListener("htmx:beforeSwap", function (event) {
  var detail = event.detail;
  // Only the region's own answers move focus, not the search's live results.
  regionSwapped = Boolean(detail.target && detail.target.id === "referral-work");
  var status = detail.xhr.status;
  var elt = detail.requestConfig && detail.requestConfig.elt;
  if ((status === 400 || status === 409) && elt && elt.closest && elt.closest("#referral-work")) {
    detail.shouldSwap = true;
    detail.isError = false;
  }
});

// After a swap, keyboard focus goes to what waits next (the region's data-focus: the client's
// input, the group choice, the next step's card, or the message of a refusal).
document.addEventListener("htmx:afterSettle", function () {
  if (!regionSwapped) {
    return;
  }
  regionSwapped = false;
  var region = document.getElementById("referral-work");
  if (!region || !region.dataset.focus) {
    return;
  }
  var target = document.getElementById(region.dataset.focus);
  if (target) {
    target.focus({ preventScroll: false });
    target.scrollIntoView({ block: "start" });
  }
});
