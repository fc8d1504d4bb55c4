// The console's live parts: an element with data-refresh="<url>" is replaced every 5 seconds by
// that URL's HTML fragment (same origin, the session cookie). Pages work without this script.
"use strict";
(function () {
  var PERIOD = 5000;
  function refresh(region) {
    if (document.hidden) { return; }
    region.setAttribute("aria-busy", "true");
    fetch(region.getAttribute("data-refresh"), { credentials: "same-origin", redirect: "manual", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null) {
          var fresh = new DOMParser().parseFromString(html, "text/html");
          var changed = fresh.body.innerHTML !== region.innerHTML;
          region.replaceChildren.apply(region, Array.prototype.slice.call(fresh.body.childNodes));
          var status = document.getElementById(region.id + "-status");
          if (status && changed) { status.textContent = "Updated at " + new Date().toLocaleTimeString() + "."; }
        }
      })
      .catch(function () { /* the page as it is stays; the next round tries again */ })
      .finally(function () { region.setAttribute("aria-busy", "false"); });
  }
  document.querySelectorAll("[data-refresh]").forEach(function (region) {
    setInterval(function () { refresh(region); }, PERIOD);
  });
}());
