// Numbers and dates as the field writes them: 153.1 T (difficulty), 1.07 ZH/s, $34.49/PH/day,
// 0.000415 BTC/PH/day, 4.1 %, 20 Apr 2024. The one formatter of the dashboard: figures, tables,
// axes, legends, tooltips and the charts' text alternatives all call it, keyed by the registry's unit.
"use strict";
const mwFormat = (function () {
  const HASH = [[1e21, "ZH/s"], [1e18, "EH/s"], [1e15, "PH/s"], [1e12, "TH/s"], [1e9, "GH/s"], [1e6, "MH/s"],
    [1e3, "kH/s"], [1, "H/s"]];
  const SI = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  // Difficulty is written with the prefix alone ("153.1 T"), up to exa for the years to come.
  const DIFF = [[1e18, "E"], [1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  const MONEY = [[1e12, "T"], [1e9, "B"], [1e6, "M"]];
  const MINUS = "\u2212";

  // `digits` significant digits, thousands separators, never e-notation (integers keep every digit).
  function sig(v, digits) {
    if (v === 0) return "0";
    const frac = Math.max(0, Math.min(12, digits - 1 - Math.floor(Math.log10(Math.abs(v)))));
    return sign(v) + Math.abs(v).toLocaleString("en-US", { maximumFractionDigits: frac });
  }
  function fixed(v, frac) {
    return sign(v) + Math.abs(v).toLocaleString("en-US", { minimumFractionDigits: frac, maximumFractionDigits: frac });
  }
  function sign(v) { return v < 0 ? MINUS : ""; }

  // The largest prefix not above |v|, the mantissa to `digits` significant digits.
  function scaled(v, table, digits, space) {
    const a = Math.abs(v);
    for (const [f, s] of table) {
      if (a >= f) return sig(v / f, digits) + space + s;
    }
    return sig(v, digits) + (table === HASH ? " H/s" : "");
  }

  function usd(v, compact) {
    const a = Math.abs(v);
    if (a >= 1e6) return sign(v) + "$" + scaled(a, MONEY, compact ? 3 : 4, " ");
    if (compact && a >= 1e4) return sign(v) + "$" + scaled(a, SI, 3, "");
    if (compact) return sign(v) + "$" + (a >= 100 ? fixed(a, 0) : sig(a, 3));
    return sign(v) + "$" + (a >= 100 ? fixed(a, 0) : fixed(a, 2));
  }

  // `v` in `unit` (the metric registry's unit) as text; compact = shorter, for axis ticks.
  function value(v, unit, compact) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    if (typeof v !== "number") return String(v);
    const a = Math.abs(v);
    switch (unit) {
      case "EH/s": return scaled(v * 1e18, HASH, 3, " ");
      case "difficulty": return scaled(v, DIFF, compact ? 3 : 4, " ");
      case "USD": return usd(v, compact);
      case "USD/PH/day": return sign(v) + "$" + (compact ? sig(a, 3) : fixed(a, 2) + "/PH/day");
      case "USD/TH/day": return sign(v) + "$" + sig(a, 3) + (compact ? "" : "/TH/day");
      case "USD/kWh": return sign(v) + "$" + sig(a, 3) + (compact ? "" : "/kWh");
      case "BTC/PH/day": return sig(v, 3) + (compact ? "" : " BTC/PH/day");
      case "sat/TH/day": return sig(v, 3) + (compact ? "" : " sat/TH/day");
      case "BTC": return (compact ? (a >= 1e3 ? scaled(v, SI, 3, "") : sig(v, 3)) : a >= 1e3 ? fixed(v, 0)
        : a >= 1 ? fixed(v, 2) : sig(v, 3)) + (compact ? "" : " BTC");
      case "%": return (a !== 0 && a < 1 ? sig(v, 2) : fixed(v, 1)) + " %";
      case "z": return (v > 0 ? "+" : "") + sig(v, 3) + (compact ? "" : " σ");
      case "ratio": return a >= 1000 ? scaled(v, SI, 3, "") : sig(v, 3);
      case "s": return a >= 120 ? Math.floor(a / 60) + " min " + Math.round(a % 60) + " s" : sig(v, 3) + " s";
      case "count": case "": case undefined: return compact ? scaled(v, SI, 3, "") : plain(v);
      default: return (compact ? scaled(v, SI, 3, "") : plain(v)) + (compact ? "" : " " + unit);
    }
  }

  // A number without a unit (a table cell): integers with separators, others to four significant digits.
  function plain(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v !== "number") return String(v);
    if (Number.isInteger(v)) return sign(v) + Math.abs(v).toLocaleString("en-US");
    return Math.abs(v) >= 1e4 ? fixed(v, 0) : sig(v, 4);
  }

  // A signed change in percent: "+4.1 %", "−0.3 %".
  function change(pct) {
    if (pct === null || pct === undefined) return "–";
    return (pct > 0 ? "+" : "") + fixed(pct, 1) + " %";
  }

  // Days are UTC days: a daily point is a date, never a time of day.
  function date(unixS) {
    if (unixS === null || unixS === undefined) return "–";
    return new Date(unixS * 1000).toLocaleDateString("en-GB",
      { timeZone: "UTC", day: "numeric", month: "short", year: "numeric" });
  }
  function dateShort(unixS, withYear) {
    const opts = withYear ? { month: "short", year: "numeric" } : { day: "numeric", month: "short" };
    return new Date(unixS * 1000).toLocaleDateString("en-GB", Object.assign({ timeZone: "UTC" }, opts));
  }
  // A block's header time: "17 Aug 2024 14:20 UTC"; on an axis "14:20".
  function dateTime(unixS) {
    if (unixS === null || unixS === undefined) return "–";
    return date(unixS) + " " + clock(unixS) + " UTC";
  }
  function clock(unixS) {
    return new Date(unixS * 1000).toLocaleTimeString("en-GB", { timeZone: "UTC", hour: "2-digit", minute: "2-digit" });
  }
  function isoDate(iso) {
    return iso ? date(Date.parse(iso + "T00:00:00Z") / 1000) : "–";
  }

  return { value, plain, change, date, dateShort, dateTime, clock, isoDate, sig };
})();
