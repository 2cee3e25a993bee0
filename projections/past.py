"""A fold up to a past time, from a checkpoint: gathered by `Projector.past`, folded anywhere.

The projector picks the checkpoint and reads the facts after it while it is safe to (a replica does
so under its lock); the fold itself touches nothing of the projector's, so it can run outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.policy import Policy
from domain.policy_history import PolicyHistory
from projections.annulment import void_annulled
from projections.checkpoint import end_of, start_of, thaw, verify
from projections.fold import annulled, apply_in_order, collector_paused, finish, fire_deadlines, new_state
from projections.state import State
from projections.timeline import Checkpoints, Timeline, newest_sound
from schemas.facts import Fact, ViolationAnnulled


@dataclass
class PastFold:
    """The fold of the facts up to `as_of`: a verified checkpoint (or none) and the facts after it."""

    policy: Policy | PolicyHistory
    as_of: datetime
    checkpoint: bytes | None
    facts: list[Fact]  # after the checkpoint, up to as_of, in event order
    annulments: list[ViolationAnnulled]
    conflicts: list[tuple[Fact, Fact]]

    def fold(self) -> State:
        state = new_state(self.policy) if self.checkpoint is None else thaw(self.checkpoint, self.policy)[0]
        state.annulled = annulled(self.annulments)
        void_annulled(state, state.annulled)  # those voided in place after the checkpoint was taken
        with collector_paused():
            apply_in_order(state, self.facts)
            fire_deadlines(state, self.as_of)
        return finish(state, self.annulments, self.conflicts)


def gather_past(
    history: PolicyHistory,
    as_of: datetime,
    timeline: Timeline,
    checkpoints: Checkpoints,
    annulments: list[ViolationAnnulled],
    state: State,
    conflicts: list[tuple[Fact, Fact]],
) -> PastFold:
    """The newest sound checkpoint for a fold up to `as_of`, and the facts after it. `state`: the
    projector's current one, which knows when each violation was confirmed."""
    # A checkpoint holds the annulments known when it was taken; one dated after as_of must not
    # void a violation confirmed before the checkpoint, so start before any such violation.
    bound = end_of(as_of)
    for fact in annulments:
        violation = state.violations.get(fact.violation_id)
        if fact.at > as_of and violation is not None:
            bound = min(bound, start_of(violation.at))
    found = newest_sound(checkpoints, bound, verify)
    chosen = found[0] if found is not None else None
    since = chosen.position if chosen is not None else None
    return PastFold(
        history,
        as_of,
        chosen.blob if chosen is not None else None,
        [fact for batch in timeline.after(since, until=as_of) for fact in batch],
        [f for f in annulments if f.at <= as_of],
        conflicts,
    )
