// ictbot dashboard: candles with detector zones and trade markers, the current run's equity, replay progress, panels,
// live updates, and control with the bot's token (taken from the address's #token=…, kept in this tab only).
"use strict";
const $ = (selector) => document.querySelector(selector);
const TF_MS = { "1m": 6e4, "3m": 18e4, "5m": 3e5, "15m": 9e5, "30m": 18e5, "1h": 36e5, "2h": 72e5, "4h": 144e5, "8h": 288e5, "1d": 864e5 };
const COLORS = { up: "38,166,154", down: "239,83,80", ob: "66,135,245", breaker: "171,71,188", liq: "224,179,65" };
const ACTIVE_PER_KIND = 3; // live zones drawn per kind and direction, newest first: older live ones only clutter
const BOXES = new Set(["fvg", "ob", "breaker"]);
const STRUCTURE = new Set(["bos", "choch"]);
const TOKEN_KEY = "ictbot-token";
const view = { symbol: null, tf: null, run: null, zones: [], times: [], markers: [], drawn: [], equityLast: 0, tokenHelp: "" };

async function getJson(path) {
  const response = await fetch(path);
  return response.json();
}

function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

function rows(table, items, cells, empty = "none") {
  $(table).innerHTML = items.length
    ? items.map((item) => `<tr>${cells(item).map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")
    : `<tr><td class="dim">${empty}</td></tr>`;
}

const fmt = (value, digits = 2) => (value == null ? "–" : Number(value).toFixed(digits));
const when = (ms) => new Date(ms).toISOString().slice(5, 16).replace("T", " ");
const bar = (ms) => Math.floor(ms / TF_MS[view.tf]) * TF_MS[view.tf] / 1000;

function duration(seconds) {
  if (seconds == null) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

// The token arrives once in the address (the link the bot logs at startup); it moves to this tab's session storage
// and leaves the address bar, so it is neither bookmarked, shared with a screenshot, nor kept in the history.
function takeTokenFromAddress() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

const chart = LightweightCharts.createChart($("#chart"), {
  autoSize: true,
  layout: { background: { color: "#0f1419" }, textColor: "#d5dbe3" },
  grid: { vertLines: { color: "#1b222b" }, horzLines: { color: "#1b222b" } },
  timeScale: { timeVisible: true, secondsVisible: false },
});
const candles = chart.addCandlestickSeries();
const equityChart = LightweightCharts.createChart($("#equity-chart"), {
  autoSize: true,
  layout: { background: { color: "#0f1419" }, textColor: "#d5dbe3" },
  grid: { vertLines: { visible: false }, horzLines: { color: "#1b222b" } },
  timeScale: { timeVisible: true },
});
const equity = equityChart.addLineSeries({ color: "#e0b341", lineWidth: 2, title: "equity" });
let priceLines = [];

// x of a time on the candle chart, also before the first or after the last candle held (a zone formed earlier, "now").
function xOf(ms) {
  const times = view.times;
  if (!times.length) return null;
  const t = bar(ms);
  const step = TF_MS[view.tf] / 1000;
  const last = times.length - 1;
  let index;
  if (t <= times[0]) index = (t - times[0]) / step;
  else if (t >= times[last]) index = last + (t - times[last]) / step;
  else {
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    index = lo;
  }
  return chart.timeScale().logicalToCoordinate(index);
}

// Ended zones (any that overlap the candles held) and the newest live ones of each kind and direction.
function zonesToDraw() {
  const first = view.times.length ? view.times[0] * 1000 : 0;
  const live = new Map();
  const shown = [];
  for (const zone of [...view.zones].reverse()) {
    const end = STRUCTURE.has(zone.kind) ? zone.known_at : zone.ends_at;
    if (end != null) {
      if (end >= first) shown.push({ zone, end });
      continue;
    }
    const key = `${zone.kind}:${zone.direction}`;
    const count = live.get(key) ?? 0;
    if (count < ACTIVE_PER_KIND) {
      live.set(key, count + 1);
      shown.push({ zone, end: null });
    }
  }
  return shown.reverse();
}

function drawZones() {
  const canvas = $("#zones");
  const box = $("#chart");
  const ratio = window.devicePixelRatio || 1;
  canvas.width = box.clientWidth * ratio;
  canvas.height = box.clientHeight * ratio;
  canvas.style.width = `${box.clientWidth}px`;
  canvas.style.height = `${box.clientHeight}px`;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  const paneWidth = chart.timeScale().width();
  ctx.beginPath();
  ctx.rect(0, 0, paneWidth, box.clientHeight);
  ctx.clip();
  ctx.font = "10px system-ui, sans-serif";
  const now = view.times.length ? xOf(view.times[view.times.length - 1] * 1000) : null;
  const half = (chart.timeScale().options().barSpacing ?? 6) / 2;
  const drawn = [];
  // Ended zones first, faint; the live ones on top, stronger and labelled, so overlaps stay readable.
  const ordered = zonesToDraw().sort((a, b) => (a.end == null) - (b.end == null));
  for (const { zone, end } of ordered) {
    const x1 = xOf(zone.formed_at);
    const x2 = end == null ? (now == null ? null : now + half) : xOf(end);
    const yTop = candles.priceToCoordinate(zone.top);
    const yBottom = candles.priceToCoordinate(zone.bottom);
    if (x1 == null || x2 == null || yTop == null || yBottom == null || x2 < 0 || x1 > paneWidth) continue;
    const live = end == null;
    const rgb = zone.kind === "ob" ? COLORS.ob : zone.kind === "breaker" ? COLORS.breaker
      : zone.direction > 0 ? COLORS.up : COLORS.down;
    const label = zone.kind.toUpperCase();
    if (BOXES.has(zone.kind)) {
      const width = Math.max(x2 - x1, 2);
      ctx.fillStyle = `rgba(${rgb},${live ? 0.18 : 0.08})`;
      ctx.strokeStyle = `rgba(${rgb},${live ? 0.8 : 0.3})`;
      ctx.fillRect(x1, yTop, width, yBottom - yTop);
      ctx.strokeRect(x1, yTop, width, yBottom - yTop);
      if (live || width > 40) {
        ctx.fillStyle = `rgba(${rgb},${live ? 1 : 0.6})`;
        ctx.fillText(label, Math.max(x1, 0) + 3, Math.min(yTop, yBottom) + 10);
      }
    } else {
      const structure = STRUCTURE.has(zone.kind);
      const y = structure ? yTop : zone.direction > 0 ? yTop : yBottom;
      ctx.strokeStyle = structure ? "#cfd8dc" : `rgba(${COLORS.liq},${live ? 1 : 0.45})`;
      ctx.setLineDash(structure ? [] : [5, 4]);
      ctx.beginPath();
      ctx.moveTo(x1, y);
      ctx.lineTo(x2, y);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fillText(label, Math.max(x1, 0) + 2, y - 3);
    }
    drawn.push({ kind: zone.kind, direction: zone.direction, formed_at: zone.formed_at, ends_at: end, x1, x2, live });
  }
  view.drawn = drawn;
  box.dataset.zones = drawn.length;
  box.dataset.zonesEnded = drawn.filter((z) => !z.live && z.x2 < paneWidth).length;
}

// Markers of trades whose candle the chart holds; the others wait for their candle to close.
function showMarkers() {
  const last = view.times.length ? view.times[view.times.length - 1] : 0;
  const shown = view.markers.filter((m) => m.time <= last);
  candles.setMarkers(shown);
  $("#chart").dataset.markers = shown.length;
}

async function loadChart() {
  if (!view.symbol) return;
  const stream = `${view.symbol}/${view.tf}`;
  const run = view.run == null ? "" : `&run=${view.run}`;
  const [bars, zones, trades, orders] = await Promise.all([
    getJson(`/api/candles/${stream}?limit=500`),
    getJson(`/api/zones/${stream}`),
    getJson(`/api/trades?symbol=${view.symbol}&limit=500${run}`),
    getJson(`/api/orders?symbol=${view.symbol}&open_only=true&limit=50`),
  ]);
  const data = bars.items.map((k) => ({ time: k.time / 1000, open: k.open, high: k.high, low: k.low, close: k.close }));
  candles.setData(data);
  view.times = data.map((k) => k.time);
  view.zones = zones.items;
  const first = data.length ? data[0].time : Infinity;
  const markers = [];
  for (const t of trades.items ?? []) {
    const long = t.side === "BUY";
    if (bar(t.entry_time) >= first) {
      markers.push({ time: bar(t.entry_time), position: long ? "belowBar" : "aboveBar", color: long ? "#26a69a" : "#ef5350",
        shape: long ? "arrowUp" : "arrowDown", text: `entry ${fmt(t.entry_price)}` });
    }
    if (t.exit_time != null && bar(t.exit_time) >= first) {
      markers.push({ time: bar(t.exit_time), position: long ? "aboveBar" : "belowBar",
        color: t.exit_reason === "stop" ? "#ff5252" : "#e0b341", shape: t.exit_reason === "stop" ? "square" : "circle",
        text: `${t.exit_reason} ${fmt(t.pnl)}` });
    }
  }
  view.markers = markers.sort((a, b) => a.time - b.time);
  showMarkers();
  priceLines.forEach((line) => candles.removePriceLine(line));
  priceLines = [];
  for (const o of (orders.items ?? []).filter((order) => order.intent.purpose === "entry")) {
    if (o.intent.stop) priceLines.push(candles.createPriceLine({ price: +o.intent.stop, color: "#ff5252", lineStyle: 2, title: "stop" }));
    if (o.intent.target) priceLines.push(candles.createPriceLine({ price: +o.intent.target, color: "#26a69a", lineStyle: 2, title: "target" }));
  }
  $("#chart").dataset.candles = data.length;
  requestAnimationFrame(drawZones);
}

const point = (e) => ({ time: e.time / 1000, value: Number(e.equity) });

// The current run's curve: its newest points once, then only what was recorded since, so it grows while the bot runs.
// One load at a time: the timer and a refresh after an event would otherwise both append the same points, and the
// chart refuses a point older than its newest.
let equityLoad = null;
function loadEquity() {
  equityLoad ??= appendEquity().finally(() => { equityLoad = null; });
  return equityLoad;
}

async function appendEquity() {
  let curve = await getJson(view.equityLast ? `/api/equity?start=${view.equityLast + 1}` : "/api/equity");
  if (!curve.items) return;
  if (curve.run !== view.run) {
    view.run = curve.run;
    if (view.equityLast) curve = await getJson("/api/equity");
    equity.setData(curve.items.map(point));
  } else {
    for (;;) {
      const newest = equity.data().at(-1)?.time ?? -Infinity;
      curve.items.filter((e) => e.time / 1000 >= newest).forEach((e) => equity.update(point(e)));
      if (curve.next_start == null) break;
      view.equityLast = curve.items[curve.items.length - 1].time;
      curve = await getJson(`/api/equity?start=${curve.next_start}`);
    }
  }
  if (curve.items.length) view.equityLast = curve.items[curve.items.length - 1].time;
  const box = $("#equity-chart");
  box.dataset.points = equity.data().length;
  box.dataset.last = view.equityLast;
}

function showReplay(replay) {
  $("#replay").hidden = replay == null;
  if (replay == null) return;
  $("#replay-bar").value = replay.progress_pct;
  const market = replay.market_time.slice(0, 16).replace("T", " ");
  $("#replay-text").textContent =
    `replay ${market} UTC · ${replay.progress_pct.toFixed(1)} % · ETA ${duration(replay.eta_seconds)} at ${replay.speed}×`;
}

async function loadStatus() {
  const status = await getJson("/status");
  $("#mode").textContent = `${status.mode} · ${status.venue.kind} · ${status.strategy} · up ${Math.round(status.uptime_seconds)} s`;
  $("#trading").textContent = status.trading.state;
  $("#trading").className = `badge ${status.trading.state === "ACTIVE" ? "ok" : status.trading.state === "HALTED" ? "bad" : "warn"}`;
  $("#trading").title = status.trading.reason;
  $("#ready").textContent = status.ready ? "ready" : "NOT READY";
  $("#ready").className = `badge ${status.ready ? "ok" : "bad"}`;
  $("#equity").textContent = `equity ${fmt(status.equity)} USDT`;
  showReplay(status.replay);
  if (!view.symbol && status.streams.length) {
    const select = $("#stream");
    select.innerHTML = status.streams.map((s) => `<option>${escapeHtml(s.symbol)}/${s.timeframe}</option>`).join("");
    const preferred = status.streams.find((s) => s.timeframe === "5m") ?? status.streams[0];
    select.value = `${preferred.symbol}/${preferred.timeframe}`;
    [view.symbol, view.tf] = select.value.split("/");
    await loadChart();
  }
}

async function loadPanels() {
  const [ready, positions, orders, signals, pnl] = await Promise.all([
    getJson("/ready"), getJson("/api/positions"), getJson("/api/orders?open_only=true&limit=20"),
    getJson("/api/signals?limit=10"), getJson("/api/pnl/daily?limit=7"),
  ]);
  rows("#health", ready.checks, (c) => [c.ok ? "✔" : "✘", escapeHtml(c.name), `<span class="dim">${escapeHtml(c.detail)}</span>`]);
  rows("#positions", positions.items, (p) => [escapeHtml(p.symbol), p.side, fmt(p.quantity, 4), fmt(p.entry_price),
    `<span class="num">${fmt(p.unrealized_pnl)}</span>`, `<button data-close="${escapeHtml(p.symbol)}">close</button>`]);
  rows("#orders", orders.items ?? [], (o) => [escapeHtml(o.symbol), o.intent.side, o.intent.order_type, fmt(o.intent.price),
    o.state]);
  rows("#signals", signals.items ?? [], (s) => [when(s.created_at), escapeHtml(s.symbol), s.side,
    s.decision.accepted ? "✔" : `✘ ${escapeHtml(s.decision.reason)}`, `<span class="dim">${escapeHtml(s.reason)}</span>`]);
  rows("#pnl", pnl.items ?? [], (d) => [d.day, `<span class="num">${fmt(d.net_pnl)}</span>`, `${d.fill_count} fills`]);
}

// Where the operator finds the token: the bot's own setting, or the file it generated and the link it logged.
async function loadTokenHelp() {
  const config = await getJson("/api/config");
  view.tokenHelp = config.api?.token
    ? "use the bot's api.token setting (ICTBOT_API__TOKEN)"
    : "open the dashboard through the link the bot logged at startup (…/#token=…), or paste the token from "
      + `${config.data_dir}/control-token`;
  if (!$("#token").value) $("#control-result").textContent = `Controls need the bot's token: ${view.tokenHelp}.`;
}

async function control(path, label) {
  const token = $("#token").value.trim();
  if (!token) {
    $("#control-result").textContent = `${label} needs the bot's token: ${view.tokenHelp}.`;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  const response = await fetch(`/api/control/${path}`, { method: "POST", headers: { Authorization: `Bearer ${token}` } });
  const body = await response.json();
  const help = response.status === 401 || response.status === 403 ? ` — ${view.tokenHelp}` : "";
  $("#control-result").textContent = response.ok
    ? `${label}: trading ${body.trading.state}` : `${label} refused (${response.status}): ${body.detail}${help}`;
  await refresh();
}

async function refresh() {
  await loadEquity();
  await loadStatus();
  await Promise.all([loadPanels(), loadChart()]);
}

$("#token").value = takeTokenFromAddress();
$("#token").onchange = () => sessionStorage.setItem(TOKEN_KEY, $("#token").value.trim());
$("#pause").onclick = () => control("pause", "pause");
$("#resume").onclick = () => control("resume", "resume");
$("#flatten").onclick = () => confirm("Close every position and halt trading?") && control("flatten", "flatten");
$("#positions").onclick = (event) => {
  const symbol = event.target.dataset?.close;
  if (symbol) control(`positions/${symbol}/close`, `close ${symbol}`);
};
$("#stream").onchange = () => { [view.symbol, view.tf] = $("#stream").value.split("/"); loadChart(); };
chart.timeScale().subscribeVisibleLogicalRangeChange(() => requestAnimationFrame(drawZones));
new ResizeObserver(() => requestAnimationFrame(drawZones)).observe($("#chart"));

let pending = null;
const soon = (what, ms) => { clearTimeout(pending); pending = setTimeout(what, ms); };
function connect() {
  const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/stream`);
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    const d = event.data;
    const last = view.times.length ? view.times[view.times.length - 1] : 0;
    if (event.type === "candle" && d.symbol === view.symbol && d.timeframe === view.tf && d.candle.time / 1000 > last) {
      view.times.push(d.candle.time / 1000);
      candles.update({ time: d.candle.time / 1000, open: d.candle.open, high: d.candle.high, low: d.candle.low, close: d.candle.close });
      if (view.markers.some((m) => m.time > last)) showMarkers();
      requestAnimationFrame(drawZones);
    } else if (event.type !== "candle") {
      soon(refresh, 300);
    }
  };
  socket.onclose = () => setTimeout(connect, 2000);
}

loadTokenHelp();
refresh().then(connect);
setInterval(() => loadEquity().then(loadStatus), 2000);
setInterval(() => Promise.all([loadPanels(), loadChart()]), 10000);
