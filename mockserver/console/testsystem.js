// The Test system view: per enterprise, the 8 official cases (SPEC §8), passed or not, and the exchange that passed
// each (opens it in Exchanges). Fetched when shown, and on journal events at most once a second while shown.
"use strict";

addLabels({
  en: {
    testSystem: "Test system", enterprise: "Enterprise", testAppId: "Test appId", bizId: "Test bizId",
    case: "Case", passesWhen: "Passes when", passed: "Passed", passedBy: "Passed by", yes: "passed", no: "not yet",
    allPassed: "all 8 cases passed", productionUnlocked: "production unlocked", productionLocked: "production locked",
    noAccounts: "No enterprise has a test account.", notInTable: "that exchange is no longer in the table",
    resetCases: "Reset the cases",
  },
  zh: {
    testSystem: "测试系统", enterprise: "企业", testAppId: "测试 appId", bizId: "测试 bizId",
    case: "用例", passesWhen: "通过条件", passed: "是否通过", passedBy: "通过的请求", yes: "已通过", no: "未通过",
    allPassed: "8 个用例全部通过", productionUnlocked: "生产环境已开放", productionLocked: "生产环境未开放",
    noAccounts: "没有企业配置测试账号。", notInTable: "该请求已不在表格中",
    resetCases: "重置用例",
  },
});

function testSystemView({ showExchange }) {
  const accounts = el("div", { id: "testsystem" });
  const resetCases = labelled("button", "resetCases", { type: "button", id: "testsystem-reset" });
  resetCases.addEventListener("click", () => {
    adminSend("POST", "/__admin/testsystem/reset").then(show, (error) => problem(error.message));
  });

  function exchangeLink(id) {
    const link = el("button", { type: "button", class: "link", "data-exchange": id }, `#${id}`);
    link.addEventListener("click", () => {
      if (!showExchange(id)) problem(`#${id}: ${t("notInTable")}`);
    });
    return link;
  }

  function account(state) {
    const rows = state.cases.map((c) => el("tr", { "data-case": c.case, "data-passed": String(c.passed) },
      el("td", {}, c.case), el("td", {}, c.interface), el("td", { class: "mono" }, c.path),
      el("td", {}, c.passes_when),
      labelled("td", c.passed ? "yes" : "no", { class: c.passed ? "passed" : "refused" }),
      el("td", {}, c.passed_by ? exchangeLink(c.passed_by) : "—")));
    const summary = [labelled("span", state.all_passed ? "allPassed" : "no", { class: state.all_passed ? "passed" : "" })];
    summary.push(" · ", labelled("span", state.production_unlocked ? "productionUnlocked" : "productionLocked"));
    return el("section", { class: "panel", "data-enterprise": state.enterprise },
      el("h2", {}, labelled("span", "enterprise"), ` ${state.enterprise}`),
      el("dl", { class: "facts" }, labelled("dt", "testAppId"), el("dd", { class: "mono" }, state.app_id),
        labelled("dt", "bizId"), el("dd", { class: "mono" }, state.biz_id)),
      el("p", { class: "summary" }, ...summary),
      el("table", { class: "cases" },
        el("thead", {}, el("tr", {}, ...["case", "interface", "path", "passesWhen", "passed", "passedBy"]
          .map((key) => labelled("th", key, { scope: "col" })))),
        el("tbody", {}, ...rows)));
  }

  function show(state) {
    accounts.replaceChildren(...(state.accounts.length ? state.accounts.map(account) : [labelled("p", "noAccounts")]));
    problem(null);
  }
  const refresh = throttled(async () => show(await adminJson("/__admin/testsystem")));

  return {
    id: "testsystem",
    label: "testSystem",
    root: el("div", {}, el("div", { class: "row" }, resetCases), accounts),
    ...whileShown(refresh),
  };
}
