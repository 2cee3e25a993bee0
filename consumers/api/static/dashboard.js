// The dashboard page: reads the API with the token the user pasted, renders tables and charts.
// This module wires the page together; one concept per module (docs/dashboard.md):
//   state.js     shared state, the element lookup, the token     labels.js   English and Chinese
//   session.js   sign in and out                                 api.js      fetch() with the token
//   pages.js     which page is shown, drawn from /dashboard/view timetravel.js the as-of field
//   table.js     one table, as text         tables.js  the view's tables    blacklist.js  and its search
//   charts.js    Vega-Lite charts           explain.js the explain page     audit.js      the audit page
//   live.js      server-sent events read with fetch()            format.js   times and percentages
// Why it is built this way:
// - the token lives in sessionStorage and goes in the Authorization header of each fetch(): no
//   cookie, so no request from another site can carry it (no CSRF surface); closing the tab forgets it;
// - data are put into the page with textContent only, never as HTML: ids and notes come from
//   partners' systems and may hold markup;
// - live updates are a text/event-stream read with fetch(), because EventSource cannot send a header.
import { drawBlacklist } from "./blacklist.js";
import { applyLabels } from "./labels.js";
import { drawLive, listen } from "./live.js";
import { show } from "./pages.js";
import { signedIn, signOut } from "./session.js";
import { $, LANG_KEY, state, TOKEN_KEY } from "./state.js";
import { bindTimeTravel } from "./timetravel.js";

function start() {
  applyLabels();
  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem(LANG_KEY, state.lang);
    applyLabels();
    drawLive();
    if (state.view) show();
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
  bindTimeTravel(show);
  $("search").addEventListener("input", () => state.view && drawBlacklist());
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
