// The dashboard's labels in English and Chinese. The line's staff read Chinese; ids, rule codes and
// times stay as the log has them so that what is shown can be searched for and quoted exactly.
import { $, state } from "./state.js";

export const LABELS = {
  en: {
    title: "Partner hotline governance", asOf: "As of", show: "Show", now: "Now", logout: "Sign out",
    signIn: "Sign in", signInHelp: "Paste an API token (role reader, auditor or staff). It is kept in this tab only.",
    blacklist: "Blacklist", companies: "Companies", suspicions: "Suspicions and plans", sla: "Case SLA",
    quarterly: "Quarterly reports", charts: "Charts", explain: "Explain", explainIt: "Explain",
    blacklistNow: "Blacklisted", searchHelp: "Account, number, person or company",
    counters: "Company counters (rolling year)", tallies: "Three-strike certificate tallies",
    openSuspicions: "Open suspicions", plans: "Rectification plans",
    chartViolations: "Violations per rule per month", chartBlacklist: "Blacklist size over time",
    chartSla: "SLA attainment per fault level",
    account: "account", number: "number", company: "company", subject: "subject",
    accountH: "Account", numberH: "Number", companyH: "Company",
    kind: "Kind", who: "Subject", since: "Since", until: "Until", forEver: "for ever", why: "Why (rule)",
    violation: "Violation", person: "Person", policy: "Policy",
    counter: "Counter", inYear: "In the rolling year", revoked: "Certificates revoked", allRevoked: "All revoked at",
    rule: "Rule", detector: "Detector", detail: "Detail", raised: "Raised", due: "Due", status: "Status",
    faultLevel: "Fault level", target: "Target", met: "Met", breached: "Breached", open: "Open", ratio: "Attainment",
    quarter: "Quarter", calls: "Calls", cases: "Cases", responseAttainment: "Response attainment",
    violations: "Violations", penalties: "Penalties",
    at: "At", link: "Link", causes: "Caused by",
    blacklisted: "blacklisted", notBlacklisted: "not blacklisted", unknown: "unknown subject",
    facts: "facts", loading: "Loading…", needsAuditor: "This page needs the auditor or staff role.",
    badToken: "Unknown or revoked token.", none: "none", live: "live", viewingPast: "viewing the past",
    audit: "Audit", auditTitle: "Recorded admission decisions, beside the answer with everything known now",
    recorded: "Answered then", answerNow: "Answer now", differs: "Differs", admitted: "admitted",
    refused: "refused", yes: "yes", no: "no", decisions: "decisions", differing: "would differ now",
  },
  zh: {
    title: "合作伙伴热线治理", asOf: "截至", show: "查看", now: "现在", logout: "退出",
    signIn: "登录", signInHelp: "粘贴 API 令牌（角色 reader、auditor 或 staff），仅保存在本标签页中。",
    blacklist: "黑名单", companies: "公司", suspicions: "疑似违规与整改", sla: "工单 SLA",
    quarterly: "季度报告", charts: "图表", explain: "追溯", explainIt: "追溯",
    blacklistNow: "黑名单在列", searchHelp: "账号、号码、人员或公司",
    counters: "公司计数（滚动一年）", tallies: "证书三次吊销计数",
    openSuspicions: "未结疑似违规", plans: "整改计划",
    chartViolations: "每月各规则违规数", chartBlacklist: "黑名单规模变化",
    chartSla: "各故障级别 SLA 达成率",
    account: "账号", number: "号码", company: "公司", subject: "对象",
    accountH: "账号", numberH: "号码", companyH: "公司",
    kind: "类型", who: "对象", since: "起始", until: "截止", forEver: "永久", why: "原因（规则）",
    violation: "违规", person: "人员", policy: "政策版本",
    counter: "计数项", inYear: "滚动一年内", revoked: "已吊销证书", allRevoked: "全部吊销于",
    rule: "规则", detector: "检测器", detail: "详情", raised: "发现时间", due: "截止时间", status: "状态",
    faultLevel: "故障级别", target: "目标", met: "达成", breached: "超时", open: "未结", ratio: "达成率",
    quarter: "季度", calls: "来电", cases: "工单", responseAttainment: "响应达成率",
    violations: "违规", penalties: "处罚",
    at: "时间", link: "环节", causes: "起因",
    blacklisted: "在黑名单中", notBlacklisted: "不在黑名单中", unknown: "未知对象",
    facts: "条事实", loading: "加载中…", needsAuditor: "此页面需要 auditor 或 staff 角色。",
    badToken: "令牌无效或已吊销。", none: "无", live: "实时", viewingPast: "查看历史",
    audit: "审计", auditTitle: "已记录的准入决定，及按现有全部信息的答复",
    recorded: "当时答复", answerNow: "现在答复", differs: "有差异", admitted: "放行",
    refused: "拒绝", yes: "是", no: "否", decisions: "条决定", differing: "现在会不同",
  },
};

export const t = (key) => (LABELS[state.lang] && LABELS[state.lang][key]) || LABELS.en[key] || key;

// Every element with data-label (text) or data-placeholder, in the current language.
export function applyLabels() {
  const lang = state.lang;
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-label]")) el.textContent = t(el.dataset.label);
  for (const el of document.querySelectorAll("[data-placeholder]")) el.placeholder = t(el.dataset.placeholder);
  $("lang").textContent = lang === "zh" ? "English" : "中文";
  document.title = t("title");
}
