// What the page's modules share: the element lookup, the token, and the state of what is shown.
// The token lives in sessionStorage (closing the tab forgets it); see docs/dashboard.md.

export const TOKEN_KEY = "hotline.token";
export const LANG_KEY = "hotline.lang";
export const PAGES = ["blacklist", "companies", "suspicions", "sla", "quarterly", "charts", "explain", "audit"];

export const $ = (id) => document.getElementById(id);
export const token = () => sessionStorage.getItem(TOKEN_KEY);

export const state = {
  lang: localStorage.getItem(LANG_KEY) === "zh" ? "zh" : "en",
  zone: "Asia/Shanghai", // replaced by the policy's zone from the first answer
  view: null, // the last /dashboard/view answer
  viewKey: null, // the as-of it was asked for
  shownVersion: null, // the projection version the page was drawn from
  lastVersion: null, // the projection version the event stream last announced
  eventsAbort: null, // stops the event stream (live.js)
  firstPaintMarked: false,
};
