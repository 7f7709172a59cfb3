// Canvas drawing of one panel's merged state: lines for raw numeric data, a min/max band
// with the mean for buckets, shaded ranges, a state strip for enums; the unit on the y axis
// and the time on the x axis. Pure drawing: it reads the state and never changes it.
"use strict";

const SightlinePlot = (() => {
  const COLORS = ["#4fa3ff", "#ffb347", "#7bd389", "#ff6b9a", "#c38fff", "#5fd3d3", "#f2e35b", "#ff7f50"];
  const PAD = { left: 56, right: 12, top: 10, bottom: 22 };

  function color(i) {
    return COLORS[i % COLORS.length];
  }

  /** Round step for about `n` ticks over `span`. */
  function niceStep(span, n) {
    const raw = span / Math.max(n, 1);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
  }

  function fmtNumber(v) {
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
    return Number(v.toPrecision(6)).toString();
  }

  function fmtTime(t, spanMs) {
    const d = new Date(t);
    const hh = String(d.getHours()).padStart(2, "0");
    const mm = String(d.getMinutes()).padStart(2, "0");
    const ss = String(d.getSeconds()).padStart(2, "0");
    if (spanMs > 6 * 3600e3) return `${d.getMonth() + 1}/${d.getDate()} ${hh}:${mm}`;
    return `${hh}:${mm}:${ss}`;
  }

  /** Sizes the canvas to its box at device resolution; returns the 2D context and size. */
  function setup(canvas) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    return { ctx, w, h };
  }

  function yRange(groups, t0) {
    let lo = Infinity, hi = -Infinity;
    for (const s of groups) {
      const from = s.t ? SightlineMerge.lowerBound(s.t, t0) : 0;
      if (s.kind === "numeric") {
        for (let i = from; i < s.t.length; i++) {
          const v = s.v[i];
          if (Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
        }
      } else if (s.kind === "bucketed") {
        for (let i = from; i < s.t.length; i++) {
          const b = s.b[i];
          if (Number.isFinite(b.min) && b.min < lo) lo = b.min;
          if (Number.isFinite(b.max) && b.max > hi) hi = b.max;
        }
      }
    }
    if (!Number.isFinite(lo)) return [0, 1];
    if (lo === hi) return [lo - 1, hi + 1];
    const pad = (hi - lo) * 0.05;
    return [lo - pad, hi + pad];
  }

  function axes(ctx, w, h, t0, t1, y0, y1, unit, numeric) {
    ctx.strokeStyle = "#2a3642";
    ctx.fillStyle = "#8a99a8";
    ctx.font = "11px system-ui, sans-serif";
    ctx.lineWidth = 1;
    const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * (w - PAD.left - PAD.right);
    const tStep = niceStep(t1 - t0, Math.max(2, Math.floor((w - PAD.left) / 110)));
    ctx.textAlign = "center";
    for (let t = Math.ceil(t0 / tStep) * tStep; t <= t1; t += tStep) {
      const px = x(t);
      ctx.beginPath(); ctx.moveTo(px, PAD.top); ctx.lineTo(px, h - PAD.bottom); ctx.stroke();
      ctx.fillText(fmtTime(t, t1 - t0), px, h - 6);
    }
    if (!numeric) return;
    const y = (v) => h - PAD.bottom - ((v - y0) / (y1 - y0)) * (h - PAD.top - PAD.bottom);
    const vStep = niceStep(y1 - y0, Math.max(2, Math.floor((h - PAD.top - PAD.bottom) / 40)));
    ctx.textAlign = "right";
    for (let v = Math.ceil(y0 / vStep) * vStep; v <= y1; v += vStep) {
      const py = y(v);
      ctx.beginPath(); ctx.moveTo(PAD.left, py); ctx.lineTo(w - PAD.right, py); ctx.stroke();
      ctx.fillText(fmtNumber(v), PAD.left - 6, py + 4);
    }
    if (unit) {
      ctx.save();
      ctx.translate(12, (PAD.top + h - PAD.bottom) / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = "center";
      ctx.fillStyle = "#dfe6ee";
      ctx.fillText(unit, 0, 0);
      ctx.restore();
    }
  }

  function enumColor(value, palette) {
    if (!palette.has(value)) palette.set(value, color(palette.size + 2));
    return palette.get(value);
  }

  /**
   * Draws `state` (SightlineMerge groups) for the window [t1 − windowMs, t1].
   * Returns the legend entries: [{label, color}].
   */
  function draw(canvas, state, t1, windowMs, unit, palette) {
    const { ctx, w, h } = setup(canvas);
    const t0 = t1 - windowMs;
    const groups = [...state.groups.entries()];
    const series = groups.map(([, s]) => s);
    const numeric = series.some((s) => s.kind === "numeric" || s.kind === "bucketed");
    const [y0, y1] = yRange(series, t0);
    axes(ctx, w, h, t0, t1, y0, y1, unit, numeric);
    const plotW = w - PAD.left - PAD.right, plotH = h - PAD.top - PAD.bottom;
    const x = (t) => PAD.left + ((t - t0) / windowMs) * plotW;
    const y = (v) => PAD.top + plotH - ((v - y0) / (y1 - y0)) * plotH;
    const legend = [];
    ctx.save();
    ctx.beginPath();
    ctx.rect(PAD.left, PAD.top, plotW, plotH);
    ctx.clip();
    const lanes = groups.length || 1;
    groups.forEach(([label, s], gi) => {
      const c = color(gi);
      if (s.kind === "numeric") {
        ctx.strokeStyle = c;
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        let pen = false;
        const from = Math.max(0, SightlineMerge.lowerBound(s.t, t0) - 1);
        for (let i = from; i < s.t.length; i++) {
          const v = s.v[i];
          if (!Number.isFinite(v)) { pen = false; continue; }
          if (pen) ctx.lineTo(x(s.t[i]), y(v)); else ctx.moveTo(x(s.t[i]), y(v));
          pen = true;
        }
        ctx.stroke();
        legend.push({ label, color: c });
      } else if (s.kind === "bucketed") {
        // Min/max band, then the mean line. A bucket's stamp is its (exclusive) end.
        const from = SightlineMerge.lowerBound(s.t, t0);
        ctx.fillStyle = c + "44";
        ctx.beginPath();
        for (let i = from; i < s.t.length; i++) ctx.lineTo(x(s.t[i]), y(s.b[i].max));
        for (let i = s.t.length - 1; i >= from; i--) ctx.lineTo(x(s.t[i]), y(s.b[i].min));
        ctx.closePath();
        ctx.fill();
        ctx.strokeStyle = c;
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        for (let i = from; i < s.t.length; i++) {
          if (i === from) ctx.moveTo(x(s.t[i]), y(s.b[i].mean)); else ctx.lineTo(x(s.t[i]), y(s.b[i].mean));
        }
        ctx.stroke();
        legend.push({ label: label ? `${label} (mean, min–max)` : "mean, min–max", color: c });
      } else if (s.kind === "range") {
        // Shaded ranges; several groups share the height in lanes.
        const laneH = plotH / lanes;
        ctx.fillStyle = c + "55";
        ctx.strokeStyle = c;
        for (const r of s.r) {
          const a = Math.max(x(r.s === null ? t0 : r.s), PAD.left);
          const b = Math.min(x(r.e === null ? t1 : r.e), PAD.left + plotW);
          if (b < PAD.left || a > PAD.left + plotW) continue;
          ctx.fillRect(a, PAD.top + gi * laneH, Math.max(b - a, 1), laneH);
          ctx.beginPath(); ctx.moveTo(a, PAD.top + gi * laneH); ctx.lineTo(a, PAD.top + (gi + 1) * laneH); ctx.stroke();
        }
        legend.push({ label: label || "ranges", color: c });
      } else if (s.kind === "enum") {
        // A state strip: one lane per group, a block per value until the next change.
        const laneH = Math.min(plotH / lanes, 60);
        const top = PAD.top + gi * laneH;
        const from = Math.max(0, SightlineMerge.lowerBound(s.t, t0) - 1);
        for (let i = from; i < s.t.length; i++) {
          const a = Math.max(x(s.t[i]), PAD.left);
          // A value repeated by later points is one block, up to the next change.
          let next = i + 1;
          while (next < s.t.length && s.v[next] === s.v[i]) next++;
          const b = next < s.t.length ? x(s.t[next]) : PAD.left + plotW;
          const last = next - 1;
          ctx.fillStyle = enumColor(s.v[i], palette);
          ctx.fillRect(a, top + 2, Math.max(b - a, 1), laneH - 4);
          if (b - a > 40) {
            ctx.fillStyle = "#101418";
            ctx.font = "11px system-ui, sans-serif";
            ctx.textAlign = "left";
            ctx.fillText(s.v[i], a + 4, top + laneH / 2 + 4);
          }
          i = last;
        }
        if (label) legend.push({ label: `lane ${gi + 1}: ${label}`, color: "#8a99a8" });
      } else if (s.kind === "point" && s.p) {
        ctx.fillStyle = "#dfe6ee";
        ctx.font = "28px system-ui, sans-serif";
        ctx.textAlign = "center";
        const v = typeof s.p.v === "number" ? fmtNumber(s.p.v) : JSON.stringify(s.p.v);
        ctx.fillText(`${v}${unit ? " " + unit : ""}`, PAD.left + plotW / 2, PAD.top + plotH / 2);
      }
    });
    ctx.restore();
    for (const [value, c] of palette) legend.push({ label: value, color: c });
    return legend;
  }

  return { draw, fmtTime, fmtNumber };
})();
