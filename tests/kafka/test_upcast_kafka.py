"""The upcaster on the Kafka read path: a topic written before numbers were E.164 (call.received v1,
the number as the call centre typed it) replays to the same state as the same facts written in v2.

By hand: a1's call c1 from "+86 134 1532 3691" on 31 January, reported and confirmed as
ACCOUNT-SHARED on 1 February 10:00 (+08:00): account a1 and number +8613415323691 are blacklisted
for three months, until 1 May 10:00."""

from __future__ import annotations

import uuid
from datetime import UTC
from pathlib import Path

import msgspec
from kafka import KafkaProducer

from consumers.embedded import Hotline
from consumers.kafka_log import bootstrap, topic_name
from consumers.kafka_replay import read_facts, replay_from_kafka
from schemas.codec import fact_to_json, normalise
from schemas.facts import CallReceived
from schemas.topics import FACTS
from storage.log import EmbeddedLog
from tests.unit.builders import POLICY, confirm, report, t, world
from tests.unit.test_phone import CallV1

CALLED = "2025-01-31T09:00"


def _v1_json(number: str) -> bytes:
    return msgspec.json.encode(
        CallV1(
            id="c1",
            at=t(CALLED).astimezone(UTC),
            source="cc",
            account_id="a1",
            number=number,
            barcode="BC1",
            stated_model="M1",
            stated_site="s1",
            problem="x",
        )
    )


def test_an_old_topic_replays_like_a_new_log(tmp_path: Path) -> None:
    namespace = f"t{uuid.uuid4().hex[:8]}"
    # in UTC, as every producer writes them (the topic's records were validated at its edge)
    before = [normalise(f) for f in world(("a1", "a2"))]
    after = [
        normalise(report("R1", "ACCOUNT-SHARED", "2025-02-01T09:00", "a1", call_id="c1")),
        normalise(confirm("R1", "2025-02-01T10:00")),
    ]
    old_call = _v1_json("+86 134 1532 3691")
    assert msgspec.json.decode(old_call)["v"] == 1
    producer = KafkaProducer(bootstrap_servers=bootstrap(), acks="all")
    topic = topic_name(FACTS, namespace)
    for value in [*(fact_to_json(f) for f in before), old_call, *(fact_to_json(f) for f in after)]:
        producer.send(topic, value=value)
    producer.flush()
    producer.close()

    [call] = [f for f in read_facts(None, namespace) if isinstance(f, CallReceived)]
    assert call.number == "+8613415323691"

    new_log = EmbeddedLog(tmp_path / "new.db")
    new_log.append([*before, msgspec.convert(msgspec.json.decode(old_call) | {"v": 2}, CallReceived), *after])
    embedded = Hotline.of(new_log, POLICY)
    for as_of in (t("2025-02-15T00:00"), t("2025-06-01T00:00")):
        digest, read, _ = replay_from_kafka(None, namespace, as_of, POLICY)
        assert read == len(before) + 1 + len(after)
        assert digest == embedded.replay_digest(as_of)[0]
    state = embedded.state(t("2025-02-15T00:00"))
    [number_penalty] = state.active_penalties("number", "+8613415323691", t("2025-02-15T00:00"))
    assert number_penalty.until == t("2025-05-01T10:00")
