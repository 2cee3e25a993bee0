"""How much memory one process needs to hold the world, and at what volume it stops fitting.

Every worker and API process holds the whole projection (projections.state.State) and the fact set it
refolds from. This measures what that costs per entity, through the real code:

1. reference data: N accounts (each with one certificate; 1 in 200 blacklisted, account and number)
   and M devices, built by bench/admission.py's `build` (the real handlers), at three sizes each;
2. history: the first 2, 4 and 8 months of the synthetic line (producers.synthetic, 300 companies,
   3,000 engineers), read from an embedded log, kept by id and folded by `project()` (the pure fold,
   so that the figure does not depend on how the Projector stores facts and checkpoints; the stream
   holds annulments, so the fold time is also what a full rebuild costs).

Each measurement runs in a fresh child process: for RSS (resident pages from /proc/self/statm, after
minus before, so the interpreter and imports are excluded) at three sizes, and under tracemalloc (live
bytes handed out by the Python allocator, without fragmentation or free arenas; 5-20x slower per
allocation) at two smaller sizes. The cost per entity is the slope between the smallest and the
largest size (constant parts cancel); the middle size checks that RSS grows linearly. The volumes at
which one process crosses 2 GiB and 8 GiB are then extrapolated from the RSS slopes: the slopes are
measured, the crossing volumes are not.

Run: .venv/bin/python bench/scaling.py   (about 1 minute on 2 cores, 20 s more the first time, when the
synthetic log is written to bench/out/)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain.policy import load_policy
from producers.synthetic import generate
from projections.fold import project
from schemas.facts import TAG_OF, CallReceived
from storage.log import EmbeddedLog

sys.path.insert(0, str(Path(__file__).parent))
from admission import build  # noqa: E402  (the 1M-account / 5M-device bench's warm-state builder)

OUT = Path(__file__).parent / "out"
HISTORY_LOG = OUT / "scaling-history-8m.db"
SEED, COMPANIES, ENGINEERS, MONTHS = 11, 300, 3_000, 8
START = datetime(2025, 1, 6, tzinfo=UTC)
# RSS at three sizes (the middle one checks linearity); tracemalloc, exact but 5-20x slower per
# allocation, at two smaller sizes.
HISTORY_MONTHS, HISTORY_TRACED = (2, 4, 8), (2, 4)
ACCOUNT_SIZES, ACCOUNT_TRACED = (50_000, 100_000, 200_000), (10_000, 40_000)
DEVICE_SIZES, DEVICE_TRACED = (250_000, 500_000, 1_000_000), (20_000, 80_000)
REF_COMPANIES = 1_000
PAGE = os.sysconf("SC_PAGE_SIZE")
GIB = 1 << 30
MIB = 1 << 20


def rss() -> int:
    """Resident set size now (not the peak), from /proc/self/statm."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


# --- children: one measurement each, in a fresh process ------------------------------------------
def child(spec: dict) -> dict:
    trace = spec["trace"]
    gc.collect()
    before = rss()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    if spec["kind"] == "reference":
        state = build(spec["accounts"], spec["devices"], REF_COMPANIES, random.Random(1))
        count = spec["accounts"] + spec["devices"]
        held: object = None  # nothing besides the state
    else:
        log = EmbeddedLog(HISTORY_LOG)
        facts = [fact for batch in log.read_batches(spec["upto"]) for fact in batch]
        log.close()
        count = len(facts)
        read = time.perf_counter()
        held = {fact.id: fact for fact in facts}  # the fact set, by id: what a process that refolds keeps
        del facts
        state = project(held.values(), load_policy())  # one full fold: dedupe, order, apply
        fold_s = time.perf_counter() - read
    elapsed = time.perf_counter() - started
    gc.collect()
    result = {"count": count, "seconds": elapsed, "rss": rss() - before}
    if spec["kind"] == "history":
        result["fold_s"] = fold_s
        result["calls"] = len(state.calls)
    if trace:
        result["traced"] = tracemalloc.get_traced_memory()[0]
        if spec["kind"] == "history":  # the State alone, without the fact set by id
            del held
            gc.collect()
            result["traced_state"] = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    return result


