"""The broker the Kafka tests use is real: topics are created with their configuration."""

from __future__ import annotations

import uuid

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from consumers.kafka_log import bootstrap, ensure_topics
from schemas.topics import ALL, PARTITIONS


def test_topics_are_created_with_partitions_retention_and_compaction() -> None:
    ns = f"t{uuid.uuid4().hex[:8]}"
    created = ensure_topics(ns=ns)
    assert sorted(created) == sorted(t.in_namespace(ns) for t in ALL)
    assert ensure_topics(ns=ns) == []  # a second call creates nothing
    admin = KafkaAdminClient(bootstrap_servers=bootstrap())
    try:
        described = {
            d["name"]: d for d in admin.describe_topics([f"{ns}.facts", f"{ns}.projection.blacklist"])
        }
        assert {len(d["partitions"]) for d in described.values()} == {PARTITIONS}
        resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in described]
        configs = admin.describe_configs(resources)[
            "topic"
        ]  # kafka-python 3: {"topic": {name: {key: {...}}}}
        assert configs[f"{ns}.facts"]["retention.ms"]["value"] == "-1"
        assert configs[f"{ns}.facts"]["cleanup.policy"]["value"] == "delete"
        assert configs[f"{ns}.projection.blacklist"]["cleanup.policy"]["value"] == "compact"
    finally:
        admin.close()
