// Souk's one script: progressive enhancement only; every page works without it.
"use strict";

// The storefront: forms tell the server that JavaScript runs (the checkout then answers at
// once, and the order page follows the saga live), and an order page that is not final yet
// follows its order over server-sent events, updating its steps in an aria-live region.
(function () {
  function markScripted() {
    var flags = document.querySelectorAll("input[data-js-flag]");
    for (var i = 0; i < flags.length; i++) { flags[i].value = "1"; }
  }

  var STATES = { done: "done", failed: "failed", current: "in progress", todo: "to come" };

  function fillStep(item, step) {
    item.className = step.state;
    item.setAttribute("data-step", step.key);
    item.textContent = step.label;
    var state = document.createElement("span");
    state.className = "sr-only";
    state.textContent = " (" + (STATES[step.state] || step.state) + ")";
    item.appendChild(state);
  }

  // Only the steps that changed are touched, so a screen reader hears what is new, not the
  // whole list again; a different path (a cancellation) replaces the list.
  function showSteps(list, steps) {
    var items = list.children;
    var same = items.length === steps.length && steps.every(function (step, i) {
      return items[i].getAttribute("data-step") === step.key;
    });
    if (!same) {
      while (list.firstChild) { list.removeChild(list.firstChild); }
    }
    steps.forEach(function (step, i) {
      var item = same ? items[i] : list.appendChild(document.createElement("li"));
      if (!same || item.className !== step.state || item.firstChild.nodeValue !== step.label) {
        fillStep(item, step);
      }
    });
  }

  function showProgress(view) {
    var headline = document.getElementById("headline");
    if (headline) {
      headline.textContent = view.headline;
      headline.className = "status status-" + view.status;
    }
    var list = document.getElementById("steps");
    if (list) { showSteps(list, view.steps); }
    var reason = document.getElementById("reason");
    if (reason) {
      reason.textContent = view.message || "";
      reason.className = view.message ? "alert" : "hidden";
    }
    if (view.final) {
      var refresh = document.getElementById("refresh");
      if (refresh) { refresh.parentNode.removeChild(refresh); }
    }
  }

  function follow() {
    var live = document.querySelector("[data-live]");
    if (!live || !window.EventSource) { return; }
    var source = new EventSource(live.getAttribute("data-live"));
    var closed = false;
    var connections = 0;
    // each stream lasts 25 s at most; after a few minutes the Refresh link is left to the reader
    source.addEventListener("open", function () {
      connections += 1;
      if (connections > 12) { closed = true; source.close(); }
    });
    source.addEventListener("progress", function (event) {
      var view;
      try { view = JSON.parse(event.data); } catch (e) { return; }
      showProgress(view);
      if (view.final) {
        closed = true;
        source.close();
        live.setAttribute("data-final", view.status);
      }
    });
    // the stream ends after a while: the browser reconnects by itself unless it is done
    source.addEventListener("error", function () {
      if (closed) { source.close(); }
    });
  }

  function start() { markScripted(); follow(); }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
