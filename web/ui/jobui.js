// The job UI of a weir job: its graph, bottleneck, operators, checkpoints,
// exceptions and CPU flame graphs, from the job's own API. Plain SVG, no
// dependencies. window.weirJobUI.state() reports what the page shows, for
// tests (internal/browsertest).

const SVG = "http://www.w3.org/2000/svg";
const POLL_MS = 2000;
const KEEP_SAMPLES = 1900; // an hour at the default 2 s, and some

const st = {
  graph: null,        // GET /api/graph
  samples: [],        // [{t, subs: [{chain, subtask, v: [...]}]}] oldest first
  fields: {},         // history field name -> index in v
  bottleneck: null,   // GET /api/bottleneck
  subtasks: [],       // GET /api/subtasks
  checkpoints: [],
  exceptions: [],
  restores: [],
  channels: [],       // GET /api/channels
  flame: null,        // the last flame graph
  flameFunctions: [],
  selected: "",       // the chain shown in the operator tab
  selectedCheckpoint: null,
  token: "",
  errors: 0,
};

// ---- access -----------------------------------------------------------

// The token travels in the URL's fragment (never sent to the server):
// open the page as /ui/?token=T#token=T, and the server's cookie opens the
// pages while the page itself sends T with what needs it (savepoints,
// profiles).
function initToken() {
  const m = /(?:^|[#&])token=([^&]*)/.exec(location.hash);
  if (m) {
    st.token = decodeURIComponent(m[1]);
    sessionStorage.setItem("weir-token", st.token);
    history.replaceState(null, "", location.pathname + location.search);
  } else {
    st.token = sessionStorage.getItem("weir-token") || "";
  }
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (st.token) h["Authorization"] = "Bearer " + st.token;
  return h;
}

class HTTPError extends Error {
  constructor(status, msg) { super(msg); this.status = status; }
}

async function call(path, opts) {
  const r = await fetch(path, Object.assign({}, opts || {}, { headers: headers((opts || {}).headers) }));
  if (!r.ok) {
    let msg = r.status + " " + r.statusText;
    try { const b = await r.json(); if (b && b.error) msg = b.error; } catch (e) { /* not JSON */ }
    if (r.status === 401) askToken();
    throw new HTTPError(r.status, msg);
  }
  return r;
}

async function getJSON(path) { return (await call(path)).json(); }

function askToken() {
  const f = document.getElementById("token-form");
  f.hidden = false;
}

function initTokenForm() {
  const f = document.getElementById("token-form");
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    st.token = document.getElementById("token-input").value.trim();
    sessionStorage.setItem("weir-token", st.token);
    f.hidden = true;
  });
}

// ---- helpers ----------------------------------------------------------

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}

function svg(tag, attrs, ...kids) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}

function fmtNum(x) {
  if (x === null || x === undefined || !isFinite(x)) return "–";
  const a = Math.abs(x);
  if (a >= 1e9) return (x / 1e9).toFixed(1) + "G";
  if (a >= 1e6) return (x / 1e6).toFixed(1) + "M";
  if (a >= 1e4) return (x / 1e3).toFixed(1) + "k";
  if (a >= 100) return x.toFixed(0);
  return x.toFixed(a >= 10 ? 1 : 2).replace(/\.?0+$/, "") || "0";
}
const pct = (f) => (f === undefined || f === null || !isFinite(f)) ? "–" : Math.round(100 * f) + "%";
function fmtMs(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return "–";
  if (Math.abs(ms) >= 60000) return (ms / 60000).toFixed(1) + " min";
  if (Math.abs(ms) >= 1000) return (ms / 1000).toFixed(1) + " s";
  if (Math.abs(ms) < 10) return ms.toFixed(1) + " ms";
  return Math.round(ms) + " ms";
}
function fmtBytes(b) {
  if (!b) return "0 B";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
  return (i ? b.toFixed(1) : b) + " " + u[i];
}
const nsToMs = (ns) => ns / 1e6;

// ---- history and the numbers derived from it --------------------------

