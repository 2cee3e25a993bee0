"""Prometheus metrics of one worker, and the port it serves them on.

The Runtime counts as it goes (facts applied, records taken, undecodable records) and refreshes the
gauges after each publication and each turn of the publishing task (every 50 ms): lag per partition,
facts held, facts waiting in the reorder buffer. Everything runs on faust's event loop; the HTTP
thread only reads the registry.

Refolds are seen from outside the projector (its `refolds` count and `last_refold`), right after
the Runtime asks it for a state: a late fact or an annulment makes that call rebuild the fold.

The port: HOTLINE_METRICS_PORT (unset: no server). Worker i of K listens on that port + i, so K
workers on one machine do not collide; 0 takes a free port, written to status.json
(`metrics_port`). HOTLINE_METRICS_HOST, default 127.0.0.1. /metrics needs a bearer token of a role
that may read (the token store of HOTLINE_TOKENS, as for the API): without a usable store the
worker refuses to start rather than serve its figures to anyone.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from projections.projector import Projector
from projections.state import State

# A refold runs from the nearest checkpoint: tens of ms for a late fact on a live line, seconds
# for an annulment far back in a large log.
REFOLD_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
QUARANTINE_EVERY = 1.0  # seconds between two counts of the quarantined facts (a scan of anomalies)


@dataclass(frozen=True)
class MetricsPort:
    host: str
    port: int  # 0: any free port


def metrics_port(index: int, env: Mapping[str, str] = os.environ) -> MetricsPort | None:
    """Where worker `index` serves /metrics, from HOTLINE_METRICS_PORT and HOTLINE_METRICS_HOST."""
    raw = env.get("HOTLINE_METRICS_PORT", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > 65535:
        raise ValueError(f"HOTLINE_METRICS_PORT={raw!r} is not a port number (0 for any free port)")
    base = int(raw)
    if base and base + index > 65535:
        raise ValueError(f"HOTLINE_METRICS_PORT={raw} + worker index {index} is past the last port, 65535")
    host = env.get("HOTLINE_METRICS_HOST", "").strip() or "127.0.0.1"
    return MetricsPort(host, 0 if base == 0 else base + index)


class WorkerMetrics:
    def __init__(self, partitions: int) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.facts_applied = Counter(
            "hotline_worker_facts_applied",
            "Distinct facts added to the projection (startup drain included; re-sent facts excluded)",
            registry=r,
        )
        self.records = Counter(
            "hotline_worker_records_received", "Records the live reader took from the facts topic", registry=r
        )
        self.undecodable = Counter(
            "hotline_worker_records_undecodable", "Records skipped because they are not a fact", registry=r
        )
        self.reader_restarts = Counter(
            "hotline_worker_reader_restarts",
            "Times the live reader failed (broker away, topic gone) and was made again from its offsets",
            registry=r,
        )
        self.refolds = Counter(
            "hotline_worker_refolds", "Rebuilds of the fold after a late fact or an annulment", registry=r
        )
        self.voided = Counter(
            "hotline_worker_annulments_voided",
            "Annulments written where the fold stood, without a refold (projections.annulment)",
            registry=r,
        )
        self.refold_seconds = Histogram(
            "hotline_worker_refold_duration_seconds",
            "Duration of each refold the worker waited for",
            buckets=REFOLD_BUCKETS,
            registry=r,
        )
        self.records_published = Counter(
            "hotline_worker_records_published",
            "Derived events and projection updates this worker published",
            registry=r,
        )
        self.lag = Gauge(
            "hotline_worker_lag_records",
            "Records of the facts topic not read yet, by partition (end offset - position)",
            ["partition"],
            registry=r,
        )
        self.facts = Gauge("hotline_worker_facts", "Distinct facts the projection holds", registry=r)
        self.pending = Gauge(
            "hotline_worker_pending_facts", "Facts held back in the reorder buffer", registry=r
        )
        self.quarantined = Gauge(
            "hotline_worker_facts_quarantined",
            "Facts whose rules raised, set aside as anomalies (in the last published state)",
            registry=r,
        )
        self.ready = Gauge(
            "hotline_worker_ready", "1 once the tables are restored and the worker publishes", registry=r
        )
        # Every partition gets a series from the start: a partition that never had a record shows 0
        # instead of being absent, and the label set is bounded by the partition count.
        self._lag = [self.lag.labels(str(p)) for p in range(partitions)]
        self._refolds_seen = 0
        self._voided_seen = 0
        self._published_seen = 0
        self._quarantine_at = 0.0

    def refolded(self, projector: Projector) -> None:
        """After a `projector.state()`: count the refolds it ran and time the last one, and the
        annulments voided in place."""
        if projector.voided > self._voided_seen:
            self.voided.inc(projector.voided - self._voided_seen)
            self._voided_seen = projector.voided
        new = projector.refolds - self._refolds_seen
        if new > 0:
            self._refolds_seen = projector.refolds
            self.refolds.inc(new)
            if projector.last_refold is not None:
                self.refold_seconds.observe(projector.last_refold.seconds)

    def published(self, state: State, sent: int) -> None:
        """After a publication: `sent` is the emitter's running total of records published."""
        if sent > self._published_seen:
            self.records_published.inc(sent - self._published_seen)
            self._published_seen = sent
        now = time.monotonic()
        if now - self._quarantine_at >= QUARANTINE_EVERY:
            self._quarantine_at = now
            self.quarantined.set(sum(1 for a in state.anomalies if a.reason.startswith("quarantined")))

    def progress(self, unread: Mapping[int, int], facts: int, pending: int, ready: bool) -> None:
        """The gauges: `unread` holds the partitions with records not read yet (others are at 0)."""
        for partition, child in enumerate(self._lag):
            child.set(unread.get(partition, 0))
        self.facts.set(facts)
        self.pending.set(pending)
        self.ready.set(1 if ready else 0)
