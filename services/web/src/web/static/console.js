// The console's live parts: an element with data-refresh="<url>" is replaced every 5 seconds by
// that URL's HTML fragment (same origin, the session cookie). Pages work without this script.
"use strict";
(function () {
  var PERIOD = 5000;
  function refresh(region) {
    if (document.hidden) { return; }
    var status = document.getElementById(region.id + "-status");
    var last = region.getAttribute("data-updated") || "the page was loaded";
    function stale(why) {  // what is shown stays, and says how old it is
      if (status) { status.textContent = "Not updated since " + last + ": " + why + "."; }
    }
    region.setAttribute("aria-busy", "true");
    fetch(region.getAttribute("data-refresh"), { credentials: "same-origin", redirect: "manual", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.ok) { return response.text(); }
        // a redirect (opaque here) is the way to sign in: the session ended
        stale(response.type === "opaqueredirect" || response.status === 403
              ? "signed out (reload the page to sign in again)"
              : "the console answered " + response.status + "; trying again");
        return null;
      })
      .then(function (html) {
        if (html !== null) {
          var fresh = new DOMParser().parseFromString(html, "text/html");
          var changed = fresh.body.innerHTML !== region.innerHTML;
          region.replaceChildren.apply(region, Array.prototype.slice.call(fresh.body.childNodes));
          var now = new Date().toLocaleTimeString();
          region.setAttribute("data-updated", now);
          if (status && (changed || status.textContent.indexOf("Not updated") === 0)) {
            status.textContent = "Updated at " + now + ".";
          }
        }
      })
      .catch(function () { stale("the console did not answer; trying again"); })
      .finally(function () { region.setAttribute("aria-busy", "false"); });
  }
  document.querySelectorAll("[data-refresh]").forEach(function (region) {
    setInterval(function () { refresh(region); }, PERIOD);
  });
}());
