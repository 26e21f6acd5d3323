"""The pages the http output serves: the live view and the token prompt. Self-contained (inline CSS and
JavaScript, nothing fetched from elsewhere: the board may have no internet), readable on a phone.

After its load event (endless streams would otherwise hold that event back), the live page reads
``status.json`` once (the run and its streams), shows one card per stream (or only ``?stream=N``) with the
overlay MJPEG and the map beside it (the "map" switch stops and restarts the map stream), and updates its
figures from the ``events`` feed: per-stream FPS (from the records' capture times), end-to-end latency, frame
and peak from the per-frame records; the run's FPS, drops and per-stage busy time from the ``status`` events.
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edge-saliency live</title>
<style>
body { margin: 0; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #121212;
       color: #e8e8e8; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .3rem 1.2rem; padding: .6rem 1rem;
         background: #1d1d1d; border-bottom: 1px solid #333; }
h1 { font-size: 1.1rem; margin: 0; }
.muted { color: #9a9a9a; }
#state.live { color: #6fd26f; } #state.down { color: #ff7b72; }
label { cursor: pointer; user-select: none; }
.run { display: flex; flex-wrap: wrap; gap: .2rem 1.2rem; padding: .4rem 1rem; font-size: .9rem; }
.grid { display: grid; gap: .8rem; padding: .8rem;
        grid-template-columns: repeat(auto-fit, minmax(min(100%, 480px), 1fr)); }
.card { background: #1b1b1b; border: 1px solid #2c2c2c; border-radius: 8px; padding: .6rem; min-width: 0; }
.card h2 { font-size: .95rem; margin: 0 0 .4rem; overflow-wrap: anywhere; }
.views { display: flex; flex-wrap: wrap; gap: .4rem; }
.views img { flex: 1 1 220px; min-width: 0; max-width: 100%; height: auto; background: #000; border-radius: 4px; }
.nomap .map { display: none; }
.figs { display: grid; grid-template-columns: repeat(auto-fit, minmax(7.5rem, 1fr)); gap: .3rem .8rem;
        margin-top: .5rem; }
.fig b { display: block; font-size: 1.25rem; font-variant-numeric: tabular-nums; }
.busy { padding: 0 1rem 1rem; }
.bar { display: grid; grid-template-columns: 7rem 1fr 3.5rem; align-items: center; gap: .5rem; font-size: .9rem; }
.bar span.track { background: #2a2a2a; height: .6rem; border-radius: 3px; overflow: hidden; }
.bar span.fill { display: block; height: 100%; width: 0; background: #f0a020; }
</style>
</head>
<body>
<header>
  <h1>edge-saliency</h1>
  <span id="model" class="muted">loading…</span>
  <span><b id="fps">–</b> FPS</span>
  <span>dropped <b id="dropped">0</b></span>
  <label><input type="checkbox" id="showmap" checked> map</label>
  <span id="state">connecting…</span>
</header>
<div class="run muted" id="run"></div>
<main class="grid" id="grid"></main>
<section class="busy"><h2 style="font-size:.95rem">Busy, last second</h2><div id="busy"></div></section>
<script>
(function () {
  "use strict";
  var query = new URLSearchParams(location.search);
  var only = query.get("stream");
  var cards = {};
  var $ = function (id) { return document.getElementById(id); };

  function text(el, value) { if (el.textContent !== String(value)) { el.textContent = value; } }

  function fig(label, cls) {
    var d = document.createElement("div");
    d.className = "fig";
    d.innerHTML = "<span class=muted>" + label + "</span><b class=" + cls + ">–</b>";
    return d;
  }

  function card(stream) {
    var c = document.createElement("section");
    c.className = "card";
    c.dataset.stream = stream.index;
    var h = document.createElement("h2");
    h.textContent = "[" + stream.index + "] " + stream.uri + "  " + stream.width + "×" + stream.height;
    var views = document.createElement("div");
    views.className = "views";
    var overlay = new Image(); overlay.className = "overlay"; overlay.alt = "overlay";
    overlay.width = stream.width; overlay.height = stream.height;
    overlay.dataset.src = "stream.mjpg?stream=" + stream.index;
    var map = new Image(); map.className = "map"; map.alt = "saliency map";
    map.width = stream.width; map.height = stream.height;
    map.dataset.src = "map.mjpg?stream=" + stream.index;
    views.append(overlay, map);
    var figs = document.createElement("div");
    figs.className = "figs";
    figs.append(fig("FPS", "sfps"), fig("latency ms", "latency"), fig("frame", "frame"), fig("peak", "peak"),
                fig("image", "image"));
    c.append(h, views, figs);
    $("grid").append(c);
    return {el: c, overlay: overlay, map: map, times: [], count: 0};
  }

  function startStreams() {
    Object.keys(cards).forEach(function (k) {
      cards[k].overlay.src = cards[k].overlay.dataset.src;
      if ($("showmap").checked) { cards[k].map.src = cards[k].map.dataset.src; }
    });
  }

  function showRun(st) {
    text($("model"), st.model + " · " + st.precision);
    $("run").innerHTML = "";
    [["backend", st.backend], ["input", st.input.height + "×" + st.input.width], ["preprocess", st.preprocess],
     ["sources", st.streams.map(function (s) { return s.uri; }).join(", ")]].forEach(function (kv) {
      var s = document.createElement("span");
      s.textContent = kv[0] + ": " + kv[1];
      $("run").append(s);
    });
  }

  function showStatus(st) {
    text($("fps"), st.fps.toFixed(1));
    text($("dropped"), st.dropped);
    var busy = $("busy");
    Object.keys(st.busy).forEach(function (stage) {
      var row = busy.querySelector("[data-stage='" + stage + "']");
      if (!row) {
        row = document.createElement("div");
        row.className = "bar"; row.dataset.stage = stage;
        row.innerHTML = "<span>" + stage + "</span><span class=track><span class=fill></span></span>" +
                        "<span class=pct></span>";
        busy.append(row);
      }
      var pct = Math.min(100, 100 * st.busy[stage]);
      row.querySelector(".fill").style.width = pct.toFixed(0) + "%";
      text(row.querySelector(".pct"), pct.toFixed(0) + "%");
    });
  }

  function onRecord(r) {
    var c = cards[r.stream];
    if (!c) { return; }
    var now = r.wall_time;  // capture times: the rate of the stream, whatever the network did to the events
    c.times.push(now);
    while (c.times.length && now - c.times[0] > 2) { c.times.shift(); }
    c.count += 1;
    c.el.dataset.records = c.count;
    var span = c.times.length > 1 ? c.times[c.times.length - 1] - c.times[0] : 0;
    text(c.el.querySelector(".sfps"), span > 0 ? ((c.times.length - 1) / span).toFixed(1) : "–");
    text(c.el.querySelector(".latency"), r.latency_ms.total !== undefined ? r.latency_ms.total.toFixed(0) : "–");
    text(c.el.querySelector(".frame"), r.frame);
    if (r.peak) { text(c.el.querySelector(".peak"), "(" + Math.round(r.peak.x) + ", " + Math.round(r.peak.y) + ")"); }
  }

  function watchImages() {
    Object.keys(cards).forEach(function (k) {
      var img = cards[k].overlay;
      if (img.naturalWidth) {
        text(cards[k].el.querySelector(".image"), img.naturalWidth + "×" + img.naturalHeight);
        cards[k].el.dataset.image = img.naturalWidth + "x" + img.naturalHeight;
      }
    });
  }

  $("showmap").addEventListener("change", function () {
    var on = this.checked;
    document.body.classList.toggle("nomap", !on);
    Object.keys(cards).forEach(function (k) {
      var m = cards[k].map;
      if (on) { m.src = m.dataset.src; } else { m.removeAttribute("src"); }  // stops the map stream
    });
  });

  function init() {  // after the load event: endless streams would otherwise hold it back forever
  fetch("status.json", {credentials: "same-origin"}).then(function (r) {
    if (!r.ok) { throw new Error("status " + r.status); }
    return r.json();
  }).then(function (st) {
    showRun(st);
    showStatus(st);
    st.streams.forEach(function (s) {
      if (only === null || String(s.index) === only) { cards[s.index] = card(s); }
    });
    setInterval(watchImages, 500);
    startStreams();
    var events = new EventSource("events");
    events.onopen = function () { $("state").className = "live"; text($("state"), "live"); };
    events.onerror = function () { $("state").className = "down"; text($("state"), "reconnecting…"); };
    events.onmessage = function (e) { onRecord(JSON.parse(e.data)); };
    events.addEventListener("status", function (e) { showStatus(JSON.parse(e.data)); });
  }).catch(function (err) {
    $("state").className = "down";
    text($("state"), "cannot read the run's status: " + err.message);
  });
  }

  if (document.readyState === "complete") { init(); } else { window.addEventListener("load", init); }
})();
</script>
</body>
</html>
"""

LOGIN_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edge-saliency: token</title>
<style>
body { margin: 0; font: 16px/1.4 system-ui, sans-serif; background: #121212; color: #e8e8e8; display: grid;
       place-items: center; min-height: 100vh; }
form { background: #1b1b1b; border: 1px solid #2c2c2c; border-radius: 8px; padding: 1.2rem; max-width: 22rem; }
input, button { font: inherit; padding: .4rem .6rem; margin-top: .5rem; width: 100%; box-sizing: border-box; }
</style>
</head>
<body>
<form method="get" action="/">
  <h1 style="font-size:1.1rem;margin-top:0">edge-saliency live view</h1>
  <p>This view needs the access token that <code>edge-saliency run</code> printed when it started (or the one
  given with <code>--output-token</code>).</p>
  <input name="token" type="password" autocomplete="current-password" placeholder="token" required autofocus>
  <button type="submit">Open</button>
</form>
</body>
</html>
"""
