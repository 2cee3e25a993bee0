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
default partitioner picks, which the workers rely on), the garbage collector is paused during a
batch (a generation-2 pass over hundreds of thousands of pending record futures costs more than
sending them), and the producer lingers up to a second, so that the batches sent while a publish is
handed over are full ones (few requests, few GIL hand-overs to the sender thread); the flush at the
end of each publish sends the rest at once, so no publish waits for the linger.

Where it lives: this module is the entry point (`main_produce`, and every name callers import from
here); files are published a window at a time by producers.produce_files; the publisher is
producers.publish_facts, the checks of steps 1-3 producers.publish_checks,
the index producers.publish_index, the Kafka producer producers.publish_connection, the partition
cache producers.publish_partitions, the pause of the garbage collector producers.publish_speed, the
report and the error producers.publish_report.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from producers.produce_files import produce_files
from producers.publish_checks import ROLES, as_source
from producers.publish_checks import parse_source as _parse_lines
from producers.publish_facts import FactPublisher
from producers.publish_report import PublishError, PublishReport
from producers.sources import SourceError, check_source
from storage.keystore import KeyStore

__all__ = [
    "ROLES",
    "FactPublisher",
    "PublishError",
    "PublishReport",
    "_parse_lines",
    "as_source",
    "main_produce",
]


def main_produce(
    paths: list[Path],
    crm_or_callcentre: str,
    servers: str | None = None,
    namespace: str | None = None,
    keys: KeyStore | None = None,
    progress: Callable[[int], None] | None = None,
) -> PublishReport:
    """`hotline produce FILE... --as crm|callcentre|any`: every file is checked, then read (CSV
    converted) and published a window of lines at a time (producers.produce_files: a line may still
    name an entity a later line introduces). Raises PublishError (one clear line) for a file that
    cannot be read, an unknown role, an unreachable broker or a failed delivery. `keys`: a sealed
    line's key store: facts are published sealed (docs/privacy.md). `progress`: told the bytes read."""
    if crm_or_callcentre not in ROLES:
        raise PublishError(f"unknown producer {crm_or_callcentre!r}: use one of {', '.join(ROLES)}")
    try:
        for path in paths:
            check_source(path)  # before the broker is asked anything
        with FactPublisher(servers, namespace, role=crm_or_callcentre, keys=keys) as publisher:
            return produce_files(publisher, paths, progress=progress)
    except SourceError as err:
        raise PublishError(str(err)) from None
