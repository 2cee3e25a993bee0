"""The worker's two faust tasks: reading the live facts, and publishing between batches.

The reading task takes each batch the live reader (live_facts.py, a plain consumer on its own
thread) hands over, decodes it in one msgspec call, and gives it to the Runtime, which applies it to
the whole projection and publishes what changed for the keys this worker owns. faust keeps the
tables, the producer and the process; it no longer delivers the facts (docs/kafka.md says why).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust

from consumers.kafka_log import topic_name
from schemas.topics import FACTS

from .emitter import Emitter
from .live_facts import LiveFacts
from .ownership import Ownership
from .runtime import Runtime
from .tables import KeyedTable, emitted_table, published_table
from .topics import output_topics

TICK = 0.05  # seconds between two turns of the publishing task


def install(app: faust.App, runtime: Runtime, start: dict[int, int]) -> None:
    """`start`: partition -> the offset the live reader begins at (where the drain ended)."""
    config = runtime.config
    outputs = output_topics(app, config.namespace)
    emitted, published = emitted_table(app), published_table(app)
    topic = topic_name(FACTS, config.namespace)
    live = LiveFacts(config.servers, topic, start, failed=runtime.metrics.reader_restarts.inc)

    runtime.ends = lambda: live.highwaters  # replaced whole by the reader's thread, never mutated

    @app.task
    async def reading() -> None:
        live.start(asyncio.get_running_loop())
        try:
            while not app.should_stop:
                runtime.receive(await live.take())
                await runtime.step()
        finally:
            live.stop()

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