function mergeHistory(h) {
  st.fields = {};
  h.fields.forEach((f, i) => { st.fields[f] = i; });
  for (const s of h.samples) {
    if (st.samples.length && s.t <= st.samples[st.samples.length - 1].t) continue;
    st.samples.push({ t: s.t, subs: s.s.map((v) => ({ chain: h.chains[v[0]], subtask: v[1], v })) });
  }
  if (st.samples.length > KEEP_SAMPLES) st.samples.splice(0, st.samples.length - KEEP_SAMPLES);
}

function val(sub, name) { return sub.v[st.fields[name]]; }

// between returns, per chain, the rates and shares between samples a and
// b: records in and out per second (summed over subtasks) and the time
// shares of its busiest, most backpressured and idlest subtask; per
// subtask the same.
function between(a, b) {
  const out = {};
  if (!a || !b || b.t <= a.t) return out;
  const before = new Map(a.subs.map((s) => [s.chain + "#" + s.subtask, s]));
  const dt = (b.t - a.t) / 1000;
  for (const s of b.subs) {
    const p = before.get(s.chain + "#" + s.subtask);
    if (!p) continue;
    const d = (n) => val(s, n) - val(p, n);
    const busy = d("busy_ms"), idle = d("idle_ms"), bp = d("backpressured_ms");
    const total = busy + idle + bp;
    if (d("records_in") < 0 || total <= 0) continue; // restarted in between
    const c = out[s.chain] || (out[s.chain] = { in: 0, out: 0, busy: 0, bp: 0, idle: 0, subtasks: {} });
    const sub = { in: d("records_in") / dt, out: d("records_out") / dt, busy: busy / total, bp: bp / total, idle: idle / total };
    c.subtasks[s.subtask] = sub;
    c.in += sub.in; c.out += sub.out;
    c.busy = Math.max(c.busy, sub.busy); c.bp = Math.max(c.bp, sub.bp); c.idle = Math.max(c.idle, sub.idle);
  }
  return out;
}

// recent is the rates over the last few samples (about 6 s).
function recent() {
  const n = st.samples.length;
  if (n < 2) return {};
  const b = st.samples[n - 1];
  let a = st.samples[n - 2];
  for (let i = n - 2; i >= 0; i--) { a = st.samples[i]; if (b.t - a.t >= 6000) break; }
  return between(a, b);
}

// lagOf returns, per chain, the event-time lag (ms) of its most lagging
// subtask in sample s: now minus its watermark (the output one, else the
// input one).
function lagOf(s) {
  const out = {};
  for (const sub of s.subs) {
    const wm = val(sub, "output_watermark") || val(sub, "input_watermark");
    if (!wm) continue;
    out[sub.chain] = Math.max(out[sub.chain] ?? -Infinity, s.t - wm);
  }
  return out;
}

// ---- the graph --------------------------------------------------------

function chainTails(g) {
  // The operators whose records leave their chain: they show the chain's
  // records out.
  const chainOf = new Map(g.operators.map((o) => [o.id, o.chain]));
  const tails = new Set();
  const hasOut = new Set();
  for (const e of g.edges) {
    hasOut.add(e.from);
    if (chainOf.get(e.from) !== chainOf.get(e.to)) tails.add(e.from);
  }
  for (const o of g.operators) if (!hasOut.has(o.id)) tails.add(o.id);
  return tails;
}

function colour(c) {
  if (!c) return "#f2f4f7";
  if (c.bp >= 0.5) return "#c4b5fd";
  // idle green to busy red.
  const t = Math.max(0, Math.min(1, c.busy));
  const r = Math.round(187 + (252 - 187) * t), gg = Math.round(247 + (165 - 247) * t), b = Math.round(208 + (165 - 208) * t);
  return `rgb(${r},${gg},${b})`;
}

