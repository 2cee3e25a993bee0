"""The Kafka producer checks references as of each fact's event time, as the embedded ingest does:
an account named by a call must be opened at or before the call, on the topic or in the batch."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kafka.admin import KafkaAdminClient

from consumers.kafka_log import ensure_topics
from producers.kafka_producer import FactPublisher
from tests.kafka.test_producers import account, call, company, reasons

pytestmark = pytest.mark.kafka


@pytest.fixture
def ns(kafka_broker: str) -> Iterator[str]:
    """This test's own topics, deleted afterwards (as in tests.kafka.test_producers)."""
    name = f"t{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_broker, name)
    yield name
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker)
    try:
        admin.delete_topics([t for t in admin.list_topics() if t.startswith(f"{name}.")])
    finally:
        admin.close()


EARLY = "2025-01-05T09:00:00+08:00"  # before the account is opened (2025-01-06T10:00+08:00)


def test_a_reference_to_an_entity_introduced_later_in_event_time_is_refused(
    kafka_broker: str, ns: str
) -> None:
    with FactPublisher(kafka_broker, ns) as publisher:
        report = publisher.publish([company("co-1", "C-1"), account("ac-1", "A-1", "C-1")], "crm")
        assert report.published == 2
    # a later producer: its index, loaded from the topic, knows when A-1 was opened
    with FactPublisher(kafka_broker, ns, role="callcentre") as callcentre:
        report = callcentre.publish([call("call-early", "A-1", at=EARLY), call("call-1", "A-1")], "cc")
        field, reason = reasons(report)[1]
        assert field == "account_id" and "introduced only at 2025-01-06T02:00:00+00:00" in reason
        assert report.published == 1
