"""The worker's state between faust callbacks: the whole projection, the reorder buffer, the emitter.

Everything here runs on faust's event loop, one step at a time under one lock: the reading task
after each batch, the publishing task between batches (after the startup drain, to let through what
an idle partition held back in the reorder buffer, to refresh status.json).
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import time
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from consumers.kafka_log import FactReader, decode_batch, topic_name
from domain.policy import Policy
from domain.policy_history import PolicyHistory, as_history
from projections.view import digest, snapshot
from schemas.facts import Fact
from schemas.topics import FACTS, PARTITIONS
from storage.resume import open_store, save_offsets

from .config import WorkerConfig
from .emitter import Emitter
from .metrics import WorkerMetrics
from .reorder import Reorder
from .status import LagHistogram, write_status

log = logging.getLogger(__name__)

BACKLOG = 5000  # unread records above which the worker is catching up rather than following
BACKLOG_PUBLISH = 2.0  # seconds between two publications while catching up


class Runtime:
    def __init__(
        self, config: WorkerConfig, policy: Policy | PolicyHistory, started: float | None = None
    ) -> None:
        self.config = config
        # Each fact is folded under the version in force at its time; `policy`, the latest version,
        # is what stamps a retraction (which no version decided).
        self.history = as_history(policy)
        self.policy = self.history.latest
        self.started = time.monotonic() if started is None else started
        # Facts and checkpoints on disk, in the data directory: the worker holds neither every fact
        # nor every checkpoint, and a restart resumes from the newest checkpoint.
        self.projector, self.stored = open_store(config.dir / "projection.db", self.history)
        self.reorder = Reorder(PARTITIONS)
        self.latest: datetime | None = None
        self.emitter: Emitter | None = None
        self.lock = asyncio.Lock()
        self.dirty = False  # facts applied and not yet published
        self.waiting: list[float] = []  # send times of the facts applied and not yet published
        self.lags = LagHistogram()
        self.arrival_lags = LagHistogram()  # send -> read: the part spent before the worker
        self.undecodable = 0
        self.received = 0  # records the live reader handed over (re-sent facts included)
        # seconds spent applying batches, folding (rebuilds included), publishing; and a count
        self.spent: dict[str, float] = {"apply": 0.0, "fold": 0.0, "publish": 0.0, "publications": 0}
        self.first_record_at: float | None = None
        self.ready_at: float | None = None  # tables restored, emitter built
        self.positions: dict[int, int] = {}  # partition -> next offset read (drain or live reader)
        # partition -> the broker's end offset as the live reader last heard it, with the records
        # (tasks.install sets it); a partition missing is unknown
        self.ends: Callable[[], dict[int, int]] = dict
        self.last_arrival = 0.0
        self.published_at: float | None = None
        self.drained: dict[str, float] = {}
        self._digest: tuple[int, str | None] = (-1, None)
        self._status_at = 0.0
        self.metrics = WorkerMetrics(PARTITIONS)
        self.metrics_port: int | None = None  # where /metrics is served (main.run), for status.json

    # --- input -------------------------------------------------------------------------------------
    def drain(self) -> dict[int, int]:
        """Read every fact written so far into the projector: from where the store says every fact is
        already held (offset 0 for a new worker). Returns the next offset of each partition, where
        the live reader starts."""
        t0 = time.monotonic()
        resumed = len(self.projector)
        topic = topic_name(FACTS, self.config.namespace)
        reader = FactReader(self.config.servers, topic, start=self.stored)
        try:
            for batch in reader.drain():
                self.metrics.facts_applied.inc(self.projector.add(batch))
                self.metrics.facts.set(len(self.projector))  # a long drain shows its progress
            positions = {tp.partition: reader.consumer.position(tp) for tp in reader.partitions}
        finally:
            reader.close()
        self.latest = self.projector.latest
        self.reorder = Reorder(PARTITIONS, start=self.latest)
        self.positions = dict(positions)
        self.dirty = True
        self.save_offsets()
        self.drained = {
            "facts": len(self.projector) - resumed,
            "resumed": resumed,
            "from_offsets": sum(self.stored.values()),
            "seconds": round(time.monotonic() - t0, 3),
        }
        return positions

    def save_offsets(self) -> None:
        """Record how far every fact is in the store, when nothing is held back in the reorder buffer."""
        if self.reorder.pending == 0 and self.positions != self.stored:
            save_offsets(self.projector, self.positions)
            self.stored = dict(self.positions)

    def receive(self, records: list[tuple[int, int, bytes, float]]) -> None:
        """(partition, offset, value, record timestamp in epoch seconds) as the live reader polled them."""
        positions = self.positions
        for partition, offset, _, _ in records:
            if offset >= positions.get(partition, 0):
                positions[partition] = offset + 1
        values = [value for _, _, value, _ in records]
        self.received += len(records)
        self.metrics.records.inc(len(records))
        if self.first_record_at is None:
            self.first_record_at = time.monotonic()
        try:
            facts: list[Fact] = list(decode_batch(values))
            kept = records
        except Exception:  # one bad record must not stop the worker: decode one by one, skip it
            facts, kept = [], []
            for record in records:
                try:
                    facts.extend(decode_batch([record[2]]))
                    kept.append(record)
                except Exception as e:
                    self.undecodable += 1
                    self.metrics.undecodable.inc()
                    log.warning("skipped an undecodable record on partition %s: %s", record[0], e)
        now = time.time()
        self.arrival_lags.add([now - sent for _, _, _, sent in kept])
        add = self.reorder.add
        for (partition, _, _, sent), fact in zip(kept, facts, strict=True):
            add(partition, fact, sent)
        self.last_arrival = time.monotonic()

    def unread(self) -> dict[int, int]:
        """Partition -> records not read yet (as far as the live reader last heard)."""
        out, ends = {}, self.ends()
        for partition in range(len(self.reorder.latest)):
            end = ends.get(partition)
            if end is not None and self.positions.get(partition, 0) < end:
                out[partition] = end - self.positions.get(partition, 0)
        return out

    def backlog(self) -> int:
        return sum(self.unread().values())

    def apply(self, idle: Collection[int] = ()) -> int:
        """Move what the reorder buffer releases into the projector; returns the number released."""
        t0 = time.perf_counter()
        released = self.reorder.release(idle)
        if released:
            facts = [fact for fact, _ in released]
            self.metrics.facts_applied.inc(self.projector.add(facts))
            latest = max(fact.at for fact in facts)
            if self.latest is None or latest > self.latest:
                self.latest = latest
            self.waiting.extend(sent for _, sent in released)
            self.dirty = True
            self.save_offsets()
        self.spent["apply"] += time.perf_counter() - t0
        return len(released)

    # --- output ------------------------------------------------------------------------------------
    async def publish(self) -> None:
        if self.emitter is None or not self.dirty:
            return
        t0 = time.perf_counter()
        if self.projector.stale:
            # A refold (a late fact, an annulment) runs in a thread: faust's loop keeps its heartbeats
            # and the live reader keeps fetching meanwhile; every caller of the projector holds self.lock.
            state = await asyncio.to_thread(self.projector.state, self.latest)
        else:
            state = self.projector.state(self.latest)
        t1 = time.perf_counter()
        self.metrics.refolded(self.projector)
        await self.emitter.publish(state, self.latest)
        self.metrics.published(state, self.emitter.sent)
        self.spent["fold"] += t1 - t0
        self.spent["publish"] += time.perf_counter() - t1
        self.spent["publications"] += 1
        now = time.time()
        self.lags.add([now - sent for sent in self.waiting])
        self.waiting.clear()
        self.dirty = False
        self.published_at = time.monotonic()

    async def step(self) -> None:
        """After each batch the live reader handed over: apply it, and publish what changed. While
        there is a backlog (catching up), publish at most every BACKLOG_PUBLISH seconds: the states
        in between are transient, and building one can cost a refold (after an annulment or a late
        fact), which coalesces this way."""
        async with self.lock:
            self.apply()
            since = time.monotonic() - (self.published_at or 0.0)
            if self.backlog() < BACKLOG or since >= BACKLOG_PUBLISH:
                await self.publish()

    def idle(self) -> list[int]:
        """The partitions with nothing unread, by the end offsets the live reader last heard (the
        reader never pauses but for back-pressure, so they are as fresh as its latest fetch)."""
        if not self.reorder.pending:
            return []
        return [p for p, end in self.ends().items() if self.positions.get(p, 0) >= end]

    async def tick(self) -> None:
        """Between batches: apply what an idle partition held back, publish, refresh status.json."""
        async with self.lock:
            self.apply(self.idle())
            await self.publish()
            self.write_status()
            self.metrics.progress(
                self.unread(), len(self.projector), self.reorder.pending, self.emitter is not None
            )

    async def prepare(self) -> None:
        """Caught up: thaw the warm checkpoints the projector wants (projections.warm) on a thread,
        outside the lock: the reader and the publisher go on meanwhile, and the next annulment or
        late fact refolds without a thaw. A change made meanwhile voids what it reaches. Called
        after each tick; the plan reads the checkpoints' positions only, and asks for a thaw after
        a refold used a warm one or a newer checkpoint came."""
        if not self.projector.warm.reaches or self.backlog() >= BACKLOG or self.projector.stale:
            return
        async with self.lock:  # may take a checkpoint first: on a thread, the loop goes on
            plan = await asyncio.to_thread(self.projector.plan_warm)
        if plan.wanted:
            thawed = await asyncio.to_thread(self.projector.thaw_warm, plan)
            async with self.lock:
                self.projector.install_warm(plan, thawed)

    # --- status ------------------------------------------------------------------------------------
    def quiet(self) -> bool:
        """Nothing pending and nothing arrived for 0.3 s: the time to do the expensive reports."""
        return self.reorder.pending == 0 and time.monotonic() - self.last_arrival > 0.3

    def digest(self) -> tuple[int, str | None]:
        """(facts covered, digest as of config.digest_as_of), recomputed only when quiet and changed."""
        as_of = self.config.digest_as_of
        n = len(self.projector)
        if as_of is None or self.latest is None or self.latest < as_of or not self.quiet():
            return self._digest
        if self._digest[0] != n:
            self._digest = (n, digest(snapshot(self.projector.state_at(as_of), as_of)))
        return self._digest

    def status(self) -> dict[str, Any]:
        covered, value = self.digest()
        emitter = self.emitter
        return {
            "index": self.config.index,
            "count": self.config.count,
            "pid": os.getpid(),
            "facts": len(self.projector),
            "pending": self.reorder.pending,
            "latest": self.latest,
            "ready": emitter is not None,
            "emitted": emitter.live() if emitter else 0,
            "records_sent": emitter.sent if emitter else 0,
            "published_at_s": None
            if self.published_at is None
            else round(self.published_at - self.started, 3),
            "ready_at_s": None if self.ready_at is None else round(self.ready_at - self.started, 3),
            "first_record_at_s": None
            if self.first_record_at is None
            else round(self.first_record_at - self.started, 3),
            "drain": self.drained,
            "received": self.received,
            "spent_s": {k: round(v, 3) for k, v in self.spent.items()},
            "unread": self.unread(),
            "undecodable": self.undecodable,
            "metrics_port": self.metrics_port,
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "refolds": self.projector.refolds,
            "annulments_voided": self.projector.voided,
            "late_applied": self.projector.late.applied,
            "warm_checkpoints": len(self.projector.warm),
            "lag_ms": self.lags.summary(),
            "arrival_lag_ms": self.arrival_lags.summary(),
            "digest_as_of": self.config.digest_as_of,
            "digest": value,
            "digest_facts": covered if value is not None else None,
        }

    def write_status(self, every: float = 0.2) -> None:
        now = time.monotonic()
        if now - self._status_at >= every:
            self._status_at = now
            write_status(self.config.status_path, self.status())
