"""Hostile input: JSON Lines facts built to hurt the ingest path, mixed with valid facts.

The valid facts are producers.synthetic.generate(seed=3, companies=20, engineers=200, months=1), one
JSON line each (schemas.codec.fact_to_json), N lines: the clean corpus. The hostile corpus has the
same N lines: H valid facts of types that introduce nothing (so no other fact relies on them) are
replaced by H hostile lines at seeded random places: nesting past MAX_DEPTH (64) and 100k levels
deep, a line of --huge-mb MiB (there is no line limit on files; POST /facts caps a body at 64 MiB),
200k unknown keys, control characters in keys, invalid UTF-8 (raw bytes, overlong, surrogates), wrong
types, unknown fields and types, dates out of range or without an offset, event times past
HOTLINE_MAX_SKEW or before HOTLINE_EPOCH, unknown references, numbers that are not phone numbers,
huge integers; at the end, valid facts sent again (re-sends, to be counted as duplicates) and valid
ids with another body (conflicts, to be refused).

(a) the embedded path: `ingest_files` (what `hotline ingest FILE` calls) into a new log, in a child
process per corpus (its peak RSS from getrusage; its stderr searched for tracebacks). (b) with
--http: `POST /facts` of `hotline ingest-server` (producers.http_ingest.ingest_app, a FactPublisher
to Kafka at $HOTLINE_KAFKA_BOOTSTRAP, own namespace, deleted after), in batches of --batch lines per
request, each line sent with a token whose role may post its type; peak RSS from /proc of the server.

Prints lines/s of both corpora, refusals by reason, whether every valid fact landed exactly once (the
log's rows, or the topic's records, against the valid ids and bodies), peak RSS, and any crash.

Run: .venv/bin/python bench/hostile.py [--huge-mb 32] [--http] [--batch 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))  # run as a script: `bench.*` from the repository root
from bench.hostile_corpus import corpora  # noqa: E402
from bench.hostile_embedded import child_ingest, embedded  # noqa: E402
from bench.hostile_http import SERVERS, http, serve_http  # noqa: E402

OUT = Path(__file__).parent / "out"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--huge-mb", type=int, default=32)
    parser.add_argument("--http", action="store_true", help="also POST /facts (needs the broker)")
    parser.add_argument("--batch", type=int, default=2000, help="lines per POST /facts request")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_ingest(*args.child)
        return
    if args.serve:
        serve_http(int(args.serve[0]), args.serve[1], Path(args.serve[2]))
        return
    OUT.mkdir(exist_ok=True)
    clean, dirty, valid, labels = corpora(args.huge_mb)
    print(
        f"corpora: {len(clean):,} lines each; the hostile one holds {len(labels)} hostile lines and "
        f"{len(valid):,} valid facts; load average {os.getloadavg()[0]:.2f}"
    )
    embedded(clean, dirty, valid, labels)
    try:
        if args.http:
            http(clean, dirty, valid, labels, args.batch)
    finally:  # no server outlives the bench
        for server in SERVERS:
            if server.poll() is None:
                server.kill()


if __name__ == "__main__":
    main()
