"""The measurements of bench/http_admission.py: wrk's latency figures, and the token check in-process."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from access.tokens import TokenStore
from bench.http_servers import TOKENS, AllowAll

_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}
BEARER: list[str] = []  # the router token wrk sends (filled by the driver: one list, shared by reference)


def token_check_cost(n: int = 200_000) -> None:
    """The token check alone, in-process: us per call of `authenticate`, real store vs allow-all."""
    for name, store in (("real store", TokenStore.for_server(TOKENS)), ("allow-all", AllowAll(TOKENS))):
        store.authenticate(BEARER[0])
        started = time.perf_counter()
        for _ in range(n):
            store.authenticate(BEARER[0])
        print(f"token check in-process, {name:10s}: {(time.perf_counter() - started) / n * 1e6:.2f} us/call")
        store.close()


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
