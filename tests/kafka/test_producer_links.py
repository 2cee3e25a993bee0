"""Issue 8.1 on a real broker: each FactPublisher chains what it sends to each partition (record
headers hl-chain and hl-link), and `hotline verify --from-kafka` names the first record altered,
removed or reordered, exit 4. A record on a topic cannot be changed in place, so tampering is a copy
of the topic (values and headers) into another namespace with one change."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka import KafkaProducer
from typer.testing import CliRunner

from hotline.cli import app
from hotline.commands_verify import TAMPERED
from producers.kafka_producer import FactPublisher
from schemas.codec import fact_to_json
from schemas.facts import CompanyRegistered
from storage.kafka_links import CHAIN_HEADER, LINK_HEADER
from tests.kafka.conftest import new_topic, topic_records

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples" / "facts.jsonl"
runner = CliRunner()
Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]  # key, value, headers


def verify(namespace: str, *extra: str) -> tuple[int, str]:
    """Exit status, and stdout and stderr (stdout alone with --json)."""
    result = runner.invoke(app, ["verify", "--from-kafka", "--namespace", namespace, *extra])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout if "--json" in extra else result.output


def tampered(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("tampered:")]


def read_topic(servers: str, topic: str) -> dict[int, list[Record]]:
    found = topic_records(servers, topic)
    return {p: [(r.key, r.value, list(r.headers)) for r in records] for p, records in found.items()}


def copy_topic(servers: str, records: dict[int, list[Record]]) -> str:
    """A new facts topic holding `records`, partition by partition in order; returns its namespace."""
    topic = new_topic(servers, "facts", len(records))
    producer = KafkaProducer(bootstrap_servers=servers, acks="all")
    try:
        sent = [
            producer.send(topic, value, key=key, partition=p, headers=headers)
            for p, rows in records.items()
            for key, value, headers in rows
        ]
        producer.flush()
        for future in sent:
            future.get(timeout=30)
    finally:
        producer.close()
    return topic.removesuffix(".facts")


def chain_of(record: Record) -> bytes:
    return dict(record[2])[CHAIN_HEADER]


@pytest.fixture(scope="module")
def source(kafka_broker: str) -> tuple[str, dict[int, list[Record]]]:
    """The README's example facts published by two publishers in alternating batches (references
    across them included), and what the topic holds."""
    namespace = f"t{uuid.uuid4().hex[:8]}"
    lines = EXAMPLES.read_bytes().splitlines()
    with (
        FactPublisher(kafka_broker, namespace, role="any") as first,
        FactPublisher(kafka_broker, namespace, role="any", create_topics=False) as second,
    ):
        assert first.chains is not None and second.chains is not None
        for i in range(0, len(lines), 4):
            report = (first, second)[i // 4 % 2].publish(lines[i : i + 4], f"batch-{i}")
            assert not report.rejected, report.rejected
    records = read_topic(kafka_broker, f"{namespace}.facts")
    assert sum(map(len, records.values())) == len(lines)
    return namespace, records


def busiest(records: dict[int, list[Record]]) -> int:
    """The partition with the most records, and both chains on it (the tampering tests need both)."""
    return max(records, key=lambda p: (len({chain_of(r) for r in records[p]}), len(records[p])))


def test_every_record_carries_its_publishers_link_and_the_topic_verifies_clean(
    source: tuple[str, dict[int, list[Record]]],
) -> None:
    namespace, records = source
    chains = {chain_of(r) for rows in records.values() for r in rows}
    assert len(chains) == 2 and all(len(dict(r[2])[LINK_HEADER]) == 32 for v in records.values() for r in v)
    code, out = verify(namespace)
    assert code == 0 and tampered(out) == [], out
    assert f"verified 26 records of {namespace}.facts" in out
    code, out = verify(namespace, "--json")
    shown = json.loads(out)
    assert code == 0 and shown["intact"] is True and shown["records"] == 26
    assert {c["chain"] for p in shown["partitions"] for c in p["chains"]} == {c.decode() for c in chains}


def test_an_untouched_copy_verifies_clean(
    kafka_broker: str, source: tuple[str, dict[int, list[Record]]]
) -> None:
    code, out = verify(copy_topic(kafka_broker, source[1]))
    assert code == 0 and tampered(out) == [], out


def test_an_altered_record_is_named_and_exits_4(
    kafka_broker: str, source: tuple[str, dict[int, list[Record]]]
) -> None:
    records = {p: list(rows) for p, rows in source[1].items()}
    p = busiest(records)
    key, value, headers = records[p][2]
    records[p][2] = (key, value.replace(b'"at"', b'"at" ', 1), headers)  # the same JSON, other bytes
    code, out = verify(copy_topic(kafka_broker, records))
    assert code == TAMPERED == 4, out
    chain = chain_of(records[p][2]).decode()
    lines = tampered(out)
    assert len(lines) == 1, out
    assert lines[0].startswith(f"tampered: facts partition {p} offset 2, chain {chain}: record altered")


def test_a_removed_record_shows_at_the_next_record_of_its_chain(
    kafka_broker: str, source: tuple[str, dict[int, list[Record]]]
) -> None:
    records = {p: list(rows) for p, rows in source[1].items()}
    p = busiest(records)
    removed = records[p].pop(1)
    # in the copy, the first record after the removed one that belongs to the same chain
    expected = next(i for i in range(1, len(records[p])) if chain_of(records[p][i]) == chain_of(removed))
    code, out = verify(copy_topic(kafka_broker, records))
    assert code == TAMPERED, out
    lines = tampered(out)
    assert len(lines) == 1 and lines[0].startswith(f"tampered: facts partition {p} offset {expected}, chain ")
    assert "before it removed" in lines[0]


def test_two_swapped_records_break_at_the_first_of_them(
    kafka_broker: str, source: tuple[str, dict[int, list[Record]]]
) -> None:
    records = {p: list(rows) for p, rows in source[1].items()}
    p = busiest(records)
    rows = records[p]
    # two records of the same chain, so the swap changes that chain's order
    i = next(
        i
        for i in range(len(rows))
        if any(chain_of(rows[j]) == chain_of(rows[i]) for j in range(i + 1, len(rows)))
    )
    j = next(j for j in range(i + 1, len(rows)) if chain_of(rows[j]) == chain_of(rows[i]))
    rows[i], rows[j] = rows[j], rows[i]
    code, out = verify(copy_topic(kafka_broker, records), "--json")
    assert code == TAMPERED, out
    broken = [part for part in json.loads(out)["partitions"] if part["break"]]
    assert [(b["partition"], b["break"]["offset"]) for b in broken] == [(p, i)]


def test_a_record_without_links_is_a_warning_not_tampering(
    kafka_broker: str, source: tuple[str, dict[int, list[Record]]]
) -> None:
    records = {p: list(rows) for p, rows in source[1].items()}
    key, value, _ = records[0][0]
    records[0].insert(1, (key, value, []))  # a re-send by an older producer: no headers
    code, out = verify(copy_topic(kafka_broker, records))
    assert code == 0 and tampered(out) == [], out
    assert "facts partition 0: 1 records carry no link" in out and "offsets 1" in out


def test_two_publishers_sending_at_once_to_the_same_partitions_verify_clean(kafka_broker: str) -> None:
    namespace = f"t{uuid.uuid4().hex[:8]}"
    at = datetime(2025, 1, 6, 1, 0, tzinfo=UTC)

    def companies(who: str, batch: int) -> list[bytes]:
        return [
            fact_to_json(
                CompanyRegistered(
                    id=f"{who}-{batch}-{n}",
                    at=at,
                    source="crm",
                    company_id=f"C-{who}{batch}x{n}",
                    name="Acme",
                )
            )
            for n in range(50)
        ]

    with (
        FactPublisher(kafka_broker, namespace, role="any") as crm,
        FactPublisher(kafka_broker, namespace, role="any", create_topics=False) as callcentre,
    ):
        errors: list[BaseException] = []

        def run(publisher: FactPublisher, who: str) -> None:
            try:
                for batch in range(10):
                    assert publisher.publish(companies(who, batch), f"{who}-{batch}").published == 50
            except BaseException as e:  # noqa: BLE001 - reported by the test thread below
                errors.append(e)

        threads = [threading.Thread(target=run, args=(p, w)) for p, w in ((crm, "a"), (callcentre, "b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
    records = read_topic(kafka_broker, f"{namespace}.facts")
    interleaved = [p for p, rows in records.items() if len({chain_of(r) for r in rows}) == 2]
    assert interleaved, "both publishers should write to some partition"
    code, out = verify(namespace, "--json")
    shown = json.loads(out)
    assert code == 0 and shown["intact"] and shown["records"] == 1000, out


# --- a signed head of the topic's chains (hotline/signed_heads.py) -------------------------------
def relinked(rows: list[Record]) -> list[Record]:
    """Every chain of a partition's records linked again from its start: a rewrite by someone who
    can write the topic, which `verify` alone accepts."""
    import hashlib

    heads: dict[bytes, bytes] = {}
    out = []
    for key, value, headers in rows:
        chain = dict(headers)[CHAIN_HEADER]
        head = heads.get(chain, bytes(32))
        head = heads[chain] = hashlib.sha256(
            b"\x01" + head + hashlib.sha256(b"\x00" + value).digest()
        ).digest()
        out.append((key, value, [(CHAIN_HEADER, chain), (LINK_HEADER, head)]))
    return out


def test_a_signed_head_of_the_topic_catches_a_consistent_rewrite(
    kafka_broker: str, source: tuple[str, dict[int, list[Record]]], tmp_path: Path
) -> None:
    from tests.e2e.test_verify_cli import keys

    private, public = keys(tmp_path, "auditor")
    statement = tmp_path / "topic-heads.json"
    namespace = copy_topic(kafka_broker, source[1])
    code, out = verify(namespace, "--sign", str(private), "--statement", str(statement))
    assert code == 0, out
    signed = json.loads(statement.read_text())
    on_topic = {(p, chain_of(r).decode()) for p, rows in source[1].items() for r in rows}
    assert signed["topic"] == f"{namespace}.facts"
    assert {(c["partition"], c["chain"]) for c in signed["chains"]} == on_topic
    assert sum(c["records"] for c in signed["chains"]) == 26

    code, out = verify(namespace, "--against", str(public), "--statement", str(statement))
    assert code == 0, out
    assert sum("is still the topic's" in line for line in out.splitlines()) == len(on_topic)

    records = {p: list(rows) for p, rows in source[1].items()}
    p = busiest(records)
    key, value, headers = records[p][2]
    records[p][2] = (key, value.replace(b'"at"', b'"at" ', 1), headers)
    records[p] = relinked(records[p])
    rewritten = copy_topic(kafka_broker, records)
    assert verify(rewritten)[0] == 0  # the links alone fit
    # the statement names the first topic; the rewrite is checked as if it had taken its place
    code, out = verify(rewritten, "--against", str(public), "--statement", str(statement))
    assert code == TAMPERED, out
    chain = chain_of(records[p][2]).decode()
    last = max(i for i, r in enumerate(records[p]) if chain_of(r).decode() == chain)
    count = sum(chain_of(r).decode() == chain for r in records[p])
    now_head = dict(records[p][last][2])[LINK_HEADER].hex()[:16]
    signed_head = dict(source[1][p][last][2])[LINK_HEADER].hex()[:16]
    when = signed["signed_at"][:19] + "+00:00"
    assert tampered(out) == [
        f"tampered: facts partition {p} offset {last}, chain {chain}: head {now_head}… after {count} "
        f"records, not the head {signed_head}… after {count} records signed {when}: the partition was "
        "rewritten"
    ]
    log = tmp_path / "hotline.db"
    assert runner.invoke(app, ["ingest", str(EXAMPLES), "--log", str(log)]).exit_code == 0
    wrong = ["verify", "--log", str(log), "--against", str(public), "--statement", str(statement)]
    refused = runner.invoke(app, wrong)
    assert refused.exit_code == 2 and "signs a topic's chains, not an embedded log's heads" in refused.output
    log_statement = tmp_path / "log-heads.json"
    signing = ["verify", "--log", str(log), "--sign", str(private), "--statement", str(log_statement)]
    assert runner.invoke(app, signing).exit_code == 0
    code, out = verify(namespace, "--against", str(public), "--statement", str(log_statement))
    assert code == 2 and "signs an embedded log's heads, not a topic's" in out
