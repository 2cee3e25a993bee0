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
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msgspec
import uvicorn
from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient

from access.roles import CRM_TYPES, STAFF_TYPES, Role
from access.tokens import TokenStore
from consumers.kafka_log import bootstrap, topic_name
from domain.references import ENTITY_KEYS
from producers.http_ingest import ingest_app
from producers.ingest import ingest_files
from producers.kafka_producer import FactPublisher
from producers.synthetic import generate
from schemas.codec import fact_from_json, fact_to_json, to_msgpack
from schemas.facts import TYPE_OF_TAG, Fact
from schemas.topics import FACTS
from schemas.upcast import same_fact
from storage.log import EmbeddedLog

OUT = Path(__file__).parent / "out"
SERVERS: list[subprocess.Popen[bytes]] = []
TRACE = re.compile(r"Traceback|could not be checked|Error:|Exception", re.I)


def hostile(valid: list[Fact], huge_mb: int) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """(placed anywhere, placed after every valid line): (label, line) pairs."""
    calls = [f for f in valid if type(f).__name__ == "CallReceived"]
    account = next(f for f in valid if type(f).__name__ == "AccountOpened")
    certificate = next(f for f in valid if type(f).__name__ == "CertificateGranted")
    call = msgspec.json.decode(fact_to_json(calls[0]))
    now = datetime.now(UTC)
    n = iter(range(10**6))

    def line(**changes: object) -> bytes:
        return msgspec.json.encode({**call, "id": f"hostile-{next(n)}", **changes})

    def deep(depth: int) -> bytes:
        return line(problem="X").replace(b'"X"', b"[" * depth + b"]" * depth)

    def ref(fact: Fact, **changes: object) -> bytes:
        body = msgspec.json.decode(fact_to_json(fact))
        return msgspec.json.encode({**body, "id": f"hostile-{next(n)}", **changes})

    def at(t: datetime) -> bytes:
        return line(at=t.isoformat(), ended_at=None)

    big = {f"k{i}": i for i in range(200_000)}
    anywhere = [
        ("nested 65 deep", deep(65)),
        ("nested 100k deep", deep(100_000)),
        ("bare 100k [", b"[" * 100_000),
        ("bare 50k {", b'{"a":' * 50_000),
        ("nested in a string (fine JSON, unknown field)", line(x="[" * 100_000)),
        (f"huge line {huge_mb} MiB", line(problem="p" * (huge_mb << 20))),
        ("200k unknown keys", line(**big)),
        ("ESC in id", line(id="evil-\x1b[31m")),
        ("newline in account", line(account_id="eng-000915\nX")),
        ("C1 in barcode", line(barcode="2102\x85")),
        ("DEL in site", line(stated_site="site\x7f")),
        ("raw NUL in string", line(problem="Z").replace(b'"Z"', b'"a\x00b"')),
        ("raw 0xff", line(problem="Z").replace(b'"Z"', b'"\xff\xfe"')),
        ("overlong UTF-8", line(problem="Z").replace(b'"Z"', b'"\xc0\xaf"')),
        ("surrogate bytes", line(problem="Z").replace(b'"Z"', b'"\xed\xa0\x80"')),
        ("lone surrogate escape", line(problem="Z").replace(b'"Z"', b'"\\ud800"')),
        ("BOM first", b"\xef\xbb\xbf" + line()),
        ("account int", line(account_id=123)),
        ("at true", line(at=True)),
        ("v string", line(v="2")),
        ("v 10**400", line(problem="Z").replace(b'"Z"', b"1" * 400).replace(b'"problem"', b'"v2"')),
        ("at 1e999", line(at="Z").replace(b'"Z"', b"1e999")),
        ("null line", b"null"),
        ("array line", b"[]"),
        ("string line", b'"fact"'),
        ("number line", b"42"),
        ("truncated", line()[:40]),
        ("empty object", b"{}"),
        ("unknown field", line(evil=1)),
        ("__proto__", line(__proto__={"admin": True})),
        ("unknown type", line(type="drop.table")),
        ("no type", msgspec.json.encode({k: v for k, v in call.items() if k != "type"})),
        ("duplicate key id", line()[:-1] + b',"id":"hostile-dupkey"}'),
        ("id 129 chars", line(id="i" * 129)),
        ("year 1 at +08:00", line(at="0001-01-01T00:00:00+08:00", ended_at=None)),
        ("year 9999 at -08:00", line(at="9999-12-31T23:59:59-08:00", ended_at=None)),
        ("Feb 30", line(at="2025-02-30T00:00:00Z", ended_at=None)),
        ("no offset", line(at="2025-01-06T00:00:00", ended_at=None)),
        ("year 10000", line(at="+10000-01-01T00:00:00Z", ended_at=None)),
        ("10 years ahead", at(now + timedelta(days=3650))),
        ("2 days ahead (skew 1 d)", at(now + timedelta(days=2))),
        ("1970", at(datetime(1970, 1, 1, tzinfo=UTC))),
        ("1999-12-31 (epoch 2000)", at(datetime(1999, 12, 31, tzinfo=UTC))),
        ("ends before it starts", line(ended_at="2025-01-06T00:00:00Z")),
        ("unknown account", line(account_id="eng-NOBODY")),
        ("unknown certificate account", ref(certificate, account_id="eng-NOBODY")),
        ("unknown company", ref(account, account_id="eng-hostile", company_id="co-NOBODY")),
        ("ok: unknown barcode on a call (the line's answer, by design)", line(barcode="NO-SUCH")),
        ("number letters", line(number="call me maybe")),
        ("number 2 chars", line(number="12")),
        ("number 40 digits", line(number="1" * 40)),
        ("number parentheses", line(number="+86 (130) 4426")),
        ("number only +", line(number="+")),
    ]
    last = [(f"ok: re-send of {f.id}", fact_to_json(f)) for f in valid[:3]]
    for f in valid[3:6]:
        body = msgspec.json.decode(fact_to_json(f))
        body["at"] = "2024-12-31T00:00:00Z"
        last.append((f"same id, other body {f.id}", msgspec.json.encode(body)))
    return anywhere, last


