"""What a draft policy would have changed: two folds of the same facts compared (RULES.md: running
history under a draft version is a what-if view, not a change to the record).

`whatif(facts, history, draft, effective_from, as_of)` folds the facts under the recorded history and
under the history with the draft in force from `effective_from` (default: the draft's own), and lists
the penalties added, removed or changed and the companies blacklisted differently at `as_of`.
Recorded admission decisions are the caller's to replay against `WhatIf.draft` (they live in the
log, not in the fold). Nothing is written anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import msgspec

from domain.policy import Policy
from domain.policy_history import PolicyHistory
from projections.fold import project
from projections.state import State
from schemas.derived import Penalty
from schemas.facts import Fact


class PenaltyTerms(msgspec.Struct, frozen=True):
    """What a penalty decides, without who recorded it: the version label may differ, the terms not."""

    subject_kind: str
    subject: str
    rule: str
    start: datetime
    until: datetime | None
    policy_version: str
    void: bool  # annulled

    @classmethod
    def of(cls, p: Penalty) -> PenaltyTerms:
        return cls(
            p.subject_kind, p.subject, p.rule, p.at, p.until, p.policy_version, p.annulled_at is not None
        )

    def decides_as(self, other: PenaltyTerms) -> bool:
        return msgspec.structs.replace(self, policy_version="") == msgspec.structs.replace(
            other, policy_version=""
        )


class PenaltyChange(msgspec.Struct, frozen=True):
    penalty_id: str
    recorded: PenaltyTerms | None  # None: the draft adds it
    draft: PenaltyTerms | None  # None: the draft removes it


class CompanyChange(msgspec.Struct, frozen=True):
    company_id: str
    recorded: bool  # blacklisted at as_of under the recorded history
    draft: bool


class Differences(msgspec.Struct, frozen=True):
    draft_version: str
    effective_from: datetime | None
    as_of: datetime | None
    added: list[PenaltyChange]
    removed: list[PenaltyChange]
    changed: list[PenaltyChange]
    companies: list[CompanyChange]


@dataclass(frozen=True)
class WhatIf:
    recorded: State
    draft: State
    differences: Differences


def whatif(
    facts: Iterable[Fact],
    history: PolicyHistory,
    draft: Policy,
    effective_from: datetime | None = None,
    as_of: datetime | None = None,
) -> WhatIf:
    facts = list(facts)
    trial = history.including(draft, effective_from)
    recorded, drafted = project(facts, history, as_of), project(facts, trial, as_of)
    return WhatIf(recorded, drafted, compare(recorded, drafted, draft.version, effective_from, as_of))


def compare(
    recorded: State,
    draft: State,
    draft_version: str,
    effective_from: datetime | None = None,
    as_of: datetime | None = None,
) -> Differences:
    before = {pid: PenaltyTerms.of(p) for pid, p in recorded.penalties.items()}
    after = {pid: PenaltyTerms.of(p) for pid, p in draft.penalties.items()}
    added = [PenaltyChange(pid, None, after[pid]) for pid in sorted(after.keys() - before.keys())]
    removed = [PenaltyChange(pid, before[pid], None) for pid in sorted(before.keys() - after.keys())]
    changed = [
        PenaltyChange(pid, before[pid], after[pid])
        for pid in sorted(before.keys() & after.keys())
        if not before[pid].decides_as(after[pid])
    ]
    at = as_of or max((p.at for p in [*recorded.penalties.values(), *draft.penalties.values()]), default=None)
    companies = []
    if at is not None:
        listed = set(recorded.blacklist["company"]) | set(draft.blacklist["company"])
        for company_id in sorted(listed):
            was = bool(recorded.active_penalties("company", company_id, at))
            would = bool(draft.active_penalties("company", company_id, at))
            if was != would:
                companies.append(CompanyChange(company_id, was, would))
    return Differences(draft_version, effective_from, as_of, added, removed, changed, companies)
