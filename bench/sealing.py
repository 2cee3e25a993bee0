"""What sealing costs (docs/privacy.md), beside the clear path in the same run.

On a synthetic history (producers.synthetic, about --facts facts), each timed once per --rounds:

- sealing alone (`KeyStore.seal_all`: pseudonyms, AES-GCM, the key store's rows), facts/s;
- `hotline ingest` into a new log, clear and `--seal` (parse, check, seal, append), facts/s;
- `hotline replay` of both logs (the fold reads pseudonyms as it reads numbers), facts/s;
- showing a sealed state in clear (`state --json` through the key store), beside the clear log's;
- `hotline forget person` of one engineer.

Run: .venv/bin/python bench/sealing.py [--facts 200000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from access.roles import Role
from access.tokens import TokenStore
from producers.synthetic import generate
from schemas.facts import AccountOpened
from storage.keystore import KeyStore

HOTLINE = [str(Path(sys.executable).with_name("hotline"))]  # the installed command, as an operator runs it


def timed(*args: str, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run([*HOTLINE, *args], check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    scale = max(1, round(args.facts / 45_000 / 4))
    facts = generate(seed=3, companies=300 * scale, engineers=3000 * scale, months=4)
    n = len(facts)
    print(f"{n:,} facts; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = root / "facts.jsonl"
        source.write_bytes(b"".join(msgspec.json.encode(f) + b"\n" for f in facts))
        seal_s, clear_in, sealed_in, clear_re, sealed_re, clear_show, sealed_show = ([] for _ in range(7))
        for r in range(args.rounds):
            keys = KeyStore(root / f"alone-{r}.keys", create=True)
            started = time.perf_counter()
            keys.seal_all(facts)
            seal_s.append(time.perf_counter() - started)
            keys.close()
            clear, sealed = root / f"clear-{r}.db", root / f"sealed-{r}.db"
            clear_in.append(timed("ingest", str(source), "--log", str(clear)))
            sealed_in.append(timed("ingest", str(source), "--log", str(sealed), "--seal"))
            clear_re.append(timed("replay", "--log", str(clear)))
            sealed_re.append(timed("replay", "--log", str(sealed)))
            clear_show.append(timed("state", "--log", str(clear), "--json"))
            sealed_show.append(timed("state", "--log", str(sealed), "--json"))

        def rate(seconds: list[float]) -> str:
            return f"{n / statistics.median(seconds):>9,.0f} facts/s (median of {len(seconds)})"

        def ratio(sealed: list[float], clear: list[float]) -> str:
            return f"×{statistics.median(sealed) / statistics.median(clear):.2f} the time"

        print(f"seal alone (seal_all)          {rate(seal_s)}")
        print(f"ingest  clear                  {rate(clear_in)}")
        print(f"ingest  --seal                 {rate(sealed_in)}  {ratio(sealed_in, clear_in)}")
        print(f"replay  clear                  {rate(clear_re)}")
        print(f"replay  sealed                 {rate(sealed_re)}  {ratio(sealed_re, clear_re)}")
        print(f"state --json clear             {statistics.median(clear_show):6.2f} s")
        print(f"state --json sealed, shown     {statistics.median(sealed_show):6.2f} s")
        person = next(f.person_id for f in facts if isinstance(f, AccountOpened))
        env = dict(os.environ, HOTLINE_TOKENS=str(root / "tokens.db"))
        with TokenStore(root / "tokens.db", create=True) as tokens:
            token = tokens.create(Role.STAFF, "bench")[1]
        took = timed(
            "forget", "person", person, "--log", str(root / "sealed-0.db"), "--token", token, "--yes", env=env
        )
        print(f"forget person (one engineer)   {took:6.2f} s (the whole command)")
        size = lambda p: p.stat().st_size / 1e6  # noqa: E731
        print(
            f"log size clear {size(root / 'clear-0.db'):.1f} MB, sealed {size(root / 'sealed-0.db'):.1f} MB, "
            f"key store {size(root / 'sealed-0.db.keys'):.1f} MB"
        )


if __name__ == "__main__":
    main()
