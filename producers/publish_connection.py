"""The Kafka producer a `FactPublisher` sends with, and the one line it says when no broker answers."""

from __future__ import annotations

from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from consumers.kafka_security import KafkaSecurityError, client_settings
from producers.publish_report import PublishError


def open_producer(
    servers: str, role: str, connect_timeout_s: float, producer_config: dict[str, Any]
) -> KafkaProducer:
    """The Kafka producer of a role's publisher: idempotent, acknowledged by all replicas, zstd."""
    config: dict[str, Any] = {
        "client_id": f"hotline-producer-{role}",
        "acks": "all",
        "enable_idempotence": True,  # explicit: a conflicting setting then fails instead of warning
        "compression_type": "zstd",
        # Every publish ends with a flush, which sends what lingers at once: the linger only sizes
        # the batches sent while a publish is still handing records over. With 5 ms they followed the
        # hot loop's speed (a slower record, e.g. one with chain links, made smaller batches, hence
        # more requests, wake-ups of the sender thread and GIL hand-overs per record: +10 us a record
        # here); now they fill up to batch_size first (docs/audit.md, "Cost").
        "linger_ms": 1000,
        "batch_size": 1 << 20,
        "max_request_size": 4 << 20,
        "delivery_timeout_ms": 60_000,
        "allow_auto_create_topics": False,  # an auto-created facts topic would lack its retention
        "bootstrap_timeout_ms": int(connect_timeout_s * 1000),
        **producer_config,
    }
    try:
        security = client_settings()
    except KafkaSecurityError as err:
        raise PublishError(str(err)) from None
    try:
        return KafkaProducer(bootstrap_servers=servers, **security, **config)
    except KafkaError as err:
        # kafka-python retries a refused login until the timeout, as if no broker answered
        refused = (
            f" or refuses the credentials of {security['sasl_plain_username']}"
            if security.get("sasl_plain_username")
            else ""
        )
        raise PublishError(
            f"no Kafka broker answers at {servers}{refused} ({err}); start one with "
            "`hotline broker start` or point HOTLINE_KAFKA_BOOTSTRAP at your cluster"
        ) from None


def keeps_order(producer: KafkaProducer) -> bool:
    """Whether records land in each partition in the order they were handed to `send`, retries
    included: what the producer's chain links (storage.kafka_links) rely on. kafka-python keeps one
    batch in flight per partition when idempotent, or with one request in flight per connection."""
    config = producer.config
    return bool(config["enable_idempotence"]) or config["max_in_flight_requests_per_connection"] == 1