def run_child(spec: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the parent ------------------------------------------------------------------------------------
def history_log() -> tuple[dict[int, int], float, float]:
    """The synthetic line over 12 months, in event order, on an embedded log (cached); the offsets that
    end the prefixes; the traffic in facts per account and year, and the facts per call."""
    log = EmbeddedLog(HISTORY_LOG)
    if log.count() == 0:
        started = time.perf_counter()
        facts = generate(seed=SEED, companies=COMPANIES, engineers=ENGINEERS, months=MONTHS, start=START)
        for i in range(0, len(facts), 100_000):
            log.append(facts[i : i + 100_000])
        print(f"(wrote {len(facts):,} facts to {HISTORY_LOG} in {time.perf_counter() - started:.1f}s)")
        del facts
    start_us = int(START.timestamp() * 1_000_000)
    month_us = int(timedelta(days=30.44).total_seconds() * 1_000_000)
    offsets = {}
    for months in HISTORY_MONTHS:
        (offsets[months],) = log.db.execute(
            "SELECT MAX(offset) FROM facts WHERE at_us < ?", (start_us + months * month_us,)
        ).fetchone()
    (before_start,) = log.db.execute("SELECT COUNT(*) FROM facts WHERE at_us < ?", (start_us,)).fetchone()
    (in_period,) = log.db.execute("SELECT COUNT(*) FROM facts WHERE at_us >= ?", (start_us,)).fetchone()
    (calls,) = log.db.execute("SELECT COUNT(*) FROM facts WHERE type = ?", (TAG_OF[CallReceived],)).fetchone()
    log.close()
    per_account_year = in_period / ENGINEERS / MONTHS * 12
    print(
        f"(history log: {before_start:,} reference facts before the period, {in_period:,} over "
        f"{MONTHS} months = {per_account_year:.0f} facts per account and year)"
    )
    return offsets, per_account_year, in_period / calls


def slope(points: list[tuple[int, int]]) -> float:
    (x0, y0), (x1, y1) = points[0], points[-1]
    return (y1 - y0) / (x1 - x0)


def linearity(points: list[tuple[int, int]]) -> str:
    """How far the middle point is from the line through the ends, as a share of its value."""
    if len(points) < 3:
        return "-"
    (x0, y0), (xm, ym), (x1, y1) = points
    predicted = y0 + (y1 - y0) * (xm - x0) / (x1 - x0)
    return f"{(ym - predicted) / ym:+.1%}"


def measure(name: str, specs: list[dict], traced_specs: list[dict]) -> dict:
    """RSS at every size of `specs`, tracemalloc at the sizes of `traced_specs`; slopes per entity."""
    rss_points, traced_points, state_points, rates = [], [], [], []
    for spec in specs:
        r = run_child({**spec, "trace": False})
        rss_points.append((r["count"], r["rss"]))
        rates.append(r["count"] / r.get("fold_s", r["seconds"]))
        line = f"  {name} {r['count']:>9,}: RSS +{r['rss'] / MIB:6.1f} MiB, built in {r['seconds']:4.1f}s"
        if "fold_s" in r:
            line += f" (read {r['seconds'] - r['fold_s']:.1f}s, fold {r['fold_s']:.1f}s"
            line += f" = {r['count'] / r['fold_s']:,.0f} facts/s)"
        print(line, flush=True)
    for spec in traced_specs:
        t = run_child({**spec, "trace": True})
        traced_points.append((t["count"], t["traced"]))
        line = f"  {name} {t['count']:>9,}: traced {t['traced'] / MIB:6.1f} MiB"
        if "traced_state" in t:
            state_points.append((t["count"], t["traced_state"]))
            line += f" (the State alone, without the fact set: {t['traced_state'] / MIB:.1f} MiB)"
        print(line, flush=True)
    return {
        "rss": slope(rss_points),
        "traced": slope(traced_points),
        "state": slope(state_points) if state_points else None,
        "linear": linearity(rss_points),
        "rates": (min(rates), max(rates)),
    }


def crossing(limit: float, base: float, per_unit: float) -> float:
    return max(0.0, (limit - base) / per_unit)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return

    OUT.mkdir(exist_ok=True)
    began = time.perf_counter()
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start (other processes may be running)"
    )
    offsets, per_account_year, facts_per_call = history_log()
    base_rss = rss()  # this process: the interpreter with the project imported, nothing built

    def reference(accounts: int, devices: int) -> dict:
        return {"kind": "reference", "accounts": accounts, "devices": devices}

    def history(months: int) -> dict:
        return {"kind": "history", "upto": offsets[months]}

    print("reference data (bench/admission.py's build: the real handlers), one fresh process per size:")
    acc = measure(
        "accounts", [reference(n, 0) for n in ACCOUNT_SIZES], [reference(n, 0) for n in ACCOUNT_TRACED]
    )
    dev = measure(
        "devices ", [reference(0, n) for n in DEVICE_SIZES], [reference(0, n) for n in DEVICE_TRACED]
    )
    print(
        f"history: the first {', '.join(map(str, HISTORY_MONTHS))} months of the synthetic line "
        f"({COMPANIES} companies, {ENGINEERS:,} engineers), read from the log, kept by id, folded by "
        "project():"
    )
    hist = measure("facts   ", [history(m) for m in HISTORY_MONTHS], [history(m) for m in HISTORY_TRACED])

    print(
        f"\n{'per entity (slope)':<36} {'RSS':>8} {'traced':>8} {'linearity':>9} {'build or fold rate/s':>22}"
    )
    for label, m in (
        ("account (+1 certificate, 1/200 bl.)", acc),
        ("device (installed base)", dev),
        ("fact held (fact set by id + State)", hist),
    ):
        low, high = m["rates"]
        print(
            f"{label:<36} {m['rss']:>6.0f} B {m['traced']:>6.0f} B {m['linear']:>9} {low:>10,.0f}-{high:,.0f}"
        )
    print(f"{'fact held, the State alone':<36} {'':>8} {hist['state']:>6.0f} B")
    print(f"process base (interpreter + imports): {base_rss / MIB:.0f} MiB RSS")

    # --- extrapolation: RSS = base + accounts * a + devices * d + facts held * h (the RSS slopes) ---
    a, d, h = acc["rss"], dev["rss"], hist["rss"]
    fold = hist["rates"][1]  # the best fold rate seen: rebuild times below are a lower bound
    print(
        f"\ncheck: 1M accounts + 5M devices, no history -> {(base_rss + 1e6 * a + 5e6 * d) / GIB:.2f} GiB "
        "predicted (bench/admission.py measured 1.41 GiB peak RSS for that state)"
    )
    print("\nEXTRAPOLATED: one process crosses")
    for limit in (2 * GIB, 8 * GIB):
        n = crossing(limit, base_rss, a + 5 * d)
        print(f"  {limit // GIB} GiB with reference data alone at {n:,.0f} accounts and {5 * n:,.0f} devices")
    print(
        f"and, with an installed base held, at these histories ({facts_per_call:.2f} facts per call, "
        f"{per_account_year:.0f} facts per account and year on the synthetic line; every fact since the "
        f"start held in memory; rebuild = one full fold at {fold:,.0f} facts/s):"
    )
    print(
        f"{'limit':>5} {'accounts':>9} {'devices':>9} {'facts held':>11} {'= facts/year kept 1 y':>22} "
        f"{'calls/day':>9} {'kept 3 y: facts/year':>21} {'calls/day':>9} {'rebuild':>8}"
    )
    for limit in (2 * GIB, 8 * GIB):
        for accounts in (100_000, 1_000_000):
            held = crossing(limit, base_rss + accounts * a + 5 * accounts * d, h)
            per_day = held / facts_per_call / 365
            print(
                f"{limit // GIB:>3} G {accounts:>9,} {5 * accounts:>9,} {held:>11,.0f} {held:>22,.0f} "
                f"{per_day:>9,.0f} {held / 3:>21,.0f} {per_day / 3:>9,.0f} {held / fold:>7,.0f}s"
            )
    # --- sharded by company: global tables copied to every shard, the history split between shards ---
    accounts, calls_per_day, years = 1_000_000, 10_000, 3
    held = calls_per_day * facts_per_call * 365 * years
    global_tables = accounts * a + 5 * accounts * d  # upper bound: every account, certificate and device
    print(
        f"\nEXTRAPOLATED, sharded by company: {accounts:,} accounts, {5 * accounts:,} devices, "
        f"{calls_per_day:,} calls/day kept {years} years = {held:,.0f} facts; global tables "
        f"{global_tables / GIB:.2f} GiB in every shard, history split evenly (no skew):"
    )
    for shards in (1, 4, 8, 16):
        per_shard = base_rss + global_tables + held / shards * h
        print(
            f"  {shards:>2} shard(s): {per_shard / GIB:5.1f} GiB per shard, "
            f"{shards * per_shard / GIB:5.1f} GiB in all; a shard's full rebuild {held / shards / fold:,.0f}s"
        )
    print(f"(whole run {time.perf_counter() - began:.0f}s)")


if __name__ == "__main__":
    main()
