"""The fold under `Projector`: folding on, taking checkpoints, and refolding from one.

Checkpoints are frozen states (projections.checkpoint) taken every so often while folding: when at
least `Spacing.min_facts` facts and `Spacing.cost_ratio` times the cost of the last checkpoint in fold
time have gone by, so that taking them costs at most about 1/cost_ratio of the fold. A change marks
the state wrong from a position on (`_redo_from`); the next read restores the newest sound
checkpoint before it (or keeps a warm one, projections.warm) and refolds the facts after it, read
back from the timeline. A checkpoint that fails to verify is discarded and the next older one is
used (in the end, the empty state).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from domain.policy import Policy
from domain.policy_history import PolicyHistory, as_history
from projections.annulment import void_annulled
from projections.cadence import Cadence
from projections.checkpoint import Position, end_of, freeze, thaw
from projections.fold import annulled, collector_paused, fire_deadlines, new_state
from projections.fold import sort_key as position
from projections.late import LateCalls
from projections.state import State
from projections.timeline import (
    Checkpoint,
    Checkpoints,
    MemoryCheckpoints,
    MemoryTimeline,
    Refold,
    Spacing,
    Timeline,
    newest_sound,
)
from projections.warm import Preparation, Warm, WarmCheckpoints, thaw_planned
from schemas.facts import Fact, ViolationAnnulled

#: States kept for freeing when idle (_retire): each is a whole State more meanwhile.
RETIRED = 2


class CheckpointedFold:
    """The live state, its checkpoints and warm states; `Projector` feeds it and reads it."""

    def __init__(
        self,
        policy: Policy | PolicyHistory,
        timeline: Timeline | None = None,
        checkpoints: Checkpoints | None = None,
        spacing: Spacing = Spacing(),  # noqa: B008 (frozen, shared safely)
        warm: Iterable[timedelta] = (),
    ) -> None:
        self.history = as_history(policy)
        self.policy = self.history.latest  # the version callers read terms from (zone, admission)
        self.timeline: Timeline = timeline if timeline is not None else MemoryTimeline()
        self.checkpoints: Checkpoints = checkpoints if checkpoints is not None else MemoryCheckpoints()
        self.spacing = spacing
        self.warm = WarmCheckpoints(warm)  # reaches of the checkpoints kept thawed (projections.warm)
        self._state = new_state(self.history)
        self._retired: list[State] = []  # states replaced or dropped, freed when idle (_retire)
        self._position: Position | None = None  # of the last fact folded into _state
        self._folded = 0  # distinct facts folded into _state
        self._clock: datetime | None = None  # deadlines are applied up to here
        self._latest: datetime | None = None  # latest event time held
        self._redo: Position | None = None  # _state is wrong from here on: refold at the next read
        self._stale = False
        self._annulments: dict[str, ViolationAnnulled] = {}
        self._conflicts: dict[tuple[str, bytes], tuple[Fact, Fact]] = {}
        self.cadence = Cadence(spacing)  # when to take the next checkpoint
        self.last_refold: Refold | None = None
        self.refolds = 0
        self.voided = 0  # annulments voided in place, without a refold (projections.annulment)
        self.late = LateCalls()  # late calls applied where the fold stands (projections.late)
        self._held = len(self.timeline)

    @property
    def latest(self) -> datetime | None:
        return self._latest

    @property
    def stale(self) -> bool:
        """A change waits to be refolded (at the next `state()`)."""
        return self._stale

    def _redo_from(self, at: Position) -> None:
        """The state is wrong from `at` on, and so is every checkpoint there or later: they go now,
        before the facts that made them wrong are stored, so that a crash in between cannot leave
        a checkpoint that contradicts the timeline."""
        if self._redo is None or at < self._redo:
            self._drop_from(at)
            self._redo = at
        self._stale = True

    def _drop_from(self, at: Position) -> None:
        self.checkpoints.drop_from(at)
        for warm in self.warm.drop_from(at):
            self._retire(warm.state)

    def advance(self, now: datetime) -> None:
        """Let the deadlines due by `now` take effect (a passed codes deadline blacklists)."""
        if self._clock is None or now > self._clock:
            self._clock = now
            if not self._stale:
                self._fire_deadlines(self._state, now)

    def _fire_deadlines(self, state: State, now: datetime) -> None:
        before = state.effects
        fire_deadlines(state, now)
        if state.effects != before:  # a late fact before `now` no longer commutes
            self.late.settle(end_of(now))

    # --- folding -----------------------------------------------------------------------------------
    def _fold(self, state: State, facts: list[Fact], checkpoints: bool = True) -> None:
        """Apply facts in event order to the live state, taking checkpoints as the spacing says, and
        watching for late calls (projections.late)."""
        step = max(1, self.spacing.min_facts)
        for i in range(0, len(facts), step):
            chunk = facts[i : i + step]
            t0 = time.perf_counter()
            self.late.fold(state, chunk)
            self._position = position(chunk[-1])
            self._folded += len(chunk)
            self.cadence.folded(len(chunk), time.perf_counter() - t0)
            if checkpoints:
                self._maybe_checkpoint(state)

    def _maybe_checkpoint(self, state: State) -> None:
        if self.cadence.due(self._position):
            self._checkpoint(state)

    def _checkpoint(self, state: State) -> None:
        t0 = time.perf_counter()
        blob = freeze(state, self._position, self._folded)
        self.checkpoints.save(Checkpoint(self._position, self._folded, blob))
        self.cadence.taken(self._position, time.perf_counter() - t0)

    def _restore(self, bound: Position | None) -> tuple[State, Position | None, int]:
        """The newest sound checkpoint strictly before `bound`, thawed (or kept warm), with the
        annulments voided in place since it was taken; the empty state if none."""
        warm = self.warm.take(bound, self.checkpoints)
        found: tuple[State, Position | None, int]
        if warm is not None:
            found = warm.state, warm.position, warm.facts
        else:
            sound = newest_sound(self.checkpoints, bound, lambda blob: thaw(blob, self.history))
            found = sound[1] if sound is not None else (new_state(self.history), None, 0)
        void_annulled(found[0], self._annulled())
        return found

    def _materialise(self) -> None:
        if not self._stale:
            return
        t0 = time.perf_counter()
        state, since, folded = self._restore(self._redo)
        state.annulled = self._annulled()
        self._retire(self._state)
        self._state, self._position, self._folded = state, since, folded
        self.cadence.restart(since)
        refolded = 0
        self.late.restart(since)
        with collector_paused():
            for batch in self.timeline.after(since):
                self._fold(state, batch)
                refolded += len(batch)
        if self._clock is not None:  # without a clock, deadlines run up to the last fact (as folded)
            self._fire_deadlines(state, self._clock)
        self._redo, self._stale = None, False
        self.refolds += 1
        self.last_refold = Refold(since, refolded, time.perf_counter() - t0)

    def _retire(self, state: State) -> None:
        """Freeing a whole state is a cascade of millions of deallocations: about 90 ms at 621k facts,
        most of what a late fact's warm refold cost. A process that prepares warm checkpoints keeps
        the states a change replaced or dropped until it is idle (`plan_warm`), so the change's path
        does not pay for them; at most RETIRED at once, in case it is never idle."""
        if self.warm.reaches:
            self._retired = [*self._retired[-(RETIRED - 1) :], state]

    # --- warm checkpoints (projections.warm) -------------------------------------------------------
    def prepare(self) -> int:
        """Thaw the checkpoints the warm reaches call for, now (a process with nothing else to do);
        returns how many were kept. `plan_warm`, `thaw_warm` and `install_warm` do the same with the
        thaw outside the caller's lock."""
        plan = self.plan_warm()
        return self.install_warm(plan, self.thaw_warm(plan))

    def plan_warm(self) -> Preparation:
        """Which checkpoints to thaw. A refold takes few checkpoints (they are spaced by fold time),
        so when it left the newest one `min_facts` behind, one is taken first (Cadence.idle_due)."""
        self._materialise()  # a pending refold would drop what it picks
        self._retired.clear()  # idle now: the states the last changes replaced are freed here
        if self.warm.reaches and self._position is not None and self.cadence.idle_due():
            self._checkpoint(self._state)
        return self.warm.plan(self.checkpoints, self._latest)

    def thaw_warm(self, plan: Preparation) -> list[tuple[timedelta, Warm]]:
        """Touches nothing of the projector's: safe on another thread while it folds on."""
        return thaw_planned(plan, self.history)

    def install_warm(self, plan: Preparation, thawed: list[tuple[timedelta, Warm]]) -> int:
        return self.warm.install(plan, thawed)

    def _annulled(self) -> dict[str, datetime]:
        return annulled(self._annulments_in_order())

    def _annulments_in_order(self) -> list[ViolationAnnulled]:
        return sorted(self._annulments.values(), key=position)
