"""Publishing facts to Kafka: checked before they leave, keyed by subject, never silently dropped.

`FactPublisher` is the one way facts get onto the facts topic (the CLI's `hotline produce`, the HTTP
ingest endpoint and library callers all use it). A batch is checked as a whole, then sent:

1. syntax, schema and the checks a schema cannot express: `producers.validate.parse_lines`
   (lines) or `semantic_problems` (facts built in code), times normalised to UTC;
2. the producer's role: the CRM producer sends the CRM's facts, the call-centre producer the call
   centre's (the two halves of schemas/facts.py); role "any" sends every type;
3. ids: an id already on the topic (or earlier in the batch) with different content is refused, as
   the embedded ingest does (facts are never edited); the same fact again is a harmless re-send and
   is not sent twice;
4. references (`domain.references.admit_references`, the check the embedded ingest runs too): an
   account, company, certificate or device barcode must be introduced by a fact on the topic or by
   a fact of the same batch that is itself accepted, at or before the referring fact's event time.
   The publisher knows what is on the topic from an index it loads at start (every partition from
   offset 0, keeping only the entity keys of `domain.references.ENTITY_KEYS` with their earliest
   event time, and a hash per fact id) and keeps up to date with what it
   publishes; on a miss it first reads what other producers added since, so the call-centre
   producer accepts a call on an account the CRM producer published a second ago.

Every line ends either on the facts topic or, with its line number, field and reason, on the
rejects topic (value: msgspec JSON of `producers.validate.Rejection`, key "file:line"). The publisher
flushes at the end of each batch and checks every record's delivery; a record the broker did not
acknowledge raises `PublishError` (re-running the same input is safe: delivered facts are then
recognised as re-sends, and duplicates are harmless downstream anyway).

Speed: kafka-python's per-record work is pure Python (about 14 us a record here), so the hot loop
avoids everything else it can: values are encoded once, partitions are computed with Kafka's own
murmur2 rule (consumers.kafka_log.default_partition) and cached per key (the same partition the
default partitioner picks, which the workers rely on), and the garbage collector is paused during a
batch (a generation-2 pass over hundreds of thousands of pending record futures costs more than
sending them).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from kafka import KafkaProducer
from kafka.errors import KafkaError, TopicAlreadyExistsError

from access.roles import CRM_TYPES
from consumers import kafka_log
from consumers.kafka_log import FactReader, default_partition, ensure_topics, topic_name
from consumers.kafka_security import KafkaSecurityError, client_settings
from domain.references import ENTITY_KEYS, admit_references
from producers.sources import Source, SourceError, read_source, screen_utf8
from producers.validate import Rejection, parse_lines, semantic_problems
from schemas import facts as f
from schemas.codec import fact_to_json, normalise
from schemas.facts import TAG_OF, Fact
from schemas.topics import FACTS, REJECTS, fact_key

if TYPE_CHECKING:  # the metrics pull in the HTTP stack; `hotline produce` has no use for it
    from producers.metrics import IngestMetrics

log = logging.getLogger(__name__)

#: What each file producer may send: the CRM's reference data, or the rest (calls, cases, reports,
#: judgements); access.roles.CRM_TYPES is the one list of the CRM's types.
ROLES: dict[str, frozenset[type[Fact]]] = {
    "crm": CRM_TYPES,
    "callcentre": frozenset(f.FACT_TYPES) - CRM_TYPES,
    "any": frozenset(f.FACT_TYPES),
}
_ENTITY_OF_TAG = {TAG_OF[t]: kind_attr for t, kind_attr in ENTITY_KEYS.items()}
_CACHE_LIMIT = 1_000_000  # partitions cached per key; cleared beyond (5M devices would be ~1 GB)


class _ExpectedStalls(logging.Filter):
    """kafka-python warns when a step of its sender thread takes over 100 ms. Here that only means
    our thread held the GIL through a batch (the sender catches up at the flush), not a livelock, so
    the warning would only alarm whoever runs `hotline produce`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Task %r ran for")


