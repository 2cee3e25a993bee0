"""The audit of recorded admission decisions: what the line answered then, beside what it would answer
for the same request with everything known now. The record stays as it was (RULES.md, "What the line
did stays what it did"); this is a view, shared by the embedded log and the Kafka topic."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from domain.admission import AdmissionView, admit_call
from domain.policy import Policy
from schemas.derived import AdmissionDecision, Reason


class AuditRow(msgspec.Struct, frozen=True, kw_only=True):
    decision: AdmissionDecision
    now_admitted: bool
    now_reasons: tuple[Reason, ...]

    @property
    def differs(self) -> bool:
        return self.now_admitted != self.decision.admitted or _codes(self.now_reasons) != _codes(
            self.decision.reasons
        )


def _codes(reasons: tuple[Reason, ...]) -> tuple[str, ...]:
    return tuple(r.code for r in reasons)


def audit(view: AdmissionView, decisions: Iterable[AdmissionDecision], policy: Policy) -> list[AuditRow]:
    """Each decision with today's answer to its request at its own instant."""
    rows = []
    for decision in decisions:
        now = admit_call(view, decision.request, decision.at, policy)
        rows.append(AuditRow(decision=decision, now_admitted=not now, now_reasons=now))
    return rows
