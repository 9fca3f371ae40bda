/* Live fragments that heal themselves on a weak signal.
 *
 * An element with data-live, an id, hx-get and hx-trigger="live-poll" is polled by this script:
 * every 1 s at first, then less often while nothing changes (2, 4, 8 s), and at once again at
 * 1 s after any tap or key press. Each poll sends If-None-Match with the fragment's ETag; the
 * server answers 304 (or 204) when nothing changed, which is never swapped. A changed fragment
 * replaces the element (outerHTML) and the cycle starts again at 1 s. An element may cap its back-off
 * with data-live-max (milliseconds), e.g. while a start request is on its way.
 */
(function () {
  "use strict";
  var FAST = 1000, SLOWEST = 8000;
  var etags = {}, delays = {}, timers = {}, choices = {};

  function liveOf(el) { return el && el.closest ? el.closest("[data-live]") : null; }

  function slowest(el) { return parseInt(el.getAttribute("data-live-max"), 10) || SLOWEST; }

  function schedule(id, ms) {
    clearTimeout(timers[id]);
    timers[id] = setTimeout(function () {
      var el = document.getElementById(id);
      if (el && el.hasAttribute("data-live") && !document.hidden) { htmx.trigger(el, "live-poll"); }
      else if (el) { schedule(id, delays[id]); }
    }, ms);
  }

  function arm(root) {
    var found = root.matches && root.matches("[data-live]") ? [root] : [];
    if (root.querySelectorAll) { found = found.concat([].slice.call(root.querySelectorAll("[data-live]"))); }
    found.forEach(function (el) {
      if (el.getAttribute("data-etag")) { etags[el.id] = '"' + el.getAttribute("data-etag") + '"'; }
      if (!(el.id in delays)) { delays[el.id] = FAST; }
      schedule(el.id, delays[el.id]);
    });
  }

  function hurry() {
    Object.keys(delays).forEach(function (id) { delays[id] = FAST; schedule(id, FAST); });
  }

  document.addEventListener("htmx:load", function (e) { arm(e.detail.elt); });

  document.addEventListener("htmx:configRequest", function (e) {
    var el = e.detail.elt;
    if (el.hasAttribute("data-live")) {
      if (etags[el.id]) { e.detail.headers["If-None-Match"] = etags[el.id]; }
    } else if (liveOf(el)) {
      delete etags[liveOf(el).id];  // a form inside changed the fragment: the next poll must answer in full
    }
  });

  document.addEventListener("htmx:beforeSwap", function (e) {
    var el = e.detail.elt;
    if (!el.hasAttribute || !el.hasAttribute("data-live")) { return; }
    var xhr = e.detail.xhr;
    if (xhr.status === 304 || xhr.status === 204) {
      e.detail.shouldSwap = false;
      e.detail.isError = false;
      delays[el.id] = Math.min(delays[el.id] * 2, slowest(el));
      schedule(el.id, delays[el.id]);
      return;
    }
    if (xhr.status >= 400 || xhr.status === 0) {
      e.detail.shouldSwap = false;
      delays[el.id] = SLOWEST;
      schedule(el.id, SLOWEST);
      return;
    }
    var tag = xhr.getResponseHeader("ETag");
    if (tag) { etags[el.id] = tag; }
    var chosen = el.querySelector("input[type=radio]:checked");
    choices[el.id] = chosen ? chosen.name + "=" + chosen.value : null;
    delays[el.id] = FAST;
  });

  document.addEventListener("htmx:afterSwap", function (e) {
    var el = e.detail.elt;
    var live = el && el.id && choices[el.id] !== undefined ? document.getElementById(el.id) : null;
    if (live && choices[el.id]) {
      var parts = choices[el.id].split("=");
      var radio = live.querySelector('input[type=radio][name="' + parts[0] + '"][value="' + parts[1] + '"]');
      if (radio) { radio.checked = true; }
    }
  });

  document.addEventListener("htmx:sendError", function (e) {
    var el = e.detail.elt;
    if (el.hasAttribute && el.hasAttribute("data-live")) { delays[el.id] = SLOWEST; schedule(el.id, SLOWEST); }
  });

  ["click", "keydown", "touchstart"].forEach(function (type) {
    document.addEventListener(type, hurry, { passive: true });
  });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { hurry(); } });
})();
