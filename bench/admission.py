"""admit_call latency on warm state: 1M accounts, 5M devices (defaults). Prints p50/p99/max and peak RSS.

Run: .venv/bin/python bench/admission.py [--accounts N] [--devices N] [--calls N]
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import time
from datetime import UTC, datetime, timedelta

from domain.admission import admit_call
from domain.policy import load_policy
from projections.apply import HANDLERS
from projections.state import State
from schemas import facts as f
from schemas.derived import CallRequest

T0 = datetime(2025, 1, 1, tzinfo=UTC)
LINES = ["switch", "router", "wlan", "security", "server", "storage"]


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(accounts: int, devices: int, companies: int, rng: random.Random) -> State:
    """Warm state through the real handlers (in event-time order, as the fold applies them)."""
    policy = load_policy()
    state = State(policy)
    far = T0 + timedelta(days=3650)
    models = [f"M{i}" for i in range(400)]
    sites = [f"S{i}" for i in range(20_000)]
    for c in range(companies):
        cid = f"C{c}"
        HANDLERS[f.CompanyRegistered](
            state, f.CompanyRegistered(id=f"co{c}", at=T0, source="crm", company_id=cid, name=cid)
        )
        for line in LINES:
            HANDLERS[f.RatingIssued](
                state,
                f.RatingIssued(
                    id=f"ra{c}{line}",
                    at=T0,
                    source="crm",
                    company_id=cid,
                    product_line=line,
                    stars=rng.choice((2, 3, 4)),
                ),
            )
    for a in range(accounts):
        aid = f"A{a}"
        HANDLERS[f.AccountOpened](
            state,
            f.AccountOpened(
                id=f"ac{a}",
                at=T0,
                source="crm",
                account_id=aid,
                company_id=f"C{a % companies}",
                person_id=f"P{a}",
            ),
        )
        HANDLERS[f.CertificateGranted](
            state,
            f.CertificateGranted(
                id=f"ce{a}",
                at=T0,
                source="crm",
                certificate_id=f"CE{a}",
                account_id=aid,
                product_line=LINES[a % len(LINES)],
                valid_until=far,
            ),
        )
    for d in range(devices):
        HANDLERS[f.DeviceInstalled](
            state,
            f.DeviceInstalled(
                id=f"de{d}",
                at=T0,
                source="crm",
                barcode=f"B{d:09d}",
                product_model=models[d % 400],
                product_line=LINES[d % len(LINES)],
                customer_id=f"K{d % 50_000}",
                site_id=sites[d % 20_000],
                warranty_end=far,
            ),
        )
    # Some of the accounts and numbers blacklisted, as on a real line.
    for a in range(0, accounts, 200):
        rid = f"r{a}"
        HANDLERS[f.ViolationReported](
            state,
            f.ViolationReported(
                id=rid, at=T0, source="cc", rule="ACCOUNT-SHARED", account_id=f"A{a}", number=f"1{a:010d}"
            ),
        )
        HANDLERS[f.ViolationConfirmed](
            state, f.ViolationConfirmed(id=f"{rid}c", at=T0, source="cc", violation_id=rid)
        )
    return state


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--devices", type=int, default=5_000_000)
    parser.add_argument("--companies", type=int, default=3_000)
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    rng = random.Random(1)
    started = time.perf_counter()
    state = build(args.accounts, args.devices, args.companies, rng)
    print(
        f"warm state: {args.accounts:,} accounts, {args.devices:,} devices, built in "
        f"{time.perf_counter() - started:.1f}s; peak RSS {rss_mib():,.0f} MiB"
    )
    policy = state.policy
    at = T0 + timedelta(days=30)
    requests = []
    for _ in range(args.calls):
        # Mostly devices of the engineer's certified product line, as on a real line.
        a = rng.randrange(args.accounts)
        d = rng.randrange(args.devices // len(LINES)) * len(LINES) + a % len(LINES)
        if rng.random() < 0.05 or d >= args.devices:
            d = rng.randrange(args.devices)
        barcode = f"B{d:09d}"
        device = state.devices[barcode]
        site = device.site_id if rng.random() < 0.95 else "elsewhere"
        requests.append(
            CallRequest(
                account_id=f"A{a}",
                number=f"1{a:010d}",
                barcode=barcode,
                stated_model=device.product_model,
                stated_site=site,
            )
        )
    timings = []
    refused = 0
    clock = time.perf_counter_ns
    gc.collect()
    gc.freeze()  # the warm state is long-lived: move it out of the collector's way, as a server would
    for request in requests:
        t0 = clock()
        reasons = admit_call(state, request, at, policy)
        timings.append(clock() - t0)
        refused += bool(reasons)
    timings.sort()
    n = len(timings)
    print(
        f"admit_call x {n:,} ({refused:,} refused): p50 {timings[n // 2] / 1000:.1f} us, "
        f"p99 {timings[int(n * 0.99)] / 1000:.1f} us, max {timings[-1] / 1000:.1f} us, "
        f"mean {sum(timings) / n / 1000:.1f} us"
    )
    print(f"peak RSS {rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
