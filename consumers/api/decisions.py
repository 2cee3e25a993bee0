"""Admission decisions recorded on the admission-decisions topic; a barcode-mismatch refusal also puts
its `admission.refused` fact on the facts topic, where every replica's detectors read it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from consumers.api.models import _encoder
from domain.admission import refusal_fact
from schemas.codec import fact_to_json, normalise
from schemas.derived import AdmissionDecision
from schemas.facts import Fact
from schemas.topics import fact_key
from storage.kafka_links import ProducerChains

log = logging.getLogger("hotline.api")
RECORD_TIMEOUT = 2.0  # seconds an answer waits for the acknowledgement before saying "recorded": false


class DecisionPublisher:
    """Records admission decisions on the admission-decisions topic, keyed by account.

    aiokafka in the event loop: a send appends to a batch built in Cython; the answer waits for the
    acknowledgement (acks=all, idempotent), so a decision is on the topic before the caller hears it,
    or the answer says it is not. kafka-python's
    producer, with its sender thread taking the GIL, cost the API about 40% of its rate here.

    A refusal on a barcode mismatch raises a suspicion (RULES.md), so its `admission.refused` fact goes
    to the facts topic with the decision, sent as the producers send facts: the normalised fact's JSON,
    keyed by its subject (`fact_key`: the account, beside its calls), on the partition Kafka's default
    rule gives (`default_partition`, as the producers and the workers' key ownership compute it). The
    answer is "recorded" only once both are acknowledged."""

    def __init__(self, servers: str | None, namespace: str | None) -> None:
        from consumers.kafka_log import bootstrap, topic_name
        from schemas.topics import DERIVED, FACTS

        self.servers = servers or bootstrap()
        self.topic = topic_name(DERIVED["admission-decisions"], namespace)
        self.facts_topic = topic_name(FACTS, namespace)
        self.producer: Any = None
        # Its refusal facts carry this process's chain links, as every publisher's facts do
        # (storage.kafka_links): the link is handed out and the record appended under one lock, so
        # the records land in the order of their links.
        self.chains = ProducerChains("api")
        self._linking = asyncio.Lock()

    async def start(self) -> None:
        from aiokafka import AIOKafkaProducer

        from consumers.kafka_security import client_settings

        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.servers,
            **client_settings(),
            acks="all",
            enable_idempotence=True,
            compression_type="lz4",
            linger_ms=0,  # the answer waits for the acknowledgement: no lingering for a fuller batch
        )
        await self.producer.start()

    async def __call__(self, decision: AdmissionDecision) -> bool:
        """True once the brokers acknowledged the decision, and its refusal fact if it has one
        (acks=all); False when they did not within RECORD_TIMEOUT. Either way the caller gets its
        answer, saying which (`recorded`)."""
        delivery = await self.producer.send(
            self.topic, value=_encoder.encode(decision), key=decision.request.account_id.encode()
        )
        delivery.add_done_callback(lambda done: _delivered(done, "admission decision", decision.id))
        deliveries = [delivery]
        refused = refusal_fact(decision)
        if refused is not None:
            deliveries.append(await self._send_fact(refused))
        try:
            # shielded: a late acknowledgement still lands (and is logged by _delivered if it fails)
            await asyncio.wait_for(asyncio.shield(asyncio.gather(*deliveries)), RECORD_TIMEOUT)
        except Exception:
            return False
        return True

    async def _send_fact(self, fact: Fact) -> Any:
        from consumers.kafka_log import default_partition

        fact = normalise(fact)  # UTC, as every producer writes a fact: one fact, one record value
        key = fact_key(fact)
        partitions = sorted(await self.producer.partitions_for(self.facts_topic))
        partition = partitions[default_partition(key, len(partitions))]
        value = fact_to_json(fact)
        async with self._linking:
            headers = self.chains.headers(partition, value)
            delivery = await self.producer.send(
                self.facts_topic, value=value, key=key, partition=partition, headers=headers
            )
        delivery.add_done_callback(lambda done: self._fact_delivered(done, fact.id))
        return delivery

    def _fact_delivered(self, done: Any, fact_id: str) -> None:
        if done.cancelled() or done.exception() is not None:
            self.chains.restart()  # a record after it would link to one that is not on the topic
        _delivered(done, "admission.refused fact", fact_id)

    async def stop(self) -> None:
        if self.producer is not None:
            await self.producer.stop()  # flushes what is still batched


def _delivered(done: Any, what: str, record_id: str) -> None:
    if done.cancelled() or done.exception() is not None:
        log.error(
            "%s %s not recorded: %s", what, record_id, "cancelled" if done.cancelled() else done.exception()
        )
