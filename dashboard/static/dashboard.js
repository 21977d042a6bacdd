// Refreshes the page's content in place every `data-refresh` ms (the same page, `?fragment=1`):
// the server renders and escapes everything; this only swaps it in. Without JavaScript the
// pages are plain HTML (and refresh through <noscript>'s meta tag).
(function () {
  "use strict";
  var main = document.getElementById("content");
  var offline = document.getElementById("offline");
  if (!main) { return; }
  var every = Number(main.getAttribute("data-refresh")) || 2000;

  function fragmentUrl() {
    var url = new URL(window.location.href);
    url.searchParams.set("fragment", "1");
    return url.toString();
  }

  function tick() {
    fetch(fragmentUrl(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected || response.status === 401 || response.status === 429) {
          window.location.reload();  // signed out, or this address refused: the login page
          return null;
        }
        return response.text();
      })
      .then(function (html) {
        if (html !== null) { main.innerHTML = html; }
        if (offline) { offline.hidden = true; }
      })
      .catch(function () {
        if (offline) { offline.hidden = false; }
      })
      .then(function () { window.setTimeout(tick, every); });
  }

  window.setTimeout(tick, every);
})();
