/*
 * The web page at "/": static HTML and one script, with no framework and no build step: recent
 * events, BMC health and a view of one BMC (its identity, sensors now, its events), queues, a chart
 * of the last 24 h, silences (added from an event's row, expired; the API token asked once per
 * browser session, in sessionStorage) and the history search. They live in
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
  .bmc { cursor: pointer; }
  .bmc.selected { outline: 2px solid #1f6fb2; }
  section.panel { background: #fff; border: 1px solid #d8dce3; border-radius: 6px; padding: 10px; }
  [hidden] { display: none !important; }
  form.inline { display: flex; flex-wrap: wrap; gap: 6px; align-items: end; margin-bottom: 8px; font-size: .85rem; }
  form.inline label { display: flex; flex-direction: column; gap: 2px; }
  input, select, textarea, button { font: inherit; font-size: .85rem; }
  #chart svg { width: 100%; height: 120px; background: #fff; border: 1px solid #d8dce3; border-radius: 6px; }
  .legend span { margin-right: 10px; font-size: .8rem; }
  .error { color: #b3261e; }
  dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 0 0 8px; font-size: .85rem; }
  dl.facts dt { color: #5a6372; }
</style>
</head>
<body>
<header><h1>petgate</h1><span id="status">loading…</span></header>
<h2>Queues</h2>
<div id="queues" class="chips"></div>
<h2>Events per hour, last 24 h</h2>
<div id="chart"></div>
<h2>BMC health</h2>
<div id="bmcs"></div>
<section id="bmc-view" class="panel" hidden>
  <h2 id="bmc-view-name"></h2>
  <dl id="bmc-view-facts" class="facts"></dl>
  <h2>Sensors now <button id="bmc-view-read" type="button">Read again</button></h2>
  <table><thead><tr><th>Sensor</th><th>Type</th><th>Reading</th><th>Status</th></tr></thead><tbody id="bmc-view-sensors"></tbody></table>
  <h2>Its recent events</h2>
  <table><thead><tr><th>Time</th><th>Severity</th><th>BMC</th><th>Sensor / trap</th><th>Event</th><th>Reading vs threshold</th><th>Status</th><th>Delivery</th><th></th></tr></thead><tbody id="bmc-view-events"></tbody></table>
</section>
<h2>Recent events</h2>
<table>
  <thead><tr><th>Time</th><th>Severity</th><th>BMC</th><th>Sensor / trap</th><th>Event</th><th>Reading vs threshold</th><th>Status</th><th>Delivery</th><th></th></tr></thead>
  <tbody id="events"></tbody>
</table>
<h2>Silences</h2>
<section class="panel">
  <form id="token-form" class="inline" hidden>
    <label>API token (kept for this browser session)<input id="token" type="password" autocomplete="off"></label>
    <button type="submit">Use</button>
  </form>
  <form id="silence-form" class="inline">
    <label>Matchers, one a line<textarea id="silence-matchers" rows="3" cols="40"></textarea></label>
    <label>For<input id="silence-duration" value="2h" size="6"></label>
    <label>By<input id="silence-by" size="10"></label>
    <label>Why<input id="silence-comment" size="24"></label>
    <button type="submit">Silence</button>
    <span id="silence-error" class="error"></span>
  </form>
  <table><thead><tr><th>Matchers</th><th>State</th><th>Ends</th><th>By</th><th>Why</th><th></th></tr></thead><tbody id="silences"></tbody></table>
</section>
<h2>History</h2>
<section class="panel">
  <form id="history-form" class="inline">
    <label>BMC<input name="bmc" size="10"></label>
    <label>Label NAME=VALUE<input name="label" size="14"></label>
    <label>Sensor type<input name="sensor_type" size="10"></label>
    <label>Severity<select name="severity"><option value=""></option><option>critical</option><option>non-recoverable</option><option>non-critical</option><option>ok</option><option>information</option><option>monitor</option><option>unspecified</option></select></label>
    <label>Status<select name="status"><option value=""></option><option>firing</option><option>resolved</option></select></label>
    <label>Since<input name="since" type="datetime-local"></label>
    <label>Until<input name="until" type="datetime-local"></label>
    <label>Words<input name="q" size="14"></label>
    <button type="submit">Search</button>
    <span id="history-error" class="error"></span>
  </form>
  <table><thead><tr><th>Time</th><th>Severity</th><th>BMC</th><th>Sensor / trap</th><th>Event</th><th>Reading vs threshold</th><th>Status</th><th>Delivery</th></tr></thead><tbody id="history"></tbody></table>
  <button id="history-older" hidden>Older</button>
</section>
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
      if (r.ok) return r.json();
      // The API's own message when it gives one (a refused filter names it).
      return r.json().catch(function () { return {}; }).then(function (body) {
        throw new Error(body && body.error && body.error.message ? body.error.message : path + ": HTTP " + r.status);
      });
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

  function eventRow(e, withSilence) {
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
    if (withSilence) {
      var cell = el("td");
      var button = el("button", "silence-this", "Silence…");
      button.type = "button";
      button.addEventListener("click", function () { prefillSilence(e); });
      cell.appendChild(button);
      tr.appendChild(cell);
    }
    return tr;
  }

  // ─── Silences (the mutating calls need the API token, asked once per browser session) ───
  var TOKEN_KEY = "petgate-token";
  var afterToken = null;

  function quoted(v) {
    return '"' + String(v).replace(/\\\\/g, "\\\\\\\\").replace(/"/g, '\\\\"').replace(/\\n/g, "\\\\n") + '"';
  }

  function prefillSilence(e) {
    var matchers = ["bmc=" + quoted(e.bmc)];
    if (e.sensorType) matchers.push("sensor_type=" + quoted(e.sensorType));
    if (e.trap) matchers.push("trap=" + quoted(e.trap));
    else if (e.event) matchers.push("event=" + quoted(e.event));
    document.getElementById("silence-matchers").value = matchers.join("\\n");
    document.getElementById("silence-comment").focus();
  }

  function authorized(method, path, body) {
    var token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) return Promise.reject(new Error("token needed"));
    var headers = { accept: "application/json", authorization: "Bearer " + token };
    if (body !== undefined) headers["content-type"] = "application/json";
    return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) {
        if (r.status === 401 || r.status === 403) {
          sessionStorage.removeItem(TOKEN_KEY);
          throw new Error("token needed");
        }
        return r.text().then(function (t) {
          var json = t ? JSON.parse(t) : {};
          if (!r.ok) throw new Error(json.error ? json.error.message : "HTTP " + r.status);
          return json;
        });
      });
  }

  /** Runs a mutating call; without a (valid) token, asks for it and runs the call once it is given. */
  function withToken(call, errorNode) {
    errorNode.textContent = "";
    return call().catch(function (err) {
      if (err.message !== "token needed") {
        errorNode.textContent = err.message;
        return;
      }
      afterToken = function () { withToken(call, errorNode); };
      document.getElementById("token-form").hidden = false;
      document.getElementById("token").focus();
    });
  }

  function silenceRow(silence) {
    var tr = el("tr");
    tr.dataset.silence = silence.id;
    tr.appendChild(el("td", "", silence.matchers.join(", ")));
    tr.appendChild(el("td", "", silence.state));
    tr.appendChild(el("td", "", localTime(silence.endsAt)));
    tr.appendChild(el("td", "", silence.createdBy));
    tr.appendChild(el("td", "", silence.comment));
    var cell = el("td");
    if (silence.state !== "expired") {
      var expire = el("button", "expire", "Expire");
      expire.type = "button";
      expire.addEventListener("click", function () {
        withToken(function () {
          return authorized("DELETE", "api/silences/" + encodeURIComponent(silence.id)).then(loadSilences);
        }, document.getElementById("silence-error"));
      });
      cell.appendChild(expire);
    }
    tr.appendChild(cell);
    return tr;
  }

  function loadSilences() {
    return getJson("api/silences").then(function (r) {
      replace(document.getElementById("silences"), r.silences.map(silenceRow));
    });
  }

  document.getElementById("token-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var input = document.getElementById("token");
    if (!input.value) return;
    sessionStorage.setItem(TOKEN_KEY, input.value);
    input.value = "";
    document.getElementById("token-form").hidden = true;
    var next = afterToken;
    afterToken = null;
    if (next) next();
  });

  document.getElementById("silence-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = {
      matchers: document.getElementById("silence-matchers").value.split("\\n").map(function (m) { return m.trim(); }).filter(Boolean),
      duration: document.getElementById("silence-duration").value.trim(),
      createdBy: document.getElementById("silence-by").value.trim(),
      comment: document.getElementById("silence-comment").value.trim(),
    };
    withToken(function () {
      return authorized("POST", "api/silences", body).then(loadSilences);
    }, document.getElementById("silence-error"));
  });

  // ─── History search ───
  var historyQuery = "";
  var historyNext = null;

  function historyPage(append) {
    var path = "api/history?limit=50" + historyQuery + (append && historyNext ? "&cursor=" + historyNext : "");
    var error = document.getElementById("history-error");
    error.textContent = "";
    return getJson(path).then(function (r) {
      var body = document.getElementById("history");
      var rows = r.events.map(function (e) { return eventRow(e, false); });
      if (append) rows.forEach(function (row) { body.appendChild(row); });
      else replace(body, rows);
      historyNext = r.next;
      document.getElementById("history-older").hidden = !r.next;
    }).catch(function (err) { error.textContent = err.message; });
  }

  document.getElementById("history-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var form = ev.target;
    var parts = [];
    ["bmc", "label", "sensor_type", "severity", "status", "q"].forEach(function (name) {
      var v = form.elements[name].value.trim();
      if (v) parts.push(name + "=" + encodeURIComponent(v));
    });
    ["since", "until"].forEach(function (name) {
      var v = form.elements[name].value;
      if (v) parts.push(name + "=" + encodeURIComponent(new Date(v).toISOString()));
    });
    historyQuery = parts.length ? "&" + parts.join("&") : "";
    historyPage(false);
  });
  document.getElementById("history-older").addEventListener("click", function () { historyPage(true); });

  // ─── Chart: events per hour by severity, last 24 h (stacked bars, SVG) ───
  var SEVERITIES = ["non-recoverable", "critical", "non-critical", "unspecified", "information", "monitor", "ok"];
  var COLOURS = { "non-recoverable": "#7a1712", critical: "#b3261e", "non-critical": "#e07800", unspecified: "#6b7380", information: "#1f6fb2", monitor: "#5b8fd0", ok: "#2e7d32" };
  var SVG = "http://www.w3.org/2000/svg";

  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    return node;
  }

  function drawChart(hours) {
    var width = 960, height = 120, bar = width / hours.length;
    var max = 1;
    hours.forEach(function (h) {
      var total = 0;
      Object.keys(h.counts).forEach(function (k) { total += h.counts[k]; });
      if (total > max) max = total;
    });
    var root = svg("svg", { viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": "events per hour by severity" });
    hours.forEach(function (h, i) {
      var y = height;
      SEVERITIES.concat(Object.keys(h.counts).filter(function (k) { return SEVERITIES.indexOf(k) < 0; })).forEach(function (sev) {
        var n = h.counts[sev];
        if (!n) return;
        var tall = (n / max) * (height - 4);
        y -= tall;
        var rect = svg("rect", { x: i * bar + 1, y: y, width: bar - 2, height: tall, fill: COLOURS[sev] || "#6b7380" });
        rect.dataset.hour = h.start;
        rect.dataset.severity = sev;
        rect.dataset.count = n;
        var title = svg("title", {});
        title.textContent = localTime(h.start) + ": " + n + " " + sev;
        rect.appendChild(title);
        root.appendChild(rect);
      });
    });
    var legend = el("div", "legend");
    SEVERITIES.forEach(function (sev) {
      var key = el("span", "", "■ " + sev);
      key.style.color = COLOURS[sev];
      legend.appendChild(key);
    });
    replace(document.getElementById("chart"), [root, legend]);
  }

  function loadChart() {
    return getJson("api/history/hours?hours=24").then(function (r) { drawChart(r.hours); }).catch(function (err) {
      replace(document.getElementById("chart"), [el("span", "muted", "no history here: " + err.message)]);
    });
  }

  // ─── One BMC: health, identity, sensors now (read when the view opens, or asked), its recent events ───
  document.getElementById("bmc-view-read").addEventListener("click", function () { showBmc(true); });
  var selected = null;
  var lastBmcs = [];

  function fact(dl, name, value) {
    if (value === undefined || value === null || value === "") return;
    dl.appendChild(el("dt", "", name));
    dl.appendChild(el("dd", "", value));
  }

  /** The view of the selected BMC; its sensors are read from the BMC only when asked (sensors). */
  function showBmc(sensors) {
    var view = document.getElementById("bmc-view");
    var b = lastBmcs.filter(function (x) { return x.name === selected; })[0];
    view.hidden = !b;
    if (!b) return Promise.resolve();
    document.getElementById("bmc-view-name").textContent = b.name;
    var dl = document.getElementById("bmc-view-facts");
    replace(dl, []);
    var h = b.health || {};
    fact(dl, "address", b.address);
    fact(dl, "health", (h.state || "unknown") + (h.alerting ? " — alerting" : ""));
    fact(dl, "why", h.reason);
    fact(dl, "down since", h.downSince && localTime(h.downSince));
    fact(dl, "last ok", h.lastOkAt && localTime(h.lastOkAt));
    fact(dl, "IPMI", h.ipmi);
    fact(dl, "clock skew", h.clockSkewSeconds !== undefined ? h.clockSkewSeconds + " s" : undefined);
    Object.keys(b.labels || {}).forEach(function (k) { fact(dl, "label " + k, b.labels[k]); });
    var f = b.fru || {};
    ["productManufacturer", "productName", "productPartNumber", "productVersion", "productSerial", "boardManufacturer", "boardProduct", "boardSerial", "boardPartNumber", "chassisSerial", "assetTag"].forEach(function (k) {
      fact(dl, k.replace(/([A-Z])/g, " $1").toLowerCase(), f[k]);
    });
    var name = encodeURIComponent(b.name);
    return Promise.all([
      getJson("api/events?limit=20&bmc=" + name).then(function (r) {
        replace(document.getElementById("bmc-view-events"), r.events.map(function (e) { return eventRow(e, true); }));
      }),
      !sensors ? null : getJson("api/bmcs/" + name + "/sensors").then(function (r) {
        replace(document.getElementById("bmc-view-sensors"), r.sensors.map(function (x) {
          var tr = el("tr");
          tr.dataset.sensor = x.name;
          tr.appendChild(el("td", "", x.name));
          tr.appendChild(el("td", "", x.type));
          tr.appendChild(el("td", "", x.value === null ? "" : x.value + " " + x.unit));
          tr.appendChild(el("td", "", x.status));
          return tr;
        }));
      }).catch(function (err) {
        var tr = el("tr");
        tr.appendChild(el("td", "muted", "not read: " + err.message));
        replace(document.getElementById("bmc-view-sensors"), [tr]);
      }),
    ]);
  }

  function bmcCard(b) {
    var state = b.health ? b.health.state : "unknown";
    var card = el("div", "bmc " + state + (b.name === selected ? " selected" : ""));
    card.dataset.bmc = b.name;
    card.addEventListener("click", function () {
      selected = selected === b.name ? null : b.name;
      replace(document.getElementById("bmcs"), lastBmcs.map(bmcCard));
      replace(document.getElementById("bmc-view-sensors"), []);
      showBmc(true);
    });
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

  var polls = 0;

  function refresh() {
    var status = document.getElementById("status");
    polling = true;
    // The chart every 5th poll: it changes by the hour.
    if (polls++ % 5 === 0) loadChart();
    return Promise.all([getJson("api/events?limit=100"), getJson("api/bmcs"), getJson("api/queues"), loadSilences()])
      .then(function (r) {
        replace(document.getElementById("events"), r[0].events.map(function (e) { return eventRow(e, true); }));
        lastBmcs = r[1].bmcs;
        replace(document.getElementById("bmcs"), lastBmcs.map(bmcCard));
        if (selected) showBmc(false);
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
