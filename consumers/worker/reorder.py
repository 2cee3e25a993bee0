"""A small reorder buffer between the partitions and the fold, so that in-order input stays in order.

Each partition is in event-time order (a subject's facts are produced in order), but batches mix
partitions: partition 0 may have delivered up to 10:05 while partition 1 is still at 10:02 (with a
backlog, the consumer even serves one partition after another). Fed as they come, batches would
hold facts older than the last applied one and the Projector would rebuild the whole fold (correct,
but O(all facts) per batch). So a fact is held until every partition has delivered a later one (the
watermark: an ordered partition cannot deliver anything older after that). A partition that is
idle must not hold the others back: `release(idle=...)` also lets through the facts sent more than
`grace` seconds ago (producer timestamps) when the partitions still below them have nothing unread
according to end offsets just asked of the broker. Facts that really are late (an out-of-order
producer) go through anyway and the Projector rebuilds: the buffer only saves work, it never
decides what the projection holds.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Collection
from datetime import datetime

from schemas.facts import Fact


class Reorder:
    def __init__(self, partitions: int, start: datetime | None = None, grace: float = 0.2) -> None:
        # Before any new fact, every partition is taken to be at the end of what was drained.
        self.latest: list[datetime | None] = [start] * partitions
        self.grace = grace
        self._heap: list[tuple[datetime, int, Fact, float]] = []  # (at, arrival number, fact, sent)
        self._count = itertools.count()

    @property
    def pending(self) -> int:
        return len(self._heap)

    def add(self, partition: int, fact: Fact, sent: float) -> None:
        at = fact.at
        latest = self.latest[partition]
        if latest is None or at > latest:
            self.latest[partition] = at
        heapq.heappush(self._heap, (at, next(self._count), fact, sent))

    def release(self, idle: Collection[int] = (), now: float | None = None) -> list[tuple[Fact, float]]:
        """The facts that can be applied now, oldest first, with their send times (epoch seconds).
        `idle`: the partitions known (from fresh end offsets) to have nothing unread."""
        heap = self._heap
        now = time.time() if now is None else now
        latest = self.latest
        out: list[tuple[Fact, float]] = []
        while heap:
            at, _, fact, sent = heap[0]
            for p, t in enumerate(latest):
                if t is not None and t > at:
                    continue
                if p in idle and now - sent >= self.grace:
                    continue
                return out  # p may still deliver something older than `fact`
            heapq.heappop(heap)
            out.append((fact, sent))
        return out
