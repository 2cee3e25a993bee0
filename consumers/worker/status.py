"""status.json in the worker's data directory: how far the worker is, for tests, benchmarks and
operators. Written atomically (a temporary file renamed over it), at most every `every` seconds.

Fields: index, count, pid; facts (distinct facts applied), pending (facts waiting in the reorder
buffer), latest (the latest event time applied); ready (tables restored, publishing); emitted (live
derived events published by this worker), records_sent; published_at_s (seconds from the start of
main_worker to when the current fact count was published); ready_at_s (to when the tables were
restored and publishing began); first_record_at_s (to when the first record was read);
received (records the live reader handed over); unread {partition: records not read yet}; metrics_port (where
/metrics is served, None when HOTLINE_METRICS_PORT is unset); spent_s {apply, fold, publish:
seconds; publications}; drain {facts, seconds}; lag_ms {n, p50, p99, max}: record timestamp to
published, per fact read live; arrival_lag_ms {n, p50, p99, max}: record timestamp to the
reading task's batch, the part of lag_ms spent before the worker had the record; refolds,
annulments_voided, late_applied (late facts applied where the fold stood, projections.late) and
warm_checkpoints; and, when the worker was
given a time T (HOTLINE_DIGEST_AS_OF), digest_as_of, digest = digest(snapshot(state_at(T), T)) and
digest_facts, the number of facts that digest covers. The digest is computed when the worker is
quiet (no fact for 0.3 s, nothing pending) and its fact count has changed, and only once the worker
holds a fact at or after T. A test waits for facts == digest_facts == the number of distinct facts
it published: everything they derive has been published by then (the status is written after)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_status(path: Path, status: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(status, indent=1, default=str))
    os.replace(tmp, path)


def read_status(path: Path) -> dict[str, Any] | None:
    """The last status a worker wrote, or None when there is none yet."""
    try:
        status: dict[str, Any] = json.loads(path.read_text())
        return status
    except (FileNotFoundError, json.JSONDecodeError):
        return None


class LagHistogram:
    """Lags in 1 ms buckets up to a minute (the last bucket holds the rest): O(1) per fact, and
    percentiles without sorting, so measuring costs the worker next to nothing."""

    def __init__(self, limit_ms: int = 60_000) -> None:
        self.counts = [0] * (limit_ms + 1)
        self.n = 0
        self.max = 0.0

    def add(self, lags: list[float]) -> None:
        counts, top = self.counts, len(self.counts) - 1
        for lag in lags:
            counts[min(top, max(0, int(lag * 1000)))] += 1
        self.n += len(lags)
        if lags:
            self.max = max(self.max, *lags)

    def summary(self) -> dict[str, float]:
        if not self.n:
            return {"n": 0}
        out: dict[str, float] = {"n": self.n}
        wanted = [("p50", 0.50 * self.n), ("p99", 0.99 * self.n)]
        seen = 0
        for ms, count in enumerate(self.counts):
            seen += count
            while wanted and seen >= wanted[0][1]:
                out[wanted.pop(0)[0]] = float(ms)  # the bucket [ms, ms + 1)
            if not wanted:
                break
        out["max"] = round(self.max * 1000, 2)
        return out
