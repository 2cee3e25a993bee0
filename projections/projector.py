"""The incremental fold for long-running processes (Kafka workers, the query API).

It gives exactly `project()`'s result for the same set of facts, whatever the batches and their
order: facts that extend the timeline are applied in place; a fact that arrives late (earlier than
what was already applied), an annulment, or a conflicting id makes the next read rebuild the fold
from the whole set. Late facts are rare on a live line, so the rebuild is the exception.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from domain.policy import Policy
from projections.fold import apply_in_order, fire_deadlines, in_event_order, project, sort_key
from projections.state import State
from schemas.facts import Fact, ViolationAnnulled


class Projector:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.facts: dict[str, Fact] = {}
        self._conflicting: list[Fact] = []
        self._state = State(policy)
        self._last: tuple[datetime, int, str] | None = None  # sort key of the last applied fact
        self._clock: datetime | None = None  # deadlines are applied up to here
        self._stale = False

    def add(self, batch: Iterable[Fact]) -> int:
        """Take a batch of facts; returns how many were new. Re-sent facts change nothing."""
        new: list[Fact] = []
        for fact in batch:
            seen = self.facts.get(fact.id)
            if seen is None:
                self.facts[fact.id] = fact
                new.append(fact)
            elif seen != fact:
                self._conflicting.append(fact)
                self._stale = True
        if not new or self._stale:
            self._stale = self._stale or bool(new)
            return len(new)
        in_event_order(new)
        first = sort_key(new[0])
        late = (self._last is not None and first <= self._last) or (
            self._clock is not None and new[0].at < self._clock
        )
        if late or any(type(fact) is ViolationAnnulled for fact in new):
            self._stale = True
            return len(new)
        apply_in_order(self._state, new)
        self._last = sort_key(new[-1])
        return len(new)

    def advance(self, now: datetime) -> None:
        """Let the deadlines due by `now` take effect (a passed codes deadline blacklists)."""
        if self._clock is None or now > self._clock:
            self._clock = now
            if not self._stale:
                fire_deadlines(self._state, now)

    def state(self, now: datetime | None = None) -> State:
        """The projections of every fact so far, with deadlines applied up to `now` (or the last fact).

        Equal to project(facts, policy, as_of=now) whenever `now` is at or after the latest fact."""
        if now is not None:
            self.advance(now)
        if self._stale:
            latest = max((f.at for f in self.facts.values()), default=None)
            clock = max(filter(None, (self._clock, latest)), default=None)
            self._state = project([*self.facts.values(), *self._conflicting], self.policy, as_of=clock)
            self._last = max(map(sort_key, self.facts.values()), default=None)
            self._clock = clock
            self._stale = False
        return self._state

    def state_at(self, as_of: datetime) -> State:
        """The projections as they were at an earlier time: a fold of the facts up to then."""
        latest = max((f.at for f in self.facts.values()), default=None)
        if latest is None or as_of >= latest:
            return self.state(as_of)
        return project([*self.facts.values(), *self._conflicting], self.policy, as_of=as_of)
