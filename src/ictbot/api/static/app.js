// ictbot dashboard: candles with detector zones and trade markers, panels, live updates, control with the token.
"use strict";
const $ = (selector) => document.querySelector(selector);
const TF_MS = { "1m": 6e4, "3m": 18e4, "5m": 3e5, "15m": 9e5, "30m": 18e5, "1h": 36e5, "2h": 72e5, "4h": 144e5, "8h": 288e5, "1d": 864e5 };
const COLORS = { up: "38,166,154", down: "239,83,80", ob: "66,135,245", breaker: "171,71,188", liq: "224,179,65" };
const view = { symbol: null, tf: null, zones: [], lastBar: 0 };

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
  const scale = chart.timeScale();
  const paneWidth = scale.width();
  ctx.beginPath();
  ctx.rect(0, 0, paneWidth, box.clientHeight);
  ctx.clip();
  let drawn = 0;
  for (const zone of view.zones) {
    const x1 = scale.timeToCoordinate(bar(zone.formed_at));
    const end = zone.kind === "bos" || zone.kind === "choch" ? zone.known_at : zone.ends_at;
    const x2 = end == null ? paneWidth : scale.timeToCoordinate(bar(end));
    const yTop = candles.priceToCoordinate(zone.top);
    const yBottom = candles.priceToCoordinate(zone.bottom);
    if (x1 == null || x2 == null || yTop == null || yBottom == null || x2 < 0 || x1 > paneWidth) continue;
    const rgb = zone.kind === "ob" ? COLORS.ob : zone.kind === "breaker" ? COLORS.breaker
      : zone.direction > 0 ? COLORS.up : COLORS.down;
    if (zone.kind === "fvg" || zone.kind === "ob" || zone.kind === "breaker") {
      ctx.fillStyle = `rgba(${rgb},0.22)`;
      ctx.strokeStyle = `rgba(${rgb},0.7)`;
      ctx.fillRect(x1, yTop, Math.max(x2 - x1, 2), yBottom - yTop);
      ctx.strokeRect(x1, yTop, Math.max(x2 - x1, 2), yBottom - yTop);
    } else {
      const structure = zone.kind === "bos" || zone.kind === "choch";
      const y = structure ? yTop : zone.direction > 0 ? yTop : yBottom;
      ctx.strokeStyle = structure ? "#cfd8dc" : `rgb(${COLORS.liq})`;
      ctx.setLineDash(structure ? [] : [5, 4]);
      ctx.beginPath();
      ctx.moveTo(x1, y);
      ctx.lineTo(x2, y);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fillText(zone.kind.toUpperCase(), Math.max(x1, 2) + 2, y - 3);
    }
    drawn += 1;
  }
  $("#chart").dataset.zones = drawn;
}

async function loadChart() {
  if (!view.symbol) return;
  const stream = `${view.symbol}/${view.tf}`;
  const [bars, zones, trades, orders] = await Promise.all([
    getJson(`/api/candles/${stream}?limit=500`),
    getJson(`/api/zones/${stream}`),
    getJson(`/api/trades?symbol=${view.symbol}&limit=500`),
    getJson(`/api/orders?symbol=${view.symbol}&open_only=true&limit=50`),
  ]);
  const data = bars.items.map((k) => ({ time: k.time / 1000, open: k.open, high: k.high, low: k.low, close: k.close }));
  candles.setData(data);
  view.lastBar = data.length ? data[data.length - 1].time : 0;
  const first = bars.items.length ? bars.items[0].time : 0;
  view.zones = zones.items.filter((z) => (z.ends_at ?? Infinity) >= first);
  const markers = [];
  for (const t of trades.items) {
    const long = t.side === "BUY";
    if (t.entry_time / 1000 >= data[0]?.time) {
      markers.push({ time: bar(t.entry_time), position: long ? "belowBar" : "aboveBar", color: long ? "#26a69a" : "#ef5350",
        shape: long ? "arrowUp" : "arrowDown", text: `entry ${fmt(t.entry_price)}` });
    }
    if (t.exit_time != null && t.exit_time / 1000 >= data[0]?.time) {
      markers.push({ time: bar(t.exit_time), position: long ? "aboveBar" : "belowBar",
        color: t.exit_reason === "stop" ? "#ff5252" : "#e0b341", shape: t.exit_reason === "stop" ? "square" : "circle",
        text: `${t.exit_reason} ${fmt(t.pnl)}` });
    }
  }
  const shown = markers.filter((m) => m.time <= view.lastBar).sort((a, b) => a.time - b.time);
  candles.setMarkers(shown);
  $("#chart").dataset.markers = shown.length;
  priceLines.forEach((line) => candles.removePriceLine(line));
  priceLines = [];
  for (const o of orders.items.filter((order) => order.intent.purpose === "entry")) {
    if (o.intent.stop) priceLines.push(candles.createPriceLine({ price: +o.intent.stop, color: "#ff5252", lineStyle: 2, title: "stop" }));
    if (o.intent.target) priceLines.push(candles.createPriceLine({ price: +o.intent.target, color: "#26a69a", lineStyle: 2, title: "target" }));
  }
  $("#chart").dataset.candles = data.length;
  requestAnimationFrame(drawZones);
}

