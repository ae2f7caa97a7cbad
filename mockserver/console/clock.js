// The Clock and faults view: the mock clock (advance, set, freeze), the fault rules (list, add, remove), and reset.
// State is fetched when the view is shown, after each action, and on journal events at most once a second; the
// clock's face ticks locally between fetches.
"use strict";

addLabels({
  en: {
    clockFaults: "Clock & faults", clock: "Mock clock", frozen: "frozen", running: "running",
    inOutage: "in the 00:00–04:00 outage (R-PEND-2)", offset: "mock clock − real time:",
    advanceBy: "Advance by", advance: "Advance", seconds: "seconds", minutes: "minutes", hours: "hours",
    days: "days", setTo: "Set to (Beijing)", set: "Set", freeze: "Freeze", unfreeze: "Unfreeze",
    reset: "Reset all state", resetHint: "records, quotas, test cases, journal",
    resetDone: "Reset: records, quotas, test cases and the journal were dropped.",
    faults: "Fault rules", noFaults: "No fault rules.", addFault: "Add a fault rule", add: "Add",
    action: "Action", delayOnly: "delay only", filters: "Matches", hits: "Hits", remove: "Remove",
    anyInterface: "any interface", anySystem: "production and test", testOnly: "test system only",
    productionOnly: "production only", probability: "Probability", count: "At most", delayMs: "Delay (ms)",
    removeAll: "Remove all", badTime: "not a time as YYYY-MM-DD HH:MM:SS (Beijing)",
  },
  zh: {
    clockFaults: "时钟与故障", clock: "模拟时钟", frozen: "已冻结", running: "运行中",
    inOutage: "处于 00:00–04:00 维护时段（R-PEND-2）", offset: "模拟时钟 − 真实时间：",
    advanceBy: "前进", advance: "前进", seconds: "秒", minutes: "分钟", hours: "小时", days: "天",
    setTo: "设为（北京时间）", set: "设置", freeze: "冻结", unfreeze: "解冻",
    reset: "重置全部状态", resetHint: "记录、配额、测试用例、请求日志",
    resetDone: "已重置：记录、配额、测试用例与请求日志均已清空。",
    faults: "故障规则", noFaults: "没有故障规则。", addFault: "添加故障规则", add: "添加",
    action: "动作", delayOnly: "仅延迟", filters: "匹配条件", hits: "命中", remove: "删除",
    anyInterface: "任意接口", anySystem: "生产与测试", testOnly: "仅测试系统", productionOnly: "仅生产",
    probability: "概率", count: "最多", delayMs: "延迟（毫秒）", removeAll: "全部删除",
    badTime: "不是 YYYY-MM-DD HH:MM:SS 格式的时间（北京时间）",
  },
});

/// A signed span of milliseconds as days, hours, minutes and seconds ("-3 d 2 h 0 min 5.0 s").
function span(ms) {
  const sign = ms < 0 ? "-" : "+";
  let rest = Math.abs(ms) / 1000;
  const parts = [];
  for (const [unit, seconds] of [["d", 86400], ["h", 3600], ["min", 60]]) {
    if (rest >= seconds || parts.length) parts.push(`${Math.floor(rest / seconds)} ${unit}`);
    rest %= seconds;
  }
  parts.push(`${rest.toFixed(1)} s`);
  return `${sign}${parts.join(" ")}`;
}

