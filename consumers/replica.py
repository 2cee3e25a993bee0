"""A whole-projection replica for a query process: every fact of the facts topic, kept current.

Each API process holds the WHOLE projection (the rules cross keys everywhere), so any process answers
any key. A background thread first drains every partition of the facts topic from offset 0 (ready
once it has caught up with the end offsets seen at start), then keeps polling. The projection is a
`projections.projector.Projector`; the feeder thread owns it. How a change reaches the state served
without making readers wait, and which state answers a question at time t:
consumers.live_projection.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from consumers.live_projection import LiveProjection
from domain.policy import Policy
from domain.policy_history import PolicyHistory, as_history
from projections.projector import Projector
from schemas.facts import Fact
from storage.resume import open_store, save_offsets

log = logging.getLogger("hotline.replica")
BEHIND = 1000  # records not yet read above which the replica is not ready
LAG_EVERY = 1.0  # seconds between two looks at the end offsets


class Replica(LiveProjection):
    def __init__(
        self,
        policy: Policy | PolicyHistory,
        feed: Callable[[], FeedReader] | None = None,
        projector: Projector | None = None,
    ) -> None:
        """`feed` opens a reader of the facts topic (see `from_kafka`); without one the replica is
        filled by `add` and ready at once. `policy`: one pack, or versions each in force from its
        effective time; every fold judges a fact under the version in force at its time."""
        super().__init__(as_history(policy), projector)
        self._feed = feed
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None
        self.lag: dict[int, int] = {}  # partition -> records not read yet, as of the last look
        self.stored: dict[int, int] | None = None  # with a store: offsets up to which it holds every fact
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
                    else:  # nothing came for 200 ms: make the next refold cheap
                        self.prepare()
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