function drawGraph() {
  const box = document.getElementById("graph");
  const g = st.graph;
  if (!g || !g.operators.length) { box.textContent = "The job has not started yet."; return; }
  const rates = recent();
  const lag = st.samples.length ? lagOf(st.samples[st.samples.length - 1]) : {};
  const tails = chainTails(g);
  const bottleneck = st.bottleneck && st.bottleneck.chain;
  // Layers, left to right: the longest path from a source. IDs are in the
  // order operators were added, which is an order of the graph.
  const layer = new Map();
  const ops = [...g.operators].sort((a, b) => a.id - b.id);
  for (const o of ops) layer.set(o.id, 0);
  for (const o of ops) for (const e of g.edges) if (e.to === o.id && layer.has(e.from)) layer.set(o.id, Math.max(layer.get(o.id), layer.get(e.from) + 1));
  const rows = [];
  const pos = new Map();
  const W = 190, H = 92, GX = 115, GY = 30;
  for (const o of ops) {
    const l = layer.get(o.id);
    rows[l] = (rows[l] || 0) + 1;
    pos.set(o.id, { x: 20 + l * (W + GX), y: 20 + (rows[l] - 1) * (H + GY) });
  }
  const width = 40 + rows.length * (W + GX) - GX, height = 40 + Math.max(...rows.map((r) => r || 0)) * (H + GY) - GY;
  const s = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, id: "graph-svg" });
  s.append(svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" },
    svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#98a2b3" }))));
  const byId = new Map(ops.map((o) => [o.id, o]));
  for (const e of g.edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
    const from = byId.get(e.from);
    const r = rates[from.chain];
    let label = e.partitioning.toLowerCase();
    let second = "";
    const fill = st.channels.find((c) => c.from === e.from && c.to === e.to);
    if (e.chained) label += " · chained";
    else {
      if (r) second = `${fmtNum(r.out)}/s`;
      if (fill && fill.capacity) second += ` · full ${pct(fill.queued / fill.capacity)}`;
    }
    if (second) label += " " + second;
    s.append(svg("g", { class: "edge" + (e.chained ? " chained" : ""), "data-from": from.name, "data-to": byId.get(e.to).name, "data-label": label },
      svg("path", { d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, "marker-end": "url(#arrow)" }),
      svg("text", { x: mx, y: (y1 + y2) / 2 - (second ? 20 : 6), "text-anchor": "middle" }, e.partitioning.toLowerCase() + (e.chained ? " · chained" : "")),
      second ? svg("text", { x: mx, y: (y1 + y2) / 2 - 6, "text-anchor": "middle" }, second) : null));
  }
  for (const o of ops) {
    const p = pos.get(o.id);
    const r = rates[o.chain];
    const lines = [
      o.kind + " · parallelism " + o.parallelism,
      (o.source ? "reads" : o.head ? "in " + (r ? fmtNum(r.in) : "–") + "/s" : "in: chained") + " · " + (tails.has(o.id) ? "out " + (r ? fmtNum(r.out) : "–") + "/s" : "out: chained"),
      r ? `busy ${pct(r.busy)} · bp ${pct(r.bp)} · idle ${pct(r.idle)}` : "busy – · bp – · idle –",
      lag[o.chain] !== undefined ? "event-time lag " + fmtMs(lag[o.chain]) : "no watermark yet",
    ];
    const cls = "node" + (o.chain === bottleneck ? " bottleneck" : "") + (r && r.bp >= 0.5 ? " backpressured" : "");
    const node = svg("g", { class: cls, "data-operator": o.name, "data-chain": o.chain, transform: `translate(${p.x},${p.y})`, onclick: () => selectChain(o.chain) },
      svg("title", {}, `${o.name} (uid ${o.uid})\nchain: ${o.chain}`),
      svg("rect", { width: W, height: H, rx: 8, fill: colour(r) }),
      svg("text", { x: 10, y: 18, "font-weight": 700 }, o.name.length > 26 ? o.name.slice(0, 25) + "…" : o.name));
    lines.forEach((t, i) => node.append(svg("text", { x: 10, y: 36 + i * 15 }, t)));
    s.append(node);
  }
  box.replaceChildren(s);
}

function drawBottleneck() {
  const b = st.bottleneck;
  const box = document.getElementById("bottleneck");
  if (!b) return;
  box.dataset.state = b.chain ? "found" : "none";
  box.dataset.chain = b.chain || "";
  box.textContent = (b.chain ? "Bottleneck: " : "") + b.reason;
}

// ---- charts -----------------------------------------------------------

