// Draws a page from its JSON twin (the same document /<page>.json serves) with uPlot.
"use strict";
(function () {
  const root = document.getElementById("page");
  if (!root) return;
  const COLORS = ["#f7931a", "#2f6fdf", "#2a9d5b", "#c2410c", "#7c3aed", "#0891b2", "#be185d", "#4b5563"];

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  const F = mwFormat;

  function figures(doc) {
    if (!doc.figures.length) return;
    const box = el("section", { class: "figures" });
    for (const f of doc.figures) {
      const card = el("div", { class: "figure" });
      // The metric id is in the tooltip for those who take it to the API or the CLI.
      card.append(el("div", f.metric ? { class: "label", title: f.metric } : { class: "label" }, f.label));
      card.append(el("div", { class: "value" }, f.value === null ? f.unit : F.value(f.value, f.unit)));
      const note = [f.date ? "as of " + F.isoDate(f.date) : "", f.note].filter(Boolean).join(" · ");
      if (note) card.append(el("div", { class: "note" }, note));
      box.append(card);
    }
    root.append(box);
  }

  // Markers (record lows) and horizontal threshold lines, drawn on top of the series.
  function overlay(chart) {
    return {
      hooks: {
        draw: [(u) => {
          const ctx = u.ctx;
          ctx.save();
          ctx.font = 12 * devicePixelRatio + "px sans-serif";
          for (const t of chart.thresholds) {
            const y = u.valToPos(t.y, "y", true);
            ctx.strokeStyle = "#b91c1c";
            ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
            ctx.beginPath();
            ctx.moveTo(u.bbox.left, y);
            ctx.lineTo(u.bbox.left + u.bbox.width, y);
            ctx.stroke();
            ctx.fillStyle = "#b91c1c";
            ctx.textAlign = "right";
            ctx.fillText(t.label, u.bbox.left + u.bbox.width - 4, y - 4);
            ctx.textAlign = "left";
          }
          ctx.setLineDash([]);
          for (const m of chart.markers) {
            const x = u.valToPos(m.x, "x", true), y = u.valToPos(m.y, "y", true);
            ctx.fillStyle = "#b91c1c";
            ctx.beginPath();
            ctx.arc(x, y, 5 * devicePixelRatio, 0, 2 * Math.PI);
            ctx.fill();
            const text = markerText(m, chart.unit);
            ctx.textAlign = x > u.bbox.left + u.bbox.width / 2 ? "right" : "left";
            ctx.fillText(text, x + (ctx.textAlign === "right" ? -8 : 8) * devicePixelRatio, y + 16 * devicePixelRatio);
            ctx.textAlign = "left";
          }
          ctx.restore();
        }],
      },
    };
  }

  function markerText(m, unit) {
    return m.label + " " + F.value(m.y, unit) + (m.day ? " (" + F.isoDate(m.day) + ")" : "");
  }

  // Daily x axes: ticks on whole days and written as dates (never "12:00am").
  const DAY_S = 86400;
  const DAY_INCRS = [1, 2, 3, 7, 14, 28, 61, 91, 182, 365, 730, 1461].map((d) => d * DAY_S);
  function dayAxis() {
    return {
      incrs: DAY_INCRS, space: 70,
      values: (u, splits) => {
        const span = u.scales.x.max - u.scales.x.min;
        return splits.map((v) => F.dateShort(v, span > 200 * DAY_S));
      },
    };
  }
  function valueAxis(unit) {
    return {
      values: (u, vals) => vals.map((v) => F.value(v, unit, true)),
      // Room for the longest tick label (12 px sans-serif: ~7.5 px a character) plus tick and gap.
      size: (u, values) => (values && values.length ? Math.max(40, 22 + 7.5 * Math.max(...values.map((t) => t.length))) : 50),
    };
  }

  function drawChart(chart) {
    const fig = el("figure", { class: "chart", "data-chart-id": chart.id });
    const points = chart.series.reduce((n, s) => n + s.values.filter((v) => v !== null).length, 0);
    fig.setAttribute("data-points", String(points));
    fig.append(el("figcaption", {}, chart.title));
    root.append(fig);
    const time = chart.x_kind === "time";
    const bars = chart.x_kind === "rank";
    const xValue = time ? (u, v) => F.date(v)
      : bars && chart.x_labels ? (u, v) => (v === null ? "–" : chart.x_labels[v - 1] || v)
        : (u, v) => F.value(v, chart.x_unit || "");
    const series = [{ label: time ? "day" : (chart.x_label || "x"), value: xValue }];
    chart.series.forEach((s, i) => {
      const band = /_(low|high)95$/.test(s.metric);
      series.push({
        label: s.label, stroke: band ? "#9ca3af" : COLORS[i % COLORS.length], width: band ? 1 : 2,
        dash: band ? [4, 4] : undefined, spanGaps: false, points: { show: !time },
        paths: bars ? uPlot.paths.bars({ size: [0.6, 60] }) : undefined,
        fill: bars ? COLORS[0] + "99" : undefined, value: (u, v) => F.value(v, chart.unit),
      });
    });
    const opts = {
      width: Math.max(320, Math.min(root.clientWidth || 900, 1100)), height: 300,
      scales: { x: { time: time } }, series: series, plugins: [overlay(chart)],
      axes: [time ? dayAxis() : { values: (u, vals) => vals.map((v) => F.value(v, chart.x_unit || "", true)) },
        valueAxis(chart.unit)],
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    };
    if (chart.thresholds.length || chart.markers.length) {
      const ys = chart.series.flatMap((s) => s.values).filter((v) => v !== null)
        .concat(chart.thresholds.map((t) => t.y), chart.markers.map((m) => m.y));
      const lo = Math.min(...ys), hi = Math.max(...ys), pad = (hi - lo) * 0.05 || 1;
      opts.scales.y = { range: [lo - pad, hi + pad] };
    }
    new uPlot(opts, [chart.x].concat(chart.series.map((s) => s.values)), fig);
    const earlier = (chart.earlier_markers || []).map((m) => markerText(m, chart.unit) + ", before this interval.");
    const note = [chart.definition, chart.note].concat(earlier).filter(Boolean).join(" ");
    if (note) fig.append(el("p", { class: "note" }, note));
  }

  function table(t) {
    const sec = el("section", { class: "table", "data-table-id": t.id });
    sec.append(el("h2", {}, t.title));
    const tab = el("table");
    const head = el("tr");
    t.columns.forEach((c) => head.append(el("th", {}, c)));
    tab.append(head);
    t.rows.forEach((row, r) => {
      const tr = el("tr");
      row.forEach((v, i) => {
        const td = el("td", {});
        const link = t.links && t.links[t.columns[i]];
        // A link's target may be an id (a metric) while the cell shows its name.
        const key = t.link_keys ? t.link_keys[r] : v;
        if (link) td.append(el("a", { href: link + encodeURIComponent(key), title: key }, v));
        else td.textContent = t.units && t.units[i] ? F.value(v, t.units[i]) : F.plain(v);
        if (t.signed && typeof v === "number") td.className = v < 0 ? "neg" : "pos";
        tr.append(td);
      });
      tab.append(tr);
    });
    sec.append(tab);
    root.append(sec);
  }

  // Links that change one page parameter (estimator, cohort) and keep the others.
  function choices(doc) {
    for (const c of doc.choices || []) {
      const nav = el("nav", { class: "choices", "aria-label": c.label });
      nav.append(el("span", { class: "label" }, c.label + ": "));
      c.options.forEach((o, i) => {
        const q = new URLSearchParams(location.search);
        q.set(c.param, o);
        const a = el("a", { href: "?" + q.toString(), title: o }, c.option_labels ? c.option_labels[i] : o);
        if (o === c.current) a.setAttribute("aria-current", "true");
        nav.append(a);
      });
      root.append(nav);
    }
  }

  // A small GET form for free-valued parameters (a date, a threshold), keeping the others.
  function inputs(doc) {
    if (!doc.inputs || !doc.inputs.length) return;
    const form = el("form", { class: "inputs", method: "get" });
    const q = new URLSearchParams(location.search);
    const own = new Set(doc.inputs.map((i) => i.param));
    for (const [k, v] of q) if (!own.has(k)) form.append(el("input", { type: "hidden", name: k, value: v }));
    for (const i of doc.inputs) {
      const label = el("label", {}, i.label + " ");
      label.append(el("input", { type: i.type, name: i.param, value: q.get(i.param) || i.value, step: "any" }));
      form.append(label);
    }
    form.append(el("button", { type: "submit" }, "apply"));
    root.append(form);
  }

  function render(doc) {
    root.textContent = "";
    choices(doc);
    inputs(doc);
    figures(doc);
    doc.charts.forEach(drawChart);
    doc.tables.forEach(table);
    for (const n of doc.notes) root.append(el("p", { class: "note" }, n));
    if (doc.missing.length) {
      root.append(el("p", { class: "missing" },
        "Not computed in this database yet: " + (doc.missing_words || doc.missing).join(", ") +
        ". Run `minerwatch sync` to compute them."));
    }
    if (!doc.figures.length && !doc.charts.length && !doc.tables.length) {
      root.append(el("p", { class: "empty" }, "Nothing to show here yet — run `minerwatch sync`."));
    }
  }

  function load() {
    return fetch(root.dataset.json, { credentials: "same-origin" })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
      .then(({ ok, body }) => {
        if (!ok) {
          root.textContent = "";
          root.append(el("p", { class: "error" }, body.error + (body.hint ? " — " + body.hint : "")));
          return null;
        }
        render(body);
        return body.tip ? body.tip.height : null;
      });
  }

  // While `minerwatch sync --follow` adds blocks, redraw when the stored tip moves (a block is
  // ~10 minutes; looking every 30 s costs one tiny cached request).
  let shown = null;
  load().then((h) => { shown = h; });
  setInterval(() => {
    fetch("/api/blocks/tip/height", { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : null))
      .then((t) => {
        const h = t === null ? null : Number(t);
        if (h !== null && shown !== null && h !== shown) load().then((n) => { shown = n; });
      })
      .catch(() => {});
  }, 30000);
})();
