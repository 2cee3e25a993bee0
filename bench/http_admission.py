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
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import msgspec

from access.roles import Role
from access.tokens import Principal, TokenStore

OUT = Path(__file__).parent / "out"
TOKENS = OUT / "bench-tokens.db"
BARE_BODY = b'{"admitted":true,"reasons":[]}'


# --- the two servers (run in child processes) -----------------------------------------------------
async def bare_app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def, type-arg]
    """The floor: an ASGI app that answers every request with a fixed JSON body."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(BARE_BODY)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BARE_BODY})


def serve(kind: str, port: int, facts_file: Path | None, record: str | None, tokens: Path | None) -> None:
    import uvicorn

    if kind == "bare":
        app = bare_app
    elif kind == "log":
        from consumers.api import create_app
        from consumers.api.embedded_source import EmbeddedSource, LogRecorder
        from hotline.opening import load

        assert record is not None  # for this kind, the log file
        store = TokenStore.for_server(tokens)
        source = EmbeddedSource(Path(record), load(None))
        app = create_app(source, store, LogRecorder(Path(record)))  # type: ignore[assignment]
    else:
        from consumers.api import DecisionPublisher, create_app
        from consumers.replica import Replica, freeze_long_lived
        from domain.policy import load_policy
        from schemas.facts import AnyFact

        assert facts_file is not None
        facts = msgspec.msgpack.decode(facts_file.read_bytes(), type=list[AnyFact])
        recorder = None
        if record:
            from consumers.kafka_log import ensure_topics

            ensure_topics(ns=record)
            recorder = DecisionPublisher(None, record)
        store = AllowAll(tokens) if kind == "noauth" else TokenStore.for_server(tokens)
        app = create_app(Replica.from_facts(facts, load_policy()), store, recorder)  # type: ignore[assignment]
        freeze_long_lived()  # as a Kafka-fed replica does once it has caught up
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


class AllowAll(TokenStore):
    """The no-auth stand-in: every token is the bench's router (no hash, no lookup, no file look)."""

    principal = Principal("bench", "bench", Role.ROUTER)

    def authenticate(self, token: str) -> Principal | None:
        return self.principal


def token_check_cost(n: int = 200_000) -> None:
    """The token check alone, in-process: us per call of `authenticate`, real store vs allow-all."""
    for name, store in (("real store", TokenStore.for_server(TOKENS)), ("allow-all", AllowAll(TOKENS))):
        store.authenticate(BEARER[0])
        started = time.perf_counter()
        for _ in range(n):
            store.authenticate(BEARER[0])
        print(f"token check in-process, {name:10s}: {(time.perf_counter() - started) / n * 1e6:.2f} us/call")
        store.close()


def build_log(facts_file: Path) -> Path:
    """The same facts on an embedded log (made once, in bench/out)."""
    from storage.log import EmbeddedLog

    path = facts_file.with_suffix(".log.db")
    if not path.exists():
        from schemas.facts import AnyFact

        facts = msgspec.msgpack.decode(facts_file.read_bytes(), type=list[AnyFact])
        with EmbeddedLog(path.with_suffix(".tmp")) as log:
            log.append(facts)
        path.with_suffix(".tmp").rename(path)
    return path


