"""A whole-projection replica for a query process: every fact of the facts topic, kept current.

Each API process holds the WHOLE projection (the rules cross keys everywhere), so any process answers
any key. A background thread first drains every partition of the facts topic from offset 0 (ready
once it has caught up with the end offsets seen at start), then keeps polling. The projection is a
`projections.projector.Projector`; the feeder thread owns it.

Serving never waits on a refold: facts that extend the timeline are applied in place under the lock
(microseconds a fact); a change that needs a refold (late fact, annulment) is refolded by the feeder
outside the lock from the nearest checkpoint into a new State, while questions are answered from the
state served so far, and the new state is swapped in under the lock when it is complete.

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
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar

from domain.policy import Policy
from domain.policy_history import PolicyHistory, as_history
from projections.fold import project
from projections.projector import Projector
from projections.state import State
from schemas.facts import Fact
from storage.resume import open_store, save_offsets

log = logging.getLogger("hotline.replica")
T = TypeVar("T")
_FOLD_CACHE = 2  # folded past states kept; each is a whole projection, so keep few
BEHIND = 1000  # records not yet read above which the replica is not ready
LAG_EVERY = 1.0  # seconds between two looks at the end offsets


class Replica:
    def __init__(
        self,
        policy: Policy | PolicyHistory,
        feed: Callable[[], FeedReader] | None = None,
        projector: Projector | None = None,
    ) -> None:
        """`feed` opens a reader of the facts topic (see `from_kafka`); without one the replica is
        filled by `add` and ready at once. `policy`: one pack, or versions each in force from its
        effective time; every fold judges a fact under the version in force at its time."""
        self.history = as_history(policy)
        self.policy = self.history.latest  # the calendar and the terms of "now" (API parameters)
        self.projector = projector if projector is not None else Projector(self.history)
        self._served: State = self.projector.state()
        self.refolding = False  # the feeder is refolding outside the lock: serve _served as it is
        self.lock = threading.Lock()
        self._feed = feed
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._latest: datetime | None = None  # latest event time among the facts
        self._advanced_to: datetime | None = None  # latest deadline fired for a question
        self.version = 0  # bumped whenever new facts arrive; keys the fold cache
        self.records = 0  # records read from the topic (re-sent facts included)
        self.error: str | None = None
        self.lag: dict[int, int] = {}  # partition -> records not read yet, as of the last look
        # partition -> next offset, of the records behind the state served (an admission's known_offsets)
        self.known: dict[int, int] = {}
        self.stored: dict[int, int] | None = None  # with a store: offsets up to which it holds every fact
        self._folds: OrderedDict[tuple[datetime | None, int], State] = OrderedDict()
        self._fold_lock = threading.Lock()  # one fold at a time: each may need a whole projection of memory
        if feed is None:
            self._ready.set()

    # --- construction ---------------------------------------------------------------------------
    @classmethod
    def from_facts(cls, facts: Iterable[Fact], policy: Policy | PolicyHistory) -> Replica:
        """A replica filled from a local list (tests, benchmarks): no broker, ready at once."""
        replica = cls(policy)
        replica.add(list(facts), materialise=True)
        return replica

    @classmethod
    def from_projector(cls, projector: Projector) -> Replica:
        """A replica over a filled projector (tests, benchmarks): no broker, ready at once."""
        replica = cls(projector.history, projector=projector)
        replica._latest = projector.latest
        replica._served = projector.state()
        return replica

    @classmethod
    def from_kafka(
        cls,
        servers: str | None,
        namespace: str | None,
        policy: Policy | PolicyHistory,
        state_dir: Path | None = None,
    ) -> Replica:
        """A replica fed from the facts topic. With `state_dir`, its facts and checkpoints live on disk
        there, and a restart resumes from the newest checkpoint and reads on from where it stopped."""
        from consumers.kafka_log import FactReader, topic_name
        from schemas.topics import FACTS

        topic = topic_name(FACTS, namespace)
        if state_dir is None:
            return cls(policy, feed=lambda: FactReader(servers, topic))
        history = as_history(policy)
        projector, stored = open_store(state_dir / "projection.db", history)
        replica = cls(history, projector=projector)
        replica.stored = stored
        replica._latest = projector.latest
        replica._feed = lambda: FactReader(servers, topic, start=replica.stored)
        replica._ready.clear()
        return replica

    def policy_at(self, t: datetime) -> Policy:
        """The version in force at t: an admission answers, and records, under the version of the call."""
        return self.history.at(t)

    # --- feeding --------------------------------------------------------------------------------
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
                    self.add([], positions=reader.positions())  # the one refold the drain left pending
                    freeze_long_lived()
                    self._ready.set()
                    self.error = None
                    log.info(
                        "replica caught up: %d facts in %.1fs",
                        len(self.projector),
                        time.perf_counter() - started,
                    )
                    self._remember(reader)
                backoff = 0.5
                looked = 0.0
                while not self._stop.is_set():
                    if batch := reader.poll(200):
                        self.add(batch, positions=reader.positions())
                        self._remember(reader)
                    if time.monotonic() - looked >= LAG_EVERY:
                        self.lag, looked = reader.lag(), time.monotonic()
                        self.error = None
            except Exception as err:  # the feeder must outlive a broker outage: report, wait, reopen
                self.error = f"{type(err).__name__}: {err}"
                log.warning("reading the facts topic failed (%s); retrying in %.1fs", self.error, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                if reader is not None:
                    reader.close()
        # a reopened reader starts again from offset 0: the projector drops what it already holds

    def _remember(self, reader: FeedReader) -> None:
        """With a store: every fact read so far is in it; a restart reads on from here."""
        if self.stored is not None:
            positions = reader.positions()
            if positions != self.stored:
                save_offsets(self.projector, positions)
                self.stored = positions

    # --- reading --------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Caught up once, reading, and no more than BEHIND records behind."""
        return self._ready.is_set() and self.error is None and sum(self.lag.values()) <= BEHIND

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

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


def freeze_long_lived() -> None:
    """Move the projection out of the cyclic collector's sight: it lives as long as the process, and a
    full collection over it stalls every request in flight (about 100 ms at 350k facts)."""
    gc.collect()
    gc.freeze()


class FeedReader(Protocol):
    """What the feeder needs of consumers.kafka_log.FactReader (tests may pass a fake)."""

    def drain(self) -> Iterator[Sequence[Fact]]: ...
    def poll(self, timeout_ms: int = 200) -> Sequence[Fact]: ...
    def positions(self) -> dict[int, int]: ...
    def lag(self) -> dict[int, int]: ...
    def close(self) -> None: ...
