"""What the dashboard shows, computed from the projection at an as-of time (pure functions of State).

The dashboard is for the line's staff: a blacklist they can search by account, number, person or
company, so every entry carries the account, person and company behind it (the violation's account);
"why" is the rule and the violation. The charts' series are computed here, not in the browser, so
the page stays a thin renderer and the numbers can be tested by hand.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import msgspec

from domain.calendar import within_one_year
from domain.policy import Policy
from projections.audit import audit
from projections.quarterly import QuarterlyReport, quarterly_reports
from projections.sla import Attainment, attainment, clocks
from projections.state import State
from projections.view import CertificateTally, PlanView, certificate_tallies, plan_status
from schemas.derived import AdmissionDecision, Suspicion

OPEN_PLANS = ("required", "overdue", "submitted")  # accepted and annulled plans need no one's attention


class ListedSubject(msgspec.Struct, kw_only=True):
    subject_kind: str
    subject: str
    since: datetime
    until: datetime | None  # None: for ever
    rule: str  # why
    violation_id: str
    penalty_id: str
    policy_version: str
    account_id: str | None  # who is behind it, for the search
    person_id: str | None
    company_id: str | None


class CounterRow(msgspec.Struct, kw_only=True):
    company_id: str
    counter: str
    in_rolling_year: int


class DashboardView(msgspec.Struct, kw_only=True):
    as_of: datetime
    policy_version: str
    zone: str  # the line's calendar: the page shows times on it
    facts: int
    blacklist: list[ListedSubject]
    counters: list[CounterRow]
    tallies: list[CertificateTally]
    suspicions: list[Suspicion]
    plans: list[PlanView]
    sla: list[Attainment]  # every company together
    quarterly: list[QuarterlyReport]


class MonthCount(msgspec.Struct, kw_only=True):
    month: str  # YYYY-MM on the policy's calendar
    rule: str
    count: int


class SizeAt(msgspec.Struct, kw_only=True):
    at: datetime
    size: int


class SlaPoint(msgspec.Struct, kw_only=True):
    fault_level: str
    target: str
    ratio: float | None


class Charts(msgspec.Struct, kw_only=True):
    as_of: datetime
    violations_per_month: list[MonthCount]
    blacklist_size: list[SizeAt]
    sla: list[SlaPoint]


def listed(state: State, t: datetime) -> list[ListedSubject]:
    """The subjects blacklisted at t, with who is behind each and why."""
    out = []
    for _, p in sorted(state.penalties.items()):
        if not p.covers(t):
            continue
        violation = state.violations.get(p.violation_id)
        account_id = violation.account_id if violation is not None else None
        account = state.accounts.get(account_id) if account_id is not None else None
        company = p.subject if p.subject_kind == "company" else (account.company_id if account else None)
        out.append(
            ListedSubject(
                subject_kind=p.subject_kind,
                subject=p.subject,
                since=p.at,
                until=p.end(),
                rule=p.rule,
                violation_id=p.violation_id,
                penalty_id=p.id,
                policy_version=p.policy_version,
                account_id=account_id,
                person_id=account.person_id if account else None,
                company_id=company or (violation.company_id if violation else None),
            )
        )
    return out


def dashboard_view(state: State, t: datetime, facts: int) -> DashboardView:
    case_clocks = clocks(state, t)
    counters = []
    for (company, counter), occurrences in sorted(state.occurrences.items()):
        recent = sum(1 for at, _ in occurrences if within_one_year(at, t, state.policy.tz))
        if recent:  # a counter a year past its last violation is no one's concern any more
            counters.append(CounterRow(company_id=company, counter=counter, in_rolling_year=recent))
    return DashboardView(
        as_of=t.astimezone(UTC),
        policy_version=state.policy.version,
        zone=str(state.policy.tz),
        facts=facts,
        blacklist=listed(state, t),
        counters=counters,
        tallies=certificate_tallies(state),
        suspicions=[
            state.suspicions[k]
            for k, p in sorted(state.pending.items())
            if p.status == "open" and k in state.suspicions
        ],
        plans=[
            view
            for _, plan in sorted(state.plans.items())
            if (view := PlanView(plan=plan, status=plan_status(plan, t))).status in OPEN_PLANS
        ],
        sla=[row for row in attainment(case_clocks) if row.company_id is None],
        quarterly=quarterly_reports(state, t, found=case_clocks),
    )


def month_of(t: datetime, state: State) -> str:
    return t.astimezone(state.policy.tz).strftime("%Y-%m")


def charts(state: State, t: datetime, points: int = 60) -> Charts:
    """Violations per rule per month (confirmation month), the blacklist's size at `points` instants
    from the first penalty to t, and SLA attainment per fault level and target."""
    per_month: Counter[tuple[str, str]] = Counter(
        (month_of(v.at, state), v.rule)
        for v in state.violations.values()
        if v.annulled_at is None and v.at <= t
    )
    penalties = [p for p in state.penalties.values() if p.at <= t]
    sizes = []
    if penalties:
        start = min(p.at for p in penalties)
        span, last = t - start, max(points - 1, 1)
        # the instants from the first penalty to t, both included (t exactly: no float drift)
        for at in sorted({start + span * i / last for i in range(last + 1)}):
            sizes.append(SizeAt(at=at.astimezone(UTC), size=sum(1 for p in penalties if p.covers(at))))
    return Charts(
        as_of=t.astimezone(UTC),
        violations_per_month=[
            MonthCount(month=m, rule=r, count=n) for (m, r), n in sorted(per_month.items())
        ],
        blacklist_size=sizes,
        sla=[
            SlaPoint(fault_level=row.fault_level, target=row.target, ratio=row.ratio)
            for row in attainment(clocks(state, t))
            if row.company_id is None
        ],
    )


class AuditLine(msgspec.Struct, kw_only=True):
    """A recorded admission decision beside the answer with everything known now (the record stays)."""

    decision_id: str
    at: datetime
    account_id: str
    number: str
    policy_version: str
    admitted: bool
    reasons: list[str]  # reason codes
    now_admitted: bool
    now_reasons: list[str]
    differs: bool


def audit_lines(
    state: State, decisions: Iterable[AdmissionDecision], policy_at: Callable[[datetime], Policy]
) -> list[AuditLine]:
    """Newest first; `state` is the projection with everything known now (every fact, every deadline)."""
    out = [
        AuditLine(
            decision_id=row.decision.id,
            at=row.decision.at,
            account_id=row.decision.request.account_id,
            number=row.decision.request.number,
            policy_version=row.decision.policy_version,
            admitted=row.decision.admitted,
            reasons=[r.code for r in row.decision.reasons],
            now_admitted=row.now_admitted,
            now_reasons=[r.code for r in row.now_reasons],
            differs=row.differs,
        )
        for row in audit(state, decisions, policy_at)
    ]
    return sorted(out, key=lambda line: (line.at, line.decision_id), reverse=True)
