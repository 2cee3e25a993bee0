// One table, from header label keys and rows of cells. Cells go in as text (textContent), never as
// HTML: ids and notes come from partners' systems and may hold markup.
import { t } from "./labels.js";
import { $ } from "./state.js";

export function table(id, headers, rows) {
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