logging.getLogger("kafka.net.selector").addFilter(_ExpectedStalls())


class PublishError(Exception):
    """The batch could not be (fully) published; the message says why and what to do. `report`
    holds what was done before the failure, when anything was."""

    def __init__(self, message: str, report: PublishReport | None = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class PublishReport:
    facts_topic: str = ""
    rejects_topic: str = ""
    read: int = 0  # lines (or facts) that carry a fact, good or bad; blank lines are not counted
    published: int = 0  # facts sent and acknowledged now
    duplicates: int = 0  # facts already on the topic, or repeated in the batch: not sent again
    rejected: list[Rejection] = field(default_factory=list)  # one per (line, reason)
    rejects_published: int = 0  # rejection records acknowledged on the rejects topic
    check_seconds: float = 0.0
    send_seconds: float = 0.0  # sending and the final flush

    @property
    def accepted(self) -> int:
        """Facts of this batch that are on the facts topic now (sent now, or there already)."""
        return self.published + self.duplicates

    @property
    def rejected_lines(self) -> int:
        return len({(r.file, r.line) for r in self.rejected})

    def summary(self) -> str:
        return (
            f"{self.read} read: {self.published} facts published to {self.facts_topic}, "
            f"{self.duplicates} already there, {self.rejected_lines} lines rejected "
            f"({len(self.rejected)} reasons on {self.rejects_topic})"
        )


class _Head(msgspec.Struct):
    """The little the index needs from a fact on the topic; every other field is skipped unread."""

    id: str
    type: str
    company_id: str | None = None
    account_id: str | None = None
    certificate_id: str | None = None
    barcode: str | None = None
    at: datetime | None = None


_heads = msgspec.json.Decoder(list[_Head])
_head = msgspec.json.Decoder(_Head)
_rejection_encoder = msgspec.json.Encoder()


def _introduce(known: dict[str, datetime], key: str, at: datetime) -> None:
    """References are checked as of event time: keep the earliest introduction of a key."""
    if key not in known or at < known[key]:
        known[key] = at


@dataclass(slots=True)
class _Candidate:
    source: str
    line: int
    fact: Fact
    value: bytes  # the record value: the normalised fact's JSON
    lines: list[bytes] | None = None  # the source's lines, to quote the line as it was sent

    def rejection(self, field: str | None, reason: str) -> Rejection:
        raw = (
            self.lines[self.line - 1].decode("utf-8", "replace").rstrip("\r\n")
            if self.lines
            else self.value.decode()
        )
        return Rejection(file=self.source, line=self.line, field=field, reason=reason, raw=raw)


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
        **producer_config: Any,
    ) -> None:
        if role not in ROLES:
            raise PublishError(f"unknown producer role {role!r}: use one of {', '.join(ROLES)}")
        self.servers = servers or kafka_log.bootstrap()
        self.namespace = namespace or kafka_log.namespace()
        self.role = role
        self.facts_topic = topic_name(FACTS, self.namespace)
        self.rejects_topic = topic_name(REJECTS, self.namespace)
        self._types = ROLES[role]
        self._check_ids = check_ids
        # entity kind -> key -> the earliest event time a fact on the topic introduces it
        self._known: dict[str, dict[str, datetime]] = defaultdict(dict)
        self._ids: dict[str, int] = {}  # fact id -> hash of its record value on the topic
        self._lock = threading.RLock()  # publish -> catch_up re-enters
        self._partition_of: dict[bytes, int] = {}
        self._reader: FactReader | None = None
        self.metrics: IngestMetrics | None = None  # set by a process that serves /metrics
        config: dict[str, Any] = {
            "client_id": f"hotline-producer-{role}",
            "acks": "all",
            "enable_idempotence": True,  # explicit: a conflicting setting then fails instead of warning
            "compression_type": "zstd",
            "linger_ms": 5,
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
            self.producer = KafkaProducer(bootstrap_servers=self.servers, **security, **config)
        except KafkaError as err:
            # kafka-python retries a refused login until the timeout, as if no broker answered
            refused = (
                f" or refuses the credentials of {security['sasl_plain_username']}"
                if security.get("sasl_plain_username")
                else ""
            )
            raise PublishError(
                f"no Kafka broker answers at {self.servers}{refused} ({err}); start one with "
                "`hotline broker start` or point HOTLINE_KAFKA_BOOTSTRAP at your cluster"
            ) from None
        try:
            if create_topics:
                self._ensure_topics()
            partitions = self.producer.partitions_for(self.facts_topic)
            self._partitions = sorted(partitions or ())
            if load_index:
                started = time.perf_counter()
                self._reader = self._open_reader()
                n = self.catch_up()
                log.info("index: %d facts read from %s in %.2fs", n, self.facts_topic, _since(started))
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
        with self._lock, _gc_paused():
            end = consumer.end_offsets(partitions)
            while any(consumer.position(tp) < end[tp] for tp in partitions):
                records = consumer.poll(timeout_ms=500)
                values = [r.value for batch in records.values() for r in batch]
                if values:
                    self._index(values)
                    read += len(values)
                    last_progress = time.monotonic()
                elif time.monotonic() - last_progress > stall_s:
                    raise PublishError(
                        f"reading {self.facts_topic} stalled for {stall_s:.0f}s at {read} records; "
                        f"is the broker at {self.servers} healthy?"
                    )
        return read

    def _index(self, values: list[bytes]) -> None:
        try:
            heads: Sequence[_Head | None] = _heads.decode(b"[" + b",".join(values) + b"]")
        except msgspec.DecodeError:
            heads = [_decode_head(v) for v in values]  # one bad record must not hide the others
        ids, known = self._ids, self._known
        for head, value in zip(heads, values, strict=True):
            if head is None:
                continue
            if self._check_ids:
                ids[head.id] = hash(value)
            if (entity := _ENTITY_OF_TAG.get(head.type)) is not None:
                key = getattr(head, entity[1])
                if key is not None and head.at is not None:
                    _introduce(known[entity[0]], key, head.at)

    def knows(self, kind: str, key: str) -> bool:
        """Whether a company/account/certificate/barcode is introduced by a fact on the topic."""
        return key in self._known[kind]

    def introduced_at(self, kind: str, key: str) -> datetime | None:
        """The earliest event time at which a fact on the topic introduces it (None: none does)."""
        return self._known[kind].get(key)

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
        sources: Sequence[Source | tuple[str, Sequence[Fact]]],
        allowed: frozenset[type[Fact]] | None = None,
        sender: str = "",
    ) -> PublishReport:
        """Several inputs as one batch: a line of one may refer to an entity introduced in another.
        `allowed` narrows the types further for this batch (the HTTP client's role, named `sender`):
        a line of another type is refused on its own, field "type"."""
        report = PublishReport(facts_topic=self.facts_topic, rejects_topic=self.rejects_topic)
        with self._lock, _gc_paused():
            started = time.perf_counter()
            candidates = self._parse(sources, report, allowed, sender)
            candidates = self._admit(candidates, report)
            order = {name: i for i, name in enumerate(_name(s) for s in sources)}
            report.rejected.sort(key=lambda r: (order.get(r.file, 0), r.line))  # as they were sent
            report.check_seconds = _since(started)
            started = time.perf_counter()
            try:
                self._send(candidates, report)
            except Exception:
                if self.metrics is not None:
                    self.metrics.publish_failed()
                raise
            finally:
                report.send_seconds = _since(started)
        if self.metrics is not None:
            self.metrics.batch(report.accepted, report.duplicates, report.rejected)
        return report

    def send_valid(self, facts: Sequence[Fact]) -> int:
        """Publish facts already checked (by `publish`'s checks or a trusted upstream), without any
        check: the benchmark's "publish only" path. Returns how many were acknowledged."""
        report = PublishReport(facts_topic=self.facts_topic, rejects_topic=self.rejects_topic)
        with self._lock, _gc_paused():
            candidates = [_Candidate("", i, fact, fact_to_json(fact)) for i, fact in enumerate(facts, 1)]
            self._send(candidates, report, skip_known=False)
        return report.published

    def _parse(
        self,
        sources: Sequence[Source | tuple[str, Sequence[Fact]]],
        report: PublishReport,
        allowed: frozenset[type[Fact]] | None = None,
        sender: str = "",
    ) -> list[_Candidate]:
        out: list[_Candidate] = []
        types, role = self._types, self.role
        narrowed = types if allowed is None else types & allowed
        for source in sources:
            lines: list[bytes] | None
            if isinstance(source, Source):
                name, lines = source.name, source.lines
                parsed, rejected = _parse_lines(source)
                rejected = source.rejected + rejected
            else:
                (name, facts), lines = source, None
                parsed, rejected = _check_facts(facts, name)
            report.read += len(parsed) + len({r.line for r in rejected})
            report.rejected += rejected
            for line, fact in parsed:
                c = _Candidate(name, line, fact, fact_to_json(fact), lines)
                if type(fact) in narrowed:
                    out.append(c)
                elif type(fact) in types:
                    reason = f"{sender or 'this sender'} may not post {TAG_OF[type(fact)]} facts"
                    report.rejected.append(c.rejection("type", reason))
                else:
                    reason = f"the {role} producer does not send {TAG_OF[type(fact)]} facts"
                    report.rejected.append(c.rejection("type", reason))
        return out

    def _admit(self, candidates: list[_Candidate], report: PublishReport) -> list[_Candidate]:
        """Id and reference checks over the whole batch, so the order of lines never matters."""
        kept: list[_Candidate] = []
        first: dict[str, _Candidate] = {}
        ids = self._ids
        for c in candidates:
            fact_id = c.fact.id
            seen = first.get(fact_id)
            if seen is not None and seen.value != c.value:
                where = f"line {seen.line}" + ("" if seen.source == c.source else f" of {seen.source}")
                reason = f"id {fact_id!r} is already used by a different fact ({where})"
                report.rejected.append(c.rejection("id", reason))
            elif seen is None and fact_id in ids and ids[fact_id] != hash(c.value):
                reason = f"id {fact_id!r} is already used by a different fact on {self.facts_topic}"
                report.rejected.append(c.rejection("id", reason))
            else:
                first.setdefault(fact_id, c)
                kept.append(c)
        return self._check_references(kept, report)

    def _check_references(self, candidates: list[_Candidate], report: PublishReport) -> list[_Candidate]:
        # On a miss, first read what other producers added since we last looked.
        refresh = self.catch_up if self._reader is not None else None
        kept, refused = admit_references(candidates, _fact_of, self.introduced_at, refresh)
        for c, problems in refused:
            report.rejected += [c.rejection(a, r) for a, r in problems]
        return kept

    def _send(self, candidates: list[_Candidate], report: PublishReport, skip_known: bool = True) -> None:
        producer, facts_topic = self.producer, self.facts_topic
        send = producer.send
        partition = self._partitioner()
        pending: list[tuple[_Candidate, Any]] = []
        reject_futures = []
        ids = self._ids
        sent: set[str] = set()
        try:
            for r in report.rejected:
                key = f"{r.file}:{r.line}".encode()
                reject_futures.append(send(self.rejects_topic, _rejection_encoder.encode(r), key=key))
            for c in candidates:
                fact_id = c.fact.id
                if fact_id in sent or (skip_known and fact_id in ids):
                    report.duplicates += 1  # same content: different content was refused above
                    continue
                sent.add(fact_id)
                key = fact_key(c.fact)
                pending.append((c, send(facts_topic, c.value, key=key, partition=partition(key))))
            producer.flush()
        except KafkaError as err:
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
            if self._check_ids:
                ids[c.fact.id] = hash(c.value)
            if (entity := ENTITY_KEYS.get(type(c.fact))) is not None:
                _introduce(self._known[entity[0]], getattr(c.fact, entity[1]), c.fact.at)
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
        """Kafka's default rule (murmur2 of the key, positive, modulo the partition count), cached:
        facts of one account or company share a key, and the pure-Python murmur2 costs ~1.5 us."""
        partitions = sorted(self.producer.partitions_for(self.facts_topic) or ())
        if not partitions:
            raise PublishError(f"topic {self.facts_topic} has no partitions on {self.servers}")
        cache = self._partition_of
        if partitions != self._partitions or len(cache) > _CACHE_LIMIT:
            cache.clear()
            self._partitions = partitions
        n = len(partitions)

        def partition(key: bytes) -> int:
            p = cache.get(key)
            if p is None:
                p = cache[key] = partitions[default_partition(key, n)]
            return p

        return partition

    def close(self, timeout_s: float = 10.0) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if getattr(self, "producer", None) is not None:
            self.producer.close(timeout=timeout_s)

    def __enter__(self) -> FactPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def as_source(
    items: bytes | str | Iterable[bytes | str] | Iterable[Fact], name: str
) -> Source | tuple[str, list[Fact]]:
    """Lines become a `Source`; facts built in code stay facts (no JSON round trip)."""
    if isinstance(items, bytes | str):  # a whole body rather than its lines
        items = (items.encode() if isinstance(items, str) else items).split(b"\n")
    facts: list[Fact] = []
    lines: list[bytes] = []
    for item in items:
        if isinstance(item, Fact):
            facts.append(item)
        else:
            lines.append(item.encode() if isinstance(item, str) else item)
    if facts and lines:
        raise TypeError("publish() takes JSON lines or facts, not a mix of both")
    return (name, facts) if facts else Source(name, lines)


