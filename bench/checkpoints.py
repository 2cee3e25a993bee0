"""What a change costs: the checkpointed projector beside the previous design (a full refold), same run.

A synthetic history (default: 12 months, 300 companies per 3,000 engineers, scaled to about --facts)
is fed to a Projector with a worker's spacing and retention: all but the last --live-days in
arrival-order batches of 5,000 (catching up), those days live in batches of 50 with the live
spacing's wall clock simulated. Then, each timed:

- late facts: calls 10 minutes before the latest fact, by distinct engineers (applied in place when
  they touch nothing folded after them) and one call repeated (each copy refolds), while the live
  feed's daily checkpoints stand;
- annulments of violations confirmed 30-60 days before the end, of the 100 most recent older than 30
  days, and of a year back when the history is long enough: add the annulment, read the state;
- a past query (`state_at`) 90 days and 1 year back;
- with --warm (a worker's warm checkpoints, storage.resume.FEED_WARM: 15 minutes and 35 days back):
  every change alternates between a cold refold (the warm checkpoints set aside) and a warm one
  (projections.warm: thawed ahead, after the previous change, timed apart as "prepare"), so both
  are measured on the same history in the same run;
- the previous design: `project()` of every fact, which is what any of the above cost before.

With --store, the projector keeps its facts and checkpoints in a SQLite file as a worker does
(storage.resume.open_store): a refold and an annulment's check read the facts back from disk.

Run: .venv/bin/python bench/checkpoints.py [--facts 1000000] [--annulments 100] [--warm] [--store F]
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
from projections.timeline import MemoryCheckpoints
from projections.warm import WarmCheckpoints
from schemas.facts import AnyFact, CallReceived, Fact, ViolationAnnulled
from storage.resume import FEED_SPACING, FEED_WARM, open_store

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


def turn(projector: Projector, n: int, prepared: list[float]) -> bool:
    """With warm reaches, every other change is warm: its checkpoints are thawed now (timed into
    `prepared`: what a process does after a change, before the next); the others go cold."""
    if not projector.warm.reaches:
        return False
    if n % 2:
        projector.warm.held.clear()
        return False
    t0 = time.perf_counter()
    projector.prepare()
    prepared.append(time.perf_counter() - t0)
    return True


def report_warm(times: list[float], prepared: list[float]) -> None:
    if times:
        report("  the same, from warm checkpoints", times)
        report("  prepare (thaw ahead, before each warm one)", prepared)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--facts", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--annulments", type=int, default=100)
    parser.add_argument("--previous", type=int, default=3, help="full refolds timed for the previous design")
    parser.add_argument("--live-days", type=int, default=60, help="the last days fed live (see below)")
    parser.add_argument("--warm", action="store_true", help="a worker's warm checkpoints too (FEED_WARM)")
    parser.add_argument(
        "--store", type=Path, help="keep facts and checkpoints in this SQLite file, as a worker"
    )
    args = parser.parse_args()
    reaches = FEED_WARM if args.warm else ()
    policy = load_policy()
    facts = history(args.facts, args.months)
    latest = max(f.at for f in facts)
    print(f"history: {len(facts):,} facts, {facts[0].at:%Y-%m-%d} .. {latest:%Y-%m-%d}")
    gc.collect()

    # --- feeding, as a worker does -------------------------------------------------------------
    # A worker's spacing and retention (storage.resume.FEED_SPACING; FEED_KEPT kept with --store, else
    # 16). It catches up on the history but its last --live-days, in batches of 5,000; then it is fed
    # those days live, in batches of 50 facts, reading its state after each, with the wall clock of the
    # live spacing (one checkpoint per event day, when the wall time since the last is 20 times its cost)
    # simulated as if the facts arrived in real time. The fold and the checkpoints are real.
    if args.store is not None:  # a worker's own store: facts and checkpoints in SQLite (open_store)
        args.store.unlink(missing_ok=True)
        projector, _ = open_store(args.store, policy)
        projector.warm = WarmCheckpoints(reaches)
    else:
        projector = Projector(policy, checkpoints=MemoryCheckpoints(16), spacing=FEED_SPACING, warm=reaches)
    live_from = latest - timedelta(days=args.live_days)
    split = next((i for i, f in enumerate(facts) if f.at >= live_from), len(facts))
    t0 = time.perf_counter()
    for i in range(0, split, 5000):
        projector.add(facts[i : min(split, i + 5000)])
    state = projector.state()
    fed = time.perf_counter() - t0
    saved = projector.checkpoints.positions()
    print(
        f"caught up in batches of 5,000: {split:,} facts in {fed:.1f}s ({split / fed:,.0f} facts/s), "
        f"{len(saved)} checkpoints kept, "
        f"last one took {projector.cadence.cost * 1000:.0f} ms"
    )
    clock = [0.0]
    projector.cadence.wall = lambda: clock[0]
    t0 = time.perf_counter()
    for i in range(split, len(facts), 50):
        batch = facts[i : i + 50]
        clock[0] = max(f.at for f in batch).timestamp()
        projector.add(batch)
        projector.state()
    state = projector.state()
    fed = time.perf_counter() - t0
    saved = projector.checkpoints.positions()
    print(
        f"then live in batches of 50: {len(facts) - split:,} facts in {fed:.1f}s, "
        f"{len(saved)} checkpoints kept: {', '.join(f'{p[0]:%m-%d}' for p, _ in saved)}"
    )

    # --- the previous design: any late fact or annulment refolded everything -------------------
    previous = []
    for _ in range(args.previous):
        t0 = time.perf_counter()
        project(facts, policy)
        previous.append(time.perf_counter() - t0)
    print("previous design (full refold per change):")
    report("project() of every fact", previous)

    print("checkpointed projector:")
    # --- late facts --------------------------------------------------------------------------
    # Calls of the last day by distinct engineers, reported again 10 minutes before the latest fact
    # under new ids: what a call centre's late batch looks like. Then the worst case: one call sent
    # over and over, so that each copy shares its subjects with the one before (a refold each).
    seen: set[str] = set()
    distinct = []
    for fact in reversed(facts):
        if isinstance(fact, CallReceived) and fact.account_id not in seen:
            seen.add(fact.account_id)
            distinct.append(fact)
        if len(distinct) == args.annulments:
            break
    worst = next(f for f in reversed(facts) if isinstance(f, CallReceived))
    for label, templates in (("calls by distinct engineers", distinct), ("one call repeated", None)):
        times: list[float] = []
        warm_times: list[float] = []
        prepared: list[float] = []
        commuted, refolds = projector.late.applied, projector.refolds
        for n in range(args.annulments):
            warm = turn(projector, n, prepared)
            template = templates[n] if templates is not None else worst
            late = msgspec.structs.replace(
                template, id=f"bench-late-{label[:3]}-{n}", at=latest - timedelta(minutes=10)
            )
            t0 = time.perf_counter()
            projector.add([late])
            projector.state()
            (warm_times if warm else times).append(time.perf_counter() - t0)
        report(f"a call 10 minutes late, {label}", times)
        report_warm(warm_times, prepared)
        print(
            f"    applied in place: {projector.late.applied - commuted}, "
            f"refolded: {projector.refolds - refolds}"
        )

    # --- annulments --------------------------------------------------------------------------
    # Bands of age: the synthetic line confirms few violations in its last weeks, so the 30-60 day
    # band holds what there is; then the 100 most recent older than 30 days (ages to ~120 days), as
    # measured before; then a year back when the history is long enough. Newest first in each.
    done: set[str] = set()
    for label, young, old, count in (
        ("30-60 days old", 30, 60, None),
        ("the 100 most recent over 30 days", 30, None, args.annulments),
        ("365+ days old", 365, None, args.annulments),
    ):
        candidates = sorted(
            (
                v
                for v in state.violations.values()
                if v.annulled_at is None
                and v.id not in done
                and v.at <= latest - timedelta(days=young)
                and (old is None or v.at >= latest - timedelta(days=old))
            ),
            key=lambda v: v.at,
            reverse=True,
        )[:count]
        if len(candidates) < 5:
            print(f"  annulment {label}: the history is too short")
            continue
        times, warm_times, prepared = [], [], []
        ages: list[int] = []
        voided, refolds = projector.voided, projector.refolds
        for n, violation in enumerate(candidates):
            warm = turn(projector, n, prepared)
            done.add(violation.id)
            annul = ViolationAnnulled(
                id=f"bench-annul-{len(done)}",
                at=latest + timedelta(seconds=len(done)),
                source="bench",
                violation_id=violation.id,
            )
            t0 = time.perf_counter()
            projector.add([annul])
            projector.state()
            (warm_times if warm else times).append(time.perf_counter() - t0)
            ages.append((latest - violation.at).days)
        report(f"annulment {label} (ages {min(ages)}-{max(ages)} d)", times)
        report_warm(warm_times, prepared)
        print(f"    voided in place: {projector.voided - voided}, refolded: {projector.refolds - refolds}")
        refold = projector.last_refold
        if refold is not None:
            print(f"    the last one refolded {refold.facts:,} facts from {refold.since}")

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
    print(f"warm checkpoints taken: {projector.warm.taken}")
    print(f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
