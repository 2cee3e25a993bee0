"""Barcode codes asked of an engineer after a violation: the answer, or the deadline passing without one."""

from __future__ import annotations

from datetime import datetime

from projections.consequences import anomaly, penalise_engineer
from projections.state import State
from schemas import facts as f


def codes_result(state: State, fact: f.BarcodeCodesResult) -> None:
    request = state.codes_requests.get(fact.violation_id)
    if request is None:
        anomaly(state, fact.id, fact.at, f"no barcode codes were requested for {fact.violation_id}")
    elif request.result is not None or fact.at > request.deadline:
        anomaly(state, fact.id, fact.at, f"codes for {fact.violation_id} came after the deadline or twice")
    else:
        request.result, request.result_at = fact.result, fact.at
        if fact.result == "refused":
            _codes_not_provided(state, fact.violation_id, fact.at)


def codes_deadline(state: State, violation_id: str) -> None:
    """Scheduled at the deadline: no codes by then is a refusal, starting at the deadline."""
    request = state.codes_requests[violation_id]
    if request.result is None:
        request.result, request.result_at = "deadline passed", request.deadline
        _codes_not_provided(state, violation_id, request.deadline)


def _codes_not_provided(state: State, violation_id: str, at: datetime) -> None:
    violation = state.violations[violation_id]
    # the terms of the violation's own version, even when a later one is in force by now
    terms = state.policy if state.history.single else state.history.of_version(violation.policy_version)
    penalise_engineer(state, violation, terms.rules[violation.rule], at)
