"""The live facts: a kafka-python consumer on its own thread hands each poll's records to the loop.

Why not a faust agent: at a steady 2k facts/s faust's per-record delivery (two tasks per record, then
the stream's buffer) kept the worker's loop about 97% busy, and records waited seconds before the
agent had them, while a plain consumer of the same topic had them in ~12 ms (docs/kafka.md). This is
the startup drain's reader (`FactReader`: no consumer group, every partition) carried on from where
the drain ended, so what a worker holds never depends on committed offsets. The consumer lives on
one thread (kafka-python's consumer is not thread-safe); the loop only takes whole batches.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from consumers.kafka_log import FactReader

log = logging.getLogger(__name__)

#: (partition, offset, value, record timestamp in epoch seconds): what Runtime.receive takes.
Record = tuple[int, int, bytes, float]

BATCH = 5000  # records per poll, and at most this many handed to the loop at once
HELD = 20  # polls waiting for the loop above which the reader stops fetching (back-pressure)
POLL_MS = 50
RETRY_S = 1.0  # after the reader failed (a broker away, the topic gone): start again from where it was


class LiveFacts:
    """`start(loop)` the thread; `await take()` a batch; `highwaters` the end offsets last heard of."""

    def __init__(
        self, servers: str, topic: str, start: dict[int, int], failed: Callable[[], object] = lambda: None
    ) -> None:
        """`failed` is called (on the reader's thread) each time the reader fails and is made again."""
        self.servers, self.topic, self.failed = servers, topic, failed
        self.next: dict[int, int] = dict(start)  # partition -> the next offset to hand over
        # partition -> the broker's end offset from the latest fetch; replaced whole, read by the loop
        self.highwaters: dict[int, int] = {}
        self.failures = 0
        self._stop = threading.Event()
        # a slot per poll handed over and not taken yet: counted on the reader's side, since a batch
        # reaches the queue only when the loop runs the callback
        self._room = threading.Semaphore(HELD)
        self._queue: asyncio.Queue[list[Record]] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread = threading.Thread(target=self._run, name="live-facts", daemon=True)
        self._thread.start()

    async def take(self) -> list[Record]:
        """The next polls' records, at least one, up to BATCH unless one poll brought more."""
        batch = await self._queue.get()
        self._room.release()
        while len(batch) < BATCH and not self._queue.empty():
            batch += self._queue.get_nowait()
            self._room.release()
        return batch

    def stop(self, wait_s: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(wait_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow()
            except Exception as e:  # the reader is made again from self.next: nothing lost, nothing twice
                self.failures += 1
                self.failed()
                log.warning("reading %s failed (%s); again in %.0f s", self.topic, e, RETRY_S)
                self._stop.wait(RETRY_S)

    def _follow(self) -> None:
        reader = FactReader(self.servers, self.topic, max_records=BATCH, start=self.next)
        consumer, partitions = reader.consumer, reader.partitions
        try:
            while not self._stop.is_set():
                if not self._room.acquire(timeout=0.05):  # HELD polls wait: the loop is busy (a refold)
                    continue
                handed = False
                try:
                    polled = consumer.poll(timeout_ms=POLL_MS, max_records=BATCH)
                    records = [
                        (r.partition, r.offset, r.value, r.timestamp / 1000)
                        for batch in polled.values()
                        for r in batch
                    ]
                    if records:
                        for tp, batch in polled.items():  # each in offset order: its last is the newest
                            if batch:
                                self.next[tp.partition] = batch[-1].offset + 1
                        assert self._loop is not None
                        self._loop.call_soon_threadsafe(self._queue.put_nowait, records)
                        handed = True
                finally:
                    if not handed:
                        self._room.release()
                # after the batch is queued: the loop sees an end no nearer than what it was handed
                self.highwaters = {
                    tp.partition: end for tp in partitions if (end := consumer.highwater(tp)) is not None
                }
        finally:
            reader.close()
