// Draws a page from its JSON twin (the same document /<page>.json serves); charts by chart.js.
"use strict";
(function () {
  const root = document.getElementById("page");
  if (!root) return;

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
      const range = f.low !== undefined && f.low !== null
        ? "95 % interval " + F.value(f.low, f.unit) + " to " + F.value(f.high, f.unit) : "";
      const change = f.change_30d_pct !== undefined && f.change_30d_pct !== null ? F.change(f.change_30d_pct) + " over 30 days" : "";
      const note = [f.date ? "as of " + F.isoDate(f.date) : "", range, [change, f.note].filter(Boolean).join(", ")]
        .filter(Boolean).join(" · ");
      if (note) card.append(el("div", { class: "note" }, note));
      box.append(card);
    }
    root.append(box);
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
        else if (v !== null && typeof v === "object") td.textContent = F.value(v.low, v.unit) + " to " + F.value(v.high, v.unit);
        else if (t.units && t.units[i] === "time") td.textContent = F.dateTime(v);
        else td.textContent = t.units && t.units[i] ? F.value(v, t.units[i]) : F.plain(v);
        if (t.signed && typeof v === "number") td.className = v < 0 ? "neg" : "pos";
        tr.append(td);
      });
      tab.append(tr);
    });
    // A wide table scrolls inside its own box (keyboard users reach it: it is focusable).
    const scroll = el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": t.title });
    scroll.append(tab);
    sec.append(scroll);
    root.append(sec);
  }

  // The next difficulty adjustment and the next halving, as mempool.space's widget shows them.
  function retargetCard(c) {
    const card = el("section", { class: "card retarget", "data-card-id": c.id, "aria-labelledby": "card-" + c.id });
    card.append(el("h2", { id: "card-" + c.id, title: c.metric }, c.title));
    const bar = el("div", { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
      "aria-valuenow": c.progress_pct.toFixed(1), "aria-label": "epoch progress" });
    const fill = el("div", { class: "fill" });
    fill.style.width = Math.min(100, c.progress_pct) + "%";
    bar.append(fill);
    card.append(bar);
    card.append(el("p", { class: "progress-text" }, F.plain(c.blocks_in_epoch) + " of " + F.plain(c.epoch_blocks) +
      " blocks (" + F.value(c.progress_pct, "%") + ")"));
    const days = (c.estimated_time_s - c.tip_time_s) / 86400;
    const interval = c.change_low_pct === null ? "" : " (95 %: " + F.change(c.change_low_pct) + " to " + F.change(c.change_high_pct) + ")";
    const rows = [
      ["expected change", c.change_pct === null ? "–" : F.change(c.change_pct) + interval],
      ["estimated", F.dateTime(c.estimated_time_s) + (days >= 0 ? ", in " + F.sig(days, 2) + " days" : "")],
      ["blocks left", F.plain(c.remaining_blocks) + " (retarget at height " + F.plain(c.next_retarget_height) + ")"],
      ["previous adjustment", F.change(c.previous_change_pct)],
      ["mean block time", F.value(c.mean_block_time_s, "s")],
      ["next halving", "height " + F.plain(c.halving.height) + ", " + F.plain(c.halving.blocks_remaining) +
        " blocks, around " + F.date(c.halving.estimated_time_s) + "; subsidy " + F.sig(c.halving.subsidy_btc_now, 8) +
        " → " + F.sig(c.halving.subsidy_btc_after, 8) + " BTC"],
    ];
    const dl = el("dl");
    for (const [k, v] of rows) {
      dl.append(el("dt", {}, k), el("dd", { "data-field": k.replace(/ /g, "-") }, v));
    }
    card.append(dl);
    root.append(card);
  }

  // One machine at the reader's site, at today's hashprice: what the press and the miners ask.
  function calculatorCard(c) {
    const card = el("section", { class: "card calculator", "data-card-id": c.id, "aria-labelledby": "card-" + c.id });
    card.append(el("h2", { id: "card-" + c.id }, c.title));
    const loss = c.margin_usd_per_ph_day < 0;
    const rows = [
      ["hashprice", F.value(c.hashprice_usd_per_ph_day, "USD/PH/day") + " (" + F.isoDate(c.market_date) + ")"],
      ["breakeven hashprice", F.value(c.breakeven_hashprice_usd_per_ph_day, "USD/PH/day")],
      ["margin", F.value(c.margin_usd_per_ph_day, "USD/PH/day") + (c.margin_pct === null ? "" : " (" + F.change(c.margin_pct) + " of revenue)")],
      ["energy cost", F.value(c.energy_cost_usd_per_ph_day, "USD/PH/day")],
      ["breakeven power price", F.value(c.breakeven_power_usd_per_kwh, "USD/kWh")],
      ["cost per BTC (energy)", c.cost_per_btc_usd === null ? "– (no BTC price that day)" : F.value(c.cost_per_btc_usd, "USD")],
    ];
    const dl = el("dl");
    for (const [k, v] of rows) dl.append(el("dt", {}, k), el("dd", { "data-field": k.replace(/[ ()]+/g, "-").replace(/-$/, "") }, v));
    card.append(dl);
    card.append(el("p", { class: loss ? "verdict neg" : "verdict pos" }, loss ? "Loses money at today's hashprice." : "Earns more than its power costs at today's hashprice."));
    root.append(card);
  }

  // Pool shares as labelled horizontal bars: names readable without hovering, each a link to its page.
  function shareBars(c) {
    const fig = el("figure", { class: "bars", "data-card-id": c.id });
    fig.append(el("figcaption", {}, c.title));
    const list = el("ol", { class: "bar-list" });
    const max = Math.max(...c.rows.map((r) => r.share_pct), 1);
    for (const r of c.rows) {
      const li = el("li", {});
      const name = r.slug === "unknown" ? el("span", { class: "name" }, r.name)
        : el("a", { class: "name", href: "/pools/" + encodeURIComponent(r.slug) }, r.name);
      const bar = el("span", { class: "bar", "aria-hidden": "true" });
      bar.style.width = (r.share_pct / max) * 100 + "%";
      const track = el("span", { class: "track" });
      track.append(bar);
      li.append(name, track, el("span", { class: "share" }, F.value(r.share_pct, "%") + " · " + F.plain(r.blocks) + " blocks"));
      list.append(li);
    }
    fig.append(list);
    if (c.rest_pct > 0) fig.append(el("p", { class: "note" }, "Other pools: " + F.value(c.rest_pct, "%") + "."));
    root.append(fig);
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
      if (i.type === "select") {
        const sel = el("select", { name: i.param });
        for (const o of i.options) {
          const opt = el("option", { value: o.value }, o.label);
          if (o.value === (q.get(i.param) || i.value)) opt.selected = true;
          sel.append(opt);
        }
        label.append(sel);
      } else {
        const attrs = { type: i.type, name: i.param, value: q.get(i.param) || i.value, step: "any" };
        if (i.placeholder) attrs.placeholder = i.placeholder;     // the value used while the field is empty
        label.append(el("input", attrs));
      }
      form.append(label);
    }
    form.append(el("button", { type: "submit" }, "apply"));
    root.append(form);
  }

  let lastDoc = null;
  function render(doc) {
    lastDoc = doc;
    mwChart.clear();
    root.textContent = "";
    choices(doc);
    inputs(doc);
    figures(doc);
    for (const c of doc.cards || []) {
      if (c.id === "retarget") retargetCard(c);
      if (c.id === "pool-shares") shareBars(c);
      if (c.id === "calculator") calculatorCard(c);
    }
    doc.charts.forEach((c) => mwChart.draw(c, root));
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

  // Moving to another page keeps the window: the header's links carry the interval in use.
  function carryInterval() {
    const interval = new URLSearchParams(location.search).get("interval");
    if (!interval) return;
    for (const a of document.querySelectorAll("header nav a")) {
      const u = new URL(a.href);
      if (u.origin !== location.origin || u.pathname === "/docs") continue;
      u.searchParams.set("interval", interval);
      a.href = u.pathname + u.search;
    }
  }
  carryInterval();

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

  mwChart.observe(root);
  // Canvas colours come from the CSS: redraw when the system switches between light and dark.
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => { if (lastDoc) render(lastDoc); });

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
