// cdportal's little bit of JavaScript: the live indicator, session expiry, ticking clocks.
// Everything else is server-rendered HTML swapped in by htmx.
(function () {
  "use strict";
  var SESSION_EXPIRED = 4401;

  function setStatus(text, on) {
    var el = document.getElementById("live-status");
    if (!el) return;
    el.textContent = text;
    el.className = "live " + (on ? "on" : "off");
  }

  // The indicator is the page's live socket's (/ws/live/…): the updater log's socket opens and
  // closes on its own.
  function isLiveSocket(evt) {
    var url = evt.target && evt.target.getAttribute ? evt.target.getAttribute("ws-connect") : null;
    return !url || url.indexOf("/ws/live/") === 0;
  }

  document.addEventListener("htmx:wsClose", function (evt) {
    if (!isLiveSocket(evt)) return;
    var code = evt.detail && evt.detail.event ? evt.detail.event.code : 0;
    if (code === SESSION_EXPIRED) {
      // The ws extension does not retry this code; tell the person why the page went still.
      setStatus("signed out", false);
      var banner = document.getElementById("session-expired");
      if (banner) banner.hidden = false;
    } else {
      setStatus("reconnecting…", false);
    }
  });
  document.addEventListener("htmx:wsOpen", function (evt) {
    if (isLiveSocket(evt)) setStatus("connecting…", false);
  });
  // Pages without a live socket (history, login) have nothing to be offline from.
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("live-status");
    if (el && !document.querySelector("[ws-connect]")) el.hidden = true;
  });

  // A list that gets only its newest rows pushed (hx-swap-oob="afterbegin:…", the overview's
  // event log) drops the older copy of a row sent again and keeps the length the page renders
  // it with (data-keep): what a reload would show.
  document.addEventListener("htmx:oobAfterSwap", function (evt) {
    var list = evt.detail && evt.detail.target;
    var keep = list && list.getAttribute ? parseInt(list.getAttribute("data-keep"), 10) : NaN;
    if (isNaN(keep)) return;
    var seen = {};
    Array.prototype.slice.call(list.children).forEach(function (li) {
      if (li.classList.contains("empty") || (li.id && seen[li.id])) li.remove();
      else if (li.id) seen[li.id] = true;
    });
    while (list.children.length > keep) list.removeChild(list.lastElementChild);
  });

  // The overview's releases: changed cards arrive appended to the list, then the count with the
  // list's order (data-order). Put the cards in that order, keep the newest copy of each, drop
  // the ones no longer listed; a listed card this page never got means it missed an update:
  // fetch the card whole.
  document.addEventListener("htmx:oobAfterSwap", function (evt) {
    var target = evt.detail && evt.detail.target;
    if (!target || target.id !== "releases-count") return;
    var count = document.getElementById("releases-count");
    var list = document.getElementById("release-list");
    if (!count || !list) return;
    var order = (count.getAttribute("data-order") || "").split(" ").filter(Boolean);
    var cards = {};
    Array.prototype.slice.call(list.children).forEach(function (el) {
      if (el.id && cards[el.id]) cards[el.id].remove();
      if (el.id) cards[el.id] = el;
      else el.remove(); // "Nothing in flight"
    });
    var missing = false;
    order.forEach(function (id) {
      if (cards[id]) list.appendChild(cards[id]);
      else missing = true;
      delete cards[id];
    });
    Object.keys(cards).forEach(function (id) { cards[id].remove(); });
    if (missing) {
      htmx.ajax("GET", window.location.pathname, { target: "#releases", select: "#releases", swap: "outerHTML" });
    }
  });

  // Elapsed time of the stage in progress, counted in the browser: no polling.
  function format(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) return seconds + "s";
    var m = Math.floor(seconds / 60), s = seconds % 60;
    if (m < 60) return m + "m " + (s < 10 ? "0" : "") + s + "s";
    var h = Math.floor(m / 60); m = m % 60;
    if (h < 48) return h + "h " + (m < 10 ? "0" : "") + m + "m";
    return Math.floor(h / 24) + "d " + (h % 24) + "h";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("data-since"));
      if (!isNaN(since)) el.textContent = format((now - since) / 1000);
    });
    document.querySelectorAll("[data-until]").forEach(function (el) {
      var until = Date.parse(el.getAttribute("data-until"));
      if (isNaN(until)) return;
      el.textContent = until > now ? "in " + format((until - now) / 1000) : "any moment";
    });
  }
  setInterval(tick, 1000);

  // "Copy as Markdown": the button copies the textarea just before it.
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-copy-previous]");
    if (!button) return;
    var area = button.previousElementSibling;
    if (!area) return;
    var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy as Markdown"; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(area.value).then(done);
    } else {
      area.select(); document.execCommand("copy"); done();
    }
  });
  // Forms pushed over the live socket were rendered without a request, so without a CSRF
  // token: take the page's (body hx-headers) when one of them is submitted.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.matches || !form.matches("form[data-csrf]")) return;
    if (form.querySelector("input[name=csrfmiddlewaretoken]")) return;
    var headers = {};
    try { headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}"); } catch (e) { return; }
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "csrfmiddlewaretoken";
    input.value = headers["X-CSRFToken"] || "";
    form.appendChild(input);
  });
})();
