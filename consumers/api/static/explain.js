// The explain page (auditor and staff): facts -> violations -> penalties for one subject.
import { api } from "./api.js";
import { when } from "./format.js";
import { t } from "./labels.js";
import { $ } from "./state.js";
import { table } from "./table.js";
import { asOfQuery } from "./timetravel.js";

const ORDER = ["suspicion", "held", "violation", "warning", "revocation", "black key event", "penalty", "plan"];
const rank = (link) => (ORDER.includes(link.kind) ? ORDER.indexOf(link.kind) : ORDER.length);

export async function drawExplain() {
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
