// The nppa mock console: views over the admin API. Each view is an object { id, label, mount(root) } in VIEWS;
// a later view (quotas, records, test system, clock and faults, throughput) is one more entry there.
// Everything is built with textContent, never innerHTML: journal entries hold whatever clients sent.
"use strict";

const LABELS = {
  en: {
    title: "nppa mock console", language: "中文", exchanges: "Exchanges",
    connecting: "connecting…", live: "live", down: "disconnected",
    time: "Time (Beijing, mock clock)", interface: "Interface", path: "Path", caller: "appId / bizId",
    result: "errcode / errmsg", latency: "Latency", fault: "Fault",
    all: "all", other: "other", search: "Search", searchHint: "ai, name, path, cause…",
    shown: "shown", of: "of",
    request: "Request", arrived: "Arrived", peer: "Peer", httpStatus: "HTTP status", signOk: "Signature",
    refusal: "Refused", rule: "Rule", cause: "Cause", headers: "Headers", rawBody: "Raw body",
    plaintext: "Decrypted plaintext", answer: "Answer", none: "(none)", close: "Close",
    lagged: "the stream missed entries (a slow reader):", streamEnded: "the stream ended",
  },
  zh: {
    title: "nppa 模拟服务控制台", language: "English", exchanges: "请求记录",
    connecting: "连接中…", live: "实时", down: "已断开",
    time: "时间（北京时间，模拟时钟）", interface: "接口", path: "路径", caller: "appId / bizId",
    result: "errcode / errmsg", latency: "耗时", fault: "故障注入",
    all: "全部", other: "其他", search: "搜索", searchHint: "ai、姓名、路径、原因…",
    shown: "显示", of: "共",
    request: "请求", arrived: "到达时间", peer: "来源地址", httpStatus: "HTTP 状态", signOk: "签名",
    refusal: "拒绝", rule: "规则", cause: "原因", headers: "请求头", rawBody: "原始请求体",
    plaintext: "解密后的明文", answer: "应答", none: "（无）", close: "关闭",
    lagged: "实时流遗漏了记录（读取过慢）：", streamEnded: "实时流已结束",
  },
};

let language = localStorage.getItem("nppa-console-language") === "zh" ? "zh" : "en";

function t(key) {
  return LABELS[language][key] ?? LABELS.en[key] ?? key;
}

/// An element whose text is labelled by `key`, so that the language toggle relabels it.
function labelled(tag, key, attrs = {}) {
  const node = el(tag, attrs, t(key));
  node.dataset.label = key;
  return node;
}

function relabel() {
  document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-label]")) node.textContent = t(node.dataset.label);
  for (const node of document.querySelectorAll("[data-placeholder]")) node.placeholder = t(node.dataset.placeholder);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

