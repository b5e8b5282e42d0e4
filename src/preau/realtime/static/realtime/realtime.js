/* Real-time updates of open pages (docs/realtime.md). Loaded by base.html for logged-in people only.

   Opens the person's Server-Sent Events stream (the script tag's data-realtime-url) and, for each event:
   - dispatches `preau:<event>` on document (detail: the event's data), for the scripts of each service;
   - live counters: every element with data-live-count="<key>" shows the count `n` for its key, is hidden at 0; an
     event "counters" carries {key: n} (set), any event may carry {"counter_deltas": {key: +1}} (add);
   - when the stream (re)opens, fetches <body data-counters-url> (JSON {key: n}) to resynchronise the counters.
   <body data-realtime-state> says where it stands: "connecting", "open" (subscribed and counters resynchronised:
   every later event shows), "closed" (refused or left; retried later).
   An increase is announced politely to screen readers when the element says how, with data-live-announce-one and
   data-live-announce-other ("{n}" is replaced by the count); announcements are grouped, at most one every 2 s.
   Without JavaScript or without the stream, pages show the counts they were rendered with. */
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script && script.getAttribute("data-realtime-url");
  if (!url || !window.EventSource || !window.CustomEvent || !window.JSON) {
    return;
  }
  var body = document.body;
  var source = null;
  var failures = 0;
  var reconnectTimer = null;
  var announcer = null;
  var pendingAnnouncements = {};
  var announceTimer = null;
  var syncing = false;
  var changedWhileSyncing = false;

  function setState(state) {
    body.setAttribute("data-realtime-state", state);
  }

  /* Live counters. */

  function countOf(element) {
    var value = parseInt(element.getAttribute("data-count") || element.textContent, 10);
    return isNaN(value) ? 0 : value;
  }

  function show(element, count) {
    element.setAttribute("data-count", String(count));
    element.textContent = count > 99 ? "99+" : String(count);
    element.hidden = count <= 0;
  }

  function announcement(element, count) {
    var text = element.getAttribute(count === 1 ? "data-live-announce-one" : "data-live-announce-other");
    return text ? text.replace("{n}", String(count)) : "";
  }

  function applyCounts(values, add) {
    if (!values || typeof values !== "object") {
      return;
    }
    var elements = document.querySelectorAll("[data-live-count]");
    var announced = {};
    for (var i = 0; i < elements.length; i++) {
      var element = elements[i];
      var key = element.getAttribute("data-live-count");
      var value = Object.prototype.hasOwnProperty.call(values, key) ? values[key] : null;
      if (typeof value !== "number" || !isFinite(value)) {
        continue;
      }
      var before = countOf(element);
      var after = Math.max(0, Math.round(add ? before + value : value));
      if (after === before) {
        continue;
      }
      show(element, after);
      if (after > before && !announced[key]) {
        var text = announcement(element, after);
        if (text) {
          announced[key] = true;
          announce(key, text);
        }
      }
    }
  }

  /* Screen readers: one polite status region, updates grouped so that a burst of events says one sentence. */

  function announce(key, text) {
    if (!announcer) {
      announcer = document.createElement("div");
      announcer.className = "visually-hidden";
      announcer.setAttribute("role", "status");
      announcer.setAttribute("aria-atomic", "true");
      announcer.setAttribute("data-realtime-announcer", "");
      (document.querySelector("main") || body).appendChild(announcer);
    }
    pendingAnnouncements[key] = text;
    if (announceTimer === null) {
      announceTimer = window.setTimeout(flushAnnouncements, 2000);
    }
  }

  function flushAnnouncements() {
    var texts = [];
    for (var key in pendingAnnouncements) {
      if (Object.prototype.hasOwnProperty.call(pendingAnnouncements, key)) {
        texts.push(pendingAnnouncements[key]);
      }
    }
    pendingAnnouncements = {};
    announceTimer = null;
    announcer.textContent = texts.join(" ");
  }

  /* Resynchronisation from the server's figures when the stream (re)opens: what happened while it was closed. */

  function resync(attempt) {
    var countersUrl = body.getAttribute("data-counters-url");
    if (!countersUrl || !window.fetch) {
      setState("open");
      return;
    }
    syncing = true;
    changedWhileSyncing = false;
    window.fetch(countersUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (values) {
        syncing = false;
        if (changedWhileSyncing && attempt < 3) {
          resync(attempt + 1);  // an event crossed the request: these figures may predate it
          return;
        }
        applyCounts(values, false);
        setState("open");
      })
      .catch(function () {
        syncing = false;  // the counts stay as rendered; the next reconnection tries again
        setState("open");
      });
  }

  /* The stream. */

  function onMessage(event) {
    var message;
    try {
      message = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (!message || typeof message.event !== "string") {
      return;
    }
    var data = message.data && typeof message.data === "object" ? message.data : {};
    if (message.event === "realtime.ready") {
      failures = 0;
      resync(0);  // then the state is "open": subscribed, and the counters up to date
    } else if (message.event === "realtime.reconnect") {
      // The person logged out somewhere: reconnect now (refused if it was this browser, the session is gone).
      disconnect();
      connect();
    } else if (message.event === "counters") {
      changedWhileSyncing = syncing;
      applyCounts(data, false);
    }
    if (data.counter_deltas) {
      changedWhileSyncing = changedWhileSyncing || syncing;
      applyCounts(data.counter_deltas, true);
    }
    document.dispatchEvent(new CustomEvent("preau:" + message.event, {detail: data}));
  }

  function onError() {
    if (source.readyState !== EventSource.CLOSED) {
      setState("connecting");  // the browser reconnects by itself, after the server's retry hint
      return;
    }
    // Refused (signed out, too many pages open, server error): the browser gives up; try again later, slower each
    // time (30 s, 1 min, 2 min... at most 10 min), spread so that a whole class does not come back at once.
    source.close();
    source = null;
    setState("closed");
    failures += 1;
    var delay = Math.min(30000 * Math.pow(2, failures - 1), 600000);
    reconnectTimer = window.setTimeout(connect, delay * (0.75 + Math.random() / 2));
  }

  function connect() {
    reconnectTimer = null;
    if (source) {
      return;
    }
    setState("connecting");
    source = new EventSource(url);
    source.onmessage = onMessage;
    source.onerror = onError;
  }

  function disconnect() {
    if (reconnectTimer !== null) {
      window.clearTimeout(reconnectTimer);
      reconnectTimer = null;
    }
    if (source) {
      source.close();
      source = null;
    }
    setState("closed");
  }

  // A page left (or put in the back-forward cache) frees its server slot at once; shown again, it reconnects.
  window.addEventListener("pagehide", disconnect);
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      connect();
    }
  });
  connect();
})();
