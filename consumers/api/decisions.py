"""Admission decisions recorded on the admission-decisions topic."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from consumers.api.models import _encoder
from schemas.derived import AdmissionDecision

log = logging.getLogger("hotline.api")
RECORD_TIMEOUT = 2.0  # seconds an answer waits for the acknowledgement before saying "recorded": false


class DecisionPublisher:
    """Records admission decisions on the admission-decisions topic, keyed by account.

    aiokafka in the event loop: a send appends to a batch built in Cython; the answer waits for the
    acknowledgement (acks=all, idempotent), so a decision is on the topic before the caller hears it,
    or the answer says it is not. kafka-python's
    producer, with its sender thread taking the GIL, cost the API about 40% of its rate here."""

    def __init__(self, servers: str | None, namespace: str | None) -> None:
        from consumers.kafka_log import bootstrap, topic_name
        from schemas.topics import DERIVED

        self.servers = servers or bootstrap()
        self.topic = topic_name(DERIVED["admission-decisions"], namespace)
        self.producer: Any = None

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
        """True once the brokers acknowledged the decision (acks=all); False when they did not within
        RECORD_TIMEOUT. Either way the caller gets its answer, saying which (`recorded`)."""
        delivery = await self.producer.send(
            self.topic, value=_encoder.encode(decision), key=decision.request.account_id.encode()
        )
        delivery.add_done_callback(lambda done: _delivered(done, decision.id))
        try:
            # shielded: a late acknowledgement still lands (and is logged by _delivered if it fails)
            await asyncio.wait_for(asyncio.shield(delivery), RECORD_TIMEOUT)
        except Exception:
            return False
        return True

    async def stop(self) -> None:
        if self.producer is not None:
            await self.producer.stop()  # flushes what is still batched


def _delivered(done: Any, decision_id: str) -> None:
    if done.cancelled() or done.exception() is not None:
        log.error("admission decision %s not recorded: %s", decision_id, done.exception())
