// Console de supervision : mises à jour en direct (Server-Sent Events), temps d'attente
// qui défilent, annonce des nouveaux appels en attente. Sans ce script, tout fonctionne
// quand même (formulaires classiques) : il ne fait qu'éviter de recharger la page.
"use strict";

(function () {
  var body = document.body;
  var announcer = document.getElementById("annonces");

  function duration(total) {
    total = Math.max(0, Math.floor(total));
    var hours = Math.floor(total / 3600);
    var minutes = Math.floor((total % 3600) / 60);
    var seconds = total % 60;
    var pad = function (n) { return n < 10 ? "0" + n : String(n); };
    if (hours) { return hours + " h " + pad(minutes) + " min"; }
    if (minutes) { return minutes + " min " + pad(seconds) + " s"; }
    return seconds + " s";
  }

  // Waited times and call durations: the server gives seconds at render time.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-waited-s]").forEach(function (element) {
      if (!element.dataset.base) { element.dataset.base = String(now); }
      var elapsed = (now - Number(element.dataset.base)) / 1000;
      element.textContent = duration(Number(element.dataset.waitedS) + elapsed);
    });
  }
  tick();
  window.setInterval(tick, 1000);

  if (!body.dataset.events) { return; }

  var known = new Set((body.dataset.waiting || "").split(",").filter(Boolean));

  function announce(text) {
    if (!announcer) { return; }
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 150);
  }

  function get(url, accept) {
    return fetch(url, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Accept": accept }
    }).then(function (response) {
      if (response.status === 401) {
        window.location.reload();
        throw new Error("session");
      }
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response;
    });
  }

  function refreshWaiting() {
    return get(body.dataset.waitingSrc, "application/json")
      .then(function (response) { return response.json(); })
      .then(function (data) {
        document.querySelectorAll("[data-queue-count]").forEach(function (element) {
          element.textContent = String(data.count);
        });
        var fresh = data.waiting.filter(function (entry) { return !known.has(String(entry.id)); });
        known = new Set(data.waiting.map(function (entry) { return String(entry.id); }));
        if (fresh.length) {
          announce(fresh.map(function (entry) { return entry.announce; }).join(" "));
        }
      });
  }

  function refreshRegion(region) {
    return get(region.dataset.liveSrc, "text/html")
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var active = document.activeElement;
        var focusedId = active && region.contains(active) ? active.id : "";
        region.innerHTML = html;
        if (focusedId) {
          var again = document.getElementById(focusedId);
          if (again) { again.focus(); }
        }
      });
  }

  var running = false;
  var pending = false;
  function update() {
    if (running) { pending = true; return; }
    running = true;
    var regions = Array.prototype.slice.call(document.querySelectorAll("[data-live-src]"));
    Promise.all([refreshWaiting()].concat(regions.map(refreshRegion)))
      .catch(function () { /* the next event retries */ })
      .then(function () {
        tick();
        running = false;
        if (pending) { pending = false; update(); }
      });
  }

  var source = new EventSource(body.dataset.events + "?v=" + encodeURIComponent(body.dataset.version || ""));
  source.addEventListener("version", update);
  source.addEventListener("logout", function () {
    source.close();
    window.location.reload();
  });
  source.addEventListener("error", function () {
    // A refused stream (session ended) is not retried by the browser: check why.
    if (source.readyState === EventSource.CLOSED) {
      get(body.dataset.waitingSrc, "application/json").catch(function () {});
    }
  });
})();