// lineChart draws series [{name, colour, points: [[t, v]]}] in an SVG.
function lineChart(box, series, opts) {
  const W = 420, H = 170, L = 46, R = 10, T = 10, B = 22;
  const all = series.flatMap((s) => s.points);
  if (!all.length) { box.replaceChildren(el("div", { class: "muted" }, "no data yet")); return; }
  const t0 = Math.min(...all.map((p) => p[0])), t1 = Math.max(...all.map((p) => p[0]));
  const ymax = opts.max ?? Math.max(1e-9, ...all.map((p) => p[1]));
  const x = (t) => L + (t1 > t0 ? (t - t0) / (t1 - t0) : 1) * (W - L - R);
  const y = (v) => T + (1 - Math.min(v, ymax) / ymax) * (H - T - B);
  const s = svg("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}` });
  for (const f of [0, 0.5, 1]) {
    s.append(svg("line", { x1: L, x2: W - R, y1: y(f * ymax), y2: y(f * ymax), stroke: "#e4e8f0" }));
    s.append(svg("text", { x: L - 4, y: y(f * ymax) + 3, "text-anchor": "end" }, opts.fmt(f * ymax)));
  }
  s.append(svg("text", { x: L, y: H - 6 }, new Date(t0).toLocaleTimeString()));
  s.append(svg("text", { x: W - R, y: H - 6, "text-anchor": "end" }, new Date(t1).toLocaleTimeString()));
  series.forEach((se, i) => {
    if (!se.points.length) return;
    s.append(svg("polyline", { fill: "none", stroke: se.colour, "stroke-width": 1.5, points: se.points.map((p) => x(p[0]) + "," + y(p[1])).join(" ") }));
    s.append(svg("text", { x: L + 6 + i * 95, y: T + 10, style: "fill:" + se.colour }, se.name));
  });
  box.replaceChildren(s);
}

function drawOperator() {
  const sel = document.getElementById("op-select");
  const chains = st.graph ? [...new Set(st.graph.operators.map((o) => o.chain).filter((c) => c))] : [];
  if (sel.options.length !== chains.length) {
    sel.replaceChildren(...chains.map((c) => el("option", { value: c }, c)));
  }
  if (!st.selected && chains.length) st.selected = chains[0];
  sel.value = st.selected;
  const chain = st.selected;
  if (!chain) return;
  const ops = st.graph.operators.filter((o) => o.chain === chain);
  document.getElementById("op-note").textContent = ops.length > 1
    ? `${ops.length} operators chained in one task: they share its counters.` : "";
  // Series over the history.
  const time = { busy: [], bp: [], idle: [] }, rate = { in: [], out: [] }, lag = [];
  for (let i = 1; i < st.samples.length; i++) {
    const c = between(st.samples[i - 1], st.samples[i])[chain];
    const t = st.samples[i].t;
    if (c) {
      time.busy.push([t, c.busy]); time.bp.push([t, c.bp]); time.idle.push([t, c.idle]);
      rate.in.push([t, c.in]); rate.out.push([t, c.out]);
    }
    const l = lagOf(st.samples[i])[chain];
    if (l !== undefined) lag.push([t, l]);
  }
  lineChart(document.getElementById("chart-time"), [
    { name: "busy", colour: "#dc2626", points: time.busy },
    { name: "backpressured", colour: "#7c3aed", points: time.bp },
    { name: "idle", colour: "#16a34a", points: time.idle }], { max: 1, fmt: pct });
  lineChart(document.getElementById("chart-rate"), [
    { name: "in", colour: "#2563eb", points: rate.in },
    { name: "out", colour: "#0d9488", points: rate.out }], { fmt: fmtNum });
  lineChart(document.getElementById("chart-lag"), [{ name: "lag", colour: "#d97706", points: lag }], { fmt: fmtMs });
  // Subtasks now.
  const r = recent()[chain];
  const subs = st.subtasks.filter((m) => m.Operator === chain).sort((a, b) => a.Subtask - b.Subtask);
  const now = Date.now();
  const rates = r ? Object.values(r.subtasks).map((x) => x.in) : [];
  const mean = rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : 0;
  const hasLatency = subs.some((m) => m.Latency && m.Latency.Samples > 0);
  const hasState = subs.some((m) => (m.StateAccess && m.StateAccess.length) || m.StateBytes);
  const hasWorker = subs.some((m) => m.Worker); // a job in a cluster: where each subtask runs
  const head = ["subtask", "in/s", "out/s", "skew (in/s ÷ mean)", "busy", "backpressured", "idle", "input watermark", "output watermark", "event-time lag", "dead letters"];
  if (hasLatency) head.push("latency p50 / p99");
  if (hasState) head.push("state", "state access p50 / p99");
  if (hasWorker) head.splice(1, 0, "worker");
  const table = document.getElementById("subtasks");
  const wmText = (w) => (!w || w.startsWith("0001-")) ? "–" : new Date(w).toLocaleTimeString();
  const wmLag = (m) => {
    const w = [m.OutputWatermark, m.InputWatermark].find((x) => x && !x.startsWith("0001-"));
    return w ? fmtMs(now - Date.parse(w)) : "–";
  };
  table.replaceChildren(el("tr", {}, ...head.map((h) => el("th", {}, h))), ...subs.map((m) => {
    const x = r && r.subtasks[m.Subtask];
    const cells = [m.Subtask, x ? fmtNum(x.in) : "–", x ? fmtNum(x.out) : "–", x && mean > 0 ? (x.in / mean).toFixed(2) : "–",
      x ? pct(x.busy) : "–", x ? pct(x.bp) : "–", x ? pct(x.idle) : "–", wmText(m.InputWatermark), wmText(m.OutputWatermark), wmLag(m), m.DeadLetters];
    if (hasLatency) cells.push(m.Latency && m.Latency.Samples ? fmtMs(nsToMs(m.Latency.P50)) + " / " + fmtMs(nsToMs(m.Latency.P99)) : "–");
    if (hasState) {
      cells.push(fmtBytes(m.StateBytes || 0));
      cells.push((m.StateAccess || []).map((a) => `${a.Backend} ${a.Op}: ${fmtMs(nsToMs(a.P50))} / ${fmtMs(nsToMs(a.P99))} (${a.Count})`).join("; ") || "–");
    }
    if (hasWorker) cells.splice(1, 0, m.Worker || "–");
    return el("tr", {}, ...cells.map((c) => el("td", {}, c)));
  }));
  // Splits of a source.
  const splits = subs.flatMap((m) => (m.Splits || []).map((sp) => [m.Subtask, sp]));
  const box = document.getElementById("splits");
  if (!splits.length) { box.replaceChildren(); return; }
  box.replaceChildren(el("h2", {}, "Splits (position and lag)"), el("table", { class: "grid" },
    el("tr", {}, el("th", {}, "subtask"), el("th", {}, "split"), el("th", {}, "position"), el("th", {}, "lag")),
    ...splits.map(([i, sp]) => el("tr", {}, el("td", {}, i), el("td", {}, sp.split), el("td", {}, sp.position), el("td", {}, sp.lag < 0 ? "unknown yet" : sp.lag)))));
}

function selectChain(chain) {
  st.selected = chain;
  showTab("operator");
}

// ---- checkpoints ------------------------------------------------------

function drawCheckpoints() {
  const table = document.getElementById("checkpoints");
  const cps = [...st.checkpoints].reverse();
  table.replaceChildren(el("tr", {}, ...["id", "status", "started", "duration", "size", "acknowledged", "failure"].map((h) => el("th", {}, h))),
    ...cps.map((c) => el("tr", { class: "click" + (st.selectedCheckpoint === c.id ? " sel" : ""), onclick: () => { st.selectedCheckpoint = c.id; drawCheckpoints(); } },
      el("td", {}, c.id), el("td", {}, c.status), el("td", {}, new Date(c.started).toLocaleTimeString()), el("td", {}, fmtMs(c.duration_ms)),
      el("td", {}, fmtBytes(c.size)), el("td", {}, Object.keys(c.acks_ms || {}).length + " tasks"), el("td", {}, c.failure || ""))));
  const lin = document.getElementById("lineage");
  lin.replaceChildren(...(st.restores.length
    ? [el("h2", {}, "Restored from"), el("ul", {}, ...st.restores.map((r) => el("li", {}, `${new Date(r.time).toLocaleString()}: checkpoint ${r.checkpoint} at ${r.path}`)))]
    : [el("p", {}, "The job started afresh: it restored no checkpoint.")]));
  drawTimeline();
}

// drawTimeline draws one checkpoint per task: from the trigger to the
// barrier, alignment, snapshot, upload and acknowledgement.
function drawTimeline() {
  const box = document.getElementById("timeline");
  if (st.selectedCheckpoint === null) {
    // The newest completed checkpoint, until one is clicked.
    const done = st.checkpoints.filter((x) => x.status === "completed");
    if (done.length) st.selectedCheckpoint = done[done.length - 1].id;
  }
  const c = st.checkpoints.find((x) => x.id === st.selectedCheckpoint);
  if (!c) { box.replaceChildren(el("p", { class: "muted" }, "Click a checkpoint for the timeline of its tasks.")); return; }
  const tasks = c.tasks && c.tasks.length ? c.tasks
    : Object.entries(c.acks_ms || {}).map(([task, ack]) => ({ task, ack_ms: ack, alignment_ms: (c.alignments_ms || {})[task] }));
  tasks.sort((a, b) => a.task < b.task ? -1 : 1);
  const end = Math.max(1, ...tasks.map((t) => t.ack_ms || 0));
  const W = 1300, L = 260, R = 470, rowH = 22;
  const s = svg("svg", { width: W, height: 30 + rowH * tasks.length, class: "timeline" });
  const x = (ms) => L + (ms / end) * (W - L - R);
  const phases = [["barrier_ms", "#cbd5e1", "to barrier"], ["alignment_end_ms", "#c4b5fd", "alignment"], ["snapshot_end_ms", "#fca5a5", "snapshot"], ["upload_end_ms", "#93c5fd", "upload"], ["ack_ms", "#86efac", "ack"]];
  phases.forEach(([, col, name], i) => s.append(svg("g", {}, svg("rect", { x: L + i * 110, y: 4, width: 10, height: 10, fill: col }), svg("text", { x: L + 14 + i * 110, y: 13 }, name))));
  tasks.forEach((t, i) => {
    const y = 24 + i * rowH;
    s.append(svg("text", { x: 4, y: y + 12, class: "timeline-task", "data-task": t.task }, t.task + (t.size ? " · " + fmtBytes(t.size) : "")));
    let prev = 0;
    for (const [k, col, name] of phases) {
      const v = t[k];
      if (v === undefined || v === null) continue;
      s.append(svg("rect", { x: x(prev), y, width: Math.max(1, x(v) - x(prev)), height: rowH - 6, fill: col }, svg("title", {}, `${name}: until ${fmtMs(v)}`)));
      prev = v;
    }
    // The steps in numbers: each one's own duration.
    const steps = [];
    let from = 0;
    const short = { "to barrier": "barrier", alignment: "align", snapshot: "snap", upload: "upload", ack: "ack" };
    for (const [k, , name] of phases) {
      if (t[k] === undefined || t[k] === null) continue;
      steps.push(`${short[name]} ${fmtMs(t[k] - from)}`);
      from = t[k];
    }
    s.append(svg("text", { x: W - R + 10, y: y + 12 }, steps.join(" · ")));
  });
  box.replaceChildren(el("h2", {}, `Checkpoint ${c.id}: per task, from the trigger (${fmtMs(end)})`), s);
}

async function savepoint(stop) {
  const out = document.getElementById("savepoint-result");
  if (stop && !confirm("Take a savepoint and stop the job?")) return;
  out.textContent = stop ? "stopping with a savepoint…" : "taking a savepoint…";
  try {
    const r = await (await call(stop ? "/api/stop" : "/api/savepoints", { method: "POST" })).json();
    out.textContent = (stop ? "Stopped; savepoint at " : "Savepoint at ") + r.path;
  } catch (e) {
    out.textContent = "Failed: " + e.message;
  }
}

// ---- exceptions -------------------------------------------------------

function drawExceptions() {
  const table = document.getElementById("exceptions");
  if (!st.exceptions.length) { table.replaceChildren(el("tr", {}, el("td", {}, "No failures."))); return; }
  const hasWorker = st.exceptions.some((x) => x.worker);
  const head = ["time", "operator", "subtask", "restart", "error"];
  if (hasWorker) head.splice(3, 0, "worker");
  table.replaceChildren(el("tr", {}, ...head.map((h) => el("th", {}, h))),
    ...[...st.exceptions].reverse().map((x) => {
      const cells = [el("td", {}, new Date(x.time).toLocaleString()), el("td", {}, x.operator || "–"),
        el("td", {}, x.subtask >= 0 ? x.subtask : "–"), el("td", {}, x.restart ? "#" + x.restart : "gave up / none"),
        el("td", {}, el("pre", {}, x.error + (x.stack ? "\n\n" + x.stack : "")))];
      if (hasWorker) cells.splice(3, 0, el("td", {}, x.worker || "–"));
      return el("tr", {}, ...cells);
    }));
}

// ---- flame graph ------------------------------------------------------

function flameOptions() {
  const sel = document.getElementById("flame-op");
  if (!st.graph || sel.options.length > 1) return;
  for (const o of st.graph.operators) sel.append(el("option", { value: o.name }, o.name));
}

function profileURL(format) {
  const op = document.getElementById("flame-op").value;
  const secs = document.getElementById("flame-seconds").value || "10";
  const kind = document.getElementById("flame-kind").value;
  return "/api/profile?seconds=" + encodeURIComponent(secs) + "&kind=" + kind + (op ? "&operator=" + encodeURIComponent(op) : "") + (format ? "&format=" + format : "");
}

async function takeFlame() {
  const note = document.getElementById("flame-note");
  note.textContent = "profiling for " + document.getElementById("flame-seconds").value + " s…";
  try {
    st.flame = await getJSON(profileURL(""));
    st.flameFunctions = [];
    const walk = (f) => { st.flameFunctions.push(f.name); (f.children || []).forEach(walk); };
    walk(st.flame);
    const what = document.getElementById("flame-kind").value === "offcpu" ? "of goroutine time" : "of CPU";
    note.textContent = st.flame.value ? `${fmtMs(nsToMs(st.flame.value))} ${what} in ${st.flameFunctions.length - 1} frames` : "no samples: the operator did not run in that time";
    drawFlame();
  } catch (e) {
    note.textContent = "Failed: " + e.message;
  }
}

async function downloadProfile() {
  const note = document.getElementById("flame-note");
  note.textContent = "profiling for download…";
  try {
    const blob = await (await call(profileURL("pprof"))).blob();
    const a = el("a", { href: URL.createObjectURL(blob), download: document.getElementById("flame-kind").value + ".pprof" });
    document.body.append(a);
    a.click();
    a.remove();
    note.textContent = "downloaded: go tool pprof -http=: " + document.getElementById("flame-kind").value + ".pprof";
  } catch (e) {
    note.textContent = "Failed: " + e.message;
  }
}

// drawFlame draws the flame graph as an icicle: the root on top, callees
// below, widths by CPU time. Click a frame to zoom into it.
function drawFlame(focus) {
  const box = document.getElementById("flame");
  const root = focus || st.flame;
  if (!root) return;
  const W = Math.max(600, box.clientWidth || 1200), rowH = 18;
  let depth = 0;
  const rects = [];
  const lay = (f, x, w, d) => {
    if (w < 0.5) return;
    depth = Math.max(depth, d);
    rects.push([f, x, w, d]);
    let cx = x;
    for (const c of f.children || []) {
      const cw = root.value ? w * c.value / f.value : 0;
      lay(c, cx, cw, d + 1);
      cx += cw;
    }
  };
  lay(root, 0, W, 0);
  const s = svg("svg", { width: W, height: (depth + 1) * rowH, id: "flame-svg" });
  for (const [f, x, w, d] of rects) {
    let h = 0;
    for (const ch of f.name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    const fill = `hsl(${10 + h % 40}, 85%, ${60 + h % 15}%)`;
    const g = svg("g", { "data-function": f.name, onclick: () => drawFlame(f === root ? st.flame : f) },
      svg("rect", { x, y: d * rowH, width: w, height: rowH, fill }, svg("title", {}, `${f.name}: ${fmtMs(nsToMs(f.value))} (${pct(f.value / st.flame.value)})`)));
    if (w > 40) g.append(svg("text", { x: x + 3, y: d * rowH + 13 }, f.name.length * 6.5 > w ? f.name.slice(0, Math.floor(w / 6.5) - 1) + "…" : f.name));
    s.append(g);
  }
  box.replaceChildren(s);
}

// ---- the loop ---------------------------------------------------------

function showTab(name) {
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("on", b.dataset.tab === name);
  for (const s of document.querySelectorAll(".tab")) s.classList.toggle("on", s.id === "tab-" + name);
  draw();
}

// draw redraws every tab, the hidden ones too: they are small, and a tab
// then opens with its numbers.
function draw() {
  drawBottleneck();
  drawGraph();
  flameOptions();
  drawOperator();
  drawCheckpoints();
  drawExceptions();
}

function setStatus(ok, text) {
  document.getElementById("status").dataset.state = ok ? "live" : "down";
  document.getElementById("status-text").textContent = text;
}

async function poll() {
  try {
    if (!st.graph || !st.graph.operators.length) {
      st.graph = await getJSON("/api/graph");
      const name = st.graph.operators.length ? st.graph.operators.map((o) => o.name).filter((n, i, a) => i === 0 || i === a.length - 1).join(" … ") : "job";
      document.getElementById("job-name").textContent = name;
    }
    const since = st.samples.length ? st.samples[st.samples.length - 1].t : 0;
    const [h, b, subs, cps, exs, rs, chs] = await Promise.all([
      getJSON("/api/history?since=" + since), getJSON("/api/bottleneck"), getJSON("/api/subtasks"),
      getJSON("/api/checkpoints"), getJSON("/api/exceptions"), getJSON("/api/restores"), getJSON("/api/channels")]);
    mergeHistory(h);
    st.bottleneck = b; st.subtasks = subs; st.checkpoints = cps; st.exceptions = exs; st.restores = rs; st.channels = chs;
    setStatus(true, "live · " + new Date().toLocaleTimeString());
    st.ready = true;
    draw();
  } catch (e) {
    st.errors++;
    setStatus(false, "cannot reach the job: " + e.message);
  }
}

function init() {
  initToken();
  initTokenForm();
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  document.getElementById("op-select").addEventListener("change", (ev) => { st.selected = ev.target.value; drawOperator(); });
  document.getElementById("btn-savepoint").addEventListener("click", () => savepoint(false));
  document.getElementById("btn-stop").addEventListener("click", () => savepoint(true));
  document.getElementById("btn-flame").addEventListener("click", takeFlame);
  document.getElementById("btn-download").addEventListener("click", downloadProfile);
  // ?flame=OPERATOR&seconds=N takes a flame graph as the page opens
  // (links, tests); ?tab=NAME opens a tab.
  const q = new URLSearchParams(location.search);
  poll().then(() => {
    if (q.has("flame")) {
      document.getElementById("flame-op").value = q.get("flame");
      document.getElementById("flame-seconds").value = q.get("seconds") || "5";
      if (q.get("kind") === "offcpu") document.getElementById("flame-kind").value = "offcpu";
      showTab("flame");
      takeFlame();
    } else if (q.has("tab")) {
      showTab(q.get("tab"));
    }
  });
  setInterval(poll, POLL_MS);
}

window.weirJobUI = {
  state() {
    const g = st.graph || { operators: [] };
    const r = recent();
    const points = { graph: g.operators.length, history: st.samples.length };
    const q = new URLSearchParams(location.search);
    if (q.has("flame")) points.flame = st.flame ? st.flameFunctions.length : 0;
    const bp = Object.entries(r).filter(([, c]) => c.bp >= 0.5).map(([name]) => name);
    let inTotal = 0;
    for (const s of st.subtasks) inTotal += s.RecordsIn;
    return {
      ready: !!st.ready,
      points,
      counters: { records_in: inTotal, samples: st.samples.length, checkpoints: st.checkpoints.length, exceptions: st.exceptions.length },
      labels: {
        operators: [...document.querySelectorAll("#graph-svg .node")].map((n) => n.dataset.operator).join("\n"),
        bottleneck: (st.bottleneck && st.bottleneck.chain) || "",
        bottleneck_text: document.getElementById("bottleneck").textContent,
        backpressured: bp.join("\n"),
        flame_functions: st.flameFunctions.join("\n"),
        edges: [...document.querySelectorAll("#graph-svg .edge")].map((n) => `${n.dataset.from} -> ${n.dataset.to}: ${n.dataset.label}`).join("\n"),
        timeline_tasks: [...document.querySelectorAll("#timeline .timeline-task")].map((n) => n.dataset.task).join("\n"),
        subtask_rows: String(document.querySelectorAll("#subtasks tr").length - 1),
        exceptions: [...document.querySelectorAll("#exceptions pre")].map((n) => n.textContent.split("\n")[0]).join("\n"),
      },
    };
  },
};

init();
