// The pages: the one named by the location hash is shown, drawn from /dashboard/view (asked again
// only when the as-of time changes or a reload is asked for) and, for charts, explain and audit,
// from their own answers.
import { api } from "./api.js";
import { drawAudit } from "./audit.js";
import { drawCharts } from "./charts.js";
import { drawExplain } from "./explain.js";
import { when } from "./format.js";
import { t } from "./labels.js";
import { $, PAGES, state, token } from "./state.js";
import { drawTables } from "./tables.js";
import { asOfQuery } from "./timetravel.js";

function currentPage() {
  const name = location.hash.replace("#", "");
  return PAGES.includes(name) ? name : "blacklist";
}

export async function show(reload = false) {
  if (!token()) return;
  const page = currentPage();
  for (const name of PAGES) $(`page-${name}`).hidden = name !== page;
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("here", a.hash === `#${page}`);
  $("error").textContent = "";
  $("status").textContent = t("loading");
  try {
    const key = asOfQuery();
    if (reload || state.view === null || state.viewKey !== key) {
      state.view = await api(`/dashboard/view${key}`);
      state.viewKey = key;
      state.zone = state.view.zone || state.zone;
      state.shownVersion = state.lastVersion;
    }
    drawTables();
    if (page === "charts") await drawCharts();
    if (page === "explain") await drawExplain();
    if (page === "audit") await drawAudit();
    const view = state.view; // read after the awaits above, as another show() may have replaced it
    $("status").textContent = `${t("policy")} ${view.policy_version} · ${view.facts} ${t("facts")} · ` +
      `${t("asOf")} ${when(view.as_of)}${key ? ` (${t("viewingPast")})` : ""}`;
    document.body.dataset.page = page;
    document.body.dataset.asOf = view.as_of;
    if (!state.firstPaintMarked) {
      state.firstPaintMarked = true;
      performance.mark("hotline-first-data");
    }
  } catch (err) {
    $("status").textContent = "";
    if (err.status !== 401) $("error").textContent = err.message;
  }
}
