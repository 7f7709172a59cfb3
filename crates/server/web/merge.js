// Window state of one subscription, merged from a full result and later appends by the rules
// of PROTOCOL §4: an append replaces what is held in [start, end], then everything older than
// end − window is dropped. Memory stays bounded by the window (and MAX_LOG_LINES for logs).
"use strict";

const SightlineMerge = (() => {
  const MAX_LOG_LINES = 500;

  /** Wire Timestamp → milliseconds since the epoch (float). */
  function ms(ts) {
    return ts ? ts.seconds * 1000 + ts.nanos / 1e6 : null;
  }

  /** One series (or one group of a grouped result): sorted columns. */
  function fromPlot(type, body) {
    switch (type) {
      case "numeric":
        return { kind: "numeric", t: body.timestamps.map(ms), v: body.values.map(Number) };
      case "bucketedNumeric":
        return {
          kind: "bucketed",
          t: body.timestamps.map(ms),
          b: body.buckets.map((b) => ({ min: Number(b.min), max: Number(b.max), mean: Number(b.mean), count: b.count })),
        };
      case "enum":
        return { kind: "enum", t: body.timestamps.map(ms), v: body.values.map((i) => body.categories[i]) };
      case "bucketedEnum":
        return {
          kind: "enum",
          t: body.buckets.map((b) => ms(b.firstPoint.timestamp)),
          v: body.buckets.map((b) => body.categories[b.firstPoint.value]),
        };
      case "pagedLog":
      case "log":
        return { kind: "log", t: body.timestamps.map(ms), v: body.values.map((l) => l.message) };
      case "range":
        return { kind: "range", r: body.map((r) => ({ s: ms(r.start), e: ms(r.end) })) };
      case "numericPoint":
      case "enumPoint":
      case "logPoint":
      case "singlePoint":
        return { kind: "point", p: body ? { t: ms(body.timestamp), v: body.value } : null };
      case "rangeValue":
        return { kind: "range", r: body ? [{ s: ms(body.start), e: ms(body.end) }] : [] };
      default:
        return { kind: "unsupported", type };
    }
  }

  function groupLabel(grouping) {
    const tags = (grouping && grouping.tagsWithValues) || {};
    return Object.keys(tags).sort().map((k) => `${k}=${tags[k]}`).join(", ") || "all";
  }

  /** A full result → { groups: Map(label → series) }. */
  function fromFull(result) {
    const groups = new Map();
    if (result.type === "grouped") {
      for (const g of result.grouped.responses) {
        groups.set(groupLabel(g.grouping), fromPlot(g.response.type, g.response[g.response.type]));
      }
    } else {
      groups.set("", fromPlot(result.type, result[result.type]));
    }
    return { groups };
  }

  /** Index of the first element of sorted `t` that is >= x. */
  function lowerBound(t, x) {
    let lo = 0, hi = t.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (t[mid] < x) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** Replaces what `old` holds in [start, end] with `add` (same kind); keeps time order. */
  function spliceColumns(old, add, start, end, cols) {
    const a = lowerBound(old.t, start);
    let b = lowerBound(old.t, end);
    while (b < old.t.length && old.t[b] === end) b++;
    // Appended points may also lie outside [start, end] (e.g. bucket stamps after end):
    // they replace held points with the same timestamp.
    const addSet = new Set(add.t);
    const keep = (i) => !addSet.has(old.t[i]);
    const out = { kind: old.kind, t: [] };
    for (const c of cols) out[c] = [];
    const push = (src, i) => { out.t.push(src.t[i]); for (const c of cols) out[c].push(src[c][i]); };
    let j = 0;
    for (let i = 0; i < a; i++) {
      while (j < add.t.length && add.t[j] < old.t[i]) push(add, j++);
      if (keep(i)) push(old, i);
    }
    for (let i = b; i <= old.t.length; i++) {
      while (j < add.t.length && (i === old.t.length || add.t[j] <= old.t[i])) push(add, j++);
      if (i < old.t.length && keep(i)) push(old, i);
    }
    return out;
  }

  function dropBefore(s, cutoff, cols) {
    const k = lowerBound(s.t, cutoff);
    if (k > 0) {
      s.t.splice(0, k);
      for (const c of cols) s[c].splice(0, k);
    }
  }

  const COLUMNS = { numeric: ["v"], enum: ["v"], log: ["v"], bucketed: ["b"] };

  function mergeRanges(old, add, start) {
    const kept = [];
    for (const r of old.r) {
      if (r.s >= start) continue;
      kept.push(r.e === null || r.e > start ? { s: r.s, e: start } : r);
    }
    const all = kept.concat(add.r).sort((x, y) => x.s - y.s);
    const out = [];
    for (const r of all) {
      const last = out[out.length - 1];
      if (last && (last.e === null || r.s <= last.e)) {
        last.e = last.e === null || r.e === null ? null : Math.max(last.e, r.e);
      } else {
        out.push({ s: r.s, e: r.e });
      }
    }
    return { kind: "range", r: out };
  }

  function mergeSeries(old, add, start, end, windowMs) {
    if (!old || old.kind !== add.kind) return add;
    const cutoff = end - windowMs;
    if (add.kind === "range") {
      const m = mergeRanges(old, add, start);
      m.r = m.r.filter((r) => r.e === null || r.e >= cutoff);
      return m;
    }
    if (add.kind === "point" || add.kind === "unsupported") return add;
    const cols = COLUMNS[add.kind];
    const m = spliceColumns(old, add, start, end, cols);
    // Buckets are stamped with their end: one that ends after the cutoff is still in view.
    dropBefore(m, add.kind === "bucketed" ? cutoff + 1e-6 : cutoff, cols);
    if (m.kind === "log" && m.t.length > MAX_LOG_LINES) {
      dropBefore(m, m.t[m.t.length - MAX_LOG_LINES], cols);
    }
    return m;
  }

  /** Merges an AppendResult into `state` (from fromFull) in place. */
  function applyAppend(state, append, windowMs) {
    const start = ms(append.start), end = ms(append.end);
    const res = append.result;
    const parts = res.type === "grouped"
      ? res.grouped.responses.map((g) => [groupLabel(g.grouping), g.response])
      : [["", res]];
    for (const [label, r] of parts) {
      const add = fromPlot(r.type, r[r.type]);
      state.groups.set(label, mergeSeries(state.groups.get(label), add, start, end, windowMs));
    }
    // Groups with nothing left in the window are dropped, so a tag that stops reporting
    // does not keep a legend entry forever.
    for (const [label, s] of state.groups) {
      if (!parts.some(([l]) => l === label)) {
        if (s.t) dropBefore(s, end - windowMs, COLUMNS[s.kind] || []);
        if ((s.t && s.t.length === 0) || (s.r && s.r.length === 0)) state.groups.delete(label);
      }
    }
    return end;
  }

  return { ms, fromFull, applyAppend, lowerBound };
})();
