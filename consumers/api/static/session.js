// Signing in and out: which parts of the page a signed-in tab shows, and forgetting the token.
import { $, PAGES, TOKEN_KEY, state, token } from "./state.js";

export function signedIn() {
  const yes = Boolean(token());
  $("login").hidden = yes;
  $("pages").hidden = !yes;
  $("logout").hidden = !yes;
  for (const name of PAGES) if (!yes) $(`page-${name}`).hidden = true;
  return yes;
}

export function signOut(message = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  if (state.eventsAbort) state.eventsAbort.abort();
  state.view = null;
  signedIn();
  $("login-error").textContent = message;
}
