"""The projection a query process serves, and how a change reaches it without making readers wait.

Serving never waits on a refold: facts that extend the timeline are applied in place under the lock
(microseconds a fact); a change that needs a refold (late fact, annulment) is refolded outside the
lock from the nearest checkpoint into a new State, while questions are answered from the state
served so far, and the new state is swapped in under the lock when it is complete.

Which state answers a question at time t:
- the served state, when t is at or after the latest fact: deadlines due by t are fired first (only
  those, one deadline at a time, so the projector's clock never runs ahead of a deadline it fired and
  facts that arrive a little late on a live line do not force a rebuild); while a refold runs, the
  state served before it, as it is;
- otherwise a fold of the facts up to t from the nearest checkpoint before t, gathered under the lock
  and folded outside it, cached by (t, version).

Exact views (snapshot, digest) additionally need that no deadline after t was fired for an earlier
question; time-indexed questions (admission) do not: a penalty started by a later deadline starts
after t and never covers t.

consumers.replica.Replica keeps it current from the facts topic.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from domain.policy_history import PolicyHistory
from projections.fold import project
from projections.projector import Projector
from projections.state import State
from schemas.facts import Fact

T = TypeVar("T")
_FOLD_CACHE = 2  # folded past states kept; each is a whole projection, so keep few


class LiveProjection:
    def __init__(self, history: PolicyHistory, projector: Projector | None = None) -> None:
        """`history`: the policy versions, each in force from its effective time; every fold judges a
        fact under the version in force at its time."""
        self.history = history
        self.policy = self.history.latest  # the calendar and the terms of "now" (API parameters)
        self.projector = projector if projector is not None else Projector(self.history)
        self._served: State = self.projector.state()
        self.refolding = False  # the feeder is refolding outside the lock: serve _served as it is
        self.lock = threading.Lock()
        self._latest: datetime | None = None  # latest event time among the facts
        self._advanced_to: datetime | None = None  # latest deadline fired for a question
        self.version = 0  # bumped whenever new facts arrive; keys the fold cache
        self.records = 0  # records read from the topic (re-sent facts included)
        # partition -> next offset, of the records behind the state served (an admission's known_offsets)
        self.known: dict[int, int] = {}
        self._folds: OrderedDict[tuple[datetime | None, int], State] = OrderedDict()
        self._fold_lock = threading.Lock()  # one fold at a time: each may need a whole projection of memory

    # --- changing -------------------------------------------------------------------------------
    def add(
        self, batch: Sequence[Fact], materialise: bool = True, positions: dict[int, int] | None = None
    ) -> int:
        """Apply a batch; `materialise` refolds now, in the feeder and outside the lock, rather than
        leaving it to the next read. `positions`: the topic's per-partition offsets once the batch is
        read; they become `known` together with the state they built, never before it."""
        with self.lock:
            new = self.projector.add(batch)
            self.records += len(batch)
            if new:
                self.version += 1
                self._latest = self.projector.latest
            if not self.projector.stale:
                self._served = self.projector.state()
                self.known = positions if positions is not None else self.known
                return new
            if not materialise:
                return new
            self.refolding = True
        try:
            state = self.projector.state()  # the long part: no reader waits on it
        finally:
            with self.lock:
                self.refolding = False
        with self.lock:
            self._served = state
            self.known = positions if positions is not None else self.known
        return new

    def prepare(self) -> None:
        """Idle: thaw the warm checkpoints the projector wants (projections.warm) outside the lock,
        on the feeder's thread, the only one that changes the projector, so nothing changes meanwhile."""
        if not self.projector.warm.reaches or self.projector.stale:
            return
        with self.lock:
            plan = self.projector.plan_warm()
        if plan.wanted:
            thawed = self.projector.thaw_warm(plan)
            with self.lock:
                self.projector.install_warm(plan, thawed)

    # --- reading --------------------------------------------------------------------------------
    @property
    def applied(self) -> int:
        """Distinct facts the projection holds."""
        return len(self.projector)

    def _live(self, t: datetime, exact: bool) -> State | None:
        """The live state answering for t (call with the lock held), or None when t needs a fold."""
        latest = self._latest
        if latest is not None and t < latest:
            return None
        if exact and self._advanced_to is not None and t < self._advanced_to:
            return None
        if self.refolding or self.projector.stale:
            return None if exact else self._served  # as it was before the change being refolded
        state = self._served
        for _ in range(1000):  # each round fires at least one deadline; the bound only guards the loop
            if not state.scheduled or state.scheduled[0][0] > t:
                return state
            due = state.scheduled[0][0]
            self.projector.advance(due)
            if self._advanced_to is None or due > self._advanced_to:
                self._advanced_to = due
            state = self._served = self.projector.state()
        return None

    def try_read(self, t: datetime, fn: Callable[[State], T], exact: bool = False) -> tuple[bool, T | None]:
        """Answer from the live state without waiting: (False, None) when the feeder holds the lock or
        t needs a fold. For the event loop's fast path; the caller falls back to `read` in a thread."""
        if not self.lock.acquire(blocking=False):
            return False, None
        try:
            state = self._live(t, exact)
            if state is None:
                return False, None
            return True, fn(state)
        finally:
            self.lock.release()

    def read(self, t: datetime | None, fn: Callable[[State], T], exact: bool = True) -> T:
        """fn(the projection at t); t None means every fact with every deadline fired (as `replay`).
        May block: on the lock, or on a fold of the facts up to t."""
        with self.lock:
            state = self._live(t, exact) if t is not None else None
            if state is not None:
                return fn(state)
            key = (t, self.version)
        return fn(self._fold(key))

    def _fold(self, key: tuple[datetime | None, int]) -> State:
        """A folded state is never mutated again: readers share it without the lock."""
        with self._fold_lock:
            state = self._folds.get(key)
            if state is None:
                t = key[0]
                with self.lock:  # gather what the fold needs; the fold itself runs outside the lock
                    past = None if t is None or self.refolding else self.projector.past(t)
                    facts = None if past is not None else self.projector.facts()
                state = past.fold() if past is not None else project(facts or [], self.history, as_of=t)
                self._folds[key] = state
                while len(self._folds) > _FOLD_CACHE:
                    self._folds.popitem(last=False)
            else:
                self._folds.move_to_end(key)
            return state

    def facts(self) -> list[Fact]:
        with self.lock:
            return self.projector.facts()
