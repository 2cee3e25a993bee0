"""(b) of bench/hostile.py: `POST /facts` of `hotline ingest-server`, publishing to Kafka, in batches."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import msgspec
import uvicorn
from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient

from access.roles import CRM_TYPES, STAFF_TYPES, Role
from access.tokens import TokenStore
from bench.hostile_verdict import TRACE, by_reason, exactly_once
from consumers.kafka_log import bootstrap, topic_name
from producers.http_ingest import ingest_app
from producers.kafka_producer import FactPublisher
from schemas.codec import fact_from_json, to_msgpack
from schemas.facts import TYPE_OF_TAG, Fact
from schemas.topics import FACTS

OUT = Path(__file__).parent / "out"
SCRIPT = Path(__file__).with_name("hostile.py")  # the server runs the script's --serve
SERVERS: list[subprocess.Popen[bytes]] = []  # killed by the driver at the end, whatever happened
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
        cmd = [sys.executable, str(SCRIPT), "--serve", str(port), ns, str(tokens)]
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
