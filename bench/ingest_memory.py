"""Peak memory of `hotline ingest` (and, with --produce, `hotline produce`) on a big file: they
stream, so their RSS must not grow with the file.

Writes a JSON Lines file of valid facts of the given size (default 1 GB) to bench/out/: one
producers.synthetic stream, repeated, each copy with every key (fact ids, accounts, companies,
barcodes... every field typed `Id`) given its own suffix, so each copy is a world of its own whose
lines all land. Then runs `hotline ingest FILE --log LOG` on a new log, in a child process, and prints
its peak RSS (by /usr/bin/time) and its rate in lines/s.

With --produce, the same file is published to Kafka (the broker of $HOTLINE_KAFKA_BOOTSTRAP, a fresh
namespace dropped afterwards) by `hotline produce`, and, as the peer, by the previous design: the
file read whole and published as one batch (`FactPublisher.publish_sources([read_source(FILE)])`).

Run: .venv/bin/python bench/ingest_memory.py [--mb 1024] [--keep] [--produce]
(target: peak RSS <= 300 MiB for 1 GB)
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
import typing
from pathlib import Path

import msgspec

from producers.synthetic import generate
from schemas.codec import fact_to_json
from schemas.facts import Fact
from schemas.types import Id

OUT = Path(__file__).parent / "out"
HOTLINE = Path(sys.executable).with_name("hotline")
TIME = Path("/usr/bin/time")
_MARK = "~copy~"  # placed after every key of the template, replaced by each copy's suffix


def _key_fields(fact_type: type[Fact]) -> tuple[str, ...]:
    hints = typing.get_type_hints(fact_type, include_extras=True)
    return tuple(name for name, hint in hints.items() if hint is Id or Id in typing.get_args(hint))


def _marked(fact: Fact) -> Fact:
    changes: dict[str, object] = {}
    for name in _key_fields(type(fact)):
        value = getattr(fact, name)
        if isinstance(value, str):
            changes[name] = value + _MARK
        elif isinstance(value, tuple):
            changes[name] = tuple(v + _MARK if isinstance(v, str) else v for v in value)
    return msgspec.structs.replace(fact, **changes)


def write_corpus(path: Path, size: int) -> int:
    """A file of about `size` bytes of valid facts; returns its number of lines."""
    facts = generate(seed=11)
    template = b"".join(fact_to_json(_marked(fact)) + b"\n" for fact in facts)
    assert template.count(b"\n") == len(facts) and _MARK.encode() in template
    lines = written = copy = 0
    with path.open("wb") as out:
        while written < size:
            block = template.replace(_MARK.encode(), b"-r%d" % copy)
            if (
                written + len(block) > size
            ):  # the last copy cut at a line: the stream is in event-time order, so what is kept refers back
                block = block[: block.rfind(b"\n", 0, size - written) + 1]
                if not block:
                    break
            out.write(block)
            written += len(block)
            lines += block.count(b"\n")
            copy += 1
    return lines


def peak(command: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run `command` in a child process: its outcome and peak RSS in MiB, measured by /usr/bin/time.
    getrusage of the children would report at least this process's own peak (the corpus
    generator's): Linux counts the memory a child shares with its parent before its exec."""
    if not TIME.exists():
        run = subprocess.run(command, capture_output=True, text=True)
        print("(no /usr/bin/time: the peak below is at least this process's own)")
        return run, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: KiB
    with tempfile.NamedTemporaryFile("r") as peak:
        run = subprocess.run(
            [str(TIME), "-f", "%M", "-o", peak.name, *command], capture_output=True, text=True
        )
        return run, int(peak.read().split()[-1]) / 1024  # KiB


#: The previous `hotline produce`: every file read whole, then published as one batch.
WHOLE = """import sys
from pathlib import Path
from producers.kafka_producer import FactPublisher
from producers.sources import read_source
with FactPublisher(None, sys.argv[2], role="any") as publisher:
    print(publisher.publish_sources([read_source(Path(sys.argv[1]))]).summary())
"""


def produce(source: Path, lines: int, mb: int) -> None:
    from kafka.admin import KafkaAdminClient

    from consumers.kafka_log import bootstrap, ensure_topics

    for label, command in (
        ("hotline produce (streamed)", [str(HOTLINE), "produce", str(source)]),
        ("previous design (whole file, one batch)", [sys.executable, "-c", WHOLE, str(source)]),
    ):
        namespace = f"benchmem{time.monotonic_ns() % 10**8}"
        ensure_topics(bootstrap(), namespace)
        if command[0] == str(HOTLINE):
            command += ["--namespace", namespace]
        else:
            command.append(namespace)
        started = time.perf_counter()
        run, peak_mib = peak(command)
        took = time.perf_counter() - started
        print(run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr.strip()[-500:])
        print(f"{label}: exit {run.returncode}, {took:.0f}s, {lines / took:,.0f} lines/s, "
              f"peak RSS {peak_mib:,.0f} MiB for {mb:,} MiB of input")  # fmt: skip
        admin = KafkaAdminClient(bootstrap_servers=bootstrap())
        try:
            admin.delete_topics([t for t in admin.list_topics() if t.startswith(f"{namespace}.")])
        finally:
            admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024, help="size of the file in MiB (default 1024)")
    parser.add_argument("--keep", action="store_true", help="keep the file and the log in bench/out/")
    parser.add_argument("--produce", action="store_true", help="also publish it to Kafka (see above)")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    source, log = OUT / f"ingest-memory-{args.mb}mb.jsonl", OUT / f"ingest-memory-{args.mb}mb.db"
    started = time.perf_counter()
    lines = write_corpus(source, args.mb << 20)
    print(f"wrote {source} ({source.stat().st_size / 2**20:,.0f} MiB, {lines:,} lines) in "
          f"{time.perf_counter() - started:.0f}s")  # fmt: skip
    for stale in (log, log.with_name(log.name + "-wal"), log.with_name(log.name + "-shm")):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    run, peak_mib = peak([str(HOTLINE), "ingest", str(source), "--log", str(log)])
    took = time.perf_counter() - started
    print(run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr.strip())
    print(f"hotline ingest: exit {run.returncode}, {took:.0f}s, {lines / took:,.0f} lines/s, "
          f"peak RSS {peak_mib:,.0f} MiB for {args.mb:,} MiB of input")  # fmt: skip
    if args.produce:
        produce(source, lines, args.mb)
    if not args.keep:
        rejects = source.with_name(source.name + ".rejects.jsonl")
        for made in (
            source,
            rejects,
            log,
            log.with_name(log.name + "-wal"),
            log.with_name(log.name + "-shm"),
        ):
            made.unlink(missing_ok=True)
    if run.returncode not in (0, 3):
        sys.exit(run.stderr)


if __name__ == "__main__":
    main()
