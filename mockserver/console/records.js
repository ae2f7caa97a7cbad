// The Records view: an ai's life on the mock clock (checked and answered pending → resolved → deleted 300 s after
// the first final query, or expired 48 h after the check: R-PEND-1/3, R-QRY-2) beside the exchanges of that ai the
// table holds, and the live records per game against the 2002 cap. GET /__admin/records/{ai} and GET /__admin/records
// read the store without changing it (no query's countdown starts). Fetched on a search, when shown, and on journal
// events at most once a second while shown.
"use strict";

addLabels({
  en: {
    records: "Records", findAi: "Find an ai", find: "Find", aiHint: "the ai of a check",
    noRecord: "No live record: a query for this ai answers 2003 (it never pended, or it was deleted).",
    statusNow: "Status now", game: "Game (bizId)", owner: "Checked by (appId)", event: "Event", at: "Time (Beijing)",
    fromNow: "From now", checked: "Checked: answered 1, pending", resolves: "Resolves: a query answers",
    firstFinalQuery: "First query answering the final result", deletedAfterQuery: "Deleted (first final query +",
    expires: "Expires unless a final query comes first (check +", now: "Now (mock clock)",
    checkedNotHeld: "after the first final query the store keeps only the deletion time; the check's exchange is not in the table",
    exchangesOfAi: "Exchanges of this ai in the table", liveRecords: "Live records per game", gameName: "Name",
    live: "Live", cap: "Cap (then 2002)", recordOfAi: "Record of this ai", st0: "0 success", st1: "1 pending",
    st2: "2 failure",
  },
  zh: {
    records: "实名记录", findAi: "查找 ai", find: "查找", aiHint: "认证请求中的 ai",
    noRecord: "没有有效记录：查询该 ai 将返回 2003（从未处于认证中，或已被删除）。",
    statusNow: "当前状态", game: "游戏（bizId）", owner: "提交认证的企业（appId）", event: "事件", at: "时间（北京时间）",
    fromNow: "距现在", checked: "提交认证：返回 1，认证中", resolves: "得出结果：查询返回",
    firstFinalQuery: "首次查询到最终结果", deletedAfterQuery: "删除（首次查询到最终结果 +",
    expires: "过期，若此前无查询到最终结果（认证 +", now: "现在（模拟时钟）",
    checkedNotHeld: "首次查询到最终结果后，记录只保留删除时间；表格中已没有该认证请求",
    exchangesOfAi: "表格中该 ai 的请求", liveRecords: "各游戏的有效记录", gameName: "名称",
    live: "有效记录", cap: "上限（超出返回 2002）", recordOfAi: "查看该 ai 的记录", st0: "0 认证成功",
    st1: "1 认证中", st2: "2 认证失败",
  },
});

