"""What a change costs: the checkpointed projector beside the previous design (a full refold), same run.

A synthetic history (default: 12 months, 300 companies per 3,000 engineers, scaled to about --facts)
is fed to a Projector in arrival-order batches of 5,000, as a worker takes them. Then, each timed:

- annulments of violations confirmed about 30 days before the end (and about 1 year, when the history
  is long enough): add the annulment, read the state (the refold);
- late facts: a call 10 minutes before the latest fact;
- a past query (`state_at`) 90 days and 1 year back;
- the previous design: `project()` of every fact, which is what any of the above cost before.

Run: .venv/bin/python bench/checkpoints.py [--facts 1000000] [--annulments 100]
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import time
from datetime import timedelta
from pathlib import Path

import msgspec

from domain.policy import load_policy
from producers.synthetic import generate
from projections.fold import project
from projections.projector import Projector
from schemas.facts import AnyFact, CallReceived, Fact, ViolationAnnulled

OUT = Path(__file__).parent / "out"


def history(wanted: int, months: int) -> list[Fact]:
    path = OUT / f"checkpoints-{wanted}-{months}m.msgpack"
    if path.exists():
        return list(msgspec.msgpack.decode(path.read_bytes(), type=list[AnyFact]))
    scale = max(1, round(wanted / (45_000 * months)))  # ~45k facts a month per 3,000 engineers
    facts = generate(seed=11, companies=300 * scale, engineers=3000 * scale, months=months)
    OUT.mkdir(exist_ok=True)
    path.write_bytes(msgspec.msgpack.encode(facts))
    return facts


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


def report(name: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(
        f"  {name:<44} n={len(ms):>3}  p50 {statistics.median(ms):8.1f} ms  p99 {pct(ms, 0.99):8.1f} ms"
        f"  max {max(ms):8.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--facts", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--annulments", type=int, default=100)
    parser.add_argument("--previous", type=int, default=3, help="full refolds timed for the previous design")
    args = parser.parse_args()
    policy = load_policy()
    facts = history(args.facts, args.months)
    latest = max(f.at for f in facts)
    print(f"history: {len(facts):,} facts, {facts[0].at:%Y-%m-%d} .. {latest:%Y-%m-%d}")
    gc.collect()

    # --- feeding, as a worker does -------------------------------------------------------------
    projector = Projector(policy)
    t0 = time.perf_counter()
    for i in range(0, len(facts), 5000):
        projector.add(facts[i : i + 5000])
    state = projector.state()
    fed = time.perf_counter() - t0
    saved = getattr(projector.checkpoints, "saved", [])
    print(
        f"fed in batches of 5,000: {fed:.1f}s ({len(facts) / fed:,.0f} facts/s), "
        f"{len(saved)} checkpoints kept, {sum(len(c.blob) for c in saved) / 2**20:,.0f} MiB, "
        f"last one took {projector._checkpoint_cost * 1000:.0f} ms"  # noqa: SLF001 (a benchmark's look inside)
    )

    # --- the previous design: any late fact or annulment refolded everything -------------------
    previous = []
    for _ in range(args.previous):
        t0 = time.perf_counter()
        project(facts, policy)
        previous.append(time.perf_counter() - t0)
    print("previous design (full refold per change):")
    report("project() of every fact", previous)

    # --- annulments --------------------------------------------------------------------------
    print("checkpointed projector:")
    for age_days in (30, 365):
        horizon = latest - timedelta(days=age_days)
        candidates = sorted(
            (v for v in state.violations.values() if v.annulled_at is None and v.at <= horizon),
            key=lambda v: v.at,
            reverse=True,
        )[: args.annulments]
        if len(candidates) < 5:
            print(f"  annulment {age_days} days old: the history is too short")
            continue
        times, ages = [], []
        for n, violation in enumerate(candidates):
            annul = ViolationAnnulled(
                id=f"bench-annul-{age_days}-{n}",
                at=latest + timedelta(seconds=n + 1),
                source="bench",
                violation_id=violation.id,
            )
            t0 = time.perf_counter()
            projector.add([annul])
            projector.state()
            times.append(time.perf_counter() - t0)
            ages.append((latest - violation.at).days)
        report(f"annulment ~{age_days} days old (ages {min(ages)}-{max(ages)} d)", times)
        refold = projector.last_refold
        if refold is not None:
            print(f"    the last one refolded {refold.facts:,} facts from {refold.since}")

    # --- late facts --------------------------------------------------------------------------
    template = next(f for f in reversed(facts) if isinstance(f, CallReceived))
    times = []
    for n in range(args.annulments):
        late = msgspec.structs.replace(template, id=f"bench-late-{n}", at=latest - timedelta(minutes=10))
        t0 = time.perf_counter()
        projector.add([late])
        projector.state()
        times.append(time.perf_counter() - t0)
    report("a call 10 minutes late", times)

    # --- past queries ------------------------------------------------------------------------
    for days in (90, 365):
        if latest - timedelta(days=days) < facts[0].at:
            print(f"  past query {days} days back: the history is too short")
            continue
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            projector.state_at(latest - timedelta(days=days))
            times.append(time.perf_counter() - t0)
        report(f"state_at {days} days back", times)
    print(f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
