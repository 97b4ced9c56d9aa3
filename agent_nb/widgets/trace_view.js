// agent_nb trace view: a run as a waterfall grouped by step, a detail pane, and a virtualized event table.
// Plain ES module for anywidget (no build step). Data arrives as columns in the `data` trait; the detail of the
// selected event comes back from Python in `detail` after we set `selected`. All recorded text goes through
// textContent (never innerHTML): an agent's output is untrusted.

const ROW_H = 22; // waterfall row height (px)
const LABEL_W = 210; // waterfall label column (px)
const TABLE_ROW_H = 24;
const AXIS_H = 26;

function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function cssVar(el, name, fallback) {
  const v = getComputedStyle(el).getPropertyValue(name).trim();
  return v || fallback;
}

function niceStep(span, px) {
  // A round tick step giving roughly one label every 90 px.
  const raw = (span / Math.max(px, 1)) * 90;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function fmtMs(v, step) {
  // `step`: the tick spacing; labels show as many decimals as the ticks need to differ (never "0.00 ms" twice).
  if (step !== undefined) {
    if (step >= 1000) return (v / 1000).toFixed(Math.max(0, Math.min(3, -Math.floor(Math.log10(step / 1000) + 1e-9)))) + " s";
    return v.toFixed(Math.max(0, Math.min(4, -Math.floor(Math.log10(step) + 1e-9)))) + " ms";
  }
  if (Math.abs(v) >= 10000) return (v / 1000).toFixed(1) + " s";
  if (Math.abs(v) >= 1000) return (v / 1000).toFixed(2) + " s";
  if (Math.abs(v) >= 10) return v.toFixed(0) + " ms";
  return v.toFixed(2) + " ms";
}

function stepLabel(step) {
  if (step === -1) return "run start";
  if (step === -2) return "run end";
  return "step " + step;
}

// ---- the model's data, prepared once per `data` change --------------------------------------------------------
// Compare mode (`data.lane` present): two runs' events in one set of columns, run B's after run A's. B's bars
// sit under A's: each step's events in the alignment's order (`data.order`), B's times shifted so each of its
// steps starts where A's does (absolute time) or at 0 (step-relative time).
function stepRank(key) {
  return key === -1 ? -Infinity : key === -2 ? Infinity : key;
}

function prepare(model) {
  const d = model.get("data") || {};
  const pal = model.get("palette") || {};
  const n = d.n || 0;
  const compare = Array.isArray(d.lane);
  const lane = compare ? d.lane : new Uint8Array(n);
  const colorKey = new Array(n);
  const groups = new Map(); // step key -> {key, members: [i...], starts: [lane A, lane B], start, end, span}
  for (let i = 0; i < n; i++) {
    const kind = pal.kinds[d.kind[i]];
    colorKey[i] = kind === "hook" && d.point[i] >= 0 ? pal.points[d.point[i]] : kind;
    const key = d.step[i];
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, members: [], starts: [Infinity, Infinity], start: Infinity, end: 0, span: 0 }));
    g.members.push(i);
    g.starts[lane[i]] = Math.min(g.starts[lane[i]], d.t0[i]);
  }
  const order = [...groups.values()].sort((a, b) => stepRank(a.key) - stepRank(b.key));
  const at = new Float64Array(n); // start on the absolute axis (B's aligned to A's step starts)
  const rs = new Float64Array(n); // start relative to the event's own step start
  let shift = 0;
  let maxEnd = 0;
  let maxRel = 0;
  for (const g of order) {
    if (compare && g.starts[0] < Infinity && g.starts[1] < Infinity) shift = g.starts[0] - g.starts[1];
    for (const i of g.members) {
      at[i] = d.t0[i] + (lane[i] ? shift : 0);
      rs[i] = d.t0[i] - g.starts[lane[i]];
      g.start = Math.min(g.start, at[i]);
      g.end = Math.max(g.end, at[i] + d.dur[i]);
      g.span = Math.max(g.span, rs[i] + d.dur[i]);
    }
    maxEnd = Math.max(maxEnd, g.end);
    maxRel = Math.max(maxRel, g.span);
  }
  const pos = new Int32Array(n); // place in the alignment (compare) or in seq order
  if (compare) d.order.forEach((i, k) => (pos[i] = k));
  else for (let i = 0; i < n; i++) pos[i] = i;
  if (compare) for (const g of order) g.members.sort((a, b) => pos[a] - pos[b]);
  const indexOfSeq = new Map();
  for (let i = 0; i < n; i++) indexOfSeq.set(d.seq[i], i);
  const num = d.num || d.seq;
  // Events in progress (a live run: a hook waiting for an approval, an LLM or tool call in flight): open bars at
  // the end of their step, growing until they end. Their step may have no finished event yet.
  const meta = model.get("meta") || {};
  const open = compare ? [] : [...(meta.open || [])];
  // A live run paused at a breakpoint: the event it paused before is one more open bar, marked as paused.
  const paused = !compare && meta.paused && meta.paused.kind ? { ...meta.paused, paused: true } : null;
  if (paused) open.push(paused);
  open.forEach((o, k) => {
    let g = groups.get(o.step);
    if (!g) {
      groups.set(o.step, (g = { key: o.step, members: [], starts: [o.t0, Infinity], start: o.t0, end: o.t0, span: 0 }));
      order.push(g);
      order.sort((a, b) => stepRank(a.key) - stepRank(b.key));
    }
    (g.open = g.open || []).push(k);
  });
  const groupOf = new Int32Array(n);
  order.forEach((g, gi) => g.members.forEach((i) => (groupOf[i] = gi)));
  // Paused: the Agent's clock stands still (the time is the person's), so the axis does not move.
  const live = meta.status === "running" && !paused;
  return { d, pal, n, colorKey, groups: order, groupOf, maxEnd, maxRel, indexOfSeq, compare, lane, at, rs, pos, num,
    open, live, paused, pausedGroup: paused ? groups.get(paused.step) : null, nowMs: meta.now_ms || 0,
    metaAt: performance.now() };
}

// Merge a live batch (`delta`: rows from `start` on, new lookup entries) into the model's copy of `data`, in
// place, so every view of the model (and one rendered later) sees the merged columns. False: the copy is not
// the one the delta was made for (a missed batch), and the whole columns must come again.
function mergeDelta(model, fields) {
  const dl = model.get("delta") || {};
  const d = model.get("data") || {};
  if (dl.version === undefined || d.version === dl.version) return true; // nothing new, or merged by a sibling view
  if (d.version !== dl.base) return false;
  for (const k of fields) {
    const col = d[k];
    col.length = dl.start;
    for (const v of dl[k]) col.push(v);
  }
  for (const v of dl.names) d.names.push(v);
  for (const v of dl.flows) d.flows.push(v);
  d.n = dl.n;
  d.version = dl.version;
  return true;
}

