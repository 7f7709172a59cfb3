// The page: channel search, panels (one subscription each), window and refresh controls, the
// dashboard layout in the URL hash, the token prompt, and one drawing pass per animation
// frame for the panels whose data or time axis moved.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const DEMO_DATASET = "ri.sightline.demo.dataset.test-stand";
  const BUCKETS = 1000;
  const panels = new Map(); // id → panel
  let nextPanelId = 1;
  let windowSec = 30;
  let minDelay = 250;

  // ---------------------------------------------------------------- graph JSON builders
  const literal = (v) => ({ type: "literal", literal: v });
  function channelSeries(kind, ds, ch, groupBy) {
    const dataSource = { dataSourceRid: literal(ds), channel: literal(ch) };
    if (groupBy && groupBy.length) dataSource.tagsToGroupBy = groupBy;
    return { type: kind, [kind]: { type: "channel", channel: { type: "dataSource", dataSource } } };
  }
  function channelNode(ds, ch, dataType, groupBy) {
    const kind = dataType === "STRING" ? "enum" : dataType === "LOG" ? "log" : "numeric";
    const series = { input: channelSeries(kind, ds, ch, groupBy) };
    if (kind === "numeric") series.buckets = BUCKETS;
    return { type: "series", series };
  }
  function thresholdNode(ds, ch, op, value, groupBy) {
    const input = channelSeries("numeric", ds, ch, groupBy).numeric;
    return {
      type: "ranges",
      ranges: { input: { type: "threshold", threshold: { input, threshold: literal(value), operator: op } } },
    };
  }

  // ---------------------------------------------------------------- HTTP
  async function postJson(path, body) {
    const r = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (r.status === 401) askToken();
    let json = null;
    try { json = await r.json(); } catch (e) { /* empty body */ }
    return { status: r.status, json };
  }

  // ---------------------------------------------------------------- status and token
  function setStatus(state, text) {
    const el = $("status");
    el.className = `status ${state}`;
    el.textContent = text;
    el.dataset.state = state;
  }

  function askToken() {
    setStatus("login", "token required");
    const dialog = $("login");
    if (!dialog.open) dialog.showModal();
  }

  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await fetch("/sightline/v1/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: $("token").value }),
    });
    if (r.ok) {
      $("login").close();
      $("token").value = "";
      connection.retry();
      refreshChannels();
    } else {
      $("login-error").textContent = "That token was not accepted.";
    }
  });

  // ---------------------------------------------------------------- connection
  const connection = new SightlineConnection({
    onStatus: setStatus,
    onAuthNeeded: askToken,
    onCreation(panelId, creation) {
      const p = panels.get(panelId);
      if (!p) return;
      if (creation.type === "success") {
        const u = creation.success.unitResult;
        // UnitResult.success is the unit symbol itself (an alias of string).
        p.unit = u && u.type === "single" && u.single.type === "success" ? String(u.single.success) : null;
        p.error = "";
      } else {
        const e = creation.error.serializableError;
        p.error = `${e.name}: ${e.message}`;
      }
      p.dirty = true;
    },
    onUpdate(panelId, update) {
      const p = panels.get(panelId);
      if (!p) return;
      const now = performance.now();
      if (update.type === "full") {
        p.state = SightlineMerge.fromFull(update.full.result);
        p.anchor = null;
        p.fulls += 1;
      } else if (update.type === "append" && p.state) {
        const end = SightlineMerge.applyAppend(p.state, update.append, windowSec * 1000);
        p.anchor = { end, at: now };
        p.appends += 1;
      } else if (update.type === "error") {
        const e = update.error.serializableError;
        p.error = `${e.name}: ${e.message}`;
      }
      p.updatedAt = now;
      p.dirty = true;
    },
  });

  // ---------------------------------------------------------------- panels
  function subscription(node) {
    return {
      computeRequest: {
        node,
        windowWidth: { seconds: windowSec, nanos: 0 },
        context: { variables: {} },
      },
      subscriptionOptions: { minDelay, allowAppends: true },
    };
  }

  function addPanel(spec, save = true) {
    const id = nextPanelId++;
    const el = document.createElement("article");
    el.className = "panel";
    el.innerHTML = `<div class="head"><span class="title"></span><span class="info"></span>
      <button class="close" type="button" title="Remove panel">×</button></div>
      <div class="perror"></div><div class="body"><canvas></canvas></div><div class="legend"></div>`;
    el.querySelector(".title").textContent = spec.title;
    el.querySelector(".title").title = spec.title;
    el.querySelector(".close").addEventListener("click", () => removePanel(id));
    $("panels").appendChild(el);
    const p = {
      id, spec, el, state: null, unit: null, error: "", dirty: true, anchor: null,
      fulls: 0, appends: 0, draws: 0, palette: new Map(), legendKey: "",
      canvas: el.querySelector("canvas"), updatedAt: 0,
    };
    panels.set(id, p);
    connection.subscribe(id, subscription(spec.node));
    if (save) saveLayout();
    emptyHint();
    return p;
  }

  function removePanel(id) {
    const p = panels.get(id);
    if (!p) return;
    connection.unsubscribe(id);
    p.el.remove();
    panels.delete(id);
    saveLayout();
    emptyHint();
  }

  function emptyHint() {
    let hint = document.querySelector("#panels .empty");
    if (panels.size === 0 && !hint) {
      hint = document.createElement("div");
      hint.className = "empty";
      hint.textContent = "No panels yet: pick a channel on the left, or type an expression.";
      $("panels").appendChild(hint);
    } else if (panels.size > 0 && hint) {
      hint.remove();
    }
  }

  function resubscribeAll() {
    for (const p of panels.values()) {
      p.state = null;
      p.dirty = true;
      connection.subscribe(p.id, subscription(p.spec.node));
    }
  }

  // ---------------------------------------------------------------- layout in the URL
  function saveLayout() {
    const layout = { w: windowSec, d: minDelay, p: [...panels.values()].map((p) => ({ t: p.spec.title, n: p.spec.node })) };
    history.replaceState(null, "", "#" + encodeURIComponent(JSON.stringify(layout)));
  }

  function loadLayout() {
    if (location.hash.length < 2) return false;
    try {
      const layout = JSON.parse(decodeURIComponent(location.hash.slice(1)));
      windowSec = Number(layout.w) || windowSec;
      minDelay = Number(layout.d) || minDelay;
      $("window").value = String(windowSec);
      $("refresh").value = String(minDelay);
      for (const p of layout.p || []) addPanel({ title: String(p.t), node: p.n }, false);
      return true;
    } catch (e) {
      return false;
    }
  }

  /** Without a layout in the URL: a dashboard of the demo, or the first few channels. */
  async function defaultLayout() {
    const { status, json } = await postJson("/data-source/v1/data-sources/search-channels", { fuzzySearchText: "", pageSize: 50 });
    if (status !== 200 || !json) return;
    const results = json.results || [];
    const demo = results.filter((c) => c.dataSource === DEMO_DATASET);
    if (demo.length) {
      const has = (n) => demo.some((c) => c.name === n);
      if (has("chamber.pressure")) {
        addPanel({ title: "chamber.pressure by stand", node: channelNode(DEMO_DATASET, "chamber.pressure", "DOUBLE", ["stand"]) }, false);
        addPanel({ title: "chamber.pressure{stand} > 62", node: thresholdNode(DEMO_DATASET, "chamber.pressure", "GREATER_THAN", 62, ["stand"]) }, false);
      }
      // The demo writes these soon after it starts, if not yet.
      addPanel({ title: "valve.state by stand", node: channelNode(DEMO_DATASET, "valve.state", "STRING", ["stand"]) }, false);
      addPanel({ title: "events", node: channelNode(DEMO_DATASET, "events", "LOG") }, false);
    } else {
      for (const c of results.slice(0, 4)) addPanel({ title: c.name, node: channelNode(c.dataSource, c.name, c.dataType) }, false);
    }
    saveLayout();
  }

  // ---------------------------------------------------------------- channel picker
  let searchSeq = 0;
  async function refreshChannels() {
    const seq = ++searchSeq;
    const { status, json } = await postJson("/data-source/v1/data-sources/search-channels", {
      fuzzySearchText: $("search").value, pageSize: 200,
    });
    if (seq !== searchSeq || status !== 200 || !json) return;
    const list = $("channels");
    list.replaceChildren();
    const datasets = new Set();
    for (const c of json.results || []) {
      datasets.add(c.dataSource);
      const li = document.createElement("li");
      li.dataset.channel = c.name;
      li.dataset.dataset = c.dataSource;
      const name = document.createElement("span");
      name.textContent = c.name;
      const ds = document.createElement("span");
      ds.className = "ds";
      ds.textContent = c.dataSource;
      name.appendChild(ds);
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = [c.dataType, c.unit && c.unit.symbol].filter(Boolean).join(" · ");
      li.append(name, meta);
      li.addEventListener("click", () => pickChannel(c));
      list.appendChild(li);
    }
    const select = $("expr-dataset");
    const current = select.value;
    select.replaceChildren(...[...datasets].sort().map((d) => new Option(d, d)));
    if (current && datasets.has(current)) select.value = current;
  }

  async function pickChannel(c) {
    // Group by every tag key of the channel, so each series is its own coloured line.
    let groupBy = [];
    try {
      const r = await fetch(`/sightline/v1/datasets/${encodeURIComponent(c.dataSource)}/channels/${encodeURIComponent(c.name)}`, { credentials: "same-origin" });
      if (r.ok) groupBy = Object.keys((await r.json()).tags || {});
    } catch (e) { /* ungrouped then */ }
    addPanel({ title: c.name + (groupBy.length ? ` by ${groupBy.join(", ")}` : ""), node: channelNode(c.dataSource, c.name, c.dataType, groupBy) });
  }

  let searchTimer = null;
  $("search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(refreshChannels, 150);
  });

  // ---------------------------------------------------------------- expressions
  $("expr-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = $("expr").value.trim();
    const err = $("expr-error");
    err.textContent = "";
    if (!text) return;
    if (text.startsWith("{")) {
      try {
        addPanel({ title: "graph", node: JSON.parse(text) });
      } catch (e) {
        err.textContent = `Not JSON: ${e.message}`;
      }
      return;
    }
    const { status, json } = await postJson("/sightline/v1/expressions/compile", { expression: text, dataset: $("expr-dataset").value });
    if (status === 200 && json && json.node) {
      addPanel({ title: text, node: json.node });
      $("expr").value = "";
    } else if (status === 404 || status === 405) {
      err.textContent = "This server has no expression endpoint; paste a ComputableNode JSON instead.";
    } else if (json) {
      const col = json.parameters && json.parameters.column;
      err.textContent = `${json.errorName || "error"}${col ? ` at column ${col}` : ""}: ${(json.parameters && json.parameters.message) || ""}`;
    } else {
      err.textContent = `The server answered ${status}.`;
    }
  });

  // ---------------------------------------------------------------- controls
  $("window").addEventListener("change", () => { windowSec = Number($("window").value); saveLayout(); resubscribeAll(); });
  $("refresh").addEventListener("change", () => { minDelay = Number($("refresh").value); saveLayout(); resubscribeAll(); });
  $("share").addEventListener("click", () => {
    saveLayout();
    if (navigator.clipboard) navigator.clipboard.writeText(location.href).catch(() => {});
  });

  // ---------------------------------------------------------------- drawing
  function renderLogs(p) {
    const body = p.el.querySelector(".body");
    let list = body.querySelector(".logs");
    if (!list) {
      p.canvas.remove();
      list = document.createElement("ol");
      list.className = "logs";
      body.appendChild(list);
    }
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
    const rows = [];
    for (const [label, s] of p.state.groups) {
      for (let i = 0; i < s.t.length; i++) rows.push([s.t[i], label, s.v[i]]);
    }
    rows.sort((a, b) => a[0] - b[0]);
    list.replaceChildren(...rows.slice(-200).map(([t, label, msg]) => {
      const li = document.createElement("li");
      const time = document.createElement("time");
      time.textContent = SightlinePlot.fmtTime(t, 0);
      li.append(time, document.createTextNode((label ? `[${label}] ` : "") + msg));
      return li;
    }));
    if (atBottom) list.scrollTop = list.scrollHeight;
    return rows.length;
  }

  function frame() {
    const now = performance.now();
    for (const p of panels.values()) {
      p.el.querySelector(".perror").textContent = p.error;
      if (!p.state) continue;
      const isLog = [...p.state.groups.values()].some((s) => s.kind === "log");
      if (isLog) {
        if (p.dirty) { p.points = renderLogs(p); p.draws += 1; }
        p.dirty = false;
        continue;
      }
      // The right edge follows server time: the latest append's end plus time since.
      const right = p.anchor ? p.anchor.end + (now - p.anchor.at) : Date.now();
      const windowMs = windowSec * 1000;
      const pixelMs = windowMs / Math.max(p.canvas.clientWidth, 1);
      if (!p.dirty && p.lastRight !== undefined && right - p.lastRight < pixelMs) continue;
      const legend = SightlinePlot.draw(p.canvas, p.state, right, windowMs, p.unit, p.palette);
      p.lastRight = right;
      p.dirty = false;
      p.draws += 1;
      const key = legend.map((l) => l.label + l.color).join("|");
      if (key !== p.legendKey) {
        p.legendKey = key;
        p.el.querySelector(".legend").replaceChildren(...legend.map((l) => {
          const span = document.createElement("span");
          const swatch = document.createElement("i");
          swatch.style.background = l.color;
          span.append(swatch, document.createTextNode(l.label));
          return span;
        }));
      }
      let points = 0;
      for (const s of p.state.groups.values()) points += s.t ? s.t.length : s.r ? s.r.length : 0;
      p.points = points;
      p.el.querySelector(".info").textContent = p.unit ? `[${p.unit}]` : "";
    }
    requestAnimationFrame(frame);
  }

  // What a test or a curious user can read from the console.
  window.sightline = {
    panels: () => [...panels.values()].map((p) => ({
      title: p.spec.title,
      kinds: p.state ? [...p.state.groups.values()].map((s) => s.kind) : [],
      groups: p.state ? p.state.groups.size : 0,
      points: p.points || 0,
      fulls: p.fulls,
      appends: p.appends,
      draws: p.draws,
      unit: p.unit,
      error: p.error,
    })),
    status: () => $("status").dataset.state,
    connects: () => connection.reconnects,
  };

  // ---------------------------------------------------------------- start
  emptyHint();
  connection.start();
  refreshChannels();
  // New channels appear without a reload.
  setInterval(() => { if (document.visibilityState === "visible") refreshChannels(); }, 5000);
  if (!loadLayout()) defaultLayout();
  requestAnimationFrame(frame);
})();