def corpora(huge_mb: int) -> tuple[list[bytes], list[bytes], list[Fact], dict[int, str]]:
    """clean lines, hostile lines (the same count), the valid facts of the hostile corpus, and
    hostile line number -> label."""
    facts = generate(seed=3, companies=20, engineers=200, months=1)
    anywhere, last = hostile(facts, huge_mb)
    rng = random.Random(3)
    droppable = [i for i, f in enumerate(facts) if type(f) not in ENTITY_KEYS]
    dropped = set(rng.sample(droppable, len(anywhere) + len(last)))
    kept = [f for i, f in enumerate(facts) if i not in dropped]
    lines: list[tuple[str | None, bytes]] = [(None, fact_to_json(f)) for f in kept[: -len(last)]]
    for label, raw in anywhere:
        lines.insert(rng.randrange(len(lines) + 1), (label, raw))
    lines += [(None, fact_to_json(f)) for f in kept[-len(last) :]] + list(last)
    labels = {i: label for i, (label, _) in enumerate(lines, 1) if label is not None}
    return [fact_to_json(f) for f in facts], [raw for _, raw in lines], kept, labels


# --- (a) the embedded path --------------------------------------------------------------------------
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


def exactly_once(rows: list[tuple[str, bytes]], valid: list[Fact]) -> str:
    ids = Counter(i for i, _ in rows)
    body = dict(rows)
    want = {f.id: to_msgpack(f) for f in valid}
    missing = [i for i in want if i not in ids]
    twice = [i for i, c in ids.items() if c > 1]
    other = [i for i in want if i in body and not same_fact(body[i], want[i])]
    extra = [i for i in ids if i not in want]
    ok = not (missing or twice or other)
    return (
        f"{'YES' if ok else 'NO'}: {len(rows):,} records, {len(want):,} valid facts; missing "
        f"{len(missing)}, more than once {len(twice)}, other body {len(other)}; "
        f"records from hostile lines: {extra}"
    )


def by_reason(rejected: list[list[object]], labels: dict[int, str]) -> None:
    reasons = Counter(re.sub(r"\d{2,}", "N", str(r[2]))[:90] for r in rejected)
    print(f"  {len({r[0] for r in rejected})} lines refused; refusals by reason:")
    for reason, count in reasons.most_common():
        print(f"    {count:4d}  {reason}")
    refused = {int(str(r[0])) for r in rejected}
    missed = [label for i, label in labels.items() if i not in refused and not label.startswith("ok:")]
    print(f"  hostile lines NOT refused: {missed or 'none'}")


def embedded(clean: list[bytes], dirty: list[bytes], valid: list[Fact], labels: dict[int, str]) -> None:
    print("(a) embedded ingest (ingest_files, a child process each)")
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        for name, lines in (("clean", clean), ("hostile", dirty)):
            source, log_path = Path(tmp, f"{name}.jsonl"), Path(tmp, f"{name}.db")
            source.write_bytes(b"\n".join(lines) + b"\n")
            cmd = [sys.executable, __file__, "--child", str(source), str(log_path)]
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


# --- (b) POST /facts ----------------------------------------------------------------------------------
ROLE_OF = {"crm": "producer:crm", "callcentre": "producer:callcentre", "staff": "staff"}


def serve_http(port: int, namespace: str, tokens: Path) -> None:
    with TokenStore.for_server(tokens) as store, FactPublisher(None, namespace, role="any") as publisher:
        uvicorn.run(ingest_app(publisher, store), host="127.0.0.1", port=port, log_level="warning")