function clockView({ codes, journalCleared }) {
  let clock = null;
  let fetchedAt = 0;

  // The clock's face.
  const now = el("div", { id: "clock-now", class: "big mono" }, "—");
  const state = el("div", { id: "clock-state" });
  function face() {
    if (!clock) return;
    const ms = clock.frozen ? clock.now_ms : clock.now_ms + (Date.now() - fetchedAt);
    now.textContent = beijingTime(ms);
  }
  setInterval(() => clock && !clock.frozen && face(), 250);
  function showClock(answer) {
    clock = answer;
    fetchedAt = Date.now();
    face();
    freeze.dataset.label = clock.frozen ? "unfreeze" : "freeze";
    freeze.textContent = t(freeze.dataset.label);
    const words = [labelled("span", clock.frozen ? "frozen" : "running")];
    words.push(" · ", labelled("span", "offset"), ` ${span(clock.offset_from_wall_ms)}`);
    if (clock.in_mps_outage) words.push(" · ", labelled("span", "inOutage"));
    state.replaceChildren(...words);
    state.dataset.frozen = String(clock.frozen);
  }
  async function change(body) {
    showClock(await adminSend("POST", "/__admin/clock", body));
    problem(null);
  }
  const act = (work) => (event) => {
    event.preventDefault();
    work().catch((error) => problem(error.message));
  };

  const amount = el("input", { id: "clock-advance-amount", type: "number", min: "1", value: "1", required: "" });
  const unit = el("select", { id: "clock-advance-unit" });
  for (const [key, ms] of [["seconds", 1000], ["minutes", 60000], ["hours", 3600000], ["days", 86400000]]) {
    unit.append(labelled("option", key, { value: ms }));
  }
  unit.value = "60000";
  const advanceForm = el("form", { id: "clock-advance-form" },
    el("label", {}, labelled("span", "advanceBy"), amount, unit),
    labelled("button", "advance", { type: "submit", id: "clock-advance" }));
  advanceForm.addEventListener("submit", act(() =>
    change({ advance_ms: Math.round(Number(amount.value) * Number(unit.value)) })));

  // Beijing time as the page prints it (a text field: typed the same way in every browser and locale).
  const when = el("input", { id: "clock-set-value", type: "text", required: "", placeholder: "2026-01-15 12:00:00",
    pattern: "\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?", size: "23" });
  const setForm = el("form", { id: "clock-set-form" },
    el("label", {}, labelled("span", "setTo"), when), labelled("button", "set", { type: "submit", id: "clock-set" }));
  // The field reads Beijing time: UTC+8 whatever the browser's zone.
  setForm.addEventListener("submit", act(() => {
    const text = when.value.trim().replace(" ", "T");
    const ms = Date.parse(`${text}${text.length === 16 ? ":00" : ""}+08:00`);
    if (Number.isNaN(ms)) return Promise.reject(new Error(`${when.value}: ${t("badTime")}`));
    return change({ set_ms: ms });
  }));

  const freeze = labelled("button", "freeze", { type: "button", id: "clock-freeze" });
  freeze.addEventListener("click", act(() => change({ freeze: !clock?.frozen })));
  const reset = labelled("button", "reset", { type: "button", id: "reset" });
  reset.addEventListener("click", act(async () => {
    await adminSend("POST", "/__admin/reset");
    journalCleared();
    problem(null);
    notice.hidden = false;
    refresh();
  }));
  const notice = labelled("p", "resetDone", { id: "reset-done", role: "status", hidden: "" });

  const clockPanel = el("section", { class: "panel", "aria-labelledby": "clock-title" },
    labelled("h2", "clock", { id: "clock-title" }), now, state, advanceForm, setForm,
    el("div", { class: "row" }, freeze),
    el("div", { class: "row" }, reset, labelled("span", "resetHint", { class: "muted" })), notice);

  // The fault rules.
  const rules = el("tbody");
  const faultTable = el("table", { id: "faults" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "#"), labelled("th", "action", { scope: "col" }),
      labelled("th", "filters", { scope: "col" }), labelled("th", "hits", { scope: "col" }), el("th", {}))),
    rules);
  const none = labelled("p", "noFaults", { id: "no-faults" });
  function actionText(rule) {
    const action = rule.action;
    const value = (v) => (Array.isArray(v) ? v.join("+") : v);
    const words = action
      ? [action.kind, ...Object.entries(action).filter(([k]) => k !== "kind").map(([, v]) => value(v))]
      : [t("delayOnly")];
    if (action?.kind === "status") words[1] = `${action.errcode} ${codes.get(action.errcode) ?? ""}`.trim();
    if (rule.delay_ms) words.push(`+${rule.delay_ms} ms`);
    return words.join(" ");
  }
  function filterText(rule) {
    const parts = [];
    for (const key of ["interface", "app_id", "biz_id"]) if (rule[key]) parts.push(`${key}=${rule[key]}`);
    if (rule.test_system !== null && rule.test_system !== undefined) parts.push(`test_system=${rule.test_system}`);
    if (rule.probability !== 1) parts.push(`p=${rule.probability}`);
    if (rule.count !== null && rule.count !== undefined) parts.push(`count≤${rule.count}`);
    if (rule.from_ms) parts.push(`from ${beijingTime(rule.from_ms)}`);
    if (rule.until_ms) parts.push(`until ${beijingTime(rule.until_ms)}`);
    return parts.join(", ") || "*";
  }
  function showFaults(list) {
    rules.replaceChildren(...list.rules.map((rule) => {
      const remove = labelled("button", "remove", { type: "button", "data-remove": rule.id });
      remove.addEventListener("click", act(async () => {
        showFaults(await adminSend("DELETE", `/__admin/faults/${rule.id}`));
        problem(null);
      }));
      return el("tr", { "data-rule": rule.id }, el("td", {}, rule.id), el("td", { class: "mono" }, actionText(rule)),
        el("td", { class: "mono" }, filterText(rule)), el("td", { class: "num" }, rule.hits), el("td", {}, remove));
    }));
    faultTable.hidden = list.rules.length === 0;
    none.hidden = list.rules.length > 0;
  }

  // The form: its actions and their fields from faults.json (the mock's description of every kind).
  const kind = el("select", { id: "fault-kind" }, labelled("option", "delayOnly", { value: "" }));
  const actionFields = el("span", { id: "fault-fields", class: "row" });
  let actions = [];
  function fieldInput(field) {
    const id = `fault-${field.name}`;
    const attrs = { id, name: field.name, required: field.required ? "" : undefined };
    let input;
    if (field.input.type === "errcode") {
      input = el("select", attrs);
      for (const [code, errmsg] of codes) if (code !== 0) input.append(el("option", { value: code }, `${code} ${errmsg}`));
    } else if (field.input.type === "choice" || field.input.type === "choices") {
      const several = field.input.type === "choices" ? { multiple: "", size: "4" } : {};
      input = el("select", { ...attrs, ...several }, ...field.input.choices.map((c) => el("option", { value: c }, c)));
    } else if (field.input.type === "number") {
      input = el("input", { ...attrs, type: "number", min: field.input.min, max: field.input.max });
    } else {
      input = el("input", { ...attrs, type: "text" });
    }
    input.dataset.input = field.input.type;
    return el("label", {}, el("span", {}, field.name), input);
  }
  kind.addEventListener("change", () => {
    const action = actions.find((a) => a.kind === kind.value);
    actionFields.replaceChildren(...(action?.fields ?? []).map(fieldInput));
  });
  const iface = el("select", { id: "fault-interface" }, labelled("option", "anyInterface", { value: "" }),
    ...["check", "query", "loginout"].map((name) => el("option", { value: name }, name)));
  const system = el("select", { id: "fault-test-system" }, labelled("option", "anySystem", { value: "" }),
    labelled("option", "testOnly", { value: "true" }), labelled("option", "productionOnly", { value: "false" }));
  const number = (id, attrs = {}) => el("input", { id, type: "number", min: "0", ...attrs });
  const probability = number("fault-probability", { max: "1", step: "0.01", value: "1" });
  const count = number("fault-count");
  const delay = number("fault-delay");
  const appId = el("input", { id: "fault-app-id", type: "text", placeholder: "appId" });
  const bizId = el("input", { id: "fault-biz-id", type: "text", placeholder: "bizId" });
  const addForm = el("form", { id: "fault-form" },
    el("label", {}, labelled("span", "action"), kind), actionFields,
    el("label", {}, labelled("span", "interface"), iface), system, appId, bizId,
    el("label", {}, labelled("span", "probability"), probability),
    el("label", {}, labelled("span", "count"), count),
    el("label", {}, labelled("span", "delayMs"), delay),
    labelled("button", "add", { type: "submit", id: "fault-add" }));
  addForm.addEventListener("submit", act(async () => {
    const rule = { probability: Number(probability.value || 1) };
    if (kind.value) {
      rule.action = { kind: kind.value };
      for (const input of actionFields.querySelectorAll("[name]")) {
        if (input.dataset.input === "choices") {
          rule.action[input.name] = [...input.selectedOptions].map((option) => option.value);
          continue;
        }
        if (input.value === "") continue;
        const numeric = input.dataset.input === "errcode" || input.dataset.input === "number";
        rule.action[input.name] = numeric ? Number(input.value) : input.value;
      }
    }
    if (iface.value) rule.interface = iface.value;
    if (system.value) rule.test_system = system.value === "true";
    if (appId.value) rule.app_id = appId.value;
    if (bizId.value) rule.biz_id = bizId.value;
    if (count.value) rule.count = Number(count.value);
    if (delay.value) rule.delay_ms = Number(delay.value);
    showFaults((await adminSend("POST", "/__admin/faults", rule)).faults);
    problem(null);
  }));
  const removeAll = labelled("button", "removeAll", { type: "button", id: "faults-clear" });
  removeAll.addEventListener("click", act(async () => showFaults(await adminSend("DELETE", "/__admin/faults"))));

  const faultPanel = el("section", { class: "panel", "aria-labelledby": "faults-title" },
    labelled("h2", "faults", { id: "faults-title" }), none, faultTable, el("div", { class: "row" }, removeAll),
    labelled("h2", "addFault"), addForm);

  async function fetchState() {
    const [answer, list] = await Promise.all([adminJson("/__admin/clock"), adminJson("/__admin/faults")]);
    showClock(answer);
    showFaults(list);
  }
  const refresh = throttled(fetchState);

  return {
    id: "clock",
    label: "clockFaults",
    root: el("div", { class: "panels" }, clockPanel, faultPanel),
    async opened() {
      if (!actions.length) {
        actions = (await adminJson("/__admin/console/faults.json")).actions;
        kind.append(...actions.map((a) => el("option", { value: a.kind }, a.kind)));
      }
    },
    ...whileShown(refresh),
  };
}
