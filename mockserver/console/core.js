// The nppa mock console, its shared part: labels in English and Chinese, building elements, calling the admin API,
// following the journal stream. Each view is its own file (exchanges.js, clock.js, testsystem.js, quotas.js,
// records.js, throughput.js), a function returning { id, label, root, opened?, onEntry?, onLagged?, shown?, hidden? };
// console.js lists them and starts the page.
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
    signDiagnosis: "Sign diagnosis (certify's ENV-SIGN)", probableMistake: "Probable mistake",
    expectedSign: "Expected sign", sentSign: "Sent sign", expectedSignString: "Expected sign string",
    clientSignString: "The client's probable sign string",
    unknownSignString: "(no known mistake explains the sign sent)",
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
    signDiagnosis: "签名诊断（certify 的 ENV-SIGN）", probableMistake: "可能的错误",
    expectedSign: "应有的签名", sentSign: "发送的签名", expectedSignString: "应有的待签名字符串",
    clientSignString: "客户端可能使用的待签名字符串",
    unknownSignString: "（已知的错误均无法解释所发送的签名）",
  },
};

let language = localStorage.getItem("nppa-console-language") === "zh" ? "zh" : "en";

/// A view's own labels, added to the shared ones.
function addLabels(labels) {
  for (const [lang, entries] of Object.entries(labels)) Object.assign(LABELS[lang], entries);
}

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

/// Sends a JSON body (or none) to an admin route; answers its JSON, or throws the admin API's refusal.
async function adminSend(method, path, body) {
  const init = { method, headers: adminHeaders({ Accept: "application/json" }), cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Refused(response.status, answer.error ?? response.statusText);
  return answer;
}

/// Runs `fetchState` when poked, at most once a second: a poke within a second of the last run is folded into one
/// run at the second's end. Nothing runs unless poked (a journal event, the user's action): no polling.
function throttled(fetchState) {
  let last = 0;
  let pending = null;
  const run = async () => {
    pending = null;
    last = Date.now();
    try {
      await fetchState();
    } catch (error) {
      problem(error.message);
    }
  };
  return () => {
    if (pending) return;
    const wait = last + 1000 - Date.now();
    if (wait <= 0) run();
    else pending = setTimeout(run, wait);
  };
}

/// A view's lifecycle when all it does on screen is `refresh`: refreshed when shown and on each journal event while
/// shown, never while hidden. Spread into the view: `{ id, label, root, ...whileShown(refresh) }`; `isShown()` tells
/// a view's own timers whether to run.
function whileShown(refresh) {
  let visible = false;
  return {
    isShown: () => visible,
    shown() {
      visible = true;
      refresh();
    },
    hidden() {
      visible = false;
    },
    onEntry() {
      if (visible) refresh();
    },
  };
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

/// A span of milliseconds as people say them: "30 s", "300 s", "48 h", "20 min", else "1 h 5 min 3 s".
function duration(ms) {
  if (ms > 0 && ms % 3600000 === 0) return `${ms / 3600000} h`;
  if (ms < 1000000) return `${Number((ms / 1000).toFixed(3))} s`;
  if (ms % 60000 === 0 && ms < 3600000) return `${ms / 60000} min`;
  const hours = Math.floor(ms / 3600000);
  const minutes = Math.floor((ms % 3600000) / 60000);
  return `${hours} h ${minutes} min ${Number(((ms % 60000) / 1000).toFixed(3))} s`;
}

/// A time from now: "+30 s", "−5 min", "0 s".
function signedDuration(ms) {
  return ms === 0 ? "0 s" : `${ms > 0 ? "+" : "−"}${duration(Math.abs(ms))}`;
}

/// The ai a check or query exchange is about: the check's decrypted plaintext, or the query's `ai` parameter.
function aiOf(entry) {
  if (entry.interface === "query") return new URLSearchParams(entry.query ?? "").get("ai");
  if (entry.interface !== "check" || !entry.plaintext) return null;
  try {
    const { ai } = JSON.parse(entry.plaintext);
    return typeof ai === "string" ? ai : null;
  } catch {
    return null;
  }
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

