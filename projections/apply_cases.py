"""Handlers of support cases: opened, transferred, closed, support stopped."""

from __future__ import annotations

from datetime import timedelta

from projections.consequences import anomaly
from projections.state import Case, State
from schemas import facts as f
from schemas.derived import SupportStopped

ZERO = timedelta(0)


def case_opened(state: State, fact: f.CaseOpened) -> None:
    respond = state.policy.response_times.get(fact.fault_level, ZERO)
    state.cases[fact.case_id] = Case(
        fact.at, fact.account_id, fact.barcode, fact.fault_level, fact.at + respond
    )
    state.detectors.case_opened(fact.case_id, fact.problem, fact.id)


def case_transferred(state: State, fact: f.CaseTransferred) -> None:
    if (case := _case(state, fact.case_id, fact)) is not None:
        case.transfers += (fact.id,)


def case_closed(state: State, fact: f.CaseClosed) -> None:
    """The first close ends the case. A later one cannot move its end: a past as-of would then see
    another case than the present does (an SLA met by the first close, breached in hindsight)."""
    if (case := _case(state, fact.case_id, fact)) is None:
        return
    if case.closed_at is not None:
        anomaly(state, fact.id, fact.at, f"case {fact.case_id} is already closed")
    else:
        case.closed_at = fact.at


def case_support_stopped(state: State, fact: f.CaseSupportStopped) -> None:
    state.support_stops[fact.id] = SupportStopped(
        id=fact.id,
        at=fact.at,
        policy_version=state.policy.version,
        causes=(fact.id,),
        case_id=fact.case_id,
        reason=fact.reason,
    )


def _case(state: State, case_id: str, fact: f.Fact) -> Case | None:
    case = state.cases.get(case_id)
    if case is None:
        anomaly(state, fact.id, fact.at, f"case {case_id} was never opened")
    return case
