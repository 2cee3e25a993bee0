// The API, read with fetch() and the token in the Authorization header: no cookie, so no request
// from another site can carry it (no CSRF surface). A 401 signs the tab out.
import { t } from "./labels.js";
import { signOut } from "./session.js";
import { token } from "./state.js";

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(path) {
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
