// Live updates: /dashboard/events is a text/event-stream read with fetch(), because EventSource
// cannot send the Authorization header. Each `facts` event says how many facts the projection holds;
// a page shown as of now redraws when the projection moves, a page as of a past time stays.
import { HttpError } from "./api.js";
import { t } from "./labels.js";
import { show } from "./pages.js";
import { $, state, token } from "./state.js";

export async function listen() {
  if (state.eventsAbort) state.eventsAbort.abort();
  const abort = (state.eventsAbort = new AbortController());
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

export function drawLive() {
  const facts = $("live").dataset.facts;
  if (facts !== undefined) $("live").textContent = `● ${t("live")} · ${facts} ${t("facts")}`;
}

function onEvent(block) {
  const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).join("\n");
  if (!data) return; // a heartbeat
  const update = JSON.parse(data);
  state.lastVersion = update.version;
  $("live").dataset.facts = update.facts;
  drawLive();
  // Only "now" moves with new facts; a page as of a past time stays as it was asked.
  if (state.view === null) return;
  if (state.shownVersion === null) state.shownVersion = update.version; // the first event: what the page shows
  else if (!$("as-of").value && update.version !== state.shownVersion) show(true);
}
