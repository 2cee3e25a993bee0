"""`hotline audit --from-kafka`: the admission decisions recorded on the admission-decisions topic,
each beside the answer the facts topic gives now (projections.audit). Every partition from offset 0,
no consumer group, like the audit replay."""

from __future__ import annotations

import msgspec

from domain.policy import Policy, load_policy
from domain.policy_history import PolicyHistory, as_history
from projections.audit import AuditRow, audit
from projections.fold import project
from schemas.derived import AdmissionDecision
from schemas.topics import DERIVED

_decoder = msgspec.json.Decoder(AdmissionDecision)


def read_decisions(servers: str | None, namespace: str | None) -> tuple[list[AdmissionDecision], list[str]]:
    """Every decision on the topic when the call starts, in (partition, offset) order, and the
    "partition:offset" of each record that does not decode (reported by the caller, never dropped
    silently, and never a reason to stop the audit)."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    from consumers.kafka_log import bootstrap, topic_name
    from consumers.kafka_security import client_settings

    servers = servers or bootstrap()
    topic = topic_name(DERIVED["admission-decisions"], namespace)
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=servers, enable_auto_commit=False, group_id=None, **client_settings()
        )
    except KafkaError as err:
        raise ConnectionError(f"cannot read {topic} from {servers}: {err}") from None
    try:
        numbers = consumer.partitions_for_topic(topic) or set()
        if not numbers:
            raise ConnectionError(f"topic {topic} does not exist on {servers}")
        partitions = [TopicPartition(topic, p) for p in sorted(numbers)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        by_partition: dict[int, list[tuple[int, bytes]]] = {tp.partition: [] for tp in partitions}
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            for tp, records in consumer.poll(timeout_ms=500).items():
                by_partition[tp.partition] += [(r.offset, r.value) for r in records if r.offset < end[tp]]
    finally:
        consumer.close()
    decisions: list[AdmissionDecision] = []
    undecodable: list[str] = []
    for number, records in sorted(by_partition.items()):
        for offset, value in records:
            try:
                decisions.append(_decoder.decode(value))
            except msgspec.DecodeError:
                undecodable.append(f"{number}:{offset}")
    return decisions, undecodable


def audit_from_kafka(
    servers: str | None, namespace: str | None, policy: Policy | PolicyHistory | None = None
) -> tuple[list[AuditRow], list[str]]:
    """The audit rows, and the records of the decisions topic that could not be read. Each decision
    is judged again under the version in force at its own time."""
    from consumers.kafka_replay import read_facts

    history = as_history(policy or load_policy())
    decisions, undecodable = read_decisions(servers, namespace)
    state = project(read_facts(servers, namespace), history)
    return audit(state, decisions, history.at), undecodable
