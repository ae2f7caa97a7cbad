// The Quotas view: per (appId, bizId, interface) the requests in the current second of the mock clock against the
// limit (R-RL-1), and the countdown of a 1006 block (R-RL-2). Fetched when shown and on journal events at most once a
// second while shown; between fetches the countdown follows the mock clock locally (it stands still while frozen).
"use strict";

addLabels({
  en: {
    quotas: "Quotas", thisSecond: "This second", limit: "Limit", block: "1006 block", unlimited: "unlimited",
    blockedFor: "blocked,", left: "s left", notBlocked: "—", full: "full", clockFrozen: "the mock clock is frozen",
    noBindings: "No game is bound to an enterprise.",
  },
  zh: {
    quotas: "配额", thisSecond: "本秒请求数", limit: "上限", block: "1006 限流", unlimited: "不限",
    blockedFor: "限流中，剩余", left: "秒", notBlocked: "—", full: "已满", clockFrozen: "模拟时钟已冻结",
    noBindings: "没有游戏绑定到企业。",
  },
});

function quotasView() {
  const body = el("tbody");
  const note = el("p", { id: "quotas-clock", class: "muted" });
  const table = el("table", { id: "quotas" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "appId"), el("th", { scope: "col" }, "bizId"),
      labelled("th", "interface", { scope: "col" }), labelled("th", "thisSecond", { scope: "col" }),
      labelled("th", "limit", { scope: "col" }), labelled("th", "block", { scope: "col" }))),
    body);
  let state = null;
  let fetchedAt = 0;

  /// The mock clock now, as far as the page knows: the answer's time, moved on by real time unless frozen.
  function mockNow() {
    return state.frozen ? state.now_ms : state.now_ms + (Date.now() - fetchedAt);
  }

  function tick() {
    if (!state) return;
    const now = mockNow();
    const sameSecond = Math.floor(now / 1000) === Math.floor(state.now_ms / 1000);
    for (const [index, cell] of state.cells.entries()) {
      const row = body.rows[index];
      if (!row) continue;
      const count = sameSecond ? cell.count : 0;
      const full = cell.limit !== undefined && count >= cell.limit;
      const meter = row.querySelector("meter");
      meter.value = cell.limit ? Math.min(count, cell.limit) : 0;
      row.querySelector("[data-part='count']").textContent = `${count}${full ? ` (${t("full")})` : ""}`;
      row.dataset.full = String(full);
      const left = cell.blocked_until_ms === undefined ? 0 : Math.max(0, cell.blocked_until_ms - now);
      const block = row.querySelector("[data-part='block']");
      row.dataset.blocked = String(left > 0);
      block.className = left > 0 ? "refused" : "";
      block.replaceChildren(...(left > 0
        ? [labelled("span", "blockedFor"), ` ${Math.ceil(left / 1000)} `, labelled("span", "left")]
        : [t("notBlocked")]));
    }
  }
  setInterval(() => state && !state.frozen && lifecycle.isShown() && tick(), 250);

  function show(answer) {
    state = answer;
    fetchedAt = Date.now();
    body.replaceChildren(...answer.cells.map((cell) => el("tr",
      { "data-app-id": cell.app_id, "data-biz-id": cell.biz_id, "data-interface": cell.interface },
      el("td", { class: "mono" }, cell.app_id), el("td", { class: "mono" }, cell.biz_id), el("td", {}, cell.interface),
      el("td", { class: "num" }, el("span", { "data-part": "count" }), " ",
        el("meter", { min: "0", max: String(cell.limit ?? 1), high: String((cell.limit ?? 1) * 0.8) })),
      el("td", { class: "num" }, cell.limit === undefined ? t("unlimited") : String(cell.limit)),
      el("td", { "data-part": "block" }))));
    if (!answer.cells.length) body.append(el("tr", {}, labelled("td", "noBindings", { colspan: "6" })));
    note.replaceChildren(`${beijingTime(answer.now_ms)}`, ...(answer.frozen ? [" · ", labelled("span", "clockFrozen")] : []));
    tick();
    problem(null);
  }
  const refresh = throttled(async () => show(await adminJson("/__admin/quotas")));
  const lifecycle = whileShown(refresh);

  return {
    id: "quotas",
    label: "quotas",
    root: el("div", {}, note, el("div", { class: "table-box" }, table)),
    ...lifecycle,
  };
}
