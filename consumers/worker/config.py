"""What one worker process is: its place among the workers, where the brokers are, where it keeps
its files. Built once by main_worker (or the CLI) and read by every other module of the package."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from consumers.kafka_log import bootstrap, namespace

GUARANTEES = ("at_least_once", "exactly_once")


@dataclass(frozen=True)
class WorkerConfig:
    index: int
    count: int
    servers: str = field(default_factory=bootstrap)
    namespace: str = field(default_factory=namespace)
    datadir: Path | None = None
    policy_path: Path | None = None
    # Write digest(snapshot(state_at(T), T)) into status.json (tests: "what is your digest as of T?").
    digest_as_of: datetime | None = None
    guarantee: str = "at_least_once"
    drain: bool = True  # read the facts topic with FactReader before the agent starts (bench: off)

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"worker index {self.index} is not in 0..{self.count - 1} (--of {self.count})")
        if self.guarantee not in GUARANTEES:
            raise ValueError(f"processing guarantee {self.guarantee!r} is not one of {', '.join(GUARANTEES)}")
        if self.digest_as_of is not None and self.digest_as_of.tzinfo is None:
            raise ValueError("digest_as_of needs a time zone")

    @property
    def app_id(self) -> str:
        """One consumer group per worker: every worker is assigned every partition of the facts."""
        return f"{self.namespace}-worker-{self.index}"

    @property
    def dir(self) -> Path:
        return self.datadir or Path(f"{self.app_id}-data")

    @property
    def status_path(self) -> Path:
        return self.dir / "status.json"

    @classmethod
    def from_env(cls, index: int, count: int, **given: object) -> WorkerConfig:
        """Fill what was not given from the environment: HOTLINE_KAFKA_BOOTSTRAP, HOTLINE_NAMESPACE,
        HOTLINE_DIGEST_AS_OF (ISO 8601 with an offset), HOTLINE_WORKER_GUARANTEE, and
        HOTLINE_WORKER_DRAIN=0 (benchmarks only: skip the startup drain, the agent reads everything)."""
        values = {k: v for k, v in given.items() if v is not None}
        if "digest_as_of" not in values and (raw := os.environ.get("HOTLINE_DIGEST_AS_OF")):
            try:
                values["digest_as_of"] = datetime.fromisoformat(raw)
            except ValueError:
                raise ValueError(f"HOTLINE_DIGEST_AS_OF={raw!r} is not an ISO 8601 time") from None
        if "guarantee" not in values and (raw := os.environ.get("HOTLINE_WORKER_GUARANTEE")):
            values["guarantee"] = raw
        if "drain" not in values and os.environ.get("HOTLINE_WORKER_DRAIN") == "0":
            values["drain"] = False  # bench/processing.py: measure the agent alone
        return cls(index, count, **values)  # type: ignore[arg-type]
