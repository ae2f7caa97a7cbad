/// The Exchanges view: every request the mock answered, live, and one opened in full.
function exchangesView(codes, { showRecord, descriptions }) {
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
  // Hidden while an exchange is open, so that the table fits beside it at 1280 px (the exchange shows them).
  const OPTIONAL = ["path", "caller"];
  const body = el("tbody");
  const table = el("table", { id: "exchanges" },
    el("thead", {}, el("tr", {}, ...columns.map((key) =>
      labelled("th", key, { scope: "col", class: OPTIONAL.includes(key) ? "optional" : undefined })))), body);
  const detail = el("section", { id: "detail", "aria-live": "polite", hidden: "" });
  const split = el("div", { class: "split closed" }, el("div", { class: "table-box" }, table), detail);

  function matches(entry) {
    const wanted = interfaceFilter.value;
    if (wanted && (wanted === "-" ? entry.interface : entry.interface !== wanted)) return false;
    if (errcodeFilter.value && String(entry.errcode) !== errcodeFilter.value) return false;
    const text = textFilter.value.trim().toLowerCase();
    if (!text) return true;
    const haystack = [entry.path, entry.query, entry.plaintext, entry.body, entry.rule, entry.cause, entry.fault,
      entry.answer, descriptions.get(entry.errcode), ...entry.headers.map(([, v]) => v)];
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

  /// The spec's Chinese description of the entry's errcode, beside its errmsg (none when the spec gives none).
  function described(entry) {
    const description = descriptions.get(entry.errcode);
    return description ? [" ", el("span", { class: "description", lang: "zh-CN" }, description)] : [];
  }

  function row(entry) {
    const caller = [header(entry, "appid"), header(entry, "bizid")].filter(Boolean).join(" / ");
    const target = entry.path + (entry.query ? `?${entry.query}` : "");
    const result = el("td", { class: `result ${entry.errcode === 0 ? "passed" : "refused"}` }, resultText(entry),
      ...described(entry));
    const tr = el("tr", { tabindex: "0", "data-id": entry.id, "aria-selected": "false" },
      el("td", { class: "mono" }, beijingTime(entry.arrived_ms || entry.time_ms)),
      el("td", {}, entry.interface ?? "—"),
      el("td", { class: "mono cut optional", title: target }, target),
      el("td", { class: "mono cut optional", title: caller }, caller || "—"),
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
      el("dt", {}, "errcode"), el("dd", { "data-part": "errcode" }, resultText(entry), ...described(entry)),
      labelled("dt", "signOk"), el("dd", {}, entry.sign_ok === undefined ? "—" : String(entry.sign_ok)),
      labelled("dt", "latency"), el("dd", {}, `${(entry.latency_us / 1000).toFixed(3)} ms`));
    if (entry.fault) facts.append(labelled("dt", "fault"), el("dd", {}, entry.fault));
    const ai = aiOf(entry);
    if (ai) {
      const record = labelled("button", "recordOfAi", { type: "button", class: "link", "data-record": ai });
      record.addEventListener("click", () => showRecord(ai));
      facts.append(el("dt", {}, "ai"), el("dd", { class: "mono" }, `${ai} `, record));
    }
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
    if (entry.sign_ok === false) parts.push(signDiagnosis(entry.id));
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

  /// For a request refused for its sign: the sign string the mock hashed beside the client's probable one and the
  /// mistake that explains it (the mock's GET /__admin/journal/{id}/sign, certify's diagnosis), fetched on opening.
  function signDiagnosis(id) {
    const box = el("div", { class: "diagnosis", "data-part": "sign-diagnosis" }, labelled("h3", "signDiagnosis"));
    adminJson(`/__admin/journal/${id}/sign`).then((found) => {
      const facts = el("dl", {},
        labelled("dt", "probableMistake"), el("dd", { "data-part": "sign-mistake" }, found.diagnosis),
        labelled("dt", "expectedSign"), el("dd", { class: "mono" }, found.expected_sign),
        labelled("dt", "sentSign"), el("dd", { class: "mono" }, found.sent_sign));
      box.append(facts,
        labelled("h3", "expectedSignString"), el("pre", { "data-part": "expected-sign-string" }, found.expected_sign_string),
        labelled("h3", "clientSignString"),
        el("pre", { "data-part": "client-sign-string" }, found.client_sign_string ?? t("unknownSignString")));
    }, (error) => box.append(el("p", { class: "refused" }, error.message)));
    return box;
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
    async opened() {
      for (const entry of await recentEntries(500)) add(entry);
    },
    onEntry: add,
    /// Empties the table (the journal was reset).
    clear() {
      close();
      entries.clear();
      body.replaceChildren();
      refilter();
    },
    /// The entries in the table about this ai (checks and queries), oldest first.
    about(ai) {
      return [...entries.values()].filter((entry) => aiOf(entry) === ai).sort((a, b) => a.id - b.id);
    },
    /// Opens entry `id` when it is in the table (another view's link to an exchange).
    openEntry(id) {
      const tr = [...body.rows].find((r) => Number(r.dataset.id) === id);
      if (!tr) return false;
      tr.hidden = false;
      open(tr);
      tr.focus();
      return true;
    },
  };
}

