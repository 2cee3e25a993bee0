"""Prometheus metrics of ingest: facts accepted, lines refused by field, publish failures, and the
HTTP ingest server's request latency.

`FactPublisher.metrics` (producers.kafka_producer) takes an `IngestMetrics`; every batch published
through it is counted, whichever way it came (`hotline ingest-server`, a library caller). The
field of a refusal is counted as it is when it names a field of some fact type (`at`, `barcode`,
`type`, `id`...); a name the sender made up (`unknown field` on a misspelt key), a path into a
nested value or a list of missing fields would make a series per mistake, so those are counted as
`other`, `several` or `none` (the line is not JSON, or not a fact at all).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
from prometheus_client import CollectorRegistry, Counter

from consumers.metrics_http import request_histogram
from producers.validate import Rejection
from schemas import facts as f


def _known_fields() -> frozenset[str]:
    names = {"type", "id"}
    for fact_type in f.FACT_TYPES:
        names.update(fd.encode_name for fd in msgspec.structs.fields(fact_type))
    return frozenset(names)


KNOWN_FIELDS = _known_fields()


def field_label(field: str | None) -> str:
    """A bounded label for the field a refusal names."""
    if not field:
        return "none"
    if "," in field:
        return "several"  # "account_id, barcode": every missing field at once
    head = field.split(".")[0].split("[")[0]
    return head if head in KNOWN_FIELDS else "other"


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.requests = request_histogram(self.registry, "hotline_ingest")
        self.accepted = Counter(
            "hotline_ingest_facts_accepted",
            "Facts of a batch that are on the facts topic after it (published now, or there already)",
            registry=self.registry,
        )
        self.duplicates = Counter(
            "hotline_ingest_facts_duplicate",
            "Of the accepted facts, those already on the topic or repeated in the batch (not sent again)",
            registry=self.registry,
        )
        self.rejected_lines = Counter(
            "hotline_ingest_lines_rejected",
            "Lines refused (each may have several reasons)",
            registry=self.registry,
        )
        self.rejects = Counter(
            "hotline_ingest_rejects",
            "Reasons lines were refused, by the field they name",
            ["field"],
            registry=self.registry,
        )
        self.publish_errors = Counter(
            "hotline_ingest_publish_errors",
            "Batches the broker did not take (the sender is told to send them again)",
            registry=self.registry,
        )

    def batch(self, accepted: int, duplicates: int, rejected: Iterable[Rejection]) -> None:
        self.accepted.inc(accepted)
        self.duplicates.inc(duplicates)
        lines = set()
        for r in rejected:
            lines.add((r.file, r.line))
            self.rejects.labels(field_label(r.field)).inc()
        self.rejected_lines.inc(len(lines))

    def publish_failed(self) -> None:
        self.publish_errors.inc()