# --- the driver -----------------------------------------------------------------------------------
def build_facts(engineers: int, months: int) -> Path:
    from producers.synthetic import generate

    OUT.mkdir(exist_ok=True)
    path = OUT / f"http-admission-{engineers}-{months}.msgpack"
    if not path.exists():
        started = time.perf_counter()
        facts = generate(seed=21, companies=max(engineers // 10, 40), engineers=engineers, months=months)
        path.write_bytes(msgspec.msgpack.encode(facts))
        print(f"generated {len(facts):,} facts in {time.perf_counter() - started:.1f}s -> {path}")
    return path


def request_paths(facts_file: Path, n: int) -> tuple[list[str], dict[str, int]]:
    """Realistic questions built from the stream, as call routing asks them (no `at`: now)."""
    from domain.policy import load_policy
    from projections.fold import project
    from schemas.facts import AnyFact, CallReceived

    facts = msgspec.msgpack.decode(facts_file.read_bytes(), type=list[AnyFact])
    state = project(facts, load_policy())
    calls = [fact for fact in facts if isinstance(fact, CallReceived)]
    black_accounts = sorted(state.blacklist["account"]) or ["none"]
    black_numbers = sorted(state.blacklist["number"]) or ["0000"]
    rng = random.Random(5)
    mix = {"as called": 0, "blacklisted account": 0, "blacklisted number": 0, "unknown barcode": 0}
    mix |= {"model mismatch": 0, "site mismatch": 0, "unknown account": 0}
    paths = []
    for i in range(n):
        call = rng.choice(calls)
        device = state.devices.get(call.barcode)
        q = {
            "account": call.account_id,
            "number": call.number,
            "barcode": call.barcode,
            "model": device.product_model if device else call.stated_model,
            "site": device.site_id if device else call.stated_site,
        }
        kind = list(mix)[i % 10] if i % 10 < len(mix) else "as called"  # about 40% ordinary calls
        if kind == "blacklisted account":
            q["account"] = rng.choice(black_accounts)
        elif kind == "blacklisted number":
            q["number"] = rng.choice(black_numbers)
        elif kind == "unknown barcode":
            q["barcode"] = f"UNKNOWN{rng.randrange(10**6)}"
        elif kind == "model mismatch":
            q["model"] = "NO-SUCH-MODEL"
        elif kind == "site mismatch":
            q["site"] = "SITE-ELSEWHERE"
        elif kind == "unknown account":
            q["account"] = f"A-NOBODY-{rng.randrange(10**4)}"
        mix[kind] += 1
        paths.append("/admission?" + urlencode(q))
    sizes = f"{len(state.accounts):,} accounts, {len(state.devices):,} devices, {len(facts):,} facts"
    print(f"replica: {sizes}")
    return paths, mix


def lua_script(paths: list[str]) -> Path:
    body = ",\n".join(f'  "{p}"' for p in paths)
    script = OUT / "http-admission.lua"
    script.write_text(
        "-- generated by bench/http_admission.py: rotate through realistic admission requests\n"
        f"local paths = {{\n{body}\n}}\n"
        "local i = 0\n"
        "function setup(thread) thread:set('offset', math.random(#paths)) end\n"
        "function init(args) i = tonumber(offset) or 0 end\n"
        "function request()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n"
    )
    return script


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def router_token() -> str:
    """A router token in a store of the bench's own (bench/out, never in the repository)."""
    OUT.mkdir(exist_ok=True)
    with TokenStore(TOKENS, create=True) as store:
        return store.create(Role.ROUTER, "bench")[1]


def start(kind: str, facts_file: Path, record: str | None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [sys.executable, __file__, "--serve", kind, "--port", str(port), "--facts-file", str(facts_file)]
    cmd += ["--tokens", str(TOKENS)]
    if record:
        cmd += ["--record-namespace", record]
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    url = f"http://127.0.0.1:{port}"
    return proc, wait_ready(proc, url, "/ready" if kind != "bare" else "/", f"the {kind} server")


def wait_ready(proc: subprocess.Popen[bytes], url: str, path: str, name: str) -> str:
    """`url` once `path` answers 200 (up to 5 minutes: a replica is filled first); exits if not."""
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{name} exited with {proc.returncode}")
        try:
            if httpx.get(url + path, timeout=1).status_code == 200:
                return url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    sys.exit(f"{name} did not come up")


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}
BEARER: list[str] = []  # the router token wrk sends


def wrk(url: str, script: Path, duration: int, threads: int) -> dict[str, float]:
    cmd = ["wrk", f"-t{threads}", "-c8", f"-d{duration}s", "--latency", "-s", str(script), url]
    cmd += ["-H", f"Authorization: Bearer {BEARER[0]}"] if BEARER else []
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    figures: dict[str, float] = {}
    for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        figures[f"p{pct}"] = float(value) * _UNIT[unit]
    figures["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    figures["non2xx"] = float(bad.group(1)) if bad else 0.0
    if errors:
        print(f"  wrk socket errors: {errors.group(1)}")
    return figures


def measure(name: str, url: str, script: Path, duration: int, threads: int) -> dict[str, float]:
    wrk(url, script, 3, threads)  # warm-up: connections, caches, the interpreter's specialisation
    figures = wrk(url, script, duration, threads)
    print(
        f"{name:34s} p50 {figures['p50']:.3f} ms  p75 {figures['p75']:.3f} ms  p90 {figures['p90']:.3f} ms  "
        f"p99 {figures['p99']:.3f} ms  {figures['rps']:,.0f} req/s"
        + (f"  NON-2xx {figures['non2xx']:.0f}" if figures["non2xx"] else "")
    )
    return figures


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