async function loadPanels() {
  const [status, ready, positions, orders, signals, pnl, curve] = await Promise.all([
    getJson("/status"), getJson("/ready"), getJson("/api/positions"), getJson("/api/orders?open_only=true&limit=20"),
    getJson("/api/signals?limit=10"), getJson("/api/pnl/daily?limit=7"), getJson("/api/equity"),
  ]);
  $("#mode").textContent = `${status.mode} · ${status.venue.kind} · ${status.strategy} · up ${Math.round(status.uptime_seconds)} s`;
  $("#trading").textContent = status.trading.state;
  $("#trading").className = `badge ${status.trading.state === "ACTIVE" ? "ok" : status.trading.state === "HALTED" ? "bad" : "warn"}`;
  $("#trading").title = status.trading.reason;
  $("#ready").textContent = ready.ready ? "ready" : "NOT READY";
  $("#ready").className = `badge ${ready.ready ? "ok" : "bad"}`;
  $("#equity").textContent = `equity ${fmt(status.equity)} USDT`;
  rows("#health", ready.checks, (c) => [c.ok ? "✔" : "✘", escapeHtml(c.name), `<span class="dim">${escapeHtml(c.detail)}</span>`]);
  rows("#positions", positions.items, (p) => [escapeHtml(p.symbol), p.side, fmt(p.quantity, 4), fmt(p.entry_price),
    `<span class="num">${fmt(p.unrealized_pnl)}</span>`, `<button data-close="${escapeHtml(p.symbol)}">close</button>`]);
  rows("#orders", orders.items, (o) => [escapeHtml(o.symbol), o.intent.side, o.intent.order_type, fmt(o.intent.price),
    o.state]);
  rows("#signals", signals.items, (s) => [when(s.created_at), escapeHtml(s.symbol), s.side,
    s.decision.accepted ? "✔" : `✘ ${escapeHtml(s.decision.reason)}`, `<span class="dim">${escapeHtml(s.reason)}</span>`]);
  rows("#pnl", pnl.items, (d) => [d.day, `<span class="num">${fmt(d.net_pnl)}</span>`, `${d.fill_count} fills`]);
  equity.setData(curve.items.map((e) => ({ time: e.time / 1000, value: Number(e.equity) })));
  if (!view.symbol) {
    const select = $("#stream");
    select.innerHTML = status.streams.map((s) => `<option>${escapeHtml(s.symbol)}/${s.timeframe}</option>`).join("");
    const preferred = status.streams.find((s) => s.timeframe === "5m") ?? status.streams[0];
    select.value = `${preferred.symbol}/${preferred.timeframe}`;
    [view.symbol, view.tf] = select.value.split("/");
    await loadChart();
  }
}

async function control(path, label) {
  const token = $("#token").value.trim();
  sessionStorage.setItem("ictbot-token", token);
  const response = await fetch(`/api/control/${path}`, { method: "POST", headers: { Authorization: `Bearer ${token}` } });
  const body = await response.json();
  $("#control-result").textContent = response.ok
    ? `${label}: trading ${body.trading.state}` : `${label} refused (${response.status}): ${body.detail}`;
  await loadPanels();
}

$("#token").value = sessionStorage.getItem("ictbot-token") ?? "";
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

let refresh = null;
const soon = (what, ms) => { clearTimeout(refresh); refresh = setTimeout(what, ms); };
function connect() {
  const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/stream`);
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    const d = event.data;
    if (event.type === "candle" && d.symbol === view.symbol && d.timeframe === view.tf && d.candle.time / 1000 > view.lastBar) {
      view.lastBar = d.candle.time / 1000;
      candles.update({ time: view.lastBar, open: d.candle.open, high: d.candle.high, low: d.candle.low, close: d.candle.close });
      requestAnimationFrame(drawZones);
    } else if (event.type !== "candle") {
      soon(() => loadPanels().then(loadChart), 300);
    }
  };
  socket.onclose = () => setTimeout(connect, 2000);
}

loadPanels().then(connect);
setInterval(() => loadPanels().then(loadChart), 10000);
