"""What the Prometheus metrics cost admission: GET /admission with and without them, in one run.

The same server as bench/http_admission.py (one uvicorn process, a replica filled from a synthetic
stream, a router token on every request, wrk rotating through realistic requests), started twice
per round: once as `create_app` makes it, once wrapped by `consumers.api.metrics.instrument`
(request histogram, admission counters from each answer, /metrics). Rounds alternate off/on so a
drift of the machine falls on both. Prints p50/p99 and requests/s of each run, the median of each
side and the ratios; at the end it scrapes /metrics once to show the counters agree with wrk.
Figures only: nothing is asserted.

Run: .venv/bin/python bench/metrics_overhead.py [--engineers 20000] [--duration 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).parents[1]))
from bench import http_admission as bench  # noqa: E402 (the path first: run as a script)


def serve(metrics: bool, port: int, facts_file: Path, tokens: Path) -> None:
    import uvicorn

    from access.tokens import TokenStore
    from consumers.api import create_app
    from consumers.api.metrics import instrument
    from consumers.replica import Replica, freeze_long_lived
    from domain.policy import load_policy
    from schemas.facts import AnyFact

    facts = msgspec.msgpack.decode(facts_file.read_bytes(), type=list[AnyFact])
    store = TokenStore.for_server(tokens)
    app = create_app(Replica.from_facts(facts, load_policy()), store)
    if metrics:
        app = instrument(app, store)
    freeze_long_lived()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def start(metrics: bool, facts_file: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = bench.free_port()
    cmd = [sys.executable, __file__, "--serve", "on" if metrics else "off", "--port", str(port)]
    cmd += ["--facts-file", str(facts_file), "--tokens", str(bench.TOKENS)]
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    return proc, bench.wait_ready(proc, f"http://127.0.0.1:{port}", "/ready", "the server")


def reader_token() -> str:
    from access.roles import Role
    from access.tokens import TokenStore

    with TokenStore(bench.TOKENS, create=True) as store:
        return store.create(Role.READER, "bench metrics")[1]


def scrape_summary(url: str, token: str) -> str:
    import httpx

    text = httpx.get(url + "/metrics", headers={"authorization": f"Bearer {token}"}).text
    wanted = (
        "hotline_api_admission_decisions_total",
        'hotline_api_http_request_duration_seconds_count{route="/admission"',
    )
    return "\n".join(line for line in text.splitlines() if line.startswith(wanted))


# --- in process: the middleware's CPU per request, without the network and wrk ----------------------
async def _drive(app: object, paths: list[str], token: str) -> float:
    """Seconds for one ASGI call per path, straight into the app (no server, no sockets)."""
    body = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, object]:
        return body

    async def send(message: object) -> None:
        pass

    headers = [(b"authorization", f"Bearer {token}".encode()), (b"host", b"bench")]
    started = time.perf_counter()
    for path in paths:
        route, _, query = path.partition("?")
        scope: dict[str, object] = {
            "type": "http",
            "http_version": "1.1",
            "method": "GET",
            "path": route,
            "raw_path": route.encode(),
        }
        scope |= {"query_string": query.encode(), "headers": headers, "scheme": "http", "root_path": ""}
        scope |= {"server": ("bench", 80), "client": ("127.0.0.1", 1), "app": None}
        await app(scope, receive, send)  # type: ignore[operator]
    return time.perf_counter() - started


def in_process(facts_file: Path, paths: list[str], rounds: int) -> None:
    import asyncio

    from access.tokens import TokenStore
    from consumers.api import create_app
    from consumers.api.metrics import instrument
    from consumers.replica import Replica
    from domain.policy import load_policy
    from schemas.facts import AnyFact

    facts = msgspec.msgpack.decode(facts_file.read_bytes(), type=list[AnyFact])
    replica = Replica.from_facts(facts, load_policy())
    store = TokenStore.for_server(bench.TOKENS)
    off = create_app(replica, store)
    on = instrument(create_app(replica, store), store)
    spent: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds + 1):  # the first round warms up: discarded
        for metrics, app in ((False, off), (True, on)):
            spent[metrics].append(asyncio.run(_drive(app, paths, bench.BEARER[0])) / len(paths))
    # the fastest round of each: other processes share the machine, and they only ever add time
    off_us, on_us = (min(spent[m][1:]) * 1e6 for m in (False, True))
    print(
        f"in process, {len(paths):,} admission calls x {rounds} rounds each, fastest round: "
        f"off {off_us:.1f} us/request, on {on_us:.1f} us/request: "
        f"+{on_us - off_us:.1f} us ({on_us / off_us:.3f}x)"
    )


def over_http(args: argparse.Namespace, facts_file: Path, script: Path, reader: str) -> None:
    """Alternating off/on servers under wrk; medians and ratios."""
    print(f"wrk -t{args.threads} -c8 -d{args.duration}s, {args.rounds} rounds of off/on")
    print(f"load average before the run: {os.getloadavg()[0]:.2f} (other processes share the cores)\n")
    runs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    last = ""
    for round_ in range(args.rounds):
        for metrics in (False, True):
            proc, url = start(metrics, facts_file)
            try:
                name = f"round {round_ + 1} metrics {'on ' if metrics else 'off'}"
                runs[metrics].append(bench.measure(name, url, script, args.duration, args.threads))
                if metrics:
                    last = scrape_summary(url, reader)
            finally:
                proc.terminate()
                proc.wait(15)

    def median(side: bool, key: str) -> float:
        return statistics.median(r[key] for r in runs[side])

    print()
    for side in (False, True):
        print(
            f"metrics {'on ' if side else 'off'} (median): p50 {median(side, 'p50'):.3f} ms  "
            f"p99 {median(side, 'p99'):.3f} ms  {median(side, 'rps'):,.0f} req/s"
        )
    print(
        f"on / off: req/s x{median(True, 'rps') / median(False, 'rps'):.3f}, "
        f"p50 x{median(True, 'p50') / median(False, 'p50'):.3f}, "
        f"p99 x{median(True, 'p99') / median(False, 'p99'):.3f}"
    )
    print(f"\n/metrics after the last 'on' run (warm-up included):\n{last}\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engineers", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--in-process-rounds", type=int, default=5, help="0: skip the in-process part")
    parser.add_argument("--serve", choices=["on", "off"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--facts-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tokens", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve == "on", args.port, args.facts_file, args.tokens)
        return

    bench.BEARER.append(bench.router_token())
    reader = reader_token()  # made before the servers start: they see new tokens within a second
    facts_file = bench.build_facts(args.engineers, args.months)
    paths, _ = bench.request_paths(facts_file, args.requests)
    script = bench.lua_script(paths)
    if args.rounds:
        over_http(args, facts_file, script, reader)
    if args.in_process_rounds:
        in_process(facts_file, paths * 5, args.in_process_rounds)


if __name__ == "__main__":
    main()
