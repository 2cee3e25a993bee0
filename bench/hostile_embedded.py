"""(a) of bench/hostile.py: the embedded path, `ingest_files` into a new log in a child process per corpus."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.hostile_verdict import TRACE, by_reason, exactly_once
from producers.ingest import ingest_files
from schemas.facts import Fact
from storage.log import EmbeddedLog

OUT = Path(__file__).parent / "out"
SCRIPT = Path(__file__).with_name("hostile.py")  # the child runs the script's --child


def child_ingest(source: Path, log_path: Path) -> None:
    with EmbeddedLog(log_path) as log:
        started = time.perf_counter()
        report = ingest_files(log, [source])
        seconds = time.perf_counter() - started
    rejected = [(r.line, r.field, r.reason) for r in report.rejected]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "s": seconds,
                "read": report.read,
                "appended": report.appended,
                "duplicates": report.duplicates,
                "rejected": rejected,
                "rss_kb": peak,
            }
        )
    )


def landed_on_log(log_path: Path, valid: list[Fact]) -> str:
    with EmbeddedLog(log_path) as log:
        rows = log.db.execute("SELECT id, body FROM facts").fetchall()
    return exactly_once([(i, bytes(b)) for i, b in rows], valid)


def embedded(clean: list[bytes], dirty: list[bytes], valid: list[Fact], labels: dict[int, str]) -> None:
    print("(a) embedded ingest (ingest_files, a child process each)")
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        for name, lines in (("clean", clean), ("hostile", dirty)):
            source, log_path = Path(tmp, f"{name}.jsonl"), Path(tmp, f"{name}.db")
            source.write_bytes(b"\n".join(lines) + b"\n")
            cmd = [sys.executable, str(SCRIPT), "--child", str(source), str(log_path)]
            done = subprocess.run(cmd, capture_output=True)
            if done.returncode != 0 or TRACE.search(done.stderr.decode(errors="replace")):
                print(f"  CRASH or trace ({name}, exit {done.returncode}):\n{done.stderr.decode()[-3000:]}")
            if done.returncode != 0:
                continue
            r = json.loads(done.stdout)
            mb = source.stat().st_size / 2**20
            print(
                f"  {name:8s} {len(lines):,} lines, {mb:.1f} MiB: {len(lines) / r['s']:,.0f} lines/s "
                f"({r['s']:.2f} s), appended {r['appended']:,}, duplicates {r['duplicates']}, "
                f"refusals {len(r['rejected'])}, peak RSS {r['rss_kb'] / 1024:.0f} MiB"
            )
            if name == "hostile":
                by_reason(r["rejected"], labels)
                print(f"  every valid fact landed exactly once: {landed_on_log(log_path, valid)}")
