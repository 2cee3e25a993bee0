"""The incremental fold for long-running processes (Kafka workers, the query API, the embedded log).

It gives exactly `project()`'s result for the same set of facts, whatever the batches and their
order, and costs what changed rather than the whole history:

- facts that extend the timeline are applied in place;
- a change that lands before what was already applied — a late fact, a back-dated lift, an annulment,
  a conflicting id — restores the newest checkpoint before the earliest instant the change can affect
  and refolds only the facts after it (read back from the timeline). An annulment can affect nothing
  before its violation was confirmed, so it refolds from the violation's own time, not from the start;
- a past `as_of` also starts from the nearest checkpoint before it;
- an annulment that nothing folded since has read is voided where the fold stands
  (projections.annulment), and so is a checkpoint taken before it, when it is thawed.

Checkpoints are frozen states (projections.checkpoint) taken every so often while folding: when at
least `Spacing.min_facts` facts and `Spacing.cost_ratio` times the cost of the last checkpoint in fold
time have gone by, so that taking them costs at most about 1/cost_ratio of the fold. A checkpoint that
fails to verify is discarded and the next older one is used (in the end, the empty state).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from domain.policy import Policy
from domain.policy_history import PolicyHistory, as_history
from projections.annulment import SCANNED, annul_in_place, void_annulled
from projections.cadence import Cadence
from projections.checkpoint import END, Position, end_of, freeze, start_of, thaw
from projections.fold import (
    annulled,
    collector_paused,
    conflict_order,
    finish,
    fire_deadlines,
    in_event_order,
    new_state,
    settle,
    version,
)
from projections.fold import sort_key as position
from projections.late import LateCalls, late_prefix
from projections.past import PastFold, gather_past
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

__all__ = ["Projector", "Refold"]

#: States kept for freeing when idle (Projector._retire): each is a whole State more meanwhile.
RETIRED = 2


class Projector:
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

    def __len__(self) -> int:
        """Distinct facts held (counted here: a store on disk would count its rows on every call)."""
        return self._held

    @property
    def latest(self) -> datetime | None:
        return self._latest

    @property
    def stale(self) -> bool:
        """A change waits to be refolded (at the next `state()`)."""
        return self._stale

    def facts(self) -> list[Fact]:
        """Every fact held, with the losing versions of conflicting ids: what `project()` would take."""
        held = [fact for batch in self.timeline.after(None) for fact in batch]
        return held + [drop for _, drop in self._conflicts.values()]

    # --- resuming over a timeline that already holds facts (a restart) ------------------------------
    def resume(
        self, changed_from: Position | None, annulments: Iterable[ViolationAnnulled], latest: datetime | None
    ) -> None:
        """Take up a timeline filled before this process started. Its checkpoints are sound for the
        facts held then; `changed_from` is the earliest position that what came since can affect
        (None: nothing came; the newest checkpoint stands). The next read refolds what follows."""
        self._annulments = {fact.id: fact for fact in annulments}
        self._latest = latest
        self._redo_from(changed_from if changed_from is not None else END)

    def checkpoint_now(self, min_facts: int = 1) -> None:
        """Save a checkpoint of the live state now (a short-lived process before it exits), if at least
        `min_facts` facts were folded since the last one."""
        self._materialise()
        if self._position is not None and self.cadence.facts >= min_facts:
            self._checkpoint(self._state)

    # --- input -------------------------------------------------------------------------------------
    def add(self, batch: Iterable[Fact]) -> int:
        """Take a batch of facts; returns how many ids were new. Re-sent facts change nothing."""
        batch = list(batch)
        held = self.timeline.get_many({fact.id for fact in batch})  # one look-up for the batch
        new: dict[str, Fact] = {}
        replaced: list[Fact] = []
        for fact in batch:
            seen = new.get(fact.id) or held.get(fact.id)
            if seen is None:
                new[fact.id] = fact
            elif seen != fact:
                keep, drop = settle(seen, fact)
                self._conflicts[version(drop)] = (keep, drop)
                if keep is fact:  # the held version loses: everything from the earlier of the two is redone
                    if fact.id in new:
                        new[fact.id] = fact
                    else:
                        replaced.append(fact)
                        held[fact.id] = fact
                        self._redo_from(min(position(seen), position(fact)))
                        if self._annulments.pop(fact.id, None) is not None:
                            self._unannul(seen)
        if not new and not replaced:
            return 0
        facts = list(new.values())
        in_event_order(facts)
        for fact in [*facts, *replaced]:
            if type(fact) is ViolationAnnulled:
                self._annul(fact)
        if replaced:  # a replaced annulment may have named another violation
            self._state.annulled = self._annulled()
        latest = max(f.at for f in [*facts, *replaced])
        if self._latest is None or latest > self._latest:
            self._latest = latest
        in_place, late = False, 0
        if facts:
            late = late_prefix(facts, self._position, self._clock)
            if self._stale or not all(self.late.may_commute(x) for x in facts[:late]):
                self._redo_from(position(facts[0]))
            else:
                in_place = True
                if late:  # they will be applied where the fold stands: checkpoints after them lack them
                    self._drop_from(position(facts[0]))
        self.timeline.put([*facts, *replaced])  # after every checkpoint they contradict is gone
        self._held += len(facts)
        if in_place:
            self._fold(self._state, facts[late:], checkpoints=not late)
            if late:
                self._apply_late(facts[:late])
        return len(new)

    def _apply_late(self, late: list[Fact]) -> None:
        if not self.late.apply(self._state, late, self.timeline):
            self._redo_from(position(late[0]))
            return
        self._folded += len(late)
        self.cadence.folded(len(late))
        self._maybe_checkpoint(self._state)

    def _annul(self, fact: ViolationAnnulled) -> None:
        self._annulments[fact.id] = fact
        self._state.annulled = self._annulled()
        violation = self._state.violations.get(fact.violation_id)
        if violation is None:
            return  # not confirmed yet: the confirmation will read the annulment when it comes
        since = start_of(violation.at)
        if not self._stale and annul_in_place(
            self._state, violation.id, self._state.annulled[violation.id], self.timeline.scan(since, SCANNED)
        ):  # nothing since read what it caused (projections.annulment): voided where the fold stands;
            self.voided += 1  # the checkpoints after it stand, and are voided the same way when thawed
        else:  # its consequences are redone as born void
            self._redo_from(since)

    def _unannul(self, fact: Fact) -> None:
        """An annulment replaced by another version of its id: what it voided is redone as in force."""
        assert isinstance(fact, ViolationAnnulled)
        violation = self._state.violations.get(fact.violation_id)
        if violation is not None:
            self._redo_from(start_of(violation.at))

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

    # --- reading -----------------------------------------------------------------------------------
    def state(self, now: datetime | None = None) -> State:
        """The projections of every fact so far, with deadlines applied up to `now` (or the last fact).

        Equal to project(facts, policy, as_of=now) whenever `now` is at or after the latest fact."""
        if now is not None:
            self.advance(now)
        self._materialise()
        return finish(self._state, self._annulments_in_order(), self.conflicts())

    def state_at(self, as_of: datetime) -> State:
        """The projections as they were at an earlier time: from the nearest checkpoint before it."""
        if self._latest is None or (as_of >= self._latest and (self._clock is None or as_of >= self._clock)):
            return self.state(as_of)
        return self.past(as_of).fold()

    def past(self, as_of: datetime) -> PastFold:
        """What a fold up to `as_of` needs, gathered now (cheap: a checkpoint's bytes and the facts
        after it); `fold()` it later, elsewhere: it touches nothing of the projector's."""
        self._materialise()
        annulments = self._annulments_in_order()
        return gather_past(
            self.history, as_of, self.timeline, self.checkpoints, annulments, self._state, self.conflicts()
        )

    def _annulments_in_order(self) -> list[ViolationAnnulled]:
        return sorted(self._annulments.values(), key=position)

    def conflicts(self) -> list[tuple[Fact, Fact]]:
        """Each distinct losing version of an id, against the version held."""
        found = [(self.timeline.get(drop.id) or keep, drop) for keep, drop in self._conflicts.values()]
        return sorted(found, key=conflict_order)
