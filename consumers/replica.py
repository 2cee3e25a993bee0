"""A whole-projection replica for a query process: every fact of the facts topic, kept current.

Each API process holds the WHOLE projection (the rules cross keys everywhere), so any process answers
any key. A background thread first drains every partition of the facts topic from offset 0 (ready
once it has caught up with the end offsets seen at start), then keeps polling. The projection is a
`projections.projector.Projector`, mutated in place; a lock serialises the feeder against readers.

Which state answers a question at time t:
- the live state, when t is at or after the latest fact: deadlines due by t are fired first (only
  those, one deadline at a time, so the projector's clock never runs ahead of a deadline it fired and
  facts that arrive a little late on a live line do not force a rebuild);
- otherwise a fold of the facts up to t (`project`), done outside the lock and cached by (t, version).

Exact views (snapshot, digest) additionally need that no deadline after t was fired for an earlier
question; time-indexed questions (admission) do not: a penalty started by a later deadline starts
after t and never covers t.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from domain.policy import Policy
from projections.fold import project
from projections.projector import Projector
from projections.state import State
from schemas.facts import Fact

log = logging.getLogger("hotline.replica")
T = TypeVar("T")
_FOLD_CACHE = 2  # folded past states kept; each is a whole projection, so keep few


class Replica:
    def __init__(self, policy: Policy, feed: Callable[[], FeedReader] | None = None) -> None:
        """`feed` opens a reader of the facts topic (see `from_kafka`); without one the replica is
        filled by `add` and ready at once."""
        self.policy = policy
        self.projector = Projector(policy)
        self.lock = threading.Lock()
        self._feed = feed
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conflicting: list[Fact] = []  # second versions of an id: the fold decides between them
        self._latest: datetime | None = None  # latest event time among the facts
        self._advanced_to: datetime | None = None  # latest deadline fired for a question
        self.version = 0  # bumped whenever new facts arrive; keys the fold cache
        self.records = 0  # records read from the topic (re-sent facts included)
        self.error: str | None = None
        self._folds: OrderedDict[tuple[datetime | None, int], State] = OrderedDict()
        self._fold_lock = threading.Lock()  # one fold at a time: each may need a whole projection of memory
        if feed is None:
            self._ready.set()

    # --- construction ---------------------------------------------------------------------------
    @classmethod
    def from_facts(cls, facts: Iterable[Fact], policy: Policy) -> Replica:
        """A replica filled from a local list (tests, benchmarks): no broker, ready at once."""
        replica = cls(policy)
        replica.add(list(facts), materialise=True)
        return replica

    @classmethod
    def from_projector(cls, projector: Projector) -> Replica:
        return cls.from_facts(projector.facts.values(), projector.policy)

    @classmethod
    def from_kafka(cls, servers: str | None, namespace: str | None, policy: Policy) -> Replica:
        from consumers.kafka_log import FactReader, topic_name
        from schemas.topics import FACTS

        topic = topic_name(FACTS, namespace)
        return cls(policy, feed=lambda: FactReader(servers, topic))

    # --- feeding --------------------------------------------------------------------------------
    def add(self, batch: Sequence[Fact], materialise: bool = True) -> int:
        """Apply a batch; `materialise` folds a pending rebuild now, in the feeder, not in a request."""
        with self.lock:
            facts = self.projector.facts
            for fact in batch:
                seen = facts.get(fact.id)
                if seen is not None and seen != fact:
                    self._conflicting.append(fact)
            new = self.projector.add(batch)
            self.records += len(batch)
            if new:
                self.version += 1
                latest = max(fact.at for fact in batch)
                if self._latest is None or latest > self._latest:
                    self._latest = latest
            if materialise:
                self.projector.state()
            return new

    def start(self) -> None:
        if self._feed is not None and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="replica-feed", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        assert self._feed is not None
        backoff = 0.5
        while not self._stop.is_set():
            reader = None
            try:
                reader = self._feed()
                if not self._ready.is_set():
                    started = time.perf_counter()
                    # While draining, partitions interleave and batches arrive out of event order:
                    # leave the rebuild to one fold at the end instead of one per batch.
                    for batch in reader.drain():
                        self.add(batch, materialise=False)
                        if self._stop.is_set():
                            return
                    with self.lock:
                        self.projector.state()
                    freeze_long_lived()
                    self._ready.set()
                    self.error = None
                    log.info(
                        "replica caught up: %d facts in %.1fs",
                        len(self.projector.facts),
                        time.perf_counter() - started,
                    )
                backoff = 0.5
                while not self._stop.is_set():
                    if batch := reader.poll(200):
                        self.add(batch)
            except Exception as err:  # the feeder must outlive a broker outage: report, wait, reopen
                self.error = f"{type(err).__name__}: {err}"
                log.warning("reading the facts topic failed (%s); retrying in %.1fs", self.error, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                if reader is not None:
                    reader.close()
        # a reopened reader starts again from offset 0: the projector drops what it already holds

    # --- reading --------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    @property
    def applied(self) -> int:
        """Distinct facts the projection holds."""
        return len(self.projector.facts)

    def _live(self, t: datetime, exact: bool) -> State | None:
        """The live state answering for t (call with the lock held), or None when t needs a fold."""
        latest = self._latest
        if latest is not None and t < latest:
            return None
        if exact and self._advanced_to is not None and t < self._advanced_to:
            return None
        state = self.projector.state()
        for _ in range(1000):  # each round fires at least one deadline; the bound only guards the loop
            if not state.scheduled or state.scheduled[0][0] > t:
                return state
            due = state.scheduled[0][0]
            self.projector.advance(due)
            if self._advanced_to is None or due > self._advanced_to:
                self._advanced_to = due
            state = self.projector.state()
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
                with self.lock:
                    facts = [*self.projector.facts.values(), *self._conflicting]
                state = project(facts, self.policy, as_of=key[0])
                self._folds[key] = state
                while len(self._folds) > _FOLD_CACHE:
                    self._folds.popitem(last=False)
            else:
                self._folds.move_to_end(key)
            return state

    def facts(self) -> list[Fact]:
        with self.lock:
            return [*self.projector.facts.values(), *self._conflicting]


def freeze_long_lived() -> None:
    """Move the projection out of the cyclic collector's sight: it lives as long as the process, and a
    full collection over it stalls every request in flight (about 100 ms at 350k facts)."""
    gc.collect()
    gc.freeze()


class FeedReader(Protocol):
    """What the feeder needs of consumers.kafka_log.FactReader (tests may pass a fake)."""

    def drain(self) -> Iterator[Sequence[Fact]]: ...
    def poll(self, timeout_ms: int = 200) -> Sequence[Fact]: ...
    def close(self) -> None: ...
