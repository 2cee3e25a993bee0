"""The audit of recorded admission decisions: what the line answered then, beside what it would answer
for the same request with everything known now. The record stays as it was (RULES.md, "What the line
did stays what it did"); this is a view, shared by the embedded log and the Kafka topic."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

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


def audit(
    view: AdmissionView, decisions: Iterable[AdmissionDecision], policy_at: Callable[[datetime], Policy]
) -> list[AuditRow]:
    """Each decision with today's answer to its request at its own instant, under the policy version
    in force then (`PolicyHistory.at`)."""
    rows = []
    for decision in decisions:
        now = admit_call(view, decision.request, decision.at, policy_at(decision.at))
        rows.append(AuditRow(decision=decision, now_admitted=not now, now_reasons=now))
    return rows


class DraftRow(msgspec.Struct, frozen=True, kw_only=True):
    """A recorded decision whose answer a draft policy would change: the answer with everything known
    now under the recorded history, and under the history with the draft."""

    decision: AdmissionDecision
    recorded_admitted: bool
    recorded_reasons: tuple[Reason, ...]
    draft_admitted: bool
    draft_reasons: tuple[Reason, ...]


def under_draft(
    recorded: AdmissionView,
    draft: AdmissionView,
    decisions: Iterable[AdmissionDecision],
    recorded_policy: Callable[[datetime], Policy],
    draft_policy: Callable[[datetime], Policy],
) -> list[DraftRow]:
    """The decisions whose answer the draft alone changes. Both sides use everything known now, so a
    fact that arrived after the call does not show up as the draft's doing."""
    rows = []
    for decision in decisions:
        before = admit_call(recorded, decision.request, decision.at, recorded_policy(decision.at))
        after = admit_call(draft, decision.request, decision.at, draft_policy(decision.at))
        if _codes(before) != _codes(after):
            rows.append(
                DraftRow(
                    decision=decision,
                    recorded_admitted=not before,
                    recorded_reasons=before,
                    draft_admitted=not after,
                    draft_reasons=after,
                )
            )
    return rows