def _parse_lines(source: Source) -> tuple[list[tuple[int, Fact]], list[Rejection]]:
    try:
        return parse_lines(source.lines, source.name)
    except UnicodeDecodeError:
        # msgspec raises this (not a DecodeError) on a line that is not UTF-8: refuse such lines
        # and parse the rest again; the fast path never pays for the check.
        lines = list(source.lines)
        refused = screen_utf8(lines, source.name)
        parsed, rejected = parse_lines(lines, source.name)
        return parsed, sorted(refused + rejected, key=lambda r: r.line)


def _check_facts(facts: Sequence[Fact], name: str) -> tuple[list[tuple[int, Fact]], list[Rejection]]:
    parsed: list[tuple[int, Fact]] = []
    rejected: list[Rejection] = []
    for line, fact in enumerate(facts, start=1):
        fact = normalise(fact)  # UTC, so the same fact always has the same record value
        problems = semantic_problems(fact)
        raw = fact_to_json(fact).decode()
        rejected += [Rejection(file=name, line=line, field=a, reason=r, raw=raw) for a, r in problems]
        if not problems:
            parsed.append((line, fact))
    return parsed, rejected


def _name(source: Source | tuple[str, Sequence[Fact]]) -> str:
    return source.name if isinstance(source, Source) else source[0]


def _fact_of(c: _Candidate) -> Fact:
    return c.fact


def _decode_head(value: bytes) -> _Head | None:
    try:
        return _head.decode(value)  # type: ignore[no-any-return]
    except msgspec.DecodeError:
        log.warning("a record on the facts topic is not a fact; ignored by the index: %.200r", value)
        return None


def _since(started: float) -> float:
    return time.perf_counter() - started


@contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def main_produce(
    paths: list[Path], crm_or_callcentre: str, servers: str | None = None, namespace: str | None = None
) -> PublishReport:
    """`hotline produce FILE... --as crm|callcentre|any`: every file is read (CSV converted) before
    anything is published, then all of them go as one batch. Raises PublishError (one clear line)
    for a file that cannot be read, an unknown role, an unreachable broker or a failed delivery."""
    if crm_or_callcentre not in ROLES:
        raise PublishError(f"unknown producer {crm_or_callcentre!r}: use one of {', '.join(ROLES)}")
    try:
        sources = [read_source(path) for path in paths]
    except SourceError as err:
        raise PublishError(str(err)) from None
    with FactPublisher(servers, namespace, role=crm_or_callcentre) as publisher:
        return publisher.publish_sources(sources)
