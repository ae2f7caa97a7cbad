// The Throughput view: requests per second and latency percentiles (p50, p99) over the last minutes, as a small SVG
// chart and a table per interface. Counted here, from the journal stream the page already follows: no endpoint, no
// fetch, nothing on the mock's request path. So it counts what this page saw arrive since it opened (in real seconds:
// the mock clock may be frozen or jump), and says how many entries the stream missed when the page fell behind.
"use strict";

addLabels({
  en: {
    throughput: "Throughput", window: "Over the last", minute1: "1 minute", minute5: "5 minutes",
    minute15: "15 minutes", counted: "Requests", perSecond: "Per second (mean)", peak: "Peak second", p50: "p50",
    p99: "p99", missed: "Missed by the stream (page fell behind)", since: "Counted from the journal stream since this page opened at",
    rpsChart: "Requests per second", latencyChart: "Latency per second (ms): p50 and p99", total: "all",
    noTraffic: "No request yet in this window.", rightNow: "now",
  },
  zh: {
    throughput: "吞吐量", window: "统计最近", minute1: "1 分钟", minute5: "5 分钟", minute15: "15 分钟",
    counted: "请求数", perSecond: "每秒（平均）", peak: "峰值（每秒）", p50: "p50", p99: "p99",
    missed: "实时流遗漏（页面读取过慢）", since: "自本页面打开起，按请求日志实时流统计；打开时间",
    rpsChart: "每秒请求数", latencyChart: "每秒耗时（毫秒）：p50 与 p99", total: "全部",
    noTraffic: "该时间段内尚无请求。", rightNow: "现在",
  },
});

/// The value at quantile `q` of sorted `values` (nearest rank), or undefined when empty.
function quantile(sorted, q) {
  return sorted.length ? sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] : undefined;
}

