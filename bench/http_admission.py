"""Admission over HTTP: GET /admission on a warm replica, measured by wrk, beside a bare ASGI endpoint.

The API (consumers.api, one uvicorn process) holds a replica filled from a synthetic stream (20k
engineer accounts by default; no broker needed: the replica is fed a local fact list). wrk rotates
through realistic requests (admissible calls, blacklisted accounts and numbers, unknown barcodes,
mismatched models and sites, unknown accounts) with a Lua script. A bare ASGI app returning a fixed
JSON body is served the same way and measured the same way. Prints p50/p99 and requests/s of both and
the ratio; the target is p99 <= 2 ms at 8 connections. Every request carries a router token (made in
bench/out/bench-tokens.db), so the admission figures include authentication.

The API has no unauthenticated mode, so "no auth" is the same `create_app` with an allow-all token
checker (`AllowAll`, in the bench's child only: no hash, no lookup; the gate still parses the header
and checks the role); the token check alone is also timed in-process (us per call).

--record: the same server publishing each decision to Kafka (acks=all, the answer awaits the ack, as
`hotline serve`; broker at $HOTLINE_KAFKA_BOOTSTRAP). --log: `hotline serve --log` (EmbeddedSource +
LogRecorder: each decision written to the SQLite log first) over a copy of a log of the same facts.

Run: .venv/bin/python bench/http_admission.py [--engineers 20000] [--duration 15] [--record] [--log]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))  # run as a script: `bench.*` from the repository root
from bench.http_measure import BEARER, measure, token_check_cost  # noqa: E402
from bench.http_servers import OUT, TOKENS, build_log, free_port, router_token, serve, start, wait_ready  # noqa: E402
from bench.http_workload import build_facts, lua_script, request_paths  # noqa: E402

# bench/metrics_overhead.py drives the same servers through these names (some only re-exported here)
__all__ = [
    "BEARER",
    "TOKENS",
    "build_facts",
    "free_port",
    "lua_script",
    "measure",
    "request_paths",
    "router_token",
    "wait_ready",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engineers", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (the brief's run: 2)")
    parser.add_argument("--requests", type=int, default=2000, help="distinct requests in the rotation")
    parser.add_argument("--record", action="store_true", help="also measure with decisions sent to Kafka")
    parser.add_argument("--log", action="store_true", help="also measure `hotline serve --log` (SQLite)")
    parser.add_argument("--serve", choices=["bare", "admission", "noauth", "log"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--facts-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--record-namespace", help=argparse.SUPPRESS)
    parser.add_argument("--tokens", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.facts_file, args.record_namespace, args.tokens)
        return

    BEARER.append(router_token())  # every request carries it: the bare endpoint ignores it
    facts_file = build_facts(args.engineers, args.months)
    paths, mix = request_paths(facts_file, args.requests)
    print("request mix: " + ", ".join(f"{k} {v}" for k, v in mix.items()))
    script = lua_script(paths)
    http = "httptools" if _has("httptools") else "h11"  # uvicorn's "auto" picks these when installed
    loop = "uvloop" if _has("uvloop") else "asyncio"
    tool = f"wrk -t{args.threads} -c8 -d{args.duration}s --latency"
    print(f"uvicorn, one process, http={http}, loop={loop}; {tool}")
    print(f"load average before the run: {os.getloadavg()[0]:.2f} (other processes share the 2 cores)\n")

    token_check_cost()
    runs: list[tuple[str, str, str | None]] = [
        ("bare ASGI endpoint", "bare", None),
        ("GET /admission, no auth", "noauth", None),
        ("GET /admission", "admission", None),
    ]
    if args.record:
        runs.append(("GET /admission + record to Kafka", "admission", f"bench-http-{os.getpid()}"))
    if args.log:
        log_copy = OUT / f"http-admission-run-{os.getpid()}.log.db"
        shutil.copyfile(build_log(facts_file), log_copy)
        runs.append(("GET /admission, --log (SQLite)", "log", str(log_copy)))
    import httpx

    results = {}
    for name, kind, record in runs:
        proc, url = start(kind, facts_file, record)
        try:
            results[name] = measure(name, url, script, args.duration, args.threads)
            if record:  # is an answer on the record? (false: the recorder gave up, the answer says so)
                answer = httpx.get(url + paths[0], headers={"authorization": f"Bearer {BEARER[0]}"}).json()
                print(f"  one more answer after the run: recorded={answer['recorded']}")
        finally:
            proc.terminate()
            proc.wait(15)
    if args.log:
        for leftover in OUT.glob(f"http-admission-run-{os.getpid()}.log.db*"):
            leftover.unlink()
    bare, api = results["bare ASGI endpoint"], results["GET /admission"]
    print(
        f"\nadmission / bare: p50 x{api['p50'] / bare['p50']:.2f}, p99 x{api['p99'] / bare['p99']:.2f}, "
        f"req/s {api['rps'] / bare['rps']:.2f} of bare; target p99 <= 2 ms: "
        f"{'met' if api['p99'] <= 2.0 else 'NOT met'} ({api['p99']:.3f} ms)"
    )
    for name, figures in results.items():
        if name not in ("bare ASGI endpoint", "GET /admission"):
            print(
                f"{name} / GET /admission: p50 x{figures['p50'] / api['p50']:.2f}, p99 x"
                f"{figures['p99'] / api['p99']:.2f}, req/s {figures['rps'] / api['rps']:.2f}"
            )


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    main()
