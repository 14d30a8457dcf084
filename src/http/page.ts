/*
 * The web page at "/": static HTML and one script, with no framework and no build step. They live in
 * this module (not in .html/.js files) so that `tsc` carries them into dist/ and the server finds them
 * wherever it runs from. The script polls the JSON API every 2 s and builds the DOM with textContent
 * only: event texts come from the network and are never parsed as HTML.
 * An open page costs the gateway little: one poll at a time (each reads a bounded number of entries,
 * src/pipeline/recent/recent.ts), none while the page is hidden, and after a failed poll it waits twice as
 * long, up to 30 s, so that a struggling gateway is not pressed harder by every browser left open.
 */

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>petgate</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2430; background: #f5f6f8; }
  body { margin: 0 auto; max-width: 1200px; padding: 16px; }
  header { display: flex; align-items: baseline; gap: 16px; }
  h1 { margin: 0; font-size: 1.4rem; }
  h2 { font-size: 1rem; margin: 20px 0 8px; text-transform: uppercase; letter-spacing: .05em; color: #5a6372; }
  #status { font-size: .85rem; color: #5a6372; }
  #status.offline { color: #b3261e; font-weight: 600; }
  .chips { display: flex; flex-wrap: wrap; gap: 8px; }
  .chip { background: #fff; border: 1px solid #d8dce3; border-radius: 6px; padding: 6px 10px; font-size: .85rem; }
  .chip b { margin-right: 6px; }
  #bmcs { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 8px; }
  .bmc { background: #fff; border: 1px solid #d8dce3; border-left: 6px solid #9aa3b0; border-radius: 6px; padding: 8px; font-size: .85rem; }
  .bmc .name { font-weight: 600; }
  .bmc .last { color: #5a6372; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .bmc.ok { border-left-color: #2e7d32; }
  .bmc.unresponsive { border-left-color: #b3261e; }
  .bmc.wedged { border-left-color: #e07800; }
  table { width: 100%; border-collapse: collapse; background: #fff; font-size: .85rem; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e6e9ee; vertical-align: top; }
  th { background: #eceff3; font-weight: 600; }
  .sev { display: inline-block; padding: 1px 6px; border-radius: 4px; color: #fff; background: #6b7380; font-weight: 600; }
  .sev.non-recoverable, .sev.critical { background: #b3261e; }
  .sev.non-critical { background: #e07800; }
  .sev.ok { background: #2e7d32; }
  .sev.information, .sev.monitor { background: #1f6fb2; }
  .dl { display: inline-block; margin: 0 4px 2px 0; padding: 0 5px; border-radius: 4px; border: 1px solid #c8ced8; }
  .dl.delivered { border-color: #2e7d32; color: #2e7d32; }
  .dl.dead-lettered { border-color: #b3261e; color: #b3261e; }
  .muted { color: #8a93a1; }
</style>
</head>
<body>
<header><h1>petgate</h1><span id="status">loading…</span></header>
<h2>Queues</h2>
<div id="queues" class="chips"></div>
<h2>BMC health</h2>
<div id="bmcs"></div>
<h2>Recent events</h2>
<table>
  <thead><tr><th>Time</th><th>Severity</th><th>BMC</th><th>Sensor / trap</th><th>Event</th><th>Reading vs threshold</th><th>Status</th><th>Delivery</th></tr></thead>
  <tbody id="events"></tbody>
</table>
<script src="app.js"></script>
</body>
</html>
`;

export const PAGE_SCRIPT = `"use strict";
(function () {
  var POLL_MS = 2000;
  var MAX_POLL_MS = 30000;
  var delay = POLL_MS;
  var timer = null;
  var polling = false;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function replace(parent, children) {
    while (parent.firstChild) parent.removeChild(parent.firstChild);
    children.forEach(function (c) { parent.appendChild(c); });
  }

  function getJson(path) {
    return fetch(path, { headers: { accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(path + ": HTTP " + r.status);
      return r.json();
    });
  }

  function localTime(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? iso : d.toLocaleString();
  }

  function reading(e) {
    if (!e.reading) return "";
    var r = e.reading;
    var parts = [(r.value === null ? "no reading" : r.value) + " " + r.unit];
    Object.keys(r.thresholds).forEach(function (k) { parts.push(k + " " + r.thresholds[k]); });
    return parts.join(" · ");
  }

  function deliveries(e) {
    var cell = el("td");
    var receivers = Object.keys(e.deliveries);
    if (receivers.length === 0) cell.appendChild(el("span", "muted", e.outcome === "sent" ? "" : e.outcome));
    receivers.forEach(function (r) {
      var d = e.deliveries[r];
      var mark = d.status === "delivered" ? "✓" : d.status === "dead-lettered" ? "✗" : "…";
      var badge = el("span", "dl " + d.status, r + " " + mark);
      badge.title = d.status + (d.outcome ? " (" + d.outcome + ")" : "");
      cell.appendChild(badge);
    });
    return cell;
  }

  function eventRow(e) {
    var tr = el("tr");
    tr.dataset.eventId = e.id;
    tr.appendChild(el("td", "", localTime(e.receivedAt)));
    var sev = el("td");
    sev.appendChild(el("span", "sev " + e.severity, e.severity));
    tr.appendChild(sev);
    tr.appendChild(el("td", "", e.bmc));
    tr.appendChild(el("td", "", e.sensor || e.trap));
    var what = el("td", "", e.event + (e.direction === "deassertion" ? " (deasserted)" : ""));
    if (e.rule) what.appendChild(el("span", "muted", " · rule " + e.rule));
    tr.appendChild(what);
    tr.appendChild(el("td", "", reading(e)));
    tr.appendChild(el("td", "", e.status || e.outcome));
    tr.appendChild(deliveries(e));
    return tr;
  }

  function bmcCard(b) {
    var state = b.health ? b.health.state : "unknown";
    var card = el("div", "bmc " + state);
    card.dataset.bmc = b.name;
    card.appendChild(el("div", "name", b.name));
    card.appendChild(el("div", "", state + (b.health && b.health.alerting ? " — alerting" : "")));
    if (b.health && b.health.reason) card.appendChild(el("div", "last", b.health.reason));
    if (b.fru) {
      var product = [b.fru.productManufacturer, b.fru.productName].filter(Boolean).join(" ") || b.fru.boardProduct;
      var serial = b.fru.productSerial || b.fru.boardSerial;
      var identity = el("div", "last fru", [product, serial && "S/N " + serial].filter(Boolean).join(" · "));
      if (b.fru.assetTag) identity.title = "asset tag " + b.fru.assetTag;
      card.appendChild(identity);
    }
    var last = b.lastEvent;
    card.appendChild(el("div", "last", last ? last.sensor + ": " + last.event : "no recent event"));
    return card;
  }

  function queueChip(name, counts) {
    var chip = el("span", "chip");
    chip.dataset.queue = name;
    chip.appendChild(el("b", "", name));
    ["waiting", "active", "delayed", "failed"].forEach(function (s) {
      chip.appendChild(document.createTextNode(" " + s + " " + (counts[s] || 0)));
    });
    return chip;
  }

  function schedule() {
    clearTimeout(timer);
    timer = document.hidden ? null : setTimeout(refresh, delay);
  }

  function refresh() {
    var status = document.getElementById("status");
    polling = true;
    return Promise.all([getJson("api/events?limit=100"), getJson("api/bmcs"), getJson("api/queues")])
      .then(function (r) {
        replace(document.getElementById("events"), r[0].events.map(eventRow));
        replace(document.getElementById("bmcs"), r[1].bmcs.map(bmcCard));
        replace(document.getElementById("queues"), Object.keys(r[2].queues).map(function (q) {
          return queueChip(q, r[2].queues[q]);
        }));
        status.className = "";
        status.textContent = "updated " + new Date().toLocaleTimeString();
        delay = POLL_MS;
      })
      .catch(function (err) {
        status.className = "offline";
        status.textContent = "offline: " + err.message;
        delay = Math.min(delay * 2, MAX_POLL_MS);
      })
      .then(function () {
        polling = false;
        schedule();
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) schedule();
    else if (!polling) {
      clearTimeout(timer);
      refresh();
    }
  });

  refresh();
})();
`;

/** No inline script, nothing from elsewhere. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";
