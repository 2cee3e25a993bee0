"""The faust agent that reads the facts, and the task that publishes between batches.

The agent takes up to 5000 records or 50 ms at a time (take_events rather than take: the partition
feeds the reorder buffer and the record timestamp measures the lag), decodes the batch in one
msgspec call, and hands it to the Runtime, which applies it to the whole projection and publishes
what changed for the keys this worker owns.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust
from faust.types import TP

from .emitter import Emitter
from .ownership import Ownership
from .runtime import Runtime
from .tables import KeyedTable, emitted_table, published_table
from .topics import facts_topic, output_topics

BATCH = 5000
WITHIN = 0.05  # seconds
TICK = 0.05  # seconds between two turns of the publishing task


def install(app: faust.App, runtime: Runtime) -> None:
    config = runtime.config
    source = facts_topic(app, config.namespace)
    outputs = output_topics(app, config.namespace)
    emitted, published = emitted_table(app), published_table(app)

    topic = source.get_topic_name()

    def highwater(partition: int) -> int | None:
        try:
            return app.consumer.highwater(TP(topic, partition))  # type: ignore[no-any-return]
        except Exception:  # not assigned yet, or the consumer is not started: unknown
            return None

    async def end_offsets() -> dict[int, int]:
        partitions = [TP(topic, p) for p in range(len(runtime.reorder.latest))]
        return {tp.partition: end for tp, end in (await app.consumer.highwaters(*partitions)).items()}

    runtime.highwater = highwater
    runtime.end_offsets = end_offsets

    @app.agent(source, name="apply-facts")
    async def apply_facts(stream: faust.StreamT[bytes]) -> None:
        # take_events is on faust's Stream, not on its StreamT protocol
        async for events in stream.take_events(BATCH, within=WITHIN):  # type: ignore[attr-defined]
            batch = [(e.message, e.value) for e in events]
            runtime.receive([(m.partition, m.offset, value, m.timestamp) for m, value in batch])
            await runtime.step()

    headers = [("hotline-worker", str(config.index).encode())]  # who published it: audits, tests

    async def send(kind: str, key: str, value: bytes | None) -> Any:
        return await outputs[kind].send(key=key.encode(), value=value, headers=headers)

    @app.task
    async def publishing() -> None:
        # Tables are restored after the partitions are assigned; publishing before that would
        # publish everything again.
        await app.tables.recovery.completed.wait()  # type: ignore[attr-defined]
        runtime.emitter = Emitter(
            Ownership(config.index, config.count),
            send,
            KeyedTable(app, emitted, topic),
            KeyedTable(app, published, topic),
            runtime.policy.version,
        )
        runtime.ready_at = time.monotonic()
        while not app.should_stop:
            await runtime.tick()
            await runtime.prepare()
            await asyncio.sleep(TICK)
