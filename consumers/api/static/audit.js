// The audit page (auditor and staff; the decisions are on the log: `serve --log`): each recorded
// admission decision beside the answer with everything known now.
import { api } from "./api.js";
import { when } from "./format.js";
import { t } from "./labels.js";
import { $ } from "./state.js";
import { table } from "./table.js";
import { asOfQuery } from "./timetravel.js";

export async function drawAudit() {
  const answer = (admitted, reasons) => `${t(admitted ? "admitted" : "refused")}` +
    (reasons.length ? `: ${reasons.join(", ")}` : "");
  try {
    const lines = await api(`/dashboard/audit${asOfQuery()}`);
    const differing = lines.filter((l) => l.differs).length;
    $("audit-summary").textContent = `${lines.length} ${t("decisions")}, ${differing} ${t("differing")}`;
    table("audit-table", ["at", "accountH", "numberH", "policy", "recorded", "answerNow", "differs"],
      lines.map((l) => [when(l.at), l.account_id, l.number, l.policy_version, answer(l.admitted, l.reasons),
        answer(l.now_admitted, l.now_reasons), t(l.differs ? "yes" : "no")]));
  } catch (err) {
    if (err.status !== 403 && err.status !== 404) throw err;
    $("audit-summary").textContent = err.status === 403 ? t("needsAuditor") : err.message;
    table("audit-table", [], []);
  }
}
