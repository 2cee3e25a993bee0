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

The folding, the checkpoints and the refolds are projections.checkpointed; this class decides what a
batch changes and from where it must be refolded, and answers reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from projections.annulment import SCANNED, annul_in_place
from projections.checkpoint import END, Position, start_of
from projections.checkpointed import CheckpointedFold
from projections.fold import conflict_order, finish, in_event_order, settle, version
from projections.fold import sort_key as position
from projections.late import late_prefix
from projections.past import PastFold, gather_past
from projections.state import State
from projections.timeline import Refold
from schemas.facts import Fact, ViolationAnnulled

__all__ = ["Projector", "Refold"]


class Projector(CheckpointedFold):
    def __len__(self) -> int:
        """Distinct facts held (counted here: a store on disk would count its rows on every call)."""
        return self._held

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

    def conflicts(self) -> list[tuple[Fact, Fact]]:
        """Each distinct losing version of an id, against the version held."""
        found = [(self.timeline.get(drop.id) or keep, drop) for keep, drop in self._conflicts.values()]
        return sorted(found, key=conflict_order)
