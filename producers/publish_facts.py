"""`FactPublisher`: checks a batch of facts, then publishes it to the facts topic and its refused
lines to the rejects topic, and checks every record's delivery. The overview is in
producers.kafka_producer; the checks are in producers.publish_checks, what is on the topic in
producers.publish_index.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from kafka.errors import KafkaError, TopicAlreadyExistsError

from consumers import kafka_log
from consumers.kafka_log import FactReader, ensure_topics, topic_name
from domain.references import admit_references
from producers.publish_checks import (
    ROLES,
    BatchSource,
    Candidate,
    admit_ids,
    as_source,
    fact_of,
    parse_batch,
    sealed_candidates,
    source_name,
    withheld,
)
from producers.publish_connection import keeps_order, open_producer
from producers.publish_index import TopicIndex
from producers.publish_partitions import PartitionCache
from producers.publish_report import PublishError, PublishReport
from producers.publish_speed import gc_paused, since
from schemas.codec import fact_to_json
from schemas.facts import Fact
from schemas.topics import FACTS, REJECTS, fact_key
from storage.kafka_links import ProducerChains
from storage.keystore import KeyStore

if TYPE_CHECKING:  # the metrics pull in the HTTP stack; `hotline produce` has no use for it
    from producers.metrics import IngestMetrics

log = logging.getLogger(__name__)

_rejection_encoder = msgspec.json.Encoder()


class FactPublisher:
    """Checks and publishes facts to `<namespace>.facts`; bad lines to `<namespace>.rejects`.

    Usable as a library (`with FactPublisher(...) as p: p.publish(lines, "file.jsonl")`); one
    instance is safe to share between threads (batches are published one at a time)."""

    def __init__(
        self,
        servers: str | None = None,
        namespace: str | None = None,
        role: str = "any",
        *,
        load_index: bool = True,
        check_ids: bool = True,
        create_topics: bool = True,
        connect_timeout_s: float = 10.0,
        keys: KeyStore | None = None,
        links: bool = True,
        **producer_config: Any,
    ) -> None:
        if role not in ROLES:
            raise PublishError(f"unknown producer role {role!r}: use one of {', '.join(ROLES)}")
        self.servers = servers or kafka_log.bootstrap()
        self.namespace = namespace or kafka_log.namespace()
        self.role = role
        self.keys = keys  # a sealed line (docs/privacy.md): facts are sealed before they are checked
        self.facts_topic = topic_name(FACTS, self.namespace)
        self.rejects_topic = topic_name(REJECTS, self.namespace)
        self._topic_index = TopicIndex(check_ids)
        self._lock = threading.RLock()  # publish -> catch_up re-enters
        self._reader: FactReader | None = None
        self.metrics: IngestMetrics | None = None  # set by a process that serves /metrics
        self.producer = open_producer(self.servers, role, connect_timeout_s, producer_config)
        # Each fact carries this publisher's chain link for its partition (docs/audit.md); links need
        # the records to land in send order, so a producer that may reorder them sends none.
        self.chains = ProducerChains(role) if links and keeps_order(self.producer) else None
        if links and self.chains is None:
            log.warning("facts sent without chain links: this producer config may reorder records")
        try:
            if create_topics:
                self._ensure_topics()
            partitions = self.producer.partitions_for(self.facts_topic)
            self._partition_cache = PartitionCache(sorted(partitions or ()))
            if load_index:
                started = time.perf_counter()
                self._reader = self._open_reader()
                n = self.catch_up()
                log.info("index: %d facts read from %s in %.2fs", n, self.facts_topic, since(started))
        except KafkaError as err:
            self.close()
            raise PublishError(f"preparing to publish to {self.servers} failed: {err}") from None
        except BaseException:
            self.close()
            raise

    # --- the index of what is on the topic ---------------------------------------------------

    def _ensure_topics(self) -> None:
        # Another process may create them between our list and our create: that is what we wanted.
        with suppress(TopicAlreadyExistsError):
            ensure_topics(self.servers, self.namespace)

    def _open_reader(self) -> FactReader:
        deadline = time.monotonic() + 10
        while True:  # a topic created a moment ago may not be in every broker's metadata yet
            try:
                return FactReader(self.servers, self.facts_topic)
            except RuntimeError as err:
                if time.monotonic() > deadline:
                    raise PublishError(f"{err}; create it with ensure_topics or `hotline produce`") from None
                time.sleep(0.2)

    def catch_up(self, stall_s: float = 30.0) -> int:
        """Read what was added to the facts topic since the last call (everything, the first time)
        into the index; returns how many records were read."""
        if self._reader is None:
            return 0
        consumer, partitions = self._reader.consumer, self._reader.partitions
        read, last_progress = 0, time.monotonic()
        with self._lock, gc_paused():
            end = consumer.end_offsets(partitions)
            while any(consumer.position(tp) < end[tp] for tp in partitions):
                records = consumer.poll(timeout_ms=500)
                values = [r.value for batch in records.values() for r in batch]
                if values:
                    self._topic_index.add_records(values)
                    read += len(values)
                    last_progress = time.monotonic()
                elif time.monotonic() - last_progress > stall_s:
                    raise PublishError(
                        f"reading {self.facts_topic} stalled for {stall_s:.0f}s at {read} records; "
                        f"is the broker at {self.servers} healthy?"
                    )
        return read

    def knows(self, kind: str, key: str) -> bool:
        """Whether a company/account/certificate/barcode is introduced by a fact on the topic."""
        return self._topic_index.knows(kind, key)

    def introduced_at(self, kind: str, key: str) -> datetime | None:
        """The earliest event time at which a fact on the topic introduces it (None: none does)."""
        return self._topic_index.introduced_at(kind, key)

    @property
    def introduced(self) -> dict[str, dict[str, datetime]]:
        """Entity kind -> key -> the earliest event time a fact on the topic introduces it."""
        return self._topic_index.known

    # --- publishing ----------------------------------------------------------------------------

    def publish(
        self, items: bytes | str | Iterable[bytes | str] | Iterable[Fact], source_name: str
    ) -> PublishReport:
        """Check and publish one batch: JSON lines (bytes or str, or one text to split at newlines;
        line numbers start at 1) or facts.
        Rejections are keyed "{source_name}:{line}" on the rejects topic."""
        return self.publish_sources([as_source(items, source_name)])

    def publish_sources(
        self,
        sources: Sequence[BatchSource],
        allowed: frozenset[type[Fact]] | None = None,
        sender: str = "",
    ) -> PublishReport:
        """Several inputs as one batch: a line of one may refer to an entity introduced in another.
        `allowed` narrows the types further for this batch (the HTTP client's role, named `sender`):
        a line of another type is refused on its own, field "type"."""
        report = PublishReport(facts_topic=self.facts_topic, rejects_topic=self.rejects_topic)
        with self._lock, gc_paused():
            started = time.perf_counter()
            candidates = self.checked(sources, report, allowed, sender)
            self.land(candidates, report, [source_name(s) for s in sources], started)
        return report

    def checked(
        self,
        sources: Sequence[BatchSource],
        report: PublishReport,
        allowed: frozenset[type[Fact]] | None = None,
        sender: str = "",
    ) -> list[Candidate]:
        """Steps 1 and 2: the facts of `sources` this producer may send, as they will be sent (sealed
        on a sealed line); what is refused goes to `report.rejected`."""
        candidates = parse_batch(sources, report, self.role, allowed, sender)
        if self.keys is not None:  # compared, indexed and sent as the topic holds them
            candidates = sealed_candidates(candidates, self.keys)
        return candidates

    def land(
        self, candidates: list[Candidate], report: PublishReport, names: Sequence[str], started: float
    ) -> list[Candidate]:
        """Steps 3 and 4 over `candidates` as one batch, then send them and `report`'s rejections
        (`names`: the inputs in order, for the order of the rejections). Returns the candidates on
        the topic now (sent, or there already)."""
        with self._lock, gc_paused():
            candidates = self._admit(candidates, report)
            order = {name: i for i, name in enumerate(names)}
            report.rejected.sort(key=lambda r: (order.get(r.file, 0), r.line))  # as they were sent
            report.check_seconds = since(started)
            started = time.perf_counter()
            try:
                self._send(candidates, report)
            except Exception:
                if self.metrics is not None:
                    self.metrics.publish_failed()
                raise
            finally:
                report.send_seconds = since(started)
        if self.metrics is not None:
            self.metrics.batch(report.accepted, report.duplicates, report.rejected)
        return candidates

    def send_valid(self, facts: Sequence[Fact]) -> int:
        """Publish facts already checked (by `publish`'s checks or a trusted upstream), without any
        check: the benchmark's "publish only" path. Returns how many were acknowledged."""
        report = PublishReport(facts_topic=self.facts_topic, rejects_topic=self.rejects_topic)
        with self._lock, gc_paused():
            candidates = [Candidate("", i, fact, fact_to_json(fact)) for i, fact in enumerate(facts, 1)]
            self._send(candidates, report, skip_known=False)
        return report.published

    def _admit(self, candidates: list[Candidate], report: PublishReport) -> list[Candidate]:
        """Id and reference checks over the whole batch, so the order of lines never matters."""
        kept = admit_ids(candidates, report, self._topic_index.ids, self.facts_topic)
        # On a miss, first read what other producers added since we last looked.
        refresh = self.catch_up if self._reader is not None else None
        kept, refused = admit_references(kept, fact_of, self.introduced_at, refresh)
        for c, problems in refused:
            report.rejected += [c.rejection(a, r) for a, r in problems]
        return kept

    def _send(self, candidates: list[Candidate], report: PublishReport, skip_known: bool = True) -> None:
        producer, facts_topic = self.producer, self.facts_topic
        send = producer.send
        partition = self._partitioner()
        pending: list[tuple[Candidate, Any]] = []
        reject_futures = []
        ids = self._topic_index.ids
        sent: set[str] = set()
        chains = self.chains
        try:
            for r in report.rejected:
                key = f"{r.file}:{r.line}".encode()
                shown = r if self.keys is None else withheld(r)  # a sealed line keeps no clear line
                reject_futures.append(send(self.rejects_topic, _rejection_encoder.encode(shown), key=key))
            for c in candidates:
                fact_id = c.fact.id
                if fact_id in sent or (skip_known and fact_id in ids):
                    report.duplicates += 1  # same content: different content was refused above
                    continue
                sent.add(fact_id)
                key = fact_key(c.fact)
                p = partition(key)
                headers = None if chains is None else chains.headers(p, c.value)
                pending.append((c, send(facts_topic, c.value, key=key, partition=p, headers=headers)))
            producer.flush()
        except BaseException as err:
            self._restart_chains()  # links were handed out for records that may not be on the topic
            if not isinstance(err, KafkaError):
                raise
            raise PublishError(
                f"publishing to {self.servers} failed: {err}; nothing is lost by sending the same "
                "input again (delivered facts are recognised as re-sends)",
                report,
            ) from None
        failed_rejects = [fut.exception for fut in reject_futures if fut.failed()]
        report.rejects_published = len(reject_futures) - len(failed_rejects)
        undelivered = []
        for c, fut in pending:
            if fut.failed():
                undelivered.append((c, fut.exception))
                continue
            report.published += 1
            self._topic_index.add_published(c.fact, c.value)
        if undelivered:
            self._restart_chains()
        if undelivered or failed_rejects:
            where, error = "", failed_rejects[0] if failed_rejects else None
            if undelivered:
                first, error = undelivered[0]
                where = f" (first: {first.source}:{first.line}, id {first.fact.id!r})"
            raise PublishError(
                f"{len(undelivered)} facts and {len(failed_rejects)} rejections were not acknowledged "
                f"by the broker{where}: {error}; send the same input again (delivered facts are "
                "recognised as re-sends)",
                report,
            )

    def _partitioner(self) -> Callable[[bytes], int]:
        """Kafka's default rule for the facts topic as it is now (producers.publish_partitions)."""
        partitions = sorted(self.producer.partitions_for(self.facts_topic) or ())
        if not partitions:
            raise PublishError(f"topic {self.facts_topic} has no partitions on {self.servers}")
        return self._partition_cache.partitioner(partitions)

    def _restart_chains(self, restart: bool = True) -> None:
        """Logs the chain's heads, for an operator to note outside Kafka (a cut tail shows against them)."""
        chains: ProducerChains | None = getattr(self, "chains", None)  # None: __init__ failed before
        if chains is not None:
            if summary := chains.summary(self.facts_topic):
                log.info("%s", summary)
            if restart:
                chains.restart()

    def close(self, timeout_s: float = 10.0) -> None:
        self._restart_chains(restart=False)
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if getattr(self, "producer", None) is not None:
            self.producer.close(timeout=timeout_s)

    def __enter__(self) -> FactPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
