"""The worker's live reader (consumers/worker/live_facts.py) on the real broker: it hands over every
record once, from the offsets it is given, with the record's partition, offset and timestamp, and
knows each partition's end offset."""

from __future__ import annotations

import asyncio
import time

from kafka import KafkaProducer

from consumers.worker import live_facts
from consumers.worker.live_facts import LiveFacts, Record
from hotline.cli import app

from .conftest import new_topic
from .test_broker import runner, second_broker


def produce(servers: str, topic: str, per_partition: dict[int, int]) -> float:
    """`n` records b'p{partition}-{i}' on each partition; returns the time just before sending."""
    producer = KafkaProducer(bootstrap_servers=servers, acks="all")
    sent_at = time.time()
    for partition, n in per_partition.items():
        for i in range(n):
            producer.send(topic, value=b"p%d-%d" % (partition, i), partition=partition)
    producer.flush()
    producer.close()
    return sent_at


async def take(live: LiveFacts, taken: list[Record], n: int, timeout: float = 30) -> None:
    """Into `taken` until it holds `n` records."""
    while len(taken) < n:
        taken += await asyncio.wait_for(live.take(), timeout)


async def leftovers(live: LiveFacts, wait_s: float = 0.5) -> list[Record]:
    """What comes within `wait_s` more: a record read twice would."""
    await asyncio.sleep(wait_s)
    out: list[Record] = []
    while not live._queue.empty():
        out += live._queue.get_nowait()
    return out


async def take_all(live: LiveFacts, n: int) -> list[Record]:
    live.start(asyncio.get_running_loop())
    taken: list[Record] = []
    try:
        await take(live, taken, n)
        return taken + await leftovers(live)
    finally:
        live.stop()


def test_every_record_from_the_given_offsets_once(kafka_broker: str) -> None:
    topic = new_topic(kafka_broker, "facts", 3)
    sent_at = produce(kafka_broker, topic, {0: 5, 1: 3, 2: 0})
    # partition 0 from offset 2 (the drain held 0 and 1), partition 1 from its start, 2 is empty
    live = LiveFacts(kafka_broker, topic, {0: 2})
    taken = asyncio.run(take_all(live, 6))

    assert sorted((p, o, v) for p, o, v, _ in taken) == [
        (0, 2, b"p0-2"),
        (0, 3, b"p0-3"),
        (0, 4, b"p0-4"),
        (1, 0, b"p1-0"),
        (1, 1, b"p1-1"),
        (1, 2, b"p1-2"),
    ]
    assert all(sent_at - 1 <= t <= time.time() for _, _, _, t in taken)  # the record's own timestamp
    assert live.next == {0: 5, 1: 3}
    assert live.highwaters == {0: 5, 1: 3, 2: 0}
    assert live.failures == 0


def test_a_full_queue_stops_the_fetching_until_the_loop_takes(kafka_broker: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    topic = new_topic(kafka_broker, "facts", 1)
    produce(kafka_broker, topic, {0: 30})
    monkeypatch.setattr(live_facts, "BATCH", 10)
    monkeypatch.setattr(live_facts, "HELD", 1)

    async def run() -> tuple[int, list[Record]]:
        live = LiveFacts(kafka_broker, topic, {})
        live.start(asyncio.get_running_loop())
        try:
            await asyncio.sleep(3)  # the reader polls one batch, then waits for the loop
            held = sum(len(batch) for batch in list(live._queue._queue))  # type: ignore[attr-defined]
            taken: list[Record] = []
            await take(live, taken, 30)
            return held, taken
        finally:
            live.stop()

    held, taken = asyncio.run(run())
    assert held == 10
    assert [o for _, o, _, _ in taken] == list(range(30))


def test_a_broker_restart_loses_nothing_and_repeats_nothing(kafka_broker: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A broker of its own (its own port and data dir), restarted while the reader follows it."""
    where, env = second_broker(tmp_path)

    async def follow() -> list[Record]:
        topic = new_topic(where, "facts", 2)
        live = LiveFacts(where, topic, {})
        live.start(asyncio.get_running_loop())
        taken: list[Record] = []
        try:
            produce(where, topic, {0: 3, 1: 2})
            await take(live, taken, 5)
            restarted = await asyncio.to_thread(runner.invoke, app, ["broker", "restart"], env=env)
            assert restarted.exit_code == 0, restarted.output
            await asyncio.to_thread(produce, where, topic, {0: 2, 1: 1})
            await take(live, taken, 8, timeout=60)
            return taken + await leftovers(live, 1)
        finally:
            live.stop()

    try:
        started = runner.invoke(app, ["broker", "start"], env=env)
        assert started.exit_code == 0, started.output
        taken = asyncio.run(follow())
    finally:
        runner.invoke(app, ["broker", "stop"], env=env)
    assert sorted((p, o, v) for p, o, v, _ in taken) == [
        (0, 0, b"p0-0"),
        (0, 1, b"p0-1"),
        (0, 2, b"p0-2"),
        (0, 3, b"p0-0"),
        (0, 4, b"p0-1"),
        (1, 0, b"p1-0"),
        (1, 1, b"p1-1"),
        (1, 2, b"p1-0"),
    ]


def test_a_reader_that_fails_is_made_again_from_the_next_offset_it_had_not_handed_over(
    kafka_broker: str, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    topic = new_topic(kafka_broker, "facts", 1)
    produce(kafka_broker, topic, {0: 4})
    made: list[dict[int, int]] = []
    handed: list[int] = []  # offsets the first reader handed over before it failed
    real = live_facts.FactReader

    class FailingOnce(real):  # type: ignore[misc,valid-type]
        """The first reader fails at the poll after the first that brought records."""

        def __init__(self, *args, start, **kw) -> None:  # type: ignore[no-untyped-def]
            made.append(dict(start))
            super().__init__(*args, start=start, **kw)
            if len(made) == 1:
                poll = self.consumer.poll

                def failing(*a, **k):  # type: ignore[no-untyped-def]
                    if handed:
                        raise OSError("the broker went away")
                    polled = poll(*a, **k)
                    handed.extend(r.offset for batch in polled.values() for r in batch)
                    return polled

                self.consumer.poll = failing  # type: ignore[method-assign]

    monkeypatch.setattr(live_facts, "FactReader", FailingOnce)
    monkeypatch.setattr(live_facts, "RETRY_S", 0.1)
    failures: list[int] = []

    async def run() -> list[Record]:
        live = LiveFacts(kafka_broker, topic, {}, failed=lambda: failures.append(1))
        live.start(asyncio.get_running_loop())
        taken: list[Record] = []
        try:
            await take(live, taken, 4)
            await asyncio.to_thread(produce, kafka_broker, topic, {0: 2})  # read by the reader made again
            await take(live, taken, 6)
            return taken + await leftovers(live)
        finally:
            live.stop()

    taken = asyncio.run(run())
    assert [o for _, o, _, _ in taken] == [0, 1, 2, 3, 4, 5]
    assert made[0] == {} and made[1] == {0: max(handed) + 1}  # from the next offset not handed over
    assert len(made) == 2
    assert failures == [1]