// The admin token, when the mock has one: given once as #token=… (a fragment never reaches a server or a log),
// kept for this tab only and sent as the header the admin API accepts.
const token = (() => {
  const given = new URLSearchParams(location.hash.slice(1)).get("token");
  if (given) {
    sessionStorage.setItem("nppa-admin-token", given);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem("nppa-admin-token");
})();

function adminHeaders(extra = {}) {
  return token ? { ...extra, "X-Nppa-Admin-Token": token } : extra;
}

class Refused extends Error {
  constructor(status, reason) {
    super(`HTTP ${status}: ${reason}`);
    this.status = status;
  }
}

async function adminJson(path) {
  const response = await fetch(path, { headers: adminHeaders({ Accept: "application/json" }), cache: "no-store" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Refused(response.status, body.error ?? response.statusText);
  return body;
}

function problem(message) {
  const box = document.getElementById("problem");
  box.textContent = message ?? "";
  box.hidden = !message;
}

function streamState(state) {
  const node = document.getElementById("stream-state");
  node.dataset.state = state;
  node.dataset.label = state === "live" ? "live" : state === "down" ? "down" : "connecting";
  node.textContent = t(node.dataset.label);
}

/// Follows GET /__admin/journal/stream as server-sent events, read through fetch (EventSource cannot send the token
/// header). `opened` runs on each connection, before its first event; reconnects after a pause, not when refused.
async function follow(opened, onLine) {
  for (;;) {
    try {
      const response = await fetch("/__admin/journal/stream", {
        headers: adminHeaders({ Accept: "text/event-stream" }),
        cache: "no-store",
      });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        throw new Refused(response.status, body.error ?? response.statusText);
      }
      await opened();
      streamState("live");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart());
          if (data.length) onLine(JSON.parse(data.join("\n")));
        }
      }
      problem(t("streamEnded"));
    } catch (error) {
      problem(error.message);
      streamState("down");
      if (error instanceof Refused && error.status < 500) return;
    }
    streamState("down");
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/// The journal's most recent `limit` entries, oldest first (the journal pages from the oldest: ask from the end).
async function recentEntries(limit) {
  const { stats } = await adminJson("/__admin/journal?limit=0");
  const afterId = Math.max(0, stats.recorded - limit);
  return (await adminJson(`/__admin/journal?after_id=${afterId}&limit=${limit}`)).entries;
}

function beijingTime(ms) {
  return new Date(ms + 8 * 3600 * 1000).toISOString().replace("T", " ").slice(0, 23);
}

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function header(entry, name) {
  return entry.headers.find(([n]) => n.toLowerCase() === name)?.[1];
}

/// The Exchanges view: every request the mock answered, live, and one opened in full.
function exchangesView(codes) {
  const MAX_ROWS = 2000;
  const entries = new Map();
  let selected = null;

  const interfaceFilter = el("select", { id: "filter-interface" });
  interfaceFilter.append(labelled("option", "all", { value: "" }));
  for (const name of ["check", "query", "loginout"]) interfaceFilter.append(el("option", { value: name }, name));
  interfaceFilter.append(labelled("option", "other", { value: "-" }));
  const errcodeFilter = el("select", { id: "filter-errcode" });
  errcodeFilter.append(labelled("option", "all", { value: "" }));
  for (const [code, errmsg] of codes) errcodeFilter.append(el("option", { value: code }, `${code} ${errmsg}`));
  const textFilter = el("input", { id: "filter-text", type: "search", "data-placeholder": "searchHint" });
  textFilter.placeholder = t("searchHint");
  const count = el("span", { id: "count" });

  const filters = el("div", { class: "filters" },
    el("label", {}, labelled("span", "interface"), interfaceFilter),
    el("label", {}, el("span", {}, "errcode"), errcodeFilter),
    el("label", {}, labelled("span", "search"), textFilter),
    count);
  const columns = ["time", "interface", "path", "caller", "result", "latency", "fault"];
  const body = el("tbody");
  const table = el("table", { id: "exchanges" },
    el("thead", {}, el("tr", {}, ...columns.map((key) => labelled("th", key, { scope: "col" })))), body);
  const detail = el("section", { id: "detail", "aria-live": "polite", hidden: "" });
  const split = el("div", { class: "split closed" }, el("div", { class: "table-box" }, table), detail);

  function matches(entry) {
    const wanted = interfaceFilter.value;
    if (wanted && (wanted === "-" ? entry.interface : entry.interface !== wanted)) return false;
    if (errcodeFilter.value && String(entry.errcode) !== errcodeFilter.value) return false;
    const text = textFilter.value.trim().toLowerCase();
    if (!text) return true;
    const haystack = [entry.path, entry.query, entry.plaintext, entry.body, entry.rule, entry.cause, entry.fault,
      entry.answer, ...entry.headers.map(([, v]) => v)];
    return haystack.some((part) => part && part.toLowerCase().includes(text));
  }

  function refilter() {
    let shown = 0;
    for (const row of body.rows) {
      row.hidden = !matches(entries.get(Number(row.dataset.id)));
      if (!row.hidden) shown += 1;
    }
    count.replaceChildren(`${shown} `, labelled("span", "shown"), ` / ${body.rows.length}`);
  }

  function resultText(entry) {
    if (entry.errcode === undefined || entry.errcode === null) {
      return entry.connection_reset ? `HTTP ${entry.http_status} (reset)` : `HTTP ${entry.http_status}`;
    }
    return `${entry.errcode} ${codes.get(entry.errcode) ?? ""}`.trim();
  }

  function row(entry) {
    const caller = [header(entry, "appid"), header(entry, "bizid")].filter(Boolean).join(" / ");
    const target = entry.path + (entry.query ? `?${entry.query}` : "");
    const result = el("td", { class: `result ${entry.errcode === 0 ? "passed" : "refused"}` }, resultText(entry));
    const tr = el("tr", { tabindex: "0", "data-id": entry.id, "aria-selected": "false" },
      el("td", { class: "mono" }, beijingTime(entry.arrived_ms || entry.time_ms)),
      el("td", {}, entry.interface ?? "—"),
      el("td", { class: "mono cut", title: target }, target),
      el("td", { class: "mono cut", title: caller }, caller || "—"),
      result,
      el("td", { class: "num" }, `${(entry.latency_us / 1000).toFixed(1)} ms`),
      el("td", {}, entry.fault ?? ""));
    tr.hidden = !matches(entry);
    return tr;
  }

  function add(entry) {
    if (entries.has(entry.id)) return;
    entries.set(entry.id, entry);
    const tr = row(entry);
    // Newest first; the first page and the stream may interleave, so place by id.
    const after = [...body.rows].find((r) => Number(r.dataset.id) < entry.id);
    body.insertBefore(tr, after ?? null);
    while (body.rows.length > MAX_ROWS) {
      const oldest = body.rows[body.rows.length - 1];
      entries.delete(Number(oldest.dataset.id));
      oldest.remove();
    }
    refilter();
  }

  function part(key, text, name) {
    return [labelled("h3", key), el("pre", { "data-part": name }, text)];
  }

  function open(tr) {
    const entry = entries.get(Number(tr.dataset.id));
    if (!entry) return;
    selected?.setAttribute("aria-selected", "false");
    selected = tr;
    tr.setAttribute("aria-selected", "true");
    const facts = el("dl", {},
      labelled("dt", "arrived"), el("dd", {}, beijingTime(entry.arrived_ms || entry.time_ms)),
      labelled("dt", "peer"), el("dd", {}, entry.peer),
      labelled("dt", "httpStatus"), el("dd", {}, entry.http_status),
      el("dt", {}, "errcode"), el("dd", {}, resultText(entry)),
      labelled("dt", "signOk"), el("dd", {}, entry.sign_ok === undefined ? "—" : String(entry.sign_ok)),
      labelled("dt", "latency"), el("dd", {}, `${(entry.latency_us / 1000).toFixed(3)} ms`));
    if (entry.fault) facts.append(labelled("dt", "fault"), el("dd", {}, entry.fault));
    const closer = labelled("button", "close", { type: "button" });
    closer.addEventListener("click", () => close());
    const parts = [
      el("h2", {}, `#${entry.id} ${entry.method} ${entry.path}${entry.query ? `?${entry.query}` : ""} `, closer),
      facts,
    ];
    if (entry.rule || entry.cause) {
      parts.push(el("div", { class: "refusal", "data-part": "refusal" },
        labelled("h3", "refusal"),
        el("dl", {},
          labelled("dt", "rule"), el("dd", { "data-part": "rule" }, entry.rule ?? "—"),
          labelled("dt", "cause"), el("dd", { "data-part": "cause" }, entry.cause ?? "—"))));
    }
    const headers = el("dl", { "data-part": "headers" });
    for (const [name, value] of entry.headers) headers.append(el("dt", {}, name), el("dd", {}, value));
    parts.push(labelled("h3", "headers"), headers);
    const raw = entry.body ?? (entry.body_base64 ? `base64: ${entry.body_base64}` : entry.raw ?? t("none"));
    parts.push(...part("rawBody", raw, "body"));
    parts.push(...part("plaintext", entry.plaintext ? pretty(entry.plaintext) : t("none"), "plaintext"));
    parts.push(...part("answer", entry.answer ? pretty(entry.answer) : t("none"), "answer"));
    detail.replaceChildren(...parts);
    detail.hidden = false;
    split.classList.remove("closed");
  }

  function close() {
    detail.hidden = true;
    split.classList.add("closed");
    selected?.setAttribute("aria-selected", "false");
    selected?.focus();
    selected = null;
  }

  body.addEventListener("click", (event) => {
    const tr = event.target.closest("tr");
    if (tr) open(tr);
  });
  // Keyboard: Enter or Space opens the focused row, the arrows move between shown rows, Escape closes.
  body.addEventListener("keydown", (event) => {
    const tr = event.target.closest("tr");
    if (!tr) return;
    const step = { ArrowDown: "nextElementSibling", ArrowUp: "previousElementSibling" }[event.key];
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      open(tr);
    } else if (step) {
      event.preventDefault();
      let next = tr[step];
      while (next && next.hidden) next = next[step];
      next?.focus();
    } else if (event.key === "Escape") {
      close();
    }
  });
  for (const input of [interfaceFilter, errcodeFilter]) input.addEventListener("change", refilter);
  textFilter.addEventListener("input", refilter);

  return {
    id: "exchanges",
    label: "exchanges",
    root: el("div", {}, filters, split),
    start() {
      follow(async () => {
        for (const entry of await recentEntries(500)) add(entry);
        problem(null);
      }, (line) => {
        if (line.id !== undefined) add(line);
        else if (line.lagged !== undefined) problem(`${t("lagged")} ${line.lagged}`);
      });
    },
  };
}

async function main() {
  relabel();
  streamState("connecting");
  document.getElementById("language").addEventListener("click", () => {
    language = language === "en" ? "zh" : "en";
    localStorage.setItem("nppa-console-language", language);
    relabel();
  });
  let codes;
  try {
    codes = new Map((await adminJson("/__admin/console/codes.json")).codes.map((c) => [c.code, c.errmsg]));
  } catch (error) {
    problem(error.message);
    streamState("down");
    return;
  }
  const views = [exchangesView(codes)];
  const nav = document.getElementById("views");
  const main = document.getElementById("view");
  function show(view) {
    for (const button of nav.children) {
      if (button.dataset.view === view.id) button.setAttribute("aria-current", "page");
      else button.removeAttribute("aria-current");
    }
    main.replaceChildren(view.root);
  }
  for (const view of views) {
    const button = labelled("button", view.label, { type: "button", "data-view": view.id });
    button.addEventListener("click", () => show(view));
    nav.append(button);
    view.start();
  }
  show(views[0]);
}

main();
