// Time travel: the as-of field applies to every page. Empty means now; a time without an offset is
// read by the API on the line's calendar. "Now" goes back to the present.
import { $ } from "./state.js";

export function asOfQuery() {
  const value = $("as-of").value; // offset-less: the API reads it on the line's calendar
  return value ? `?as_of=${encodeURIComponent(value)}` : "";
}

export function bindTimeTravel(show) {
  $("as-of-form").addEventListener("submit", (event) => {
    event.preventDefault();
    show();
  });
  $("now").addEventListener("click", () => {
    $("as-of").value = "";
    show(true);
  });
}
