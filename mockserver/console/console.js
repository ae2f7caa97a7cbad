// The console's start: the views in their order, the navigation between them, and one journal stream for all
// (each view's `opened` runs on each connection, its `onEntry` on each line).
"use strict";

async function main() {
  relabel();
  streamState("connecting");
  document.getElementById("language").addEventListener("click", () => {
    language = language === "en" ? "zh" : "en";
    localStorage.setItem("nppa-console-language", language);
    relabel();
  });
  let codes;
  let descriptions;
  try {
    const labels = (await adminJson("/__admin/console/codes.json")).codes;
    codes = new Map(labels.map((c) => [c.code, c.errmsg]));
    // The V2.1 spec's own Chinese description of each code, shown beside its errmsg in either language.
    descriptions = new Map(labels.filter((c) => c.description_zh).map((c) => [c.code, c.description_zh]));
  } catch (error) {
    problem(error.message);
    streamState("down");
    return;
  }
  const nav = document.getElementById("views");
  const main = document.getElementById("view");
  const context = {
    codes,
    descriptions,
    /// Shows the Records view with the record of `ai`.
    showRecord(ai) {
      records.find(ai);
      show(records);
    },
    /// The exchanges of `ai` the table holds.
    exchangesAbout(ai) {
      return exchanges.about(ai);
    },
    /// Shows the Exchanges view with entry `id` opened (false when the table does not hold it).
    showExchange(id) {
      show(exchanges);
      return exchanges.openEntry(id);
    },
    /// After POST /__admin/reset: the journal's ring is empty, and so is the table.
    journalCleared() {
      exchanges.clear();
    },
  };
  const exchanges = exchangesView(codes, context);
  const records = recordsView(context);
  const views = [exchanges, quotasView(context), records, throughputView(context), testSystemView(context),
    clockView(context)];
  let current = null;
  function show(view) {
    if (current !== view) current?.hidden?.();
    current = view;
    for (const button of nav.children) {
      if (button.dataset.view === view.id) button.setAttribute("aria-current", "page");
      else button.removeAttribute("aria-current");
    }
    main.replaceChildren(view.root);
    view.shown?.();
  }
  for (const view of views) {
    const button = labelled("button", view.label, { type: "button", "data-view": view.id });
    button.addEventListener("click", () => show(view));
    nav.append(button);
  }
  show(views[0]);
  follow(async () => {
    for (const view of views) await view.opened?.();
    problem(null);
  }, (line) => {
    if (line.id !== undefined) for (const view of views) view.onEntry?.(line);
    else if (line.lagged !== undefined) {
      problem(`${t("lagged")} ${line.lagged}`);
      for (const view of views) view.onLagged?.(line.lagged);
    }
  });
}

main();
