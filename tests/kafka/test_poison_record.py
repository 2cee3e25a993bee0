"""A record on the facts topic that is not a fact (written past the producers, which refuse one)
is skipped and counted by every reader, never a stop: the API's replica reopened its reader on the
same record for ever before (found when the `api` principal was allowed to write facts)."""

from __future__ import annotations

from datetime import UTC, datetime

from kafka import KafkaProducer

from consumers.kafka_log import FactReader
from schemas.codec import fact_to_json
from schemas.facts import CompanyRegistered

from .conftest import new_topic


def company(n: int) -> CompanyRegistered:
    at = datetime(2025, 1, 6, 1, n, tzinfo=UTC)
    return CompanyRegistered(id=f"poison-{n}", at=at, source="crm", company_id=f"C-P{n}", name="Acme")


def test_a_record_that_is_not_a_fact_is_skipped_and_counted(kafka_broker: str) -> None:
    topic = new_topic(kafka_broker, "facts", 1)
    producer = KafkaProducer(bootstrap_servers=kafka_broker)
    for value in (fact_to_json(company(1)), b'{"test": "sasl"}', b"not json", fact_to_json(company(2))):
        producer.send(topic, value, partition=0)
    producer.flush()
    producer.close()
    reader = FactReader(kafka_broker, topic)
    try:
        ids = [fact.id for batch in reader.drain() for fact in batch]
    finally:
        reader.consumer.close()
    assert (ids, reader.undecodable) == (["poison-1", "poison-2"], 2)
