"""What one worker process is: its place among the workers, where the brokers are, where it keeps
its files. Built once by main_worker (or the CLI) and read by every other module of the package.

Where the files go: worker I of namespace NS keeps its store (projection.db), status.json and faust's
tables (faust/) in STATE/NS-worker-I, STATE being --state-dir, else $HOTLINE_STATE_DIR, else
$XDG_STATE_HOME/hotline, else ~/.local/state/hotline: never the current directory. --datadir names
that one worker's directory outright instead."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from consumers.kafka_log import bootstrap, namespace
from domain.policy_history import PolicyHistory

GUARANTEES = ("at_least_once", "exactly_once")
STATE_DIR_ENV = "HOTLINE_STATE_DIR"


def default_state_dir() -> Path:
    """The per-user state directory: $XDG_STATE_HOME/hotline, else ~/.local/state/hotline (the XDG base
    directory rules: a relative $XDG_STATE_HOME is ignored)."""
    xdg = os.environ.get("XDG_STATE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "hotline"
    try:
        return Path.home() / ".local" / "state" / "hotline"
    except RuntimeError:  # no $HOME and no password entry
        raise ValueError(f"no home directory for the state: set {STATE_DIR_ENV} or --state-dir") from None


def resolve_state_dir(given: Path | None = None) -> Path:
    """Where the workers keep their directories: `given` (--state-dir), else $HOTLINE_STATE_DIR, else
    default_state_dir(). Always absolute: faust would take a relative one from the current directory."""
    if given is None and (raw := os.environ.get(STATE_DIR_ENV, "").strip()):
        given = Path(raw)
    return (given.expanduser() if given is not None else default_state_dir()).absolute()


@dataclass(frozen=True)
class WorkerConfig:
    index: int
    count: int
    servers: str = field(default_factory=bootstrap)
    namespace: str = field(default_factory=namespace)
    datadir: Path | None = None  # this worker's own directory; None: state_dir / app_id
    state_dir: Path = field(default_factory=resolve_state_dir)  # --state-dir, $HOTLINE_STATE_DIR, ...
    # the policy versions, each in force from its effective_from (one pack: a history of one); None:
    # the shipped pack. Loaded before the config is made, so a bad pack is refused before anything starts.
    policy: PolicyHistory | None = None
    # Write digest(snapshot(state_at(T), T)) into status.json (tests: "what is your digest as of T?").
    digest_as_of: datetime | None = None
    guarantee: str = "at_least_once"
    drain: bool = True  # read the facts topic before faust starts (bench: off, the live reader reads all)

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"worker index {self.index} is not in 0..{self.count - 1} (--of {self.count})")
        if self.guarantee not in GUARANTEES:
            raise ValueError(f"processing guarantee {self.guarantee!r} is not one of {', '.join(GUARANTEES)}")
        if self.digest_as_of is not None and self.digest_as_of.tzinfo is None:
            raise ValueError("digest_as_of needs a time zone")
        object.__setattr__(self, "state_dir", resolve_state_dir(self.state_dir))  # absolute, ~ expanded

    @property
    def app_id(self) -> str:
        """One consumer group per worker: every worker is assigned every partition of the facts."""
        return f"{self.namespace}-worker-{self.index}"

    @property
    def dir(self) -> Path:
        """projection.db, status.json and faust/ (the tables): --datadir, else STATE/NS-worker-I."""
        return self.datadir or self.state_dir / self.app_id

    @property
    def status_path(self) -> Path:
        return self.dir / "status.json"

    @classmethod
    def from_env(cls, index: int, count: int, **given: object) -> WorkerConfig:
        """Fill what was not given from the environment: HOTLINE_KAFKA_BOOTSTRAP, HOTLINE_NAMESPACE,
        HOTLINE_STATE_DIR, HOTLINE_DIGEST_AS_OF (ISO 8601 with an offset), HOTLINE_WORKER_GUARANTEE, and
        HOTLINE_WORKER_DRAIN=0 (benchmarks only: skip the startup drain, the live reader reads everything)."""
        values = {k: v for k, v in given.items() if v is not None}
        if "digest_as_of" not in values and (raw := os.environ.get("HOTLINE_DIGEST_AS_OF")):
            try:
                values["digest_as_of"] = datetime.fromisoformat(raw)
            except ValueError:
                raise ValueError(f"HOTLINE_DIGEST_AS_OF={raw!r} is not an ISO 8601 time") from None
        if "guarantee" not in values and (raw := os.environ.get("HOTLINE_WORKER_GUARANTEE")):
            values["guarantee"] = raw
        if "drain" not in values and os.environ.get("HOTLINE_WORKER_DRAIN") == "0":
            values["drain"] = False  # bench/processing.py: measure the live path alone
        return cls(index, count, **values)  # type: ignore[arg-type]
