// The pages drawn from one /dashboard/view answer: blacklist, companies, suspicions and plans, case
// SLA, quarterly reports.
import { drawBlacklist } from "./blacklist.js";
import { pct, when } from "./format.js";
import { state } from "./state.js";
import { table } from "./table.js";

export function drawTables() {
  const view = state.view;
  drawBlacklist();
  table("counters-table", ["companyH", "counter", "inYear"],
    view.counters.map((c) => [c.company_id, c.counter, c.in_rolling_year]));
  table("tallies-table", ["accountH", "revoked", "allRevoked"],
    view.tallies.map((c) => [c.account_id, `${c.revoked.length}: ${c.revoked.join(", ")}`, when(c.all_revoked_at)]));
  table("suspicions-table", ["raised", "rule", "accountH", "numberH", "detector", "detail"],
    view.suspicions.map((s) => [when(s.at), s.rule, s.account_id, s.number, s.detector, s.detail]));
  table("plans-table", ["companyH", "violation", "due", "status"],
    view.plans.map((p) => [p.plan.company_id, p.plan.violation_id, when(p.plan.due), p.status]));
  table("sla-table", ["faultLevel", "target", "met", "breached", "open", "ratio"],
    view.sla.map((a) => [a.fault_level, a.target, a.met, a.breached, a.open, pct(a.ratio)]));
  table("quarterly-table", ["companyH", "quarter", "calls", "cases", "responseAttainment", "violations", "penalties"],
    view.quarterly.map((q) => [q.company_id, q.quarter, q.calls, q.cases, pct(q.response_attainment),
      q.violations, q.penalties]));
}
