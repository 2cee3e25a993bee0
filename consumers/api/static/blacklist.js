// The blacklist page, and its search box: a subject matches by account, number, person or company.
import { when } from "./format.js";
import { t } from "./labels.js";
import { $, state } from "./state.js";
import { table } from "./table.js";

function matches(entry, query) {
  if (!query) return true;
  return [entry.subject, entry.account_id, entry.person_id, entry.company_id]
    .some((v) => v && v.toLowerCase().includes(query));
}

export function drawBlacklist() {
  const view = state.view;
  const query = $("search").value.trim().toLowerCase();
  const rows = view.blacklist.filter((e) => matches(e, query));
  $("blacklist-count").textContent = `${rows.length} / ${view.blacklist.length}`;
  table("blacklist-table", ["kind", "who", "since", "until", "why", "violation", "accountH", "person", "companyH", "policy"],
    rows.map((e) => [t(e.subject_kind), e.subject, when(e.since), e.until ? when(e.until) : t("forEver"),
      e.rule, e.violation_id, e.account_id, e.person_id, e.company_id, e.policy_version]));
}
