"""A fold up to a past time, from a checkpoint: gathered by `Projector.past`, folded anywhere.

The projector picks the checkpoint and reads the facts after it while it is safe to (a replica does
so under its lock); the fold itself touches nothing of the projector's, so it can run outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.policy import Policy
from domain.policy_history import PolicyHistory
from projections.checkpoint import thaw
from projections.fold import annulled, apply_in_order, collector_paused, finish, fire_deadlines, new_state
from projections.state import State
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
        with collector_paused():
            apply_in_order(state, self.facts)
            fire_deadlines(state, self.as_of)
        return finish(state, self.annulments, self.conflicts)