function throughputView() {
  const KEEP_S = 15 * 60;
  const openedAt = Date.now();
  // Real seconds (Unix) → the latencies (µs) of each interface's requests answered in that second.
  const seconds = new Map();
  let missed = 0;

  const windowSelect = el("select", { id: "throughput-window" },
    labelled("option", "minute1", { value: "60" }), labelled("option", "minute5", { value: "300", selected: "" }),
    labelled("option", "minute15", { value: "900" }));
  const summary = el("p", { class: "muted" });
  const body = el("tbody");
  const table = el("table", { id: "throughput" },
    el("thead", {}, el("tr", {}, labelled("th", "interface", { scope: "col" }),
      ...["counted", "perSecond", "peak", "p50", "p99"].map((key) => labelled("th", key, { scope: "col" })))),
    body);
  const charts = el("div", { class: "charts" });

  function count(entry) {
    const second = Math.floor(Date.now() / 1000);
    let bucket = seconds.get(second);
    if (!bucket) seconds.set(second, (bucket = new Map()));
    const name = entry.interface ?? "other";
    if (!bucket.has(name)) bucket.set(name, []);
    bucket.get(name).push(entry.latency_us);
    for (const old of seconds.keys()) {
      if (old > second - KEEP_S) break;
      seconds.delete(old);
    }
  }

  /// The window's seconds, oldest first, each with its latencies per interface (an empty Map for a quiet second),
  /// and how many of them the page was open for (the mean per second is over those).
  function windowSeconds() {
    const length = Number(windowSelect.value);
    const last = Math.floor(Date.now() / 1000);
    const list = [];
    for (let s = last - length + 1; s <= last; s += 1) list.push([s, seconds.get(s) ?? new Map()]);
    return [list, Math.min(length, last - Math.floor(openedAt / 1000) + 1)];
  }

  function stats(latencies, secondsCount, perSecond) {
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      count: sorted.length,
      rate: secondsCount ? sorted.length / secondsCount : 0,
      peak: Math.max(0, ...perSecond),
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
    };
  }

  const ms = (us) => (us === undefined ? "—" : `${(us / 1000).toFixed(1)} ms`);

  function row(name, label, s) {
    return el("tr", { "data-interface": name },
      label, el("td", { class: "num", "data-part": "count" }, String(s.count)),
      el("td", { class: "num", "data-part": "rate" }, s.rate.toFixed(2)),
      el("td", { class: "num", "data-part": "peak" }, String(s.peak)),
      el("td", { class: "num", "data-part": "p50" }, ms(s.p50)), el("td", { class: "num", "data-part": "p99" }, ms(s.p99)));
  }

  function draw() {
    const [list, open] = windowSeconds();
    const names = [...new Set(list.flatMap(([, bucket]) => [...bucket.keys()]))].sort();
    const rows = names.map((name) => {
      const latencies = list.flatMap(([, bucket]) => bucket.get(name) ?? []);
      const perSecond = list.map(([, bucket]) => (bucket.get(name) ?? []).length);
      return row(name, el("td", {}, name), stats(latencies, open, perSecond));
    });
    const all = list.map(([, bucket]) => [...bucket.values()].flat());
    const total = stats(all.flat(), open, all.map((l) => l.length));
    rows.push(row("all", labelled("td", "total"), total));
    body.replaceChildren(...rows);
    if (!total.count) body.append(el("tr", {}, labelled("td", "noTraffic", { colspan: "6" })));
    summary.replaceChildren(labelled("span", "since"), ` ${new Date(openedAt).toLocaleTimeString()}`,
      ...(missed ? [" · ", labelled("span", "missed"), `: ${missed}`] : []));
    summary.dataset.missed = String(missed);
    const perSecond = all.map((latencies) => latencies.length);
    const percentiles = all.map((latencies) => {
      const sorted = [...latencies].sort((a, b) => a - b);
      return [quantile(sorted, 0.5), quantile(sorted, 0.99)].map((us) => (us === undefined ? undefined : us / 1000));
    });
    charts.replaceChildren(
      chart("rpsChart", [{ values: perSecond, kind: "bars", css: "rps" }]),
      chart("latencyChart", [
        { values: percentiles.map(([p50]) => p50), kind: "line", css: "p50" },
        { values: percentiles.map(([, p99]) => p99), kind: "line", css: "p99" },
      ]));
  }

  /// A small SVG chart of one value per second (bars, or lines that skip quiet seconds), with its scale's top.
  function chart(titleKey, series) {
    const [width, height, pad] = [600, 120, 2];
    const svgNs = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(svgNs, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", t(titleKey));
    const shape = (tag, attrs) => {
      const node = document.createElementNS(svgNs, tag);
      for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
      svg.append(node);
    };
    const top = Math.max(1, ...series.flatMap((s) => s.values.filter((v) => v !== undefined)));
    const n = Math.max(1, series[0].values.length);
    const x = (i) => (i / n) * width;
    const y = (v) => height - pad - (v / top) * (height - 2 * pad);
    shape("line", { x1: 0, x2: width, y1: height - pad, y2: height - pad, class: "axis" });
    for (const s of series) {
      if (s.kind === "bars") {
        s.values.forEach((v, i) => {
          if (v) shape("rect", { x: x(i), y: y(v), width: (width / n) * 0.8, height: height - pad - y(v), class: s.css });
        });
      } else {
        // Steps: each second's value across its slot, one polyline per run of seconds that had requests.
        let run = [];
        const flush = () => {
          if (run.length) shape("polyline", { points: run.map((p) => p.join(",")).join(" "), class: s.css });
          run = [];
        };
        s.values.forEach((v, i) => (v === undefined ? flush() : run.push([x(i), y(v)], [x(i + 1), y(v)])));
        flush();
      }
    }
    const scale = top >= 10 ? String(Math.round(top)) : String(Number(top.toFixed(2)));
    const legend = series.length > 1 ? series.flatMap((s) => [" ", el("span", { class: `key ${s.css}` }, s.css)]) : [];
    const axis = el("div", { class: "chart-axis muted" }, el("span", {}, `−${n / 60} min`),
      labelled("span", "rightNow"));
    return el("figure", { class: "chart", "data-chart": titleKey },
      el("figcaption", {}, labelled("span", titleKey), ` · max ${scale}`, ...legend), svg, axis);
  }

  windowSelect.addEventListener("change", draw);
  let visible = false;
  let ticker = null;

  return {
    id: "throughput",
    label: "throughput",
    root: el("div", {},
      el("div", { class: "filters" }, el("label", {}, labelled("span", "window"), windowSelect), summary),
      el("div", { class: "panels main-first" }, el("section", { class: "panel" }, charts),
        el("section", { class: "panel" }, el("div", { class: "table-box" }, table)))),
    shown() {
      visible = true;
      draw();
      // Redrawn each second while shown, from what the page holds: no request to the mock.
      ticker = setInterval(draw, 1000);
    },
    hidden() {
      visible = false;
      clearInterval(ticker);
    },
    onEntry(entry) {
      count(entry);
    },
    onLagged(n) {
      missed += n;
      if (visible) draw();
    },
  };
}
