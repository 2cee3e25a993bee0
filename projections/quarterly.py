"""Seed 004 quarterly performance reports per company: calls, cases, response-time attainment,
violations and penalties of one calendar quarter on the policy's calendar (Asia/Shanghai for 3.0).

What the state keeps anyway gives most of a report: cases (their SLA clocks, projections.sla, give the
company, the quarter of the opening and the outcomes), violations (company, confirmation time) and
penalties. A call is kept only as
a `CallRef` (no company, no time), so the fold counts calls per company and quarter as they come
(`ServiceBook.calls`): one dict update per call. Everything is therefore a function of the facts up to
the state's as-of time, like the rest of the snapshot.

- calls: `call.received` in the quarter, on an account of the company (by the account known at the call);
- cases: cases opened in the quarter by an account of the company; their response (and, for
  complaints, resolution) outcome as of the state: met, breached or still open;
- violations: confirmed in the quarter (not annulled), by the violation's company;
- penalties: imposed in the quarter (not annulled) for a violation of the company, on any subject.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from projections.quarters import quarter_span
from projections.sla import CaseClock, clocks

if TYPE_CHECKING:
    from domain.policy import Policy
    from projections.state import State
    from schemas import facts as f

#: (policy, start, end, label, company -> calls): the quarter the fold is in (State.quarter_span).
QuarterSpan = tuple["Policy", datetime, datetime, str, dict[str, int]]


def _enter_quarter(state: State, t: datetime) -> QuarterSpan:
    """The fold moves forward in time, so the quarter it is in is kept (`State.quarter_span`, with the
    book's call counts of that quarter): most calls then cost two comparisons and a dict update."""
    start, end, label = quarter_span(t, state.policy.tz)
    calls = state.service.calls.get(label)
    if calls is None:
        calls = state.service.calls[label] = {}
    span = state.quarter_span = (state.policy, start, end, label, calls)
    return span


def counting_calls(rule: Callable[[State, f.CallReceived], None]) -> Callable[[State, f.CallReceived], None]:
    """The call handler `rule`, then the call counted per quarter and company. On the call path, so
    written out in one function rather than in helpers."""

    def call_received(state: State, fact: f.CallReceived) -> None:
        rule(state, fact)
        at = fact.at
        span = state.quarter_span
        if span is None or span[0] is not state.policy or not span[1] <= at < span[2]:
            span = _enter_quarter(state, at)
        account = state.accounts.get(fact.account_id)
        if account is not None:  # an unknown account's call is refused and belongs to no company
            calls = span[4]
            calls[account.company_id] = calls.get(account.company_id, 0) + 1

    return call_received


class QuarterlyReport(msgspec.Struct, kw_only=True):
    company_id: str
    quarter: str
    calls: int = 0
    cases: int = 0
    response_met: int = 0
    response_breached: int = 0
    response_open: int = 0
    response_attainment: float | None = None  # met / (met + breached), 4 decimals
    resolution_met: int = 0  # complaints (the levels with a resolution target)
    resolution_breached: int = 0
    resolution_open: int = 0
    violations: int = 0
    violations_by_rule: dict[str, int] = {}
    penalties: int = 0


def quarterly_reports(
    state: State,
    as_of: datetime | None,
    company_id: str | None = None,
    quarter: str | None = None,
    found: list[CaseClock] | None = None,
) -> list[QuarterlyReport]:
    """A report per (company, quarter) with any activity, or only the one asked for; in that order.
    `as_of` as for the SLA clocks (`found`, when the caller has them already)."""
    reports: dict[tuple[str, str], QuarterlyReport] = {}

    def report(company: str, q: str) -> QuarterlyReport | None:
        if (company_id is not None and company != company_id) or (quarter is not None and q != quarter):
            return None
        found = reports.get((company, q))
        if found is None:
            found = reports[(company, q)] = QuarterlyReport(company_id=company, quarter=q)
        return found

    for q, companies in state.service.calls.items():
        for company, n in companies.items():
            if n and (r := report(company, q)) is not None:
                r.calls = n
    for clock in found if found is not None else clocks(state, as_of):
        if clock.company_id is None or (r := report(clock.company_id, clock.quarter)) is None:
            continue
        r.cases += 1
        for target, name in ((clock.response, "response"), (clock.resolution, "resolution")):
            if target is not None:
                field = f"{name}_{target.outcome}"
                setattr(r, field, getattr(r, field) + 1)
    tz = state.policy.tz
    labels: dict[datetime, str] = {}  # confirmations share instants: one conversion each

    def label(t: datetime) -> str:
        if t not in labels:
            labels[t] = quarter_span(t, tz)[2]
        return labels[t]

    for violation in state.violations.values():
        if violation.annulled_at is not None or violation.company_id is None:
            continue
        if (r := report(violation.company_id, label(violation.at))) is not None:
            r.violations += 1
            r.violations_by_rule[violation.rule] = r.violations_by_rule.get(violation.rule, 0) + 1
    for penalty in state.penalties.values():
        cause = state.violations.get(penalty.violation_id)
        if penalty.annulled_at is not None or cause is None or cause.company_id is None:
            continue
        if (r := report(cause.company_id, label(penalty.at))) is not None:
            r.penalties += 1
    if company_id is not None and quarter is not None:
        report(company_id, quarter)  # asked for: a report of zeros rather than none
    out = []
    for key in sorted(reports):
        r = reports[key]
        settled = r.response_met + r.response_breached
        r.response_attainment = round(r.response_met / settled, 4) if settled else None
        out.append(r)
    return out
