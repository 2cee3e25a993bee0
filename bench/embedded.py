"""The embedded log's commands: resuming from the log's checkpoints beside a full refold, same run.

On a log built from the synthetic stream (default: the demo stream, 193k facts), times:
- the previous design: read every fact and `project()` them (what `state`, `check`, `explain` did);
- the first command on the log (folds everything and leaves checkpoints);
- a later command (resumes from the checkpoint at the end);
- a command after 1,000 facts were appended (resumes from the checkpoint before the earliest of them);
- a past question 30 days back (`state_at`: the nearest checkpoint before it, then the facts up to it).
Each is timed in-process (no interpreter start, no printing), best of --repeat.

Run: .venv/bin/python bench/embedded.py [--facts N] [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from domain.policy import load_policy
from producers.synthetic import generate
from projections.fold import project
from storage.log import EmbeddedLog
from storage.resume import resume_over_log


def best(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--facts", type=int, default=0, help="0: the demo stream as it is")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    policy = load_policy()
    scale = max(1, round(args.facts / 135_000)) if args.facts else 1
    facts = generate(seed=7, companies=300 * scale, engineers=3000 * scale, months=4)
    tail = facts[-1000:]  # appended later, as a second ingest
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.db"
        with EmbeddedLog(base) as log:
            log.append(facts[:-1000])
        print(f"log: {len(facts) - 1000:,} facts, then 1,000 appended")

        def fresh() -> EmbeddedLog:
            path = Path(tmp) / "copy.db"
            shutil.copy(base, path)
            return EmbeddedLog(path)

        with fresh() as log:
            full = best(args.repeat, lambda: project(log.read(), policy))
        print(f"  previous design, read + project() every fact: {full:6.2f} s")
        with fresh() as log:
            t0 = time.perf_counter()
            resume_over_log(log, policy).state()
            first = time.perf_counter() - t0
            later = best(args.repeat, lambda: resume_over_log(log, policy).state())
            projector = resume_over_log(log, policy)
            latest = projector.latest
            assert latest is not None
            past = best(args.repeat, lambda: projector.state_at(latest - timedelta(days=30)))
            log.append(tail)
            t0 = time.perf_counter()
            after = resume_over_log(log, policy)
            after.state()
            appended = time.perf_counter() - t0
            refold = after.last_refold
        print(f"  first command (folds, leaves checkpoints):    {first:6.2f} s")
        print(f"  a later command (resumes at the end):         {later:6.2f} s  ({later / full:.0%})")
        print(
            f"  after 1,000 facts appended:                   {appended:6.2f} s  "
            f"(refolded {refold.facts if refold else 0:,} facts)"
        )
        print(f"  state_at 30 days back:                        {past:6.2f} s  ({past / full:.0%})")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
