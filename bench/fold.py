"""The fold alone, in memory: N synthetic facts (default 1M) through `project()`, best of several runs.

The stream is built as bench/replay.py builds its log (same seed, same late arrivals) and cached in
bench/out/ as MessagePack, so runs compare the fold and nothing else. `--profile` prints a cProfile of
one run; `--digests` prints the state digest of the demo stream at a few as-of times (a behaviour check).
`--previous REV` also times the fold of git revision REV (e.g. the design before this one) on the same
stream, in a child process, right after: the two figures come from one run of this script.
Run: .venv/bin/python bench/fold.py [--facts N] [--runs K] [--previous REV] [--profile] [--digests]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from domain.policy import load_policy
from producers.synthetic import generate
from projections.fold import project
from projections.view import digest, snapshot
from schemas.facts import AnyFact, Fact

OUT = Path(__file__).parent / "out"
AS_OF = (
    datetime(2025, 2, 1, tzinfo=UTC),
    datetime(2025, 3, 15, 6, 30, tzinfo=UTC),
    datetime(2025, 5, 6, tzinfo=UTC),
    None,
)


def stream(facts_wanted: int) -> list[Fact]:
    path = OUT / f"fold-{facts_wanted}.msgpack"
    if path.exists():
        decoded: list[Fact] = msgspec.msgpack.decode(path.read_bytes(), type=list[AnyFact])
        return decoded
    scale = 1
    while True:  # the synthetic stream grows with the number of engineers (as in bench/replay.py)
        facts = generate(seed=11, companies=300 * scale, engineers=3000 * scale, months=6)
        if len(facts) >= facts_wanted:
            break
        scale = max(scale + 1, int(scale * facts_wanted / max(len(facts), 1)) + 1)
    facts = facts[:facts_wanted]
    rng = random.Random(3)  # 1% arrive late, as on a real log
    for _ in range(len(facts) // 100):
        i = rng.randrange(len(facts))
        facts.insert(min(len(facts), i + rng.randrange(1, 5000)), facts.pop(i))
    OUT.mkdir(exist_ok=True)
    path.write_bytes(msgspec.msgpack.encode(facts))
    return msgspec.msgpack.decode(path.read_bytes(), type=list[AnyFact])  # as read from a log: UTC times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--facts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--digests", action="store_true")
    parser.add_argument("--previous", help="a git revision to time beside this tree")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    policy = load_policy()
    if args.digests:
        demo = generate()
        for as_of in AS_OF:
            print(f"as of {as_of}: {digest(snapshot(project(demo, policy, as_of), as_of))}")
        return
    facts = stream(args.facts)
    n = len(facts)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        project(facts, policy)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return
    best = float("inf")
    for _ in range(args.runs):
        gc.collect()
        started = time.perf_counter()
        state = project(facts, policy)
        elapsed = time.perf_counter() - started
        best = min(best, elapsed)
        print(f"fold {n:,} facts: {elapsed:.2f}s ({n / elapsed:,.0f} facts/s)")
        del state
    print(f"best of {args.runs}: {best:.2f}s = {n / best:,.0f} facts/s")
    if args.previous:
        previous(args.previous, args.facts, args.runs, best)


def previous(rev: str, facts: int, runs: int, ours: float) -> None:
    """The fold of revision `rev`, on the stream cached above, in a child process."""
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(root), "archive", rev], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        shutil.copy(Path(__file__), Path(tmp) / "fold_bench.py")
        (Path(tmp) / "out").symlink_to(OUT.resolve(), target_is_directory=True)
        code = "import sys, runpy; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
        out = subprocess.run(
            [sys.executable, "-c", code, str(Path(tmp) / "fold_bench.py"), "--facts", str(facts),
             "--runs", str(runs), "--child"],
            cwd=tmp, env={**os.environ, "PYTHONPATH": tmp}, capture_output=True, text=True, check=True,
        )  # fmt: skip
    line = out.stdout.strip().splitlines()[-1]
    theirs = float(line.split("best of")[1].split(":")[1].split("s")[0])
    print(f"revision {rev}: {line}")
    print(f"this tree is {theirs / ours:.2f}x the fold rate of {rev}")


if __name__ == "__main__":
    main()
