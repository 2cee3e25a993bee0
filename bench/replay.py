"""Embedded replay from disk: N mixed facts (default 1M) on a SQLite log, rebuilt into every projection.

Prints the rate of each stage and of the whole replay. The log is generated once and cached in bench/out/.
Run: .venv/bin/python bench/replay.py [--facts N]
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import time
from pathlib import Path

from domain.policy import load_policy
from producers.synthetic import generate
from projections.fold import project
from projections.view import digest, snapshot
from storage.log import EmbeddedLog

OUT = Path(__file__).parent / "out"


def build_log(path: Path, facts_wanted: int) -> EmbeddedLog:
    log = EmbeddedLog(path)
    if log.count() >= facts_wanted:
        return log
    log.close()
    path.unlink()
    log = EmbeddedLog(path)
    scale = 1
    while True:  # the synthetic stream grows with the number of engineers
        facts = generate(seed=11, companies=300 * scale, engineers=3000 * scale, months=6)
        if len(facts) >= facts_wanted:
            break
        scale = max(scale + 1, int(scale * facts_wanted / max(len(facts), 1)) + 1)
    facts = facts[:facts_wanted]
    # As on a real log: in arrival order, which is event order but for 1% that arrive late.
    rng = random.Random(3)
    for _ in range(len(facts) // 100):
        i = rng.randrange(len(facts))
        facts.insert(min(len(facts), i + rng.randrange(1, 5000)), facts.pop(i))
    started = time.perf_counter()
    for i in range(0, len(facts), 100_000):
        log.append(facts[i : i + 100_000])
    print(f"wrote {log.count():,} facts to {path} in {time.perf_counter() - started:.1f}s")
    return log


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--facts", type=int, default=1_000_000)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    log = build_log(OUT / f"replay-{args.facts}.db", args.facts)
    policy = load_policy()
    gc.collect()

    t0 = time.perf_counter()
    facts = log.read()
    t1 = time.perf_counter()
    state = project(facts, policy)
    t2 = time.perf_counter()
    n = len(facts)
    print(f"read+decode {n:,} facts: {t1 - t0:.2f}s ({n / (t1 - t0):,.0f} facts/s)")
    print(f"fold (dedupe, order, apply): {t2 - t1:.2f}s ({n / (t2 - t1):,.0f} facts/s)")
    print(f"replay total: {t2 - t0:.2f}s = {n / (t2 - t0):,.0f} facts/s on one core")
    snap = snapshot(state, None)
    print(f"snapshot+digest: {time.perf_counter() - t2:.2f}s  digest {digest(snap)[:16]}…")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