function recordsView({ showExchange, exchangesAbout }) {
  const input = el("input", { id: "record-ai", type: "search", maxlength: "64", "data-placeholder": "aiHint" });
  input.placeholder = t("aiHint");
  const form = el("form", { id: "record-find", class: "row" },
    el("label", {}, el("span", {}, "ai"), input), labelled("button", "find", { type: "submit" }));
  const found = el("div", { id: "record" });
  const countsBody = el("tbody");
  const counts = el("table", { id: "record-counts" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "bizId"), labelled("th", "gameName", { scope: "col" }),
      labelled("th", "live", { scope: "col" }), labelled("th", "cap", { scope: "col" }))),
    countsBody);
  let ai = "";

  function exchangeLink(entry) {
    const link = el("button", { type: "button", class: "link", "data-exchange": entry.id }, `#${entry.id}`);
    link.addEventListener("click", () => showExchange(entry.id));
    return link;
  }

  /// One line of the timeline: what, when (Beijing, and from now on the mock clock), and its exchange if held.
  function event(name, what, at, now, extra = []) {
    const past = at !== undefined && at <= now;
    return el("tr", { "data-event": name, "data-at": at, "data-when": at === undefined ? "unknown" : past ? "past" : "future" },
      el("td", {}, ...what), el("td", { class: "mono" }, at === undefined ? "—" : beijingTime(at)),
      el("td", { class: "num mono" }, at === undefined ? "" : signedDuration(at - now)), el("td", {}, ...extra));
  }

  const arrival = (entry) => entry.arrived_ms || entry.time_ms;

  /// The status an exchange's answer gave (`data.result.status`), if it gave one.
  function answered(entry) {
    try {
      return JSON.parse(entry.answer).data?.result?.status;
    } catch {
      return undefined;
    }
  }

  function record(view, now, all) {
    // This record's exchanges: its game's, and the check that pended at its time (an ai may be checked again once
    // its record is gone).
    const exchanges = all.filter((e) => header(e, "bizid") === view.biz_id);
    const pended = exchanges.filter((e) => e.interface === "check" && e.errcode === 0 && answered(e) === 1);
    const check = view.checked_ms === undefined
      ? pended.findLast((e) => arrival(e) <= view.first_final_query_ms)
      : pended.find((e) => arrival(e) === view.checked_ms);
    const checkedAt = view.checked_ms ?? (check ? arrival(check) : undefined);
    const rows = [
      event("checked", [labelled("span", "checked")], checkedAt, now,
        check ? [exchangeLink(check)] : view.checked_ms === undefined ? [labelled("span", "checkedNotHeld", { class: "muted" })] : []),
      event("resolves", [labelled("span", "resolves"), " ", labelled("span", `st${view.resolves_to}`)], view.resolves_at_ms, now),
    ];
    if (view.first_final_query_ms !== undefined) {
      const query = exchanges.find((e) => e.interface === "query" && arrival(e) === view.first_final_query_ms);
      rows.push(event("first-final-query", [labelled("span", "firstFinalQuery")], view.first_final_query_ms, now,
        query ? [exchangeLink(query)] : []));
    }
    const [endKey, from] = view.deleted_by === "final_query"
      ? ["deletedAfterQuery", view.first_final_query_ms]
      : ["expires", view.checked_ms];
    rows.push(event("deleted", [labelled("span", endKey), ` ${duration(view.deleted_at_ms - from)})`], view.deleted_at_ms, now));
    // The mock clock's now among the events, in time order.
    const time = (row) => (row.dataset.at === undefined ? -Infinity : Number(row.dataset.at));
    rows.sort((a, b) => time(a) - time(b));
    const nowRow = el("tr", { class: "now", "data-event": "now" }, labelled("td", "now"),
      el("td", { class: "mono" }, beijingTime(now)), el("td", {}), el("td", {}));
    const later = rows.findIndex((row) => row.dataset.when === "future");
    rows.splice(later < 0 ? rows.length : later, 0, nowRow);
    return el("section", { class: "panel record", "data-biz-id": view.biz_id, "data-status": view.status },
      el("dl", { class: "facts" },
        labelled("dt", "statusNow"), labelled("dd", `st${view.status}`, { "data-part": "status", class: "big" }),
        labelled("dt", "game"), el("dd", { class: "mono" }, view.biz_id),
        labelled("dt", "owner"), el("dd", { class: "mono" }, view.app_id)),
      el("table", { class: "timeline" },
        el("thead", {}, el("tr", {}, labelled("th", "event", { scope: "col" }), labelled("th", "at", { scope: "col" }),
          labelled("th", "fromNow", { scope: "col" }), el("th", { scope: "col" }))),
        el("tbody", {}, ...rows)));
  }

  function showRecords(answer) {
    const exchanges = exchangesAbout(answer.ai);
    const parts = answer.records.map((view) => record(view, answer.now_ms, exchanges));
    if (!answer.records.length) parts.push(labelled("p", "noRecord", { id: "record-none" }));
    if (exchanges.length) {
      parts.push(el("p", { id: "record-exchanges" }, labelled("span", "exchangesOfAi"), ": ",
        ...exchanges.flatMap((e) => [exchangeLink(e), ` ${e.interface} `])));
    }
    found.replaceChildren(el("h2", { class: "mono" }, `ai ${answer.ai}`), ...parts);
  }

  function showCounts(answer) {
    countsBody.replaceChildren(...answer.games.map((game) => el("tr", { "data-biz-id": game.biz_id },
      el("td", { class: "mono" }, game.biz_id), el("td", {}, game.name),
      el("td", { class: "num", "data-part": "live" }, String(game.live)), el("td", { class: "num" }, String(answer.cap)))));
  }

  const refresh = throttled(async () => {
    showCounts(await adminJson("/__admin/records"));
    if (ai) showRecords(await adminJson(`/__admin/records/${encodeURIComponent(ai)}`));
    problem(null);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ai = input.value.trim();
    refresh();
  });

  return {
    id: "records",
    label: "records",
    root: el("div", { class: "panels main-first" },
      el("section", { class: "panel" }, labelled("h2", "findAi"), form, found),
      el("section", { class: "panel" }, labelled("h2", "liveRecords"), counts)),
    ...whileShown(refresh),
    /// Shows the record of `wanted` (another view's link to an ai).
    find(wanted) {
      input.value = wanted;
      ai = wanted;
    },
  };
}
