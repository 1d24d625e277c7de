// One chart of a page document drawn with uPlot: width from its container (and again on resize),
// colours from the page's CSS (dark mode included), a text alternative with the latest value and
// its change, markers and threshold lines on top.
"use strict";
const mwChart = (function () {
  const F = mwFormat;
  const COLORS = ["#f7931a", "#2f6fdf", "#2a9d5b", "#c2410c", "#7c3aed", "#0891b2", "#be185d", "#64748b"];
  // One colour per definition on every page: the Hashrate Index (and what derives from it) orange,
  // BRK's blue, Coin Metrics' green, Core's purple; the window of an average by its length.
  const FIXED = [
    [/_brk_|^hashrate_brk/, "#2f6fdf"], [/_cm_/, "#2a9d5b"], [/chainwork/, "#7c3aed"],
    [/^price/, "#64748b"], [/_7d$/, "#0891b2"], [/_30d$/, "#c2410c"], [/_60d$/, "#be185d"],
    [/^hash(price|value)_|^hashrate_ehs$|^miner_reserve_btc$|^miner_outflow_btc$|^revenue_btc$|^difficulty$/, "#f7931a"],
    [/^fees_|^miner_inflow/, "#2f6fdf"], [/^miner_netflow/, "#2a9d5b"],
  ];
  function colorsFor(series) {
    const used = new Set();
    const fixed = series.map((s) => {
      const hit = FIXED.find(([re]) => re.test(s.metric || ""));
      const c = hit && !used.has(hit[1]) ? hit[1] : null;
      if (c) used.add(c);
      return c;
    });
    return fixed.map((c) => c || COLORS.find((x) => !used.has(x) && used.add(x)) || COLORS[0]);
  }
  const plots = [];       // [uPlot, its container] of the charts on the page, resized together

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }
  function heightFor(width) { return width < 500 ? 220 : 300; }

  function markerText(m, unit) {
    return m.label + " " + F.value(m.y, unit) + (m.day ? " (" + F.isoDate(m.day) + ")" : "");
  }

  // Markers (record lows) and horizontal threshold lines, drawn on top of the series.
  function overlay(chart) {
    return {
      hooks: {
        draw: [(u) => {
          const ctx = u.ctx, px = devicePixelRatio, alert = css("--alert") || "#b91c1c";
          ctx.save();
          ctx.font = 12 * px + "px sans-serif";
          for (const t of chart.thresholds) {
            const y = u.valToPos(t.y, "y", true);
            ctx.strokeStyle = alert;
            ctx.setLineDash([6 * px, 4 * px]);
            ctx.beginPath();
            ctx.moveTo(u.bbox.left, y);
            ctx.lineTo(u.bbox.left + u.bbox.width, y);
            ctx.stroke();
            ctx.fillStyle = alert;
            ctx.textAlign = "right";
            ctx.fillText(t.label, u.bbox.left + u.bbox.width - 4, y - 4);
          }
          ctx.setLineDash([]);
          for (const m of chart.markers) {
            const x = u.valToPos(m.x, "x", true), y = u.valToPos(m.y, "y", true);
            if (m.kind) { drawKindMarker(ctx, u, m, x, y, px); continue; }
            ctx.fillStyle = alert;
            ctx.beginPath();
            ctx.arc(x, y, 5 * px, 0, 2 * Math.PI);
            ctx.fill();
            ctx.textAlign = x > u.bbox.left + u.bbox.width / 2 ? "right" : "left";
            ctx.fillText(markerText(m, chart.unit), x + (ctx.textAlign === "right" ? -8 : 8) * px, y + 16 * px);
          }
          ctx.restore();
        }],
      },
    };
  }

  // Daily x axes: ticks on whole days and written as dates (never "12:00am").
  const DAY_S = 86400;
  const DAY_INCRS = [1, 2, 3, 7, 14, 28, 61, 91, 182, 365, 730, 1461].map((d) => d * DAY_S);
  function dayAxis(stroke, grid) {
    return {
      stroke: stroke, grid: { stroke: grid }, ticks: { stroke: grid }, incrs: DAY_INCRS, space: 70,
      values: (u, splits) => {
        const span = u.scales.x.max - u.scales.x.min;
        return splits.map((v) => F.dateShort(v, span > 200 * DAY_S));
      },
    };
  }
  // Per-block x axes (24h, 3d): hours, with the date at midnight.
  const HOUR_INCRS = [1, 2, 3, 6, 12, 24].map((h) => h * 3600);
  function blockAxis(stroke, grid) {
    return {
      stroke: stroke, grid: { stroke: grid }, ticks: { stroke: grid }, incrs: HOUR_INCRS, space: 60,
      values: (u, splits) => splits.map((v) => (v % DAY_S === 0 ? F.dateShort(v, false) : F.clock(v))),
    };
  }
  function valueAxis(unit, stroke, grid) {
    return {
      stroke: stroke, grid: { stroke: grid }, ticks: { stroke: grid },
      values: (u, vals) => {
        // Percentages and ratios on a narrow range need the decimals of the tick step (40.05 %, 40.10 %).
        const step = vals.length > 1 ? Math.abs(vals[1] - vals[0]) : 0;
        const frac = step > 0 ? Math.max(0, Math.min(6, -Math.floor(Math.log10(step)))) : 1;
        if (unit === "%" || unit === "ratio") {
          return vals.map((v) => (v === null ? "" : v.toLocaleString("en-US", { minimumFractionDigits: frac,
            maximumFractionDigits: frac }).replace("-", "\u2212") + (unit === "%" ? " %" : "")));
        }
        return vals.map((v) => F.value(v, unit, true));
      },
      // Room for the longest tick label (12 px sans-serif: ~7.5 px a character) plus tick and gap.
      size: (u, values) => (values && values.length ? Math.max(40, 22 + 7.5 * Math.max(...values.map((t) => t.length))) : 50),
    };
  }

  // The chart in one sentence, for screen readers and for anyone: its headline series' latest value
  // and the change over the window drawn (a rank chart: its largest bar).
  function summary(chart) {
    const s = chart.series[0];
    if (!s) return "";
    const idx = s.values.map((v, i) => (v === null ? -1 : i)).filter((i) => i >= 0);
    if (!idx.length) return "";
    const first = idx[0], last = idx[idx.length - 1];
    if (chart.x_kind === "rank") {
      return "Largest: " + (chart.x_labels ? chart.x_labels[0] + ", " : "") + F.value(s.values[0], chart.unit) + ".";
    }
    if (chart.x_kind !== "time") {
      return s.label + ": " + F.value(s.values[first], chart.unit) + " at " + F.value(chart.x[first], chart.x_unit || "") +
        ", " + F.value(s.values[last], chart.unit) + " at " + F.value(chart.x[last], chart.x_unit || "") + ".";
    }
    const a = s.values[first], b = s.values[last];
    const when = chart.x_step === "block" ? F.dateTime : F.date;
    let text = s.label + ": latest " + F.value(b, chart.unit) + " on " + when(chart.x[last]);
    if (last > first) {
      text += a !== 0 ? ", " + F.change((b / a - 1) * 100) + " since " + when(chart.x[first])
        : ", from " + F.value(a, chart.unit) + " on " + when(chart.x[first]);
    }
    return text + ".";
  }

  // Capitulation episodes (and any other dated stretch) shaded behind the series.
  function bands(chart) {
    return (u) => {
      if (!chart.bands || !chart.bands.length) return;
      const ctx = u.ctx;
      ctx.save();
      ctx.fillStyle = css("--band") || "rgba(185, 28, 28, 0.12)";
      for (const b of chart.bands) {
        const x0 = Math.max(u.bbox.left, u.valToPos(b.from, "x", true));
        const x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(b.to, "x", true));
        if (x1 > x0) ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
      }
      ctx.restore();
    };
  }

  // A floating tooltip at the cursor: the point's date and every series' value, in the legend's order.
  function tooltip(chart, xValue, colors) {
    let tip = null;
    return {
      hooks: {
        init: [(u) => {
          tip = el("div", { class: "tooltip" });
          tip.style.display = "none";
          u.over.append(tip);
        }],
        setCursor: [(u) => {
          const i = u.cursor.idx;
          if (i === null || i === undefined || u.cursor.left < 0) { tip.style.display = "none"; return; }
          tip.textContent = "";
          tip.append(el("div", { class: "tip-x" }, xValue(u, chart.x[i])));
          chart.series.forEach((s, k) => {
            const row = el("div", {});
            const sw = el("span", { class: "swatch" });
            sw.style.background = colors[k];
            row.append(sw, document.createTextNode(s.label + ": " + F.value(s.values[i], chart.unit)));
            tip.append(row);
          });
          if (chart.price) {
            tip.append(el("div", { class: "tip-price" }, chart.price.label + ": " + F.value(chart.price.values[i], "USD")));
          }
          tip.style.display = "block";
          const w = tip.offsetWidth, h = tip.offsetHeight;
          const left = u.cursor.left + 14 + w > u.over.clientWidth ? u.cursor.left - 14 - w : u.cursor.left + 14;
          tip.style.left = Math.max(0, left) + "px";
          tip.style.top = Math.max(0, Math.min(u.cursor.top + 14, u.over.clientHeight - h)) + "px";
        }],
      },
    };
  }

  // Ribbon signals: a triangle up (recovery, buy) or down (capitulation) with its word.
  function drawKindMarker(ctx, u, m, x, y, px) {
    const up = m.kind !== "capitulation";
    ctx.fillStyle = m.kind === "buy" ? "#15803d" : m.kind === "capitulation" ? (css("--alert") || "#b91c1c") : "#64748b";
    ctx.beginPath();
    const d = 6 * px, dir = up ? 1 : -1;
    ctx.moveTo(x, y + dir * 2 * px);
    ctx.lineTo(x - d, y + dir * (2 * px + 1.6 * d));
    ctx.lineTo(x + d, y + dir * (2 * px + 1.6 * d));
    ctx.fill();
    // Only the buy is written out: the crossings come in clusters and their words would overlap.
    if (m.kind === "buy") {
      ctx.textAlign = "center";
      ctx.fillText(m.label, x, y + dir * (2 * px + 1.6 * d + 12 * px));
    }
  }

  function csv(chart) {
    const head = [chart.x_kind === "time" ? (chart.x_step === "block" ? "time_utc" : "date") : (chart.x_label || "x")]
      .concat(chart.series.map((s) => s.metric + (chart.series.filter((t) => t.metric === s.metric).length > 1 ? " " + s.label : "")))
      .concat(chart.price ? ["price_usd"] : []);
    const quote = (t) => (/[",\n]/.test(t) ? '"' + t.replace(/"/g, '""') + '"' : t);
    const lines = [head.map(quote).join(",")];
    chart.x.forEach((x, i) => {
      const xs = chart.x_kind !== "time" ? (chart.x_labels ? chart.x_labels[i] : String(x))
        : new Date(x * 1000).toISOString().slice(0, chart.x_step === "block" ? 19 : 10);
      const vals = chart.series.map((s) => (s.values[i] === null ? "" : String(s.values[i])))
        .concat(chart.price ? [chart.price.values[i] === null ? "" : String(chart.price.values[i])] : []);
      lines.push([quote(xs)].concat(vals).join(","));
    });
    return lines.join("\n") + "\n";
  }

  function download(name, blob) {
    const a = el("a", { href: URL.createObjectURL(blob), download: name });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  // The chart as a picture: its title above the drawn canvas, on the card's colour.
  function png(chart, u, fig) {
    const px = devicePixelRatio, src = u.ctx.canvas, pad = 12 * px, titleH = 28 * px;
    const out = document.createElement("canvas");
    out.width = src.width + 2 * pad;
    out.height = src.height + titleH + 2 * pad;
    const ctx = out.getContext("2d");
    ctx.fillStyle = css("--card") || "#fff";
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.fillStyle = css("--fg") || "#1f2937";
    ctx.font = "600 " + 15 * px + "px sans-serif";
    ctx.fillText(chart.title, pad, pad + 16 * px);
    ctx.drawImage(src, pad, pad + titleH);
    out.toBlob((b) => download(fig.dataset.file + ".png", b), "image/png");
  }

  function logState() {
    return new Set((new URLSearchParams(location.search).get("log") || "").split(",").filter(Boolean));
  }
  function setLogState(ids) {
    const q = new URLSearchParams(location.search);
    if (ids.size) q.set("log", [...ids].join(",")); else q.delete("log");
    history.replaceState(null, "", "?" + q.toString());
    // The page's own links (intervals, choices) carry it too.
    for (const a of document.querySelectorAll(".intervals a, .choices a")) {
      const u = new URL(a.href);
      if (ids.size) u.searchParams.set("log", [...ids].join(",")); else u.searchParams.delete("log");
      a.href = u.search;
    }
  }

  function plot(chart, box, log) {
    const time = chart.x_kind === "time";
    const bars = chart.x_kind === "rank";
    const fg = css("--fg") || "#1f2937", grid = css("--grid") || "#e5e7eb";
    const perBlock = chart.x_step === "block";
    const xValue = time ? (u, v) => (perBlock ? F.dateTime(v) : F.date(v))
      : bars && chart.x_labels ? (u, v) => (v === null ? "–" : chart.x_labels[v - 1] || v)
        : (u, v) => F.value(v, chart.x_unit || "");
    const series = [{ label: perBlock ? "block time" : time ? "day" : (chart.x_label || "x"), value: xValue }];
    const colors = colorsFor(chart.series);
    // The first series is the page's headline definition: drawn last, so on top of the others
    // (uPlot draws in order); the legend is put back in the document's order below.
    const order = chart.series.map((s, i) => i).reverse();
    order.forEach((i) => {
      const s = chart.series[i];
      const band = /_(low|high)95$/.test(s.metric);
      series.push({
        label: s.label, stroke: band ? "#94a3b8" : colors[i], width: band ? 1 : (i === 0 ? 2.5 : 1.5),
        dash: band ? [4, 4] : undefined, spanGaps: false, points: { show: !time },
        paths: bars ? uPlot.paths.bars({ size: [0.6, 60] }) : undefined,
        fill: bars ? colors[i] + "99" : undefined, value: (u, v) => F.value(v, chart.unit),
      });
    });
    const axes = [perBlock ? blockAxis(fg, grid) : time ? dayAxis(fg, grid)
      : { stroke: fg, grid: { stroke: grid }, values: (u, vals) => vals.map((v) => F.value(v, chart.x_unit || "", true)) },
    valueAxis(chart.unit, fg, grid)];
    const data = [chart.x].concat(order.map((i) => chart.series[i].values));
    if (chart.price) {
      // The BTC price on its own axis at the right: what explains most of a USD series' moves.
      series.push({ label: chart.price.label, stroke: "#64748b", width: 1, dash: [3, 3], scale: "price",
        spanGaps: false, points: { show: false }, value: (u, v) => F.value(v, "USD") });
      axes.push(Object.assign(valueAxis("USD", fg, grid), { scale: "price", side: 1, grid: { show: false } }));
      data.push(chart.price.values);
    }
    const width = Math.max(200, box.clientWidth || 600);
    const opts = {
      width: width, height: heightFor(width), legend: { live: false },
      scales: { x: { time: time }, y: log ? { distr: 3 } : {} }, series: series, axes: axes,
      plugins: [overlay(chart), tooltip(chart, xValue, colors)],
      hooks: { drawAxes: [bands(chart)] },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    };
    if (!log && (chart.thresholds.length || chart.markers.length)) {
      const ys = chart.series.flatMap((s) => s.values).filter((v) => v !== null)
        .concat(chart.thresholds.map((t) => t.y), chart.markers.map((m) => m.y));
      const lo = Math.min(...ys), hi = Math.max(...ys), pad = (hi - lo) * 0.05 || 1;
      opts.scales.y = { range: [lo - pad, hi + pad] };
    }
    const u = new uPlot(opts, data, box);
    // The legend lists the x series too unless it is static; the series rows follow it.
    const all = [...box.querySelectorAll(".u-legend .u-series")];
    const skip = all.length === series.length ? 1 : 0;
    const rows = all.slice(skip, skip + chart.series.length);
    const after = rows.length ? rows[rows.length - 1].nextSibling : null;
    for (const row of rows.reverse()) row.parentNode.insertBefore(row, after);
    return u;
  }

  function draw(chart, parent) {
    const fig = el("figure", { class: "chart", "data-chart-id": chart.id });
    const points = chart.series.reduce((n, s) => n + s.values.filter((v) => v !== null).length, 0);
    fig.setAttribute("data-points", String(points));
    fig.setAttribute("data-x-points", String(chart.x.length));
    fig.dataset.file = "minerwatch-" + chart.id + "-" + (new URLSearchParams(location.search).get("interval") || "default");
    const head = el("div", { class: "chart-head" });
    head.append(el("figcaption", {}, chart.title));
    const tools = el("div", { class: "chart-tools" });
    head.append(tools);
    fig.append(head);
    const text = summary(chart);
    const sumId = "summary-" + chart.id;
    fig.append(el("p", { class: "summary", id: sumId }, text));
    fig.setAttribute("aria-describedby", sumId);
    const box = el("div", { class: "plot" });
    fig.append(box);
    parent.append(fig);
    const entry = [null, box];
    const logOn = () => logState().has(chart.id);
    entry[0] = plot(chart, box, chart.log_toggle && logOn());
    plots.push(entry);
    if (chart.log_toggle) {
      const b = el("button", { type: "button", class: "log", "aria-pressed": String(logOn()) }, "log scale");
      b.addEventListener("click", () => {
        const ids = logState();
        if (ids.has(chart.id)) ids.delete(chart.id); else ids.add(chart.id);
        setLogState(ids);
        b.setAttribute("aria-pressed", String(ids.has(chart.id)));
        entry[0].destroy();
        entry[0] = plot(chart, box, ids.has(chart.id));
      });
      tools.append(b);
    }
    const bCsv = el("button", { type: "button", class: "csv", title: "the chart's numbers as CSV" }, "CSV");
    bCsv.addEventListener("click", () => download(fig.dataset.file + ".csv", new Blob([csv(chart)], { type: "text/csv" })));
    const bPng = el("button", { type: "button", class: "png", title: "the chart as a PNG picture" }, "PNG");
    bPng.addEventListener("click", () => png(chart, entry[0], fig));
    tools.append(bCsv, bPng);
    const earlier = (chart.earlier_markers || []).map((m) => markerText(m, chart.unit) + ", before this interval.");
    const note = [chart.definition, chart.note].concat(earlier).filter(Boolean)
      .map((t) => t.charAt(0).toUpperCase() + t.slice(1))
      .map((t) => (/[.!?)]$/.test(t) ? t : t + ".")).join(" ");
    if (note) fig.append(el("p", { class: "note" }, note));
    return fig;
  }

  // Charts follow their container's width: a rotated phone, a resized window, a sidebar opened.
  const observer = new ResizeObserver(() => {
    for (const [u, box] of plots) {
      const w = Math.max(200, box.clientWidth);
      if (u && Math.abs(w - u.width) > 1) u.setSize({ width: w, height: heightFor(w) });
    }
  });

  function clear() {
    for (const [u] of plots) u.destroy();
    plots.length = 0;
  }

  return { draw, clear, summary, observe: (node) => observer.observe(node) };
})();