def role_of(raw: bytes) -> str:
    """The role that may post this line's type (callcentre when the line names none it knows)."""
    try:
        kind = TYPE_OF_TAG[msgspec.json.decode(raw)["type"]]
    except Exception:
        return "callcentre"
    return "crm" if kind in CRM_TYPES else "staff" if kind in STAFF_TYPES else "callcentre"


def rss_peak(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]


def topic_records(namespace: str) -> list[tuple[str, bytes]]:
    consumer = KafkaConsumer(
        topic_name(FACTS, namespace),
        bootstrap_servers=bootstrap(),
        group_id=None,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    try:
        return [(fact.id, to_msgpack(fact)) for fact in (fact_from_json(m.value) for m in consumer)]
    finally:
        consumer.close()


def post(
    client: httpx.Client,
    url: str,
    head: dict[str, str],
    part: list[tuple[int, bytes]],
    tally: Counter[str],
    rejected: list[list[object]],
) -> bool:
    """POST these lines as one request; its answer goes to `tally` and `rejected`. False: refused whole."""
    body = b"\n".join(raw for _, raw in part)
    try:
        answer = client.post(url, content=body, headers=head)
    except httpx.HTTPError as err:  # e.g. a reset after a 500: once more, on a new connection
        print(f"  request from line {part[0][0]}: {err!r}; sent again")
        answer = client.post(url, content=body, headers=head)
    tally[f"HTTP {answer.status_code}"] += 1
    if answer.status_code != 202:
        if len(part) == 1:
            rejected.append([part[0][0], None, f"HTTP {answer.status_code}: {answer.text[:80]}"])
        return False
    got = answer.json()
    tally["accepted"] += got["accepted"]
    tally["duplicates"] += got["duplicates"]
    rejected += [[part[r["line"] - 1][0], r["field"], r["reason"]] for r in got["rejected"]]
    return True


def http(clean: list[bytes], dirty: list[bytes], valid: list[Fact], tags: dict[int, str], batch: int) -> None:
    print(f"(b) POST /facts (ingest_app + FactPublisher, Kafka at {bootstrap()}), {batch} lines per request")
    tokens = OUT / "hostile-tokens.db"
    with TokenStore(tokens, create=True) as store:
        bearer = {k: store.create(Role(v), "bench")[1] for k, v in ROLE_OF.items()}
    for name, lines in (("clean", clean), ("hostile", dirty)):
        ns, port = f"bench-hostile-{name}-{os.getpid()}", 20000 + os.getpid() % 20000 + (name == "hostile")
        cmd = [sys.executable, __file__, "--serve", str(port), ns, str(tokens)]
        server = subprocess.Popen(cmd, stderr=subprocess.PIPE)
        SERVERS.append(server)
        url, client = f"http://127.0.0.1:{port}/facts", httpx.Client(timeout=120)
        while not _answers(client, url):
            time.sleep(0.2)
        groups: dict[str, list[tuple[int, bytes]]] = {}
        for number, raw in enumerate(lines, 1):
            groups.setdefault(role_of(raw), []).append((number, raw))
        rejected: list[list[object]] = []
        tally: Counter[str] = Counter()
        started = time.perf_counter()
        for role, numbered in groups.items():
            head = {"authorization": f"Bearer {bearer[role]}", "content-type": "application/x-ndjson"}
            for start in range(0, len(numbered), batch):
                part = numbered[start : start + batch]
                if not post(client, url, head, part, tally, rejected):  # refused whole: line by line
                    tally["lines sent again alone"] += len(part)
                    for item in part:
                        post(client, url, head, [item], tally, rejected)
        seconds = time.perf_counter() - started
        client.close()
        alive, peak = server.poll() is None, rss_peak(server.pid)
        server.terminate()
        logged = server.communicate(timeout=30)[1].decode(errors="replace")
        print(
            f"  {name:8s} {len(lines):,} lines: {len(lines) / seconds:,.0f} lines/s ({seconds:.2f} s), "
            f"refusals {len(rejected)}, server peak RSS {peak / 1024:.0f} MiB, server "
            f"{'alive' if alive else 'DEAD'} at the end; {dict(tally)}"
        )
        if TRACE.search(logged):
            print(f"  STACK TRACE in the server's output ({name}):\n{logged[-1500:]}")
        if name == "hostile":
            by_reason(rejected, tags)
            print(f"  every valid fact landed exactly once: {exactly_once(topic_records(ns), valid)}")
        admin = KafkaAdminClient(bootstrap_servers=bootstrap())
        admin.delete_topics([t for t in admin.list_topics() if t.startswith(f"{ns}.")])
        admin.close()


def _answers(client: httpx.Client, url: str) -> bool:
    try:
        client.post(url)
    except httpx.HTTPError:
        return False
    return True


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
