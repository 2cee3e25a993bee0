// The dashboard page: reads the API with the token the user pasted, renders tables and charts.
// Why it is built this way (docs/dashboard.md):
// - the token lives in sessionStorage and goes in the Authorization header of each fetch(): no
//   cookie, so no request from another site can carry it (no CSRF surface); closing the tab forgets it;
// - data are put into the page with textContent only, never as HTML: ids and notes come from
//   partners' systems and may hold markup;
// - live updates are a text/event-stream read with fetch(), because EventSource cannot send a header.
"use strict";

(() => {
  const TOKEN_KEY = "hotline.token";
  const LANG_KEY = "hotline.lang";
  const PAGES = ["blacklist", "companies", "suspicions", "sla", "quarterly", "charts", "explain", "audit"];
  const $ = (id) => document.getElementById(id);

  let lang = localStorage.getItem(LANG_KEY) === "zh" ? "zh" : "en";
  let zone = "Asia/Shanghai"; // replaced by the policy's zone from the first answer
  let view = null; // the last /dashboard/view answer
  let viewKey = null; // the as-of it was asked for
  let shownVersion = null; // the projection version the page was drawn from
  let eventsAbort = null;
  let firstPaintMarked = false;

  const t = (key) => (window.LABELS[lang] && window.LABELS[lang][key]) || window.LABELS.en[key] || key;
  const token = () => sessionStorage.getItem(TOKEN_KEY);

  class HttpError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // --- labels -------------------------------------------------------------------------------------
  function applyLabels() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    for (const el of document.querySelectorAll("[data-label]")) el.textContent = t(el.dataset.label);
    for (const el of document.querySelectorAll("[data-placeholder]")) el.placeholder = t(el.dataset.placeholder);
    $("lang").textContent = lang === "zh" ? "English" : "中文";
    document.title = t("title");
  }

  // --- times on the line's calendar ---------------------------------------------------------------
  function when(iso) {
    if (!iso) return "";
    const parts = new Intl.DateTimeFormat("sv-SE", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    }).format(new Date(iso));
    return parts;
  }

  function asOfQuery() {
    const value = $("as-of").value; // offset-less: the API reads it on the line's calendar
    return value ? `?as_of=${encodeURIComponent(value)}` : "";
  }

  // --- the API ------------------------------------------------------------------------------------
  async function api(path) {
    const response = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
    if (!response.ok) {
      let message = `${response.status}`;
      try {
        message = (await response.json()).error || message;
      } catch (_) { /* not JSON: keep the status */ }
      if (response.status === 401) signOut(t("badToken"));
      throw new HttpError(response.status, message);
    }
    return response.json();
  }

  // --- tables -------------------------------------------------------------------------------------
  function table(id, headers, rows) {
    const el = $(id);
    const head = document.createElement("tr");
    for (const key of headers) {
      const th = document.createElement("th");
      th.textContent = t(key);
      head.appendChild(th);
    }
    el.tHead.replaceChildren(head);
    const body = el.tBodies[0];
    const out = rows.map((cells) => {
      const tr = document.createElement("tr");
      for (const cell of cells) {
        const td = document.createElement("td");
        td.textContent = cell === null || cell === undefined ? "" : String(cell);
        tr.appendChild(td);
      }
      return tr;
    });
    if (!out.length) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = headers.length;
      td.className = "empty";
      td.textContent = t("none");
      tr.appendChild(td);
      out.push(tr);
    }
    body.replaceChildren(...out);
  }

  const pct = (ratio) => (ratio === null || ratio === undefined ? "–" : `${(ratio * 100).toFixed(1)}%`);

  function matches(entry, query) {
    if (!query) return true;
    return [entry.subject, entry.account_id, entry.person_id, entry.company_id]
      .some((v) => v && v.toLowerCase().includes(query));
  }

  function drawBlacklist() {
    const query = $("search").value.trim().toLowerCase();
    const rows = view.blacklist.filter((e) => matches(e, query));
    $("blacklist-count").textContent = `${rows.length} / ${view.blacklist.length}`;
    table("blacklist-table", ["kind", "who", "since", "until", "why", "violation", "accountH", "person", "companyH", "policy"],
      rows.map((e) => [t(e.subject_kind), e.subject, when(e.since), e.until ? when(e.until) : t("forEver"),
        e.rule, e.violation_id, e.account_id, e.person_id, e.company_id, e.policy_version]));
  }

  function drawTables() {
    drawBlacklist();
    table("counters-table", ["companyH", "counter", "inYear"],
      view.counters.map((c) => [c.company_id, c.counter, c.in_rolling_year]));
    table("tallies-table", ["accountH", "revoked", "allRevoked"],
      view.tallies.map((c) => [c.account_id, `${c.revoked.length}: ${c.revoked.join(", ")}`, when(c.all_revoked_at)]));
    table("suspicions-table", ["raised", "rule", "accountH", "numberH", "detector", "detail"],
      view.suspicions.map((s) => [when(s.at), s.rule, s.account_id, s.number, s.detector, s.detail]));
    table("plans-table", ["companyH", "violation", "due", "status"],
      view.plans.map((p) => [p.plan.company_id, p.plan.violation_id, when(p.plan.due), p.status]));
    table("sla-table", ["faultLevel", "target", "met", "breached", "open", "ratio"],
      view.sla.map((a) => [a.fault_level, a.target, a.met, a.breached, a.open, pct(a.ratio)]));
    table("quarterly-table", ["companyH", "quarter", "calls", "cases", "responseAttainment", "violations", "penalties"],
      view.quarterly.map((q) => [q.company_id, q.quarter, q.calls, q.cases, pct(q.response_attainment),
        q.violations, q.penalties]));
  }

  // --- charts (consumers/api/static/charts.js) ---------------------------------------------------
  async function drawCharts() {
    await window.HotlineCharts.draw(await api(`/dashboard/charts${asOfQuery()}`), t);
  }

  // --- explain (auditor and staff) ----------------------------------------------------------------
  const ORDER = ["suspicion", "held", "violation", "warning", "revocation", "black key event", "penalty", "plan"];
  const rank = (link) => (ORDER.includes(link.kind) ? ORDER.indexOf(link.kind) : ORDER.length);

  async function drawExplain() {
    const subject = $("explain-subject").value.trim();
    if (!subject) {
      table("explain-table", ["at", "link", "detail", "status", "policy"], []);
      return;
    }
    const kind = $("explain-kind").value;
    try {
      const found = await api(`/explain/${kind}/${encodeURIComponent(subject)}${asOfQuery()}`);
      $("explain-summary").textContent = `${t(kind)} ${found.subject}: ` +
        (!found.known ? t("unknown") : found.blacklisted ? t("blacklisted") : t("notBlacklisted"));
      // facts -> violations -> penalties: at one instant, the cause is listed before what it caused
      const chain = [...found.chain].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : rank(a) - rank(b)));
      table("explain-table", ["at", "link", "detail", "status", "policy", "causes"],
        chain.map((l) => [when(l.at), l.kind, l.detail, l.status, l.policy_version, l.causes.join(", ")]));
    } catch (err) {
      if (err.status === 403) {
        $("explain-summary").textContent = t("needsAuditor");
        table("explain-table", [], []);
        return;
      }
      throw err;
    }
  }

  // --- audit (auditor and staff; the decisions are on the log: `serve --log`) ----------------------
  async function drawAudit() {
    const answer = (admitted, reasons) => `${t(admitted ? "admitted" : "refused")}` +
      (reasons.length ? `: ${reasons.join(", ")}` : "");
    try {
      const lines = await api(`/dashboard/audit${asOfQuery()}`);
      const differing = lines.filter((l) => l.differs).length;
      $("audit-summary").textContent = `${lines.length} ${t("decisions")}, ${differing} ${t("differing")}`;
      table("audit-table", ["at", "accountH", "numberH", "policy", "recorded", "answerNow", "differs"],
        lines.map((l) => [when(l.at), l.account_id, l.number, l.policy_version, answer(l.admitted, l.reasons),
          answer(l.now_admitted, l.now_reasons), t(l.differs ? "yes" : "no")]));
    } catch (err) {
      if (err.status !== 403 && err.status !== 404) throw err;
      $("audit-summary").textContent = err.status === 403 ? t("needsAuditor") : err.message;
      table("audit-table", [], []);
    }
  }

  // --- pages --------------------------------------------------------------------------------------
  function currentPage() {
    const name = location.hash.replace("#", "");
    return PAGES.includes(name) ? name : "blacklist";
  }

  async function show(reload = false) {
    if (!token()) return;
    const page = currentPage();
    for (const name of PAGES) $(`page-${name}`).hidden = name !== page;
    for (const a of document.querySelectorAll("nav a")) a.classList.toggle("here", a.hash === `#${page}`);
    $("error").textContent = "";
    $("status").textContent = t("loading");
    try {
      const key = asOfQuery();
      if (reload || view === null || viewKey !== key) {
        view = await api(`/dashboard/view${key}`);
        viewKey = key;
        zone = view.zone || zone;
        shownVersion = lastVersion;
      }
      drawTables();
      if (page === "charts") await drawCharts();
      if (page === "explain") await drawExplain();
      if (page === "audit") await drawAudit();
      $("status").textContent = `${t("policy")} ${view.policy_version} · ${view.facts} ${t("facts")} · ` +
        `${t("asOf")} ${when(view.as_of)}${key ? ` (${t("viewingPast")})` : ""}`;
      document.body.dataset.page = page;
      document.body.dataset.asOf = view.as_of;
      if (!firstPaintMarked) {
        firstPaintMarked = true;
        performance.mark("hotline-first-data");
      }
    } catch (err) {
      $("status").textContent = "";
      if (err.status !== 401) $("error").textContent = err.message;
    }
  }

  // --- live updates -------------------------------------------------------------------------------
  let lastVersion = null;

  async function listen() {
    if (eventsAbort) eventsAbort.abort();
    const abort = (eventsAbort = new AbortController());
    while (!abort.signal.aborted && token()) {
      try {
        const response = await fetch("/dashboard/events", {
          headers: { Authorization: `Bearer ${token()}`, Accept: "text/event-stream" },
          signal: abort.signal,
        });
        if (!response.ok) throw new HttpError(response.status, "events");
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            onEvent(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      } catch (err) {
        if (abort.signal.aborted) return;
        if (err.status === 401 || err.status === 403) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 2000)); // the server went away: try again
    }
  }

  function drawLive() {
    const facts = $("live").dataset.facts;
    if (facts !== undefined) $("live").textContent = `● ${t("live")} · ${facts} ${t("facts")}`;
  }

  function onEvent(block) {
    const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).join("\n");
    if (!data) return; // a heartbeat
    const update = JSON.parse(data);
    lastVersion = update.version;
    $("live").dataset.facts = update.facts;
    drawLive();
    // Only "now" moves with new facts; a page as of a past time stays as it was asked.
    if (view === null) return;
    if (shownVersion === null) shownVersion = update.version; // the first event: what the page shows
    else if (!$("as-of").value && update.version !== shownVersion) show(true);
  }

  // --- sign in and out ----------------------------------------------------------------------------
  function signedIn() {
    const yes = Boolean(token());
    $("login").hidden = yes;
    $("pages").hidden = !yes;
    $("logout").hidden = !yes;
    for (const name of PAGES) if (!yes) $(`page-${name}`).hidden = true;
    return yes;
  }

  function signOut(message = "") {
    sessionStorage.removeItem(TOKEN_KEY);
    if (eventsAbort) eventsAbort.abort();
    view = null;
    signedIn();
    $("login-error").textContent = message;
  }

  function start() {
    applyLabels();
    $("lang").addEventListener("click", () => {
      lang = lang === "zh" ? "en" : "zh";
      localStorage.setItem(LANG_KEY, lang);
      applyLabels();
      drawLive();
      if (view) show();
    });
    $("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
      $("token").value = "";
      $("login-error").textContent = "";
      if (signedIn()) {
        show();
        listen();
      }
    });
    $("logout").addEventListener("click", () => signOut());
    $("as-of-form").addEventListener("submit", (event) => {
      event.preventDefault();
      show();
    });
    $("now").addEventListener("click", () => {
      $("as-of").value = "";
      show(true);
    });
    $("search").addEventListener("input", () => view && drawBlacklist());
    $("explain-form").addEventListener("submit", (event) => {
      event.preventDefault();
      location.hash = "#explain";
      show();
    });
    window.addEventListener("hashchange", () => show());
    if (signedIn()) {
      show();
      listen();
    }
  }

  start();
})();