function render({ model, el }) {
  const root = h("div", "anb-tv");
  el.appendChild(root);

  // ---- toolbar ----
  const bar = h("div", "anb-tv-bar");
  const outcome = h("span", "anb-tv-outcome");
  const counts = h("span", "anb-tv-counts");
  const modeBtn = h("button", "anb-tv-mode", "");
  modeBtn.title = "absolute time, or each step aligned at its own start";
  const kindBox = h("span", "anb-tv-kinds");
  const search = h("input", "anb-tv-search");
  search.type = "search";
  search.placeholder = "search all content"; // short enough for the narrowest bar; the title says what is searched
  search.title = "case-insensitive; finds what run.search finds: messages, tool arguments and results, State changes, errors";
  const foldBtn = h("button", "anb-tv-fold", "expand all");
  const resetBtn = h("button", "anb-tv-reset", "reset zoom");
  resetBtn.title = "reset zoom, pan and the time brush";
  const jumpBtn = h("button", "anb-tv-jump", "jump to divergence");
  jumpBtn.title = "select the first event where the runs differ";
  const errBtn = h("button", "anb-tv-next-error", "next error ▸");
  errBtn.title = "select the next event that failed (key: e; shift+e: the previous one)";
  const maxBtn = h("button", "anb-tv-maximize", "⤢ maximize");
  maxBtn.title = "fill the window with the trace view (Esc restores)";
  bar.append(outcome, counts, modeBtn, kindBox, search, foldBtn, resetBtn, jumpBtn, errBtn, maxBtn);

  // ---- waterfall + detail ----
  const main = h("div", "anb-tv-main");
  const wf = h("div", "anb-tv-wf");
  const axis = h("canvas", "anb-tv-axis");
  axis.title = "drag to brush a time range (filters the table); wheel to zoom; click to clear the brush";
  const wrap = h("div", "anb-tv-wrap");
  const scroller = h("div", "anb-tv-scroll");
  scroller.tabIndex = 0;
  const spacer = h("div", "anb-tv-spacer");
  scroller.appendChild(spacer);
  const canvas = h("canvas", "anb-tv-canvas");
  const tip = h("div", "anb-tv-tip");
  wrap.append(scroller, canvas, tip);
  const legend = h("div", "anb-tv-legend");
  wf.append(axis, wrap, legend);
  const detail = h("div", "anb-tv-detail");
  main.append(wf, detail);

  // ---- table ----
  const tableBox = h("div", "anb-tv-table");
  const thead = h("div", "anb-tv-thead");
  const tscroll = h("div", "anb-tv-tscroll");
  const tspacer = h("div", "anb-tv-tspacer");
  tscroll.appendChild(tspacer);
  const tfoot = h("div", "anb-tv-tfoot");
  tableBox.append(thead, tscroll, tfoot);
  root.append(bar, main, tableBox);

  // ---- view state (frontend only) ----
  // Live batches are merged by a view: those sent while none was shown (`wb.run(...)` in one cell, `wb` in the
  // next) left the model's copy behind its last delta. That delta is merged now when it follows the copy; else
  // the whole columns are asked for (below, once the view listens): no later batch may come to notice it.
  const caughtUp = mergeDelta(model, (model.get("palette") || {}).fields || []);
  let P = prepare(model);
  let expanded = new Set(); // group keys shown one row per event
  let autoFold = true;
  let rows = []; // {group, i (event index) or -1 for a group header}
  let visible = []; // event indexes passing the filters, in seq order
  let visibleSet = new Uint8Array(0);
  let hoverI = -1;
  let drag = null;
  const cleanups = [];

  // "Now" on the run's clock: a live run's axis keeps moving (and its open bars grow) between batches.
  function nowT() {
    return P.live ? P.nowMs + (performance.now() - P.metaAt) : P.nowMs;
  }
  function openStart(g, o) {
    return model.get("mode") === "step" ? o.t0 - (g.starts[0] < Infinity ? g.starts[0] : o.t0) : o.t0;
  }
  function fullSpan() {
    const pausedAt = P.paused ? openStart(P.pausedGroup, P.paused) : 0;
    if (model.get("mode") !== "step") return Math.max(P.live ? Math.max(P.maxEnd, nowT()) : P.maxEnd, pausedAt);
    let span = Math.max(P.maxRel, pausedAt);
    if (P.live) for (const g of P.groups) for (const k of g.open || []) span = Math.max(span, openStart(g, P.open[k]) + nowT() - P.open[k].t0);
    return span;
  }
  function domain() {
    const z = model.get("zoom");
    if (z && z.length === 2 && z[1] > z[0]) return [z[0], z[1]];
    // Paused: the last third of the plot or so is left to the paused event's open bar (hatch and label both show).
    return [0, Math.max(fullSpan(), 1e-3) * (P.paused ? 1.6 : 1.02)];
  }
  function rel(i) {
    return model.get("mode") === "step" ? P.rs[i] : P.at[i];
  }
  function groupSpan(g) {
    return model.get("mode") === "step" ? [0, g.span] : [g.start, g.end];
  }

  function buildRows() {
    if (autoFold) {
      expanded = new Set(P.groups.length <= 30 ? P.groups.map((g) => g.key) : []);
    }
    rows = [];
    P.groups.forEach((g, gi) => {
      // Folded: one row per run (compare: A's events, then B's under them); unfolded: one row per event.
      const open = expanded.has(g.key);
      rows.push({ gi, i: -1, lane: 0 });
      if (P.compare && !open) rows.push({ gi, i: -1, lane: 1 });
      if (open) for (const i of g.members) rows.push({ gi, i, lane: P.lane[i] });
      // Events in progress: always a row of their own (i = -2), under the step's finished events.
      for (const k of g.open || []) rows.push({ gi, i: -2, o: k, lane: 0 });
    });
    spacer.style.height = rows.length * ROW_H + "px";
    foldBtn.textContent = expanded.size === P.groups.length && P.groups.length ? "collapse all" : "expand all";
  }

  // The search box finds what `run.search` finds (messages, arguments, results, State changes, errors): Python
  // answers in `matches`. Until the answer for the text typed comes, names and summaries stand in.
  function searchSet() {
    const q = model.get("search") || "";
    if (!q.trim()) return null;
    const m = model.get("matches") || {};
    if (m.q === q && Array.isArray(m.ids)) {
      const found = new Uint8Array(P.n);
      for (const id of m.ids) {
        const i = P.indexOfSeq.get(id);
        if (i !== undefined) found[i] = 1;
      }
      return { found, pending: false };
    }
    return { needle: q.trim().toLowerCase(), pending: true };
  }
  let searching = false;
  function filter() {
    const kinds = new Set(model.get("kinds"));
    const sr = searchSet();
    searching = !!(sr && sr.pending);
    const br = model.get("brush") || [];
    const d = P.d;
    visible = [];
    visibleSet = new Uint8Array(P.n);
    for (let k = 0; k < P.n; k++) {
      const i = P.compare ? d.order[k] : k; // the table lists compared runs in the alignment's order
      if (!kinds.has(P.pal.kinds[d.kind[i]])) continue;
      if (sr && sr.found && !sr.found[i]) continue;
      if (sr && sr.needle && !d.names[d.name[i]].toLowerCase().includes(sr.needle) &&
          !d.summary[i].toLowerCase().includes(sr.needle))
        continue;
      if (br.length === 2) {
        const t0 = rel(i);
        if (t0 + d.dur[i] < br[0] || t0 > br[1]) continue;
      }
      visible.push(i);
      visibleSet[i] = 1;
    }
  }

  // ---- header, counts, legend ----
  function drawBar() {
    const meta = model.get("meta") || {};
    outcome.className = "anb-tv-outcome anb-tv-o-" + (meta.outcome || "none");
    outcome.textContent = meta.compare
      ? `A: ${meta.outcome_text} · B: ${meta.other_outcome_text}`
      : meta.outcome_text || "no run";
    jumpBtn.style.display = meta.divergence >= 0 ? "" : "none";
    const errors = meta.errors || 0;
    errBtn.style.display = errors ? "" : "none";
    const nA = P.compare ? P.d.n_a : P.n;
    const parts = [P.compare ? `${nA} + ${P.n - nA} events (A + B)` : `${P.n} events`,
      `${visible.length} shown${searching ? " (searching…)" : ""}`];
    const inProgress = P.open.length - (P.paused ? 1 : 0);
    if (inProgress) parts.push(`${inProgress} in progress`);
    counts.textContent = parts.join(" · ");
    const err = h("span", errors ? "anb-tv-errcount" : "anb-tv-muted", ` · ${errors} error${errors === 1 ? "" : "s"}`);
    counts.appendChild(err);
    if (meta.resumed) counts.appendChild(h("span", "anb-tv-muted", ` · fork of ${meta.parent_id} @ step ${meta.start_step}`));
    if (meta.compare) {
      counts.appendChild(h("span", "anb-tv-lanes", ` · A ${meta.runs[0]}, B ${meta.runs[1]} (under A)`));
      counts.appendChild(h("div", "anb-tv-divtext" + (meta.agree ? " anb-tv-agree" : ""), meta.divergence_text));
    }
    modeBtn.textContent = model.get("mode") === "step" ? "time: per step" : "time: absolute";
    const shown = new Set(model.get("kinds"));
    kindBox.replaceChildren();
    for (const k of P.pal.kinds) {
      const chip = h("label", "anb-tv-chip");
      const box = h("input");
      box.type = "checkbox";
      box.checked = shown.has(k);
      box.addEventListener("change", () => {
        const next = P.pal.kinds.filter((x) => (x === k ? box.checked : shown.has(x)));
        model.set("kinds", next);
        model.save_changes();
      });
      chip.append(box, document.createTextNode(" " + k));
      kindBox.appendChild(chip);
    }
    if (document.activeElement !== search) search.value = model.get("search") || "";
  }

  function drawLegend() {
    legend.replaceChildren();
    const used = new Set(P.colorKey);
    for (const key of P.pal.order) {
      if (!used.has(key)) continue;
      const item = h("span", "anb-tv-legend-item");
      const sw = h("span", "anb-tv-swatch");
      sw.style.background = P.pal.colors[key];
      item.append(sw, document.createTextNode(P.pal.labels[key] || key));
      legend.appendChild(item);
    }
    const marks = [
      ["anb-tv-m-err", "error"],
      ["anb-tv-m-skip", "skipped"],
      ["anb-tv-m-cached", "cached / given"],
      ["anb-tv-m-wait", P.paused || (P.d.paused || []).some((v) => v > 0) ? "waiting for you / paused before" : "waiting for you"],
      ["anb-tv-m-flow", "▶ continue_run  ■ stop_run"],
    ];
    if (P.live || P.open.length > (P.paused ? 1 : 0)) marks.push(["anb-tv-m-open", "in progress"]);
    if (P.paused) marks.push(["anb-tv-m-paused", "paused here (not run yet)"]);
    for (const [cls, text] of marks) {
      const item = h("span", "anb-tv-legend-item");
      item.append(h("span", "anb-tv-swatch " + cls), document.createTextNode(text));
      legend.appendChild(item);
    }
    if (P.compare) {
      const item = h("span", "anb-tv-legend-item");
      item.append(h("b", "anb-tv-differs-mark", "A/B"), document.createTextNode(" in red: the aligned rows differ"));
      legend.appendChild(item);
    }
    // Its own line (a flex item that wrapped used to start with a stray " · ").
    legend.appendChild(h("span", "anb-tv-muted anb-tv-hint", "wheel over the axis (or ctrl+wheel) zooms, drag pans, ↑/↓ step through events, e: next error"));
  }

  // ---- canvas drawing ----
  function colors() {
    return {
      fg: cssVar(el, "--jp-ui-font-color1", getComputedStyle(el).color || "#222"),
      muted: cssVar(el, "--jp-ui-font-color2", "#777"),
      bg: cssVar(el, "--jp-layout-color0", "#fff"),
      band: cssVar(el, "--jp-layout-color2", "#eee"),
      grid: cssVar(el, "--jp-border-color2", "#ddd"),
      sel: cssVar(el, "--jp-brand-color1", "#1976d2"),
      err: cssVar(el, "--jp-error-color1", P.pal.error || "#d00000"),
      font: cssVar(el, "--jp-ui-font-family", "system-ui, sans-serif"),
    };
  }

  function sizeCanvas(c, w, hgt) {
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(hgt * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(hgt * dpr);
      c.style.width = w + "px";
      c.style.height = hgt + "px";
    }
    const ctx = c.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return ctx;
  }

  function plotWidth() {
    return Math.max(scroller.clientWidth - LABEL_W - 8, 50);
  }
  function xOf(t) {
    const [x0, x1] = domain();
    return LABEL_W + ((t - x0) / (x1 - x0)) * plotWidth();
  }
  function tOf(x) {
    const [x0, x1] = domain();
    return x0 + ((x - LABEL_W) / plotWidth()) * (x1 - x0);
  }

  function drawAxis(C) {
    const w = scroller.clientWidth;
    const ctx = sizeCanvas(axis, w, AXIS_H);
    ctx.clearRect(0, 0, w, AXIS_H);
    ctx.font = `11px ${C.font}`;
    ctx.fillStyle = C.muted;
    ctx.textBaseline = "middle";
    ctx.fillText(model.get("mode") === "step" ? "ms since step start" : "ms since run start", 6, AXIS_H / 2);
    root.anbTicks = []; // for tests: the tick labels drawn
    if (!P.n && !P.open.length) return; // nothing to measure yet: no ticks (not "0.00 ms" five times)
    const [x0, x1] = domain();
    const step = niceStep(x1 - x0, plotWidth());
    ctx.strokeStyle = C.grid;
    for (let t = Math.ceil(x0 / step) * step; t <= x1; t += step) {
      const x = xOf(t);
      if (x < LABEL_W - 4) continue;
      ctx.beginPath();
      ctx.moveTo(x + 0.5, AXIS_H - 7);
      ctx.lineTo(x + 0.5, AXIS_H);
      ctx.stroke();
      ctx.fillStyle = C.fg;
      const label = fmtMs(Math.abs(t) < step / 1e6 ? 0 : t, step);
      if (x + 3 + ctx.measureText(label).width < w) {
        ctx.fillText(label, x + 3, AXIS_H / 2 - 2);
        root.anbTicks.push(label);
      }
    }
    const br = model.get("brush") || [];
    if (br.length === 2) {
      ctx.fillStyle = C.sel;
      ctx.globalAlpha = 0.25;
      ctx.fillRect(xOf(br[0]), 0, Math.max(xOf(br[1]) - xOf(br[0]), 2), AXIS_H);
      ctx.globalAlpha = 1;
    }
  }

  function barRect(i, y) {
    const d = P.d;
    const t = rel(i);
    const x = xOf(t);
    if (P.colorKey[i] === "edit") return [x - (ROW_H - 8) / 2, y + 4, ROW_H - 8, ROW_H - 8]; // a diamond: an instant
    const w = Math.max(((d.dur[i]) / (domain()[1] - domain()[0])) * plotWidth(), d.status[i] === 2 ? 6 : 3);
    return [x, y + 4, w, ROW_H - 8];
  }

  // Time that was the person's, not the Agent's: an approval wait inside a hook's bar, or a pause at a breakpoint
  // before an event (off the run's clock: a notch left of its bar). One look for both.
  function drawPersonTime(ctx, C, x, by, w, bh, y, text) {
    ctx.fillStyle = C.band;
    ctx.fillRect(x, by, w, bh);
    ctx.strokeStyle = C.muted;
    ctx.setLineDash([2, 2]);
    ctx.strokeRect(x + 0.5, by + 0.5, w, bh);
    ctx.setLineDash([]);
    if (text) {
      ctx.fillStyle = C.fg;
      ctx.fillText(text, x + 4, y + ROW_H / 2);
    }
  }

  function drawEvent(ctx, C, i, y, dim) {
    const d = P.d;
    const [x, by, w, bh] = barRect(i, y);
    if (x + w < LABEL_W || x > LABEL_W + plotWidth() + 4) return;
    const color = P.pal.colors[P.colorKey[i]] || P.pal.fallback;
    const status = P.pal.statuses[d.status[i]];
    ctx.globalAlpha = dim ? 0.2 : 1;
    const pausedMs = d.paused ? d.paused[i] : 0;
    if (pausedMs > 0 && x - 7 >= LABEL_W) drawPersonTime(ctx, C, x - 7, by, 6, bh, y, "");
    if (P.colorKey[i] === "edit") {
      // An edit made by hand while paused: a diamond (it takes no time), in the palette's edit colour.
      ctx.fillStyle = color;
      ctx.strokeStyle = C.fg;
      ctx.beginPath();
      ctx.moveTo(x + w / 2, by);
      ctx.lineTo(x + w, by + bh / 2);
      ctx.lineTo(x + w / 2, by + bh);
      ctx.lineTo(x, by + bh / 2);
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
    } else if (status === "skipped") {
      ctx.setLineDash([3, 2]);
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5;
      ctx.strokeRect(x + 0.5, by + 0.5, w, bh);
      ctx.setLineDash([]);
    } else {
      ctx.fillStyle = color;
      ctx.fillRect(x, by, w, bh);
      if (status === "cached" || status === "given") {
        // Diagonal stripes: the reply or result came from a recording (or was typed in).
        ctx.save();
        ctx.beginPath();
        ctx.rect(x, by, w, bh);
        ctx.clip();
        ctx.strokeStyle = C.bg;
        ctx.lineWidth = 2;
        for (let s = x - bh; s < x + w; s += 6) {
          ctx.beginPath();
          ctx.moveTo(s, by + bh);
          ctx.lineTo(s + bh, by);
          ctx.stroke();
        }
        ctx.restore();
      }
    }
    const wait = d.wait[i];
    if (wait > 0) {
      // Time spent waiting for a person, drawn apart from the hook's own time.
      const ww = Math.max((wait / (domain()[1] - domain()[0])) * plotWidth(), 3);
      drawPersonTime(ctx, C, x, by, Math.min(ww, w), bh, y, ww > 70 ? "waiting for you" : "");
    }
    if (d.err[i] || status === "error") {
      ctx.strokeStyle = C.err;
      ctx.lineWidth = 2;
      ctx.strokeRect(x - 1, by - 1, w + 2, bh + 2);
      ctx.fillStyle = C.err;
      ctx.font = `bold 12px ${C.font}`;
      ctx.fillText("!", x + w + 3, y + ROW_H / 2);
      ctx.font = `12px ${C.font}`;
    }
    if (d.flow[i] >= 0) {
      const flow = d.flows[d.flow[i]];
      const mx = x + w + (d.err[i] ? 10 : 3);
      const my = y + ROW_H / 2;
      ctx.fillStyle = C.fg;
      ctx.beginPath();
      if (flow.startsWith("stop_run")) {
        ctx.rect(mx, my - 4, 8, 8);
      } else {
        ctx.moveTo(mx, my - 5);
        ctx.lineTo(mx + 8, my);
        ctx.lineTo(mx, my + 5);
      }
      ctx.fill();
    }
    if (d.seq[i] === model.get("selected")) {
      ctx.strokeStyle = C.sel;
      ctx.lineWidth = 2.5;
      ctx.strokeRect(x - 2.5, by - 2.5, w + 5, bh + 5);
    }
    ctx.globalAlpha = 1;
    ctx.lineWidth = 1;
  }

  // A run paused at a breakpoint: the event it paused before has not run. An open bar from the pause's start to
  // the plot's right end (the Agent's clock stands still; the time is the person's), hatched in the event's
  // colour, labelled "paused" with the time paused so far.
  function drawPaused(ctx, C, g, o, y) {
    const key = o.kind === "hook" && o.point ? o.point : o.kind;
    const color = P.pal.colors[key] || P.pal.fallback;
    ctx.fillStyle = color;
    ctx.fillRect(14, y + 6, 8, ROW_H - 12);
    ctx.fillStyle = C.fg;
    ctx.font = `600 12px ${C.font}`;
    let text = `‖ ${o.point || o.kind} · ${o.name || "hooks"}`;
    while (text.length > 4 && ctx.measureText(text).width > LABEL_W - 34) text = text.slice(0, -2) + "…";
    ctx.fillText(text, 28, y + ROW_H / 2);
    const x = Math.max(xOf(openStart(g, o)), LABEL_W);
    const x2 = Math.max(LABEL_W + plotWidth(), x + 40);
    const by = y + 3;
    const bh = ROW_H - 6;
    ctx.save();
    ctx.beginPath();
    ctx.rect(x, by, x2 - x, bh);
    ctx.clip();
    ctx.fillStyle = C.band;
    ctx.fillRect(x, by, x2 - x, bh);
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    for (let s = x - bh; s < x2; s += 7) {
      ctx.beginPath();
      ctx.moveTo(s, by + bh);
      ctx.lineTo(s + bh, by);
      ctx.stroke();
    }
    ctx.restore();
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x2, by + 1);
    ctx.lineTo(x + 1, by + 1);
    ctx.lineTo(x + 1, by + bh - 1);
    ctx.lineTo(x2, by + bh - 1);
    ctx.stroke();
    ctx.lineWidth = 1;
    const elapsed = o.elapsed_ms + (performance.now() - P.metaAt);
    const label = `${o.error ? "paused after an error" : "paused"} · ${fmtMs(elapsed)}`;
    ctx.font = `600 12px ${C.font}`;
    const lw = ctx.measureText(label).width;
    // Left of the bar on its own row while there is room (the hatch stays whole); else inside it, on a backing.
    const outside = x - 8 - lw >= LABEL_W + 4;
    const lx = outside ? x - 8 - lw : Math.min(x + 8, Math.max(x2 - lw - 12, LABEL_W + 2));
    if (!outside) {
      ctx.fillStyle = C.bg;
      ctx.fillRect(lx - 4, y + ROW_H / 2 - 8, lw + 8, 16);
    }
    ctx.fillStyle = C.fg;
    ctx.fillText(label, lx, y + ROW_H / 2);
    ctx.font = `12px ${C.font}`;
    root.anbPaused = { label, x, y: by, w: x2 - x, h: bh }; // for tests: what was drawn, in canvas pixels
  }

  // An event in progress: its label in italics, an open bar from its start to now (dashed, no end edge).
  function drawOpen(ctx, C, g, o, y) {
    if (o.paused) return drawPaused(ctx, C, g, o, y);
    const key = o.kind === "hook" && o.point ? o.point : o.kind;
    const color = P.pal.colors[key] || P.pal.fallback;
    ctx.fillStyle = color;
    ctx.fillRect(14, y + 6, 8, ROW_H - 12);
    ctx.fillStyle = C.fg;
    ctx.font = `italic 12px ${C.font}`;
    let text = `${o.point || o.kind} · ${o.name}`;
    while (text.length > 4 && ctx.measureText(text).width > LABEL_W - 34) text = text.slice(0, -2) + "…";
    ctx.fillText(text, 28, y + ROW_H / 2);
    const elapsed = Math.max(nowT() - o.t0, 0);
    const t = openStart(g, o);
    const x = Math.max(xOf(t), LABEL_W);
    const x2 = Math.max(xOf(t + elapsed), x + 3);
    const by = y + 4;
    const bh = ROW_H - 8;
    ctx.fillStyle = color;
    ctx.globalAlpha = 0.3;
    ctx.fillRect(x, by, x2 - x, bh);
    ctx.globalAlpha = 1;
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(x2, by);
    ctx.lineTo(x + 0.5, by);
    ctx.lineTo(x + 0.5, by + bh);
    ctx.lineTo(x2, by + bh);
    ctx.stroke();
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.moveTo(x2, by);
    ctx.lineTo(x2, by + bh);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.lineWidth = 1;
    ctx.font = `12px ${C.font}`;
    const label = `in progress · ${fmtMs(elapsed)}`;
    const lw = ctx.measureText(label).width;
    // Right of the open end while there is room; then inside the bar, from its start.
    const right = x2 + 6 + lw < scroller.clientWidth;
    ctx.fillStyle = right ? C.muted : C.fg;
    ctx.fillText(label, right ? x2 + 6 : x + 6, y + ROW_H / 2);
  }

  function draw() {
    // Hidden (a tab not shown, a theme's stylesheet loading): keep the last picture; the observers redraw
    // once the view has a size again.
    if (!scroller.clientWidth || !scroller.clientHeight) return;
    root.anbDraws = (root.anbDraws || 0) + 1; // for tests: how often the waterfall was drawn
    const C = colors();
    drawAxis(C);
    const w = scroller.clientWidth;
    const hgt = scroller.clientHeight;
    const ctx = sizeCanvas(canvas, w, hgt);
    ctx.clearRect(0, 0, w, hgt);
    ctx.font = `12px ${C.font}`;
    ctx.textBaseline = "middle";
    const top = scroller.scrollTop;
    const first = Math.max(Math.floor(top / ROW_H), 0);
    const last = Math.min(Math.ceil((top + hgt) / ROW_H), rows.length);
    const [x0, x1] = domain();
    const tick = niceStep(x1 - x0, plotWidth());
    ctx.strokeStyle = C.grid;
    for (let t = Math.ceil(x0 / tick) * tick; (P.n || P.open.length) && t <= x1; t += tick) {
      const x = Math.round(xOf(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x, 0);
      ctx.lineTo(x, hgt);
      ctx.stroke();
    }
    const br = model.get("brush") || [];
    if (br.length === 2) {
      ctx.fillStyle = C.sel;
      ctx.globalAlpha = 0.08;
      ctx.fillRect(xOf(br[0]), 0, Math.max(xOf(br[1]) - xOf(br[0]), 2), hgt);
      ctx.globalAlpha = 1;
    }
    const selected = model.get("selected");
    const meta = model.get("meta") || {};
    for (let r = first; r < last; r++) {
      const row = rows[r];
      const y = r * ROW_H - top;
      const g = P.groups[row.gi];
      if (row.i === -2) {
        drawOpen(ctx, C, g, P.open[row.o], y);
        continue;
      }
      if (row.i < 0) {
        // Group header: a band for the step, its label, and (folded) every event of the step on one row
        // (compare: one row per run, B's under A's).
        const open = expanded.has(g.key);
        const members = P.compare && !open ? g.members.filter((i) => P.lane[i] === row.lane) : g.members;
        ctx.fillStyle = C.band;
        ctx.fillRect(0, y, w, ROW_H);
        if (row.lane === 1) {
          ctx.fillStyle = C.bg;
          ctx.globalAlpha = 0.35;
          ctx.fillRect(0, y, w, ROW_H);
          ctx.globalAlpha = 1;
        }
        ctx.fillStyle = C.fg;
        ctx.font = `600 12px ${C.font}`;
        let label = row.lane === 1 ? "    B" : `${open ? "▾" : "▸"} ${stepLabel(g.key)}`;
        if (P.compare && row.lane === 0 && !open) label += "  A";
        if (meta.resumed && g.key === meta.start_step) label += " (resumed)";
        ctx.fillText(label, 6, y + ROW_H / 2);
        const labelEnd = 6 + ctx.measureText(label).width;
        ctx.font = `11px ${C.font}`;
        ctx.fillStyle = C.muted;
        const [gs, ge] = groupSpan(g);
        const info = P.compare && !open && !members.length ? "no events" : `${members.length} ev · ${fmtMs(ge - gs)}`;
        const infoW = ctx.measureText(info).width;
        if (labelEnd + 8 < LABEL_W - 10 - infoW) ctx.fillText(info, LABEL_W - 10 - infoW, y + ROW_H / 2);
        ctx.font = `12px ${C.font}`;
        if (!open) for (const i of members) drawEvent(ctx, C, i, y, !visibleSet[i]);
        else {
          ctx.strokeStyle = C.muted;
          const gx0 = xOf(gs);
          const gx1 = xOf(ge);
          ctx.beginPath();
          ctx.moveTo(gx0, y + ROW_H / 2 + 0.5);
          ctx.lineTo(Math.max(gx1, gx0 + 2), y + ROW_H / 2 + 0.5);
          ctx.stroke();
        }
        continue;
      }
      const i = row.i;
      const d = P.d;
      if (d.seq[i] === selected) {
        ctx.fillStyle = C.sel;
        ctx.globalAlpha = 0.12;
        ctx.fillRect(0, y, w, ROW_H);
        ctx.globalAlpha = 1;
      }
      if (d.seq[i] === meta.divergence) {
        ctx.fillStyle = C.err;
        ctx.globalAlpha = 0.12;
        ctx.fillRect(0, y, w, ROW_H);
        ctx.globalAlpha = 1;
      }
      if (P.compare && P.lane[i] === 1) {
        ctx.fillStyle = C.band;
        ctx.globalAlpha = 0.45;
        ctx.fillRect(0, y, w, ROW_H);
        ctx.globalAlpha = 1;
      }
      const sw = P.pal.colors[P.colorKey[i]] || P.pal.fallback;
      ctx.fillStyle = sw;
      ctx.fillRect(14, y + 6, 8, ROW_H - 12);
      if (P.compare) {
        // Which run, and whether its aligned row differs from the other run's.
        ctx.fillStyle = d.same[i] ? C.muted : C.err;
        ctx.font = `600 11px ${C.font}`;
        ctx.fillText(P.lane[i] ? "B" : "A", 2, y + ROW_H / 2);
        ctx.font = `12px ${C.font}`;
      }
      ctx.fillStyle = visibleSet[i] ? C.fg : C.muted;
      const kind = P.pal.kinds[d.kind[i]];
      const point = d.point[i] >= 0 ? P.pal.points[d.point[i]] + " · " : kind + " · ";
      let text = point + d.names[d.name[i]];
      while (text.length > 4 && ctx.measureText(text).width > LABEL_W - 34) text = text.slice(0, -2);
      if (text !== point + d.names[d.name[i]]) text = text.slice(0, -1) + "…";
      ctx.fillText(text, 28, y + ROW_H / 2);
      drawEvent(ctx, C, i, y, !visibleSet[i]);
    }
    if (meta.divergence >= 0 && P.indexOfSeq.has(meta.divergence)) {
      // A line at the first divergence, labelled beside its row (or at the top when the row is off screen).
      const i = P.indexOfSeq.get(meta.divergence);
      const x = Math.round(xOf(rel(i))) + 0.5;
      let r = rows.findIndex((row) => row.i === i);
      if (r < 0) r = rows.findIndex((row) => row.i === -1 && row.gi === P.groupOf[i] && row.lane === P.lane[i]);
      const ry = r * ROW_H - top;
      // The label sits on the divergent event's own row, right of its bar (or left when no room): never over
      // another row's bar. Off screen: at the top.
      const onScreen = ry >= 0 && ry < hgt - ROW_H / 2;
      const ly = onScreen ? ry + ROW_H / 2 : 8;
      ctx.strokeStyle = C.err;
      ctx.lineWidth = 1.5;
      ctx.setLineDash([5, 3]);
      ctx.beginPath();
      ctx.moveTo(x, 0);
      ctx.lineTo(x, hgt);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.lineWidth = 1;
      ctx.font = `600 12px ${C.font}`;
      const text = "◆ first divergence";
      const tw = ctx.measureText(text).width;
      const [bx, , bw] = barRect(i, 0);
      const right = Math.max(bx + bw, x) + (P.d.flow[i] >= 0 ? 16 : 6) + (P.d.err[i] ? 8 : 0);
      const lx = right + tw < w ? right : Math.max(Math.min(bx, x) - 6 - tw, LABEL_W);
      ctx.fillStyle = C.bg;
      ctx.fillRect(lx - 2, ly - 8, tw + 4, 16);
      ctx.fillStyle = C.err;
      ctx.fillText(text, lx, ly);
      ctx.font = `12px ${C.font}`;
      // For tests: the label's box and its row's (null off screen), in canvas pixels.
      root.anbDivergenceLabel = { x: lx - 2, y: ly - 8, w: tw + 4, h: 16, rowTop: onScreen ? ry : null, rowH: ROW_H };
    }
    ctx.fillStyle = C.grid;
    ctx.fillRect(LABEL_W - 4, 0, 1, hgt);
    if (!P.n && !P.open.length) {
      ctx.fillStyle = C.muted;
      ctx.fillText("No events yet: run the agent.", LABEL_W + 10, 14);
    }
  }

  // ---- hit testing ----
  function hit(ev) {
    const rect = scroller.getBoundingClientRect();
    const x = ev.clientX - rect.left;
    const y = ev.clientY - rect.top + scroller.scrollTop;
    const r = Math.floor(y / ROW_H);
    const row = rows[r];
    if (!row) return { row: null, i: -1, x };
    const g = P.groups[row.gi];
    const cands =
      row.i >= 0 ? [row.i] : row.i === -2 || expanded.has(g.key) ? [] : g.members.filter((i) => !P.compare || P.lane[i] === row.lane);
    let best = -1;
    let bestDist = 5;
    for (const i of cands) {
      const [bx, , bw] = barRect(i, 0);
      const dist = x < bx ? bx - x : x > bx + bw ? x - bx - bw : 0;
      if (dist < bestDist || (dist === 0 && bestDist === 0)) {
        best = i;
        bestDist = dist;
      }
    }
    if (best < 0 && row.i >= 0 && x < LABEL_W) best = row.i;
    return { row, i: best, x };
  }

  function select(seq) {
    if (seq === model.get("selected")) return;
    model.set("selected", seq);
    model.save_changes();
  }

  function ensureRowVisible(seq) {
    const i = P.indexOfSeq.get(seq);
    if (i === undefined) return;
    let r = rows.findIndex((row) => row.i === i);
    if (r < 0) r = rows.findIndex((row) => row.i === -1 && row.gi === P.groupOf[i] && row.lane === P.lane[i]);
    if (r < 0) return;
    const y = r * ROW_H;
    if (y < scroller.scrollTop || y + ROW_H > scroller.scrollTop + scroller.clientHeight)
      scroller.scrollTop = Math.max(y - scroller.clientHeight / 3, 0);
  }

  function showTip(ev, i) {
    if (i < 0) {
      tip.style.display = "none";
      return;
    }
    const d = P.d;
    const status = P.pal.statuses[d.status[i]];
    tip.replaceChildren(
      h("div", "anb-tv-tip-head", `${P.compare ? (P.lane[i] ? "B " : "A ") : ""}#${P.num[i]} ${d.names[d.name[i]]} · ${status} · ${fmtMs(d.dur[i])}`),
      h("div", "anb-tv-tip-body", fullText(i) || "(no summary)"),
    );
    if (fullText(i).includes("…")) tip.appendChild(h("div", "anb-tv-muted", "click for the full text in the detail"));
    if (d.wait[i] > 0) tip.appendChild(h("div", "anb-tv-muted", `waited for you ${fmtMs(d.wait[i])}`));
    if (d.paused && d.paused[i] > 0) tip.appendChild(h("div", "anb-tv-muted", `paused ${fmtMs(d.paused[i])} before it ran (in no duration)`));
    const rect = wrap.getBoundingClientRect();
    tip.style.display = "block";
    const left = Math.min(ev.clientX - rect.left + 12, rect.width - 320);
    tip.style.left = Math.max(left, 0) + "px";
    tip.style.top = ev.clientY - rect.top + 14 + "px";
  }

  function showPausedTip(ev, o) {
    const head = o.error ? `paused after ${o.where} raised` : `paused before ${o.where}`;
    tip.replaceChildren(
      h("div", "anb-tv-tip-head", head),
      h("div", "anb-tv-muted", o.error ? o.error : "it has not run yet: Continue, Step, Skip or Abort"),
    );
    const rect = wrap.getBoundingClientRect();
    tip.style.display = "block";
    tip.style.left = Math.max(Math.min(ev.clientX - rect.left + 12, rect.width - 320), 0) + "px";
    tip.style.top = ev.clientY - rect.top + 14 + "px";
  }

  // ---- zoom / pan / brush ----
  function setZoom(lo, hi) {
    const full = fullSpan();
    const span = Math.max(hi - lo, 1e-3);
    lo = Math.max(lo, -span * 0.05);
    hi = lo + span;
    if (lo <= 0 && hi >= full * 1.02) model.set("zoom", []);
    else model.set("zoom", [lo, hi]);
    model.save_changes();
  }

  function zoomAt(x, factor) {
    const [x0, x1] = domain();
    const t = tOf(x);
    setZoom(t - (t - x0) * factor, t + (x1 - t) * factor);
  }

  function onWheel(ev, overAxis) {
    if (overAxis || ev.ctrlKey || ev.metaKey) {
      ev.preventDefault();
      const rect = scroller.getBoundingClientRect();
      zoomAt(ev.clientX - rect.left, Math.pow(1.0015, ev.deltaY));
    } else if (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) {
      ev.preventDefault();
      const [x0, x1] = domain();
      const dt = ((ev.shiftKey ? ev.deltaY : ev.deltaX) / plotWidth()) * (x1 - x0);
      setZoom(x0 + dt, x1 + dt);
    }
  }
  const wheelAxis = (ev) => onWheel(ev, true);
  const wheelBody = (ev) => onWheel(ev, false);
  axis.addEventListener("wheel", wheelAxis, { passive: false });
  scroller.addEventListener("wheel", wheelBody, { passive: false });

  axis.addEventListener("mousedown", (ev) => {
    const rect = axis.getBoundingClientRect();
    drag = { kind: "brush", x: ev.clientX - rect.left, moved: false };
    ev.preventDefault();
  });
  scroller.addEventListener("mousedown", (ev) => {
    if (ev.button !== 0) return;
    drag = { kind: "pan", x: ev.clientX, dom: domain(), moved: false };
  });
  const onMove = (ev) => {
    if (!drag) return;
    if (drag.kind === "pan") {
      const dx = ev.clientX - drag.x;
      if (Math.abs(dx) > 4) drag.moved = true;
      if (drag.moved) {
        const dt = (dx / plotWidth()) * (drag.dom[1] - drag.dom[0]);
        setZoom(drag.dom[0] - dt, drag.dom[1] - dt);
      }
    } else {
      const rect = axis.getBoundingClientRect();
      const x = ev.clientX - rect.left;
      if (Math.abs(x - drag.x) > 3) drag.moved = true;
      if (drag.moved) {
        const a = tOf(Math.min(x, drag.x));
        const b = tOf(Math.max(x, drag.x));
        model.set("brush", [a, b]);
        model.save_changes();
      }
    }
  };
  const onUp = (ev) => {
    if (!drag) return;
    const was = drag;
    drag = null;
    if (was.kind === "brush" && !was.moved) {
      model.set("brush", []);
      model.save_changes();
    }
    if (was.kind === "pan" && !was.moved) clickAt(ev);
  };
  window.addEventListener("mousemove", onMove);
  window.addEventListener("mouseup", onUp);
  cleanups.push(() => {
    window.removeEventListener("mousemove", onMove);
    window.removeEventListener("mouseup", onUp);
  });

  function clickAt(ev) {
    const { row, i, x } = hit(ev);
    if (!row) return;
    scroller.focus({ preventScroll: true });
    if (row.i === -1 && (x < LABEL_W || i < 0)) {
      toggleGroup(P.groups[row.gi].key);
      return;
    }
    if (i >= 0) select(P.d.seq[i]);
  }

  function toggleGroup(key) {
    autoFold = false;
    if (expanded.has(key)) expanded.delete(key);
    else expanded.add(key);
    buildRows();
    draw();
  }

  scroller.addEventListener("mousemove", (ev) => {
    if (drag && drag.moved) return;
    const { i, row } = hit(ev);
    hoverI = i;
    scroller.style.cursor = i >= 0 ? "pointer" : "default";
    const o = row && row.i === -2 ? P.open[row.o] : null;
    if (o && o.paused) return showPausedTip(ev, o);
    showTip(ev, i);
  });
  scroller.addEventListener("mouseleave", () => {
    hoverI = -1;
    tip.style.display = "none";
  });
  scroller.addEventListener("scroll", () => draw());
  scroller.addEventListener("keydown", (ev) => {
    const keys = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1, Home: "home", End: "end" };
    const k = keys[ev.key];
    if (ev.key === "e" || ev.key === "E") {
      ev.preventDefault();
      ev.stopPropagation(); // not JupyterLab's command-mode "e"
      nextError(ev.shiftKey ? -1 : 1);
      return;
    }
    if (k === undefined) {
      if (ev.key === "Enter" && model.get("selected") >= 0) {
        const i = P.indexOfSeq.get(model.get("selected"));
        if (i !== undefined) toggleGroup(P.groups[P.groupOf[i]].key);
      }
      return;
    }
    ev.preventDefault();
    if (!visible.length) return;
    const cur = P.indexOfSeq.get(model.get("selected"));
    let pos = cur === undefined ? -1 : visible.indexOf(cur);
    if (k === "home") pos = 0;
    else if (k === "end") pos = visible.length - 1;
    else if (pos < 0) pos = k > 0 ? 0 : visible.length - 1;
    else pos = Math.min(Math.max(pos + k, 0), visible.length - 1);
    select(P.d.seq[visible[pos]]);
  });

  // ---- next error, maximize ----
  function isError(i) {
    return P.d.err[i] || P.pal.statuses[P.d.status[i]] === "error";
  }
  function nextError(dir) {
    // Among the rows the table shows, after (or before) the selected one; wraps around.
    const errs = visible.filter(isError);
    if (!errs.length) return;
    const cur = P.indexOfSeq.get(model.get("selected"));
    const pos = cur === undefined ? -1 : visible.indexOf(cur);
    const at = (i) => visible.indexOf(i);
    let target = dir > 0 ? errs.find((i) => at(i) > pos) : [...errs].reverse().find((i) => pos < 0 || at(i) < pos);
    if (target === undefined) target = dir > 0 ? errs[0] : errs[errs.length - 1];
    const g = P.groups[P.groupOf[target]];
    if (!expanded.has(g.key)) toggleGroup(g.key);
    select(P.d.seq[target]);
  }
  errBtn.addEventListener("click", () => nextError(1));

  // Maximized, the view moves to the page's body (fixed, the whole window) and back: a fixed box inside the
  // notebook would be clipped by JupyterLab's containers. A placeholder keeps the notebook's place.
  let maxed = false;
  const placeholder = h("div", "anb-tv-placeholder", "the trace view is maximized (Esc restores it)");
  function setMaximized(on) {
    if (on === maxed) return;
    maxed = on;
    if (on) {
      placeholder.style.height = root.offsetHeight + "px";
      root.replaceWith(placeholder);
      document.body.appendChild(root);
    } else {
      placeholder.replaceWith(root);
    }
    root.classList.toggle("anb-tv-max", on);
    maxBtn.textContent = on ? "⤡ restore" : "⤢ maximize";
    layout();
    draw();
    drawTable(true);
    scroller.focus({ preventScroll: true });
  }
  maxBtn.addEventListener("click", () => setMaximized(!maxed));
  const onEsc = (ev) => {
    if (maxed && ev.key === "Escape") {
      ev.stopPropagation();
      setMaximized(false);
    }
  };
  document.addEventListener("keydown", onEsc, true);
  const onWinResize = () => maxed && layout() && draw();
  window.addEventListener("resize", onWinResize);
  cleanups.push(() => {
    document.removeEventListener("keydown", onEsc, true);
    window.removeEventListener("resize", onWinResize);
    if (maxed) root.remove();
  });

  // Detail pane beside the waterfall when there is room for both (900 px), else under it; maximized, the
  // waterfall and the table share the window's height.
  function layout() {
    const wide = root.clientWidth >= 900;
    root.classList.toggle("anb-tv-narrow", !wide);
    let wfH = model.get("height");
    let tableH = 240;
    if (maxed) {
      const fixed = bar.offsetHeight + AXIS_H + legend.offsetHeight + thead.offsetHeight + tfoot.offsetHeight + 40;
      const free = Math.max(window.innerHeight - fixed, 240);
      if (wide) {
        wfH = Math.round(free * 0.6);
        tableH = free - wfH;
      } else {
        wfH = Math.round(free * 0.4);
        tableH = Math.round(free * 0.25);
      }
    }
    wrap.style.height = wfH + "px";
    tscroll.style.height = tableH + "px";
    detail.style.height = wide ? wfH + AXIS_H + legend.offsetHeight + "px" : "";
    detail.style.maxHeight = wide ? "" : (maxed ? Math.round(window.innerHeight * 0.3) : 340) + "px";
    return true;
  }

  // ---- toolbar actions ----
  modeBtn.addEventListener("click", () => {
    model.set("mode", model.get("mode") === "step" ? "absolute" : "step");
    model.set("zoom", []);
    model.set("brush", []);
    model.save_changes();
  });
  let searchTimer = null;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      model.set("search", search.value);
      model.save_changes();
    }, 120);
  });
  foldBtn.addEventListener("click", () => {
    autoFold = false;
    const all = expanded.size === P.groups.length;
    expanded = new Set(all ? [] : P.groups.map((g) => g.key));
    buildRows();
    draw();
  });
  jumpBtn.addEventListener("click", () => {
    const seq = (model.get("meta") || {}).divergence;
    if (seq === undefined || seq < 0) return;
    const i = P.indexOfSeq.get(seq);
    if (i !== undefined && !expanded.has(P.groups[P.groupOf[i]].key)) toggleGroup(P.groups[P.groupOf[i]].key);
    select(seq);
    onSelected();
  });
  resetBtn.addEventListener("click", () => {
    model.set("zoom", []);
    model.set("brush", []);
    model.save_changes();
  });

  // ---- table (virtualized: only the rows in view exist in the DOM) ----
  // Column widths in pixels, computed once per width for the header and every row alike (a `ch` in the bold
  // header is wider than in the rows: the header drifted ~50 px). Widths in characters come from the timeline
  // schema; the wide columns (name, flow, summary) share what is left, never under their minimum. When the
  // table is too narrow for every column at its minimum, the least needed columns go (start ms, flow, point,
  // step), so the summary keeps at least SUMMARY_MIN characters.
  const SUMMARY_MIN = 30;
  const MIN_CH = { name: 10, flow: 7, summary: SUMMARY_MIN };
  const DROP_ORDER = ["offset_ms", "flow", "hook_point", "step"];
  let chPx = 0;
  let layoutKey = "";
  let shownCols = [];
  let template = "";
  function measureCh() {
    // A `ch` of the rows' font (12px); 0 while the view is hidden (measured again once it shows).
    const probe = h("span", "anb-tv-td", "0000000000");
    probe.style.cssText = "position:absolute;visibility:hidden;white-space:nowrap;font-size:12px";
    tspacer.appendChild(probe);
    const w = probe.getBoundingClientRect().width / 10;
    probe.remove();
    return w;
  }
  function tableLayout() {
    const gutter = tscroll.offsetWidth - tscroll.clientWidth; // the rows' scrollbar: the header leaves room for it
    const avail = tscroll.clientWidth - 12;
    const key = `${avail}:${gutter}:${(P.pal.columns || []).length}:${chPx}`;
    if (key === layoutKey && template) return false;
    layoutKey = key;
    if (!chPx) chPx = measureCh();
    const ch = chPx || 7;
    const all = P.pal.columns || [];
    const gap = 10; // the grid's column-gap (CSS)
    const narrowW = (c) => Math.round((Math.max(c.width, 4) + 1.5) * ch);
    const need = (list) =>
      list.reduce((sum, c) => sum + (MIN_CH[c.name] ? MIN_CH[c.name] * ch : narrowW(c)), 0) + gap * (list.length - 1);
    let list = all.slice();
    for (const name of DROP_ORDER) {
      if (need(list) <= avail) break;
      list = list.filter((c) => c.name !== name);
    }
    shownCols = list;
    template = list
      .map((c) => (MIN_CH[c.name] ? `minmax(${Math.round(MIN_CH[c.name] * ch)}px, ${c.width}fr)` : `${narrowW(c)}px`))
      .join(" ");
    thead.style.paddingRight = 6 + gutter + "px";
    root.dataset.columns = list.map((c) => c.name).join(" "); // for tests: which columns are shown
    return true;
  }
  function drawHead() {
    tableLayout();
    thead.replaceChildren();
    thead.style.gridTemplateColumns = template;
    for (const c of shownCols) {
      const cell = h("div", "anb-tv-th anb-tv-c-" + c.name, c.label);
      cell.title = c.description;
      thead.appendChild(cell);
    }
  }
  // A row's whole summary (sent only where the shown one is cut), else the shown one.
  function fullText(i) {
    return (P.d.full && P.d.full[i]) || P.d.summary[i] || "";
  }
  function cellText(c, i) {
    const d = P.d;
    switch (c.name) {
      case "seq":
        return P.compare ? `${P.lane[i] ? "B" : "A"} ${P.num[i]}` : d.seq[i];
      case "step":
        return d.step[i] >= 0 ? d.step[i] : "";
      case "kind":
        return P.pal.kinds[d.kind[i]];
      case "hook_point":
        return d.point[i] >= 0 ? P.pal.points[d.point[i]] : "";
      case "name":
        return d.names[d.name[i]];
      case "status":
        return P.pal.statuses[d.status[i]];
      case "offset_ms":
        return d.t0[i].toFixed(2);
      case "duration_ms":
        return d.dur[i].toFixed(2);
      case "flow":
        return d.flow[i] >= 0 ? d.flows[d.flow[i]] : "";
      case "summary":
        return d.summary[i];
      default:
        return "";
    }
  }
  let tableKey = "";
  function drawTable(force) {
    tspacer.style.height = visible.length * TABLE_ROW_H + "px";
    const top = tscroll.scrollTop;
    const hgt = tscroll.clientHeight || 240;
    const first = Math.max(Math.floor(top / TABLE_ROW_H) - 4, 0);
    const last = Math.min(Math.ceil((top + hgt) / TABLE_ROW_H) + 4, visible.length);
    const key = `${first}:${last}:${visible.length}:${model.get("selected")}:${P.n}`;
    if (!force && key === tableKey) return;
    tableKey = key;
    const frag = document.createDocumentFragment();
    if (tableLayout()) drawHead();
    const selected = model.get("selected");
    const columns = shownCols;
    for (let r = first; r < last; r++) {
      const i = visible[r];
      const status = P.pal.statuses[P.d.status[i]];
      const row = h("div", `anb-tv-row anb-kind-${P.pal.kinds[P.d.kind[i]]} anb-status-${status}`);
      if (P.d.seq[i] === selected) row.classList.add("anb-tv-row-selected");
      if (P.compare) row.classList.add(P.lane[i] ? "anb-tv-lane-b" : "anb-tv-lane-a", P.d.same[i] ? "anb-tv-same" : "anb-tv-differs");
      if (P.d.seq[i] === (model.get("meta") || {}).divergence) row.classList.add("anb-tv-row-divergence");
      row.dataset.seq = P.d.seq[i];
      row.style.top = r * TABLE_ROW_H + "px";
      row.style.gridTemplateColumns = template;
      for (const c of columns) {
        const text = cellText(c, i);
        const cell = h("div", "anb-tv-td anb-tv-c-" + c.name, text);
        // Cut by the column (CSS adds "…") or by the view: the whole line on hover, the full text in the detail.
        if (c.name === "summary") cell.title = fullText(i);
        else if (c.name === "name" || c.name === "flow") cell.title = String(text);
        if (c.name === "kind") {
          cell.style.borderLeft = `4px solid ${P.pal.colors[P.colorKey[i]] || P.pal.fallback}`;
        }
        row.appendChild(cell);
      }
      frag.appendChild(row);
    }
    tspacer.replaceChildren(frag);
    const a = visible.length ? Math.floor(top / TABLE_ROW_H) + 1 : 0;
    const b = Math.min(Math.floor((top + hgt) / TABLE_ROW_H), visible.length);
    tfoot.textContent = `rows ${a}–${b} of ${visible.length} shown (${P.n} events; filters: kinds, search, time brush)`;
  }
  tscroll.addEventListener("scroll", () => drawTable(false));
  tscroll.addEventListener("click", (ev) => {
    const row = ev.target.closest(".anb-tv-row");
    if (row) select(Number(row.dataset.seq));
  });
  function tableShow(seq) {
    const i = P.indexOfSeq.get(seq);
    const r = visible.indexOf(i);
    if (r < 0) return;
    const y = r * TABLE_ROW_H;
    if (y < tscroll.scrollTop || y + TABLE_ROW_H > tscroll.scrollTop + tscroll.clientHeight)
      tscroll.scrollTop = Math.max(y - tscroll.clientHeight / 3, 0);
  }

  // ---- detail pane ----
  function section(title, body, open = true, copyText) {
    const box = h("details", "anb-tv-sec");
    box.open = open;
    const head = h("summary", null, title);
    if (copyText !== undefined) head.appendChild(copyButton(copyText, title));
    box.appendChild(head);
    box.appendChild(body);
    return box;
  }
  // Copy to the clipboard (the async API where the page is a secure context, else a hidden textarea).
  function copyButton(text, what) {
    const btn = h("button", "anb-tv-copy", "copy");
    btn.title = `copy ${what} to the clipboard`;
    btn.addEventListener("click", async (ev) => {
      ev.preventDefault(); // inside a <summary>: do not fold the section
      ev.stopPropagation();
      let ok = false;
      try {
        await navigator.clipboard.writeText(text);
        ok = true;
      } catch (e) {
        const area = document.createElement("textarea");
        area.value = text;
        area.style.cssText = "position:fixed;left:-9999px;top:0";
        document.body.appendChild(area);
        area.select();
        try {
          ok = document.execCommand("copy");
        } catch (e2) {
          ok = false;
        }
        area.remove();
      }
      root.anbCopied = text; // for tests and automation: what the last copy put on the clipboard
      btn.textContent = ok ? "copied" : "copy failed";
      btn.classList.toggle("anb-tv-copied", ok);
      setTimeout(() => {
        btn.textContent = "copy";
        btn.classList.remove("anb-tv-copied");
      }, 1500);
    });
    return btn;
  }
  function traceback(det) {
    // The user's own frames first (innermost last, as Python prints them), then the exception; agent_nb,
    // haystack and Python frames folded; the copy button copies the whole text.
    const f = det.traceback_folded || { user: [], internal: [], exception: "", chain: [] };
    const box = h("div", "anb-tv-tbbox");
    const mine = h("pre", "anb-tv-tb anb-tv-tb-user");
    if (f.user.length) mine.textContent = f.user.join("\n");
    else mine.appendChild(h("span", "anb-tv-tb-none", "no frame of your own code (the error came from inside a library)"));
    for (const c of f.chain || []) mine.appendChild(h("div", "anb-tv-tb-chain", `(caused by ${c})`));
    if (f.exception) mine.appendChild(h("div", "anb-tv-tb-exc", f.exception));
    box.appendChild(mine);
    const n = (f.internal || []).length;
    if (n) {
      box.appendChild(section(`internal frames (${n}: agent_nb, haystack, Python)`,
        h("pre", "anb-tv-tb", f.internal.join("\n")), false));
    }
    return section("traceback", box, true, det.traceback);
  }
  function pre(text, cls) {
    return h("pre", "anb-tv-pre" + (cls ? " " + cls : ""), text);
  }
  function chat(messages, cls) {
    const box = h("div", "anb-tv-chat " + (cls || ""));
    const keep = 6;
    const older = messages.length > keep ? messages.slice(0, messages.length - keep) : [];
    const recent = messages.slice(messages.length - Math.min(keep, messages.length));
    const bubble = (m) => {
      const b = h("div", "anb-tv-msg anb-tv-msg-" + m.role);
      b.append(h("span", "anb-tv-role", m.role), h("div", "anb-tv-msgtext", m.text));
      return b;
    };
    if (older.length) {
      const more = h("button", "anb-tv-more", `show ${older.length} earlier messages`);
      more.addEventListener("click", () => {
        more.replaceWith(...older.map(bubble));
      });
      box.appendChild(more);
    }
    recent.forEach((m) => box.appendChild(bubble(m)));
    return box;
  }
  function drawDetail() {
    const det = model.get("detail") || {};
    detail.replaceChildren();
    if (det.seq === undefined) {
      detail.appendChild(h("div", "anb-tv-muted", "Click a bar or a table row (or focus the chart and press ↓) to see the event: State before / after and diff, the LLM chat, tool arguments and result, the hook's decision, errors."));
      return;
    }
    const head = h("div", "anb-tv-dhead");
    const title = h("span", "anb-tv-dtitle", det.title);
    const badge = h("span", "anb-tv-badge anb-tv-b-" + det.status, det.status);
    const nav = h("span", "anb-tv-nav");
    const prev = h("button", "anb-tv-prev", "◀");
    const next = h("button", "anb-tv-next", "▶");
    prev.title = "previous event (↑)";
    next.title = "next event (↓)";
    prev.addEventListener("click", () => step(-1));
    next.addEventListener("click", () => step(1));
    nav.append(prev, next);
    head.append(title, badge, nav);
    detail.appendChild(head);
    const dl = h("div", "anb-tv-fields");
    for (const [k, v] of det.fields || []) dl.append(h("span", "anb-tv-fk", k), h("span", "anb-tv-fv", v));
    detail.appendChild(dl);
    if (det.note) detail.appendChild(h("div", "anb-tv-note", det.note));
    if (det.decision) detail.appendChild(h("div", "anb-tv-decision", "decision: " + det.decision));
    else if (det.flow) detail.appendChild(h("div", "anb-tv-decision", "run control: " + det.flow));
    if (det.summary) detail.appendChild(pre(det.summary, "anb-tv-summary"));
    if (det.error) {
      const box = h("div", "anb-tv-error");
      box.appendChild(h("div", "anb-tv-errline", det.error));
      detail.appendChild(box);
      if (det.traceback) detail.appendChild(traceback(det));
    }
    if (det.chat) detail.appendChild(section(`LLM input (${det.chat.length} messages)`, chat(det.chat)));
    if (det.reply) detail.appendChild(section("reply", chat(det.reply, "anb-tv-reply")));
    if (det.arguments !== undefined) detail.appendChild(section("arguments", pre(det.arguments), true, det.arguments));
    if (det.result !== undefined) detail.appendChild(section("result", pre(det.result), true, det.result));
    if (det.diff) {
      const list = h("div", "anb-tv-diff");
      if (!det.diff.length) list.appendChild(h("div", "anb-tv-muted", "no change to the State"));
      for (const [op, key, text] of det.diff) {
        const line = h("div", "anb-tv-d" + (op === "+" ? "add" : op === "-" ? "del" : "rep"));
        line.append(h("b", null, `${op} ${key} `), document.createTextNode(text));
        list.appendChild(line);
      }
      const asText = det.diff.map(([op, key, text]) => `${op} ${key} ${text}`).join("\n");
      detail.appendChild(section("State diff", list, true, det.diff.length ? asText : undefined));
    }
    if (det.state_note) detail.appendChild(h("div", "anb-tv-muted", det.state_note));
    if (det.before !== undefined) detail.appendChild(section("State before", pre(det.before), false, det.before));
    if (det.after !== undefined) detail.appendChild(section("State after", pre(det.after), false, det.after));
  }
  function step(k) {
    if (!visible.length) return;
    const cur = P.indexOfSeq.get(model.get("selected"));
    let pos = cur === undefined ? -1 : visible.indexOf(cur);
    pos = pos < 0 ? 0 : Math.min(Math.max(pos + k, 0), visible.length - 1);
    select(P.d.seq[visible[pos]]);
  }

  // ---- wiring ----
  function all() {
    wf.style.height = "";
    layout();
    buildRows();
    filter();
    drawBar();
    drawLegend();
    drawHead();
    draw();
    drawTable(true);
  }
  const onData = () => {
    const hadN = P.n;
    P = prepare(model);
    if (!hadN) autoFold = true;
    all();
  };
  const onFilter = () => {
    filter();
    drawBar();
    draw();
    tscroll.scrollTop = Math.min(tscroll.scrollTop, visible.length * TABLE_ROW_H);
    drawTable(true);
  };
  const onSelected = () => {
    const seq = model.get("selected");
    ensureRowVisible(seq);
    tableShow(seq);
    draw();
    drawTable(true);
  };
  model.on("change:data", onData);
  model.on("change:delta", () => {
    if (mergeDelta(model, P.pal.fields || [])) onData();
    else model.send({ type: "resync" });
  });
  model.on("change:meta", onData); // the run's status and its events in progress are part of the picture
  // A live run: the axis keeps moving and open bars grow between batches (nothing is sent meanwhile).
  let ticks = 0;
  const ticker = setInterval(() => {
    ticks += 1;
    if (P.live && (P.open.length || !model.get("zoom").length)) draw();
    else if (P.paused && ticks % 5 === 0) draw(); // the time paused, once a second
  }, 200);
  cleanups.push(() => clearInterval(ticker));
  model.on("change:palette", onData);
  model.on("change:kinds", onFilter);
  model.on("change:search", onFilter);
  model.on("change:matches", onFilter);
  model.on("change:brush", onFilter);
  model.on("change:mode", onFilter);
  model.on("change:zoom", () => draw());
  model.on("change:selected", onSelected);
  model.on("change:detail", drawDetail);
  model.on("change:height", all);

  // Where an event's bar is on screen (client coordinates: left, top, width, height; or its middle), for tests
  // and automation.
  root.anbBarRect = (seq) => {
    ensureRowVisible(seq);
    draw();
    const i = P.indexOfSeq.get(seq);
    let r = rows.findIndex((row) => row.i === i);
    if (r < 0) r = rows.findIndex((row) => row.i === -1 && row.gi === P.groupOf[i] && row.lane === P.lane[i]);
    const [x, y, w, bh] = barRect(i, r * ROW_H - scroller.scrollTop);
    const rect = scroller.getBoundingClientRect();
    return [rect.left + x, rect.top + y, w, bh];
  };
  // The paused event's open bar (client coordinates: left, top, width, height) and its label; null when not paused.
  root.anbPausedBar = () => {
    if (!P.paused) return null;
    const r = rows.findIndex((row) => row.i === -2 && P.open[row.o] === P.paused);
    scroller.scrollTop = Math.max(r * ROW_H - scroller.clientHeight / 2, 0);
    root.anbPaused = null;
    draw();
    const p = root.anbPaused;
    if (!p) return null;
    const rect = scroller.getBoundingClientRect();
    return { left: rect.left + p.x, top: rect.top + p.y, width: p.w, height: p.h, label: p.label,
      plotRight: rect.left + LABEL_W + plotWidth() };
  };
  root.anbBarCenter = (seq) => {
    const [x, y, w, bh] = root.anbBarRect(seq);
    return [x + w / 2, y + bh / 2];
  };

  const ro = new ResizeObserver(() => {
    layout();
    draw();
    drawTable(true);
  });
  ro.observe(root);
  ro.observe(scroller); // its own size: the canvas follows it (a tab shown again, a resized notebook)
  // A view rendered while hidden (another tab selected, a cell scrolled out) draws when it shows up.
  const io = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) {
      draw();
      drawTable(true);
    }
  });
  io.observe(root);
  cleanups.push(() => io.disconnect());
  // Follow the frontend's theme (JupyterLab switches by attributes / classes on body).
  // The new theme's variables apply after its stylesheet loads: redraw on the next frames, not at once.
  const mo = new MutationObserver(() => {
    requestAnimationFrame(() => draw());
    setTimeout(() => draw(), 400);
  });
  mo.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name", "class"] });
  cleanups.push(() => ro.disconnect(), () => mo.disconnect());
  all();
  drawDetail();
  if (!caughtUp) model.send({ type: "resync" });
  return () => cleanups.forEach((f) => f());
}

export default { render };
