"""What the hash chain costs on the embedded log (issue 8.1), in one run on the same synthetic stream:

- ingest, with the chain and without it: `EmbeddedLog.append` of every fact (the log's own cost, where
  the chain weighs most) and `ingest_files` of the same facts as JSON Lines (the operator's path:
  parse, validate, reference checks, append);
- replay (read + decode + fold + snapshot + digest, and the manifest's head with the chain);
- `verify` of the facts chain, in records/s (target >= 500k/s).

"Without the chain" is the same code with link computation and the chain-head bookkeeping switched
off (links stored as NULL), so the difference is the chain and nothing else. Each figure is the best
of --repeat runs, the two variants alternating. Figures are printed, never asserted.

Run: .venv/bin/python bench/chain.py [--facts N] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import storage.log as storage_log
from domain.policy import load_policy
from producers.ingest import ingest_files
from producers.synthetic import generate
from projections.fold import project
from projections.view import digest, snapshot
from schemas.codec import fact_to_json
from schemas.facts import Fact
from storage.log import EmbeddedLog
from storage.log_chain import head_upto

TARGET_VERIFY = 500_000


def synthetic(n: int) -> list[Fact]:
    scale = max(1, math.ceil(n / 120_000))
    while len(facts := generate(seed=11, companies=300 * scale, engineers=3000 * scale, months=4)) < n:
        scale += 1
    return facts[:n]


@contextmanager
def chain_off() -> Iterator[None]:
    """The log as it was before the chain: no link computed, no last link read, no head recorded."""
    saved = storage_log.link, storage_log.last_link, storage_log.record_head
    storage_log.link = lambda previous, body: None  # type: ignore[assignment,return-value]
    storage_log.last_link = lambda cur, table: b""  # type: ignore[assignment]
    storage_log.record_head = lambda cur, table, end, head: None  # type: ignore[assignment]
    try:
        yield
    finally:
        storage_log.link, storage_log.last_link, storage_log.record_head = saved


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds. CPU time of this process is the steadier figure on a shared machine (other
    processes' load and disk flushes move wall time by tens of percent between identical runs)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--facts", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    facts = synthetic(args.facts)
    n = len(facts)
    best: dict[str, tuple[float, float]] = {}

    def note(name: str, seconds: tuple[float, float]) -> None:
        old = best.get(name, (math.inf, math.inf))
        best[name] = (min(old[0], seconds[0]), min(old[1], seconds[1]))

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "stream.jsonl"
        source.write_bytes(b"\n".join(fact_to_json(f) for f in facts) + b"\n")
        logs = {"chain": Path(tmp) / "chain.db", "plain": Path(tmp) / "plain.db"}
        for run in range(args.repeat):
            for variant, path in logs.items():
                switch = chain_off() if variant == "plain" else _nothing()
                with switch:
                    for leftover in Path(tmp).glob(f"{path.name}*"):
                        leftover.unlink()
                    with EmbeddedLog(path) as log:
                        note(
                            f"append {variant}",
                            timed(lambda: [log.append(facts[i : i + 20_000]) for i in range(0, n, 20_000)]),
                        )
                    jsonl = Path(tmp) / f"jsonl-{variant}-{run}.db"
                    with EmbeddedLog(jsonl) as log:
                        note(f"ingest_files {variant}", timed(lambda: ingest_files(log, [source])))
                    jsonl.unlink()
        for _ in range(args.repeat):
            for variant, path in logs.items():
                with EmbeddedLog(path) as log:
                    note(f"replay {variant}", timed(partial(replay, log, variant == "chain")))
        workers = os.cpu_count() or 1
        with EmbeddedLog(logs["chain"]) as log:
            for _ in range(args.repeat):
                for processes in sorted({1, workers}):
                    started = time.perf_counter()
                    verdict = log.verify("facts", processes)
                    wall = time.perf_counter() - started
                    note(f"verify {processes}", (wall, wall))  # workers' CPU is not this process's
                    assert verdict.intact and verdict.records == n  # a broken bench, not a figure

    print(f"{n:,} synthetic facts (producers.synthetic, seed 11), best of {args.repeat}; rates per")
    print("  wall second [per CPU second of this process]")
    for what in ("append", "ingest_files", "replay"):
        (chained, chained_cpu), (plain, plain_cpu) = best[f"{what} chain"], best[f"{what} plain"]
        print(
            f"  {what:<13} with chain {n / chained:>8,.0f} [{n / chained_cpu:>8,.0f}] facts/s   "
            f"without {n / plain:>8,.0f} [{n / plain_cpu:>8,.0f}]   "
            f"time {chained / plain - 1:+.1%} [{chained_cpu / plain_cpu - 1:+.1%}]"
        )
    for processes in sorted({1, workers}):
        rate = n / best[f"verify {processes}"][0]
        print(
            f"  verify        {rate:>10,.0f} records/s in {processes} process(es) (target {TARGET_VERIFY:,})"
        )


def replay(log: EmbeddedLog, manifest: bool) -> None:
    """What `hotline replay` does; with the chain it also reads the manifest's head."""
    digest(snapshot(project(log.read(), load_policy()), None))
    if manifest:
        head_upto(log.db, None)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


if __name__ == "__main__":
    main()
