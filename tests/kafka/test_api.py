"""The query API against the real broker: a synthetic fact set on the facts topic (shuffled, some
re-sent), two API processes on free ports, each holding the whole projection. Every answer must equal
the pure core called in-process on the same facts; digests must equal the embedded run's."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import msgspec
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from typer.testing import CliRunner

from access.roles import Role
from consumers.embedded import Hotline
from consumers.kafka_log import FactReader, default_partition, ensure_topics, topic_name
from consumers.kafka_replay import replay_from_kafka
from domain.admission import admit_call
from domain.policy import load_policy
from hotline.cli import app
from producers.synthetic import generate
from projections.fold import project
from schemas.codec import fact_from_json, fact_to_json
from schemas.derived import AdmissionDecision, CallRequest
from schemas.facts import AdmissionRefused, CallReceived, Fact
from schemas.topics import DERIVED, FACTS, fact_key
from storage.log import EmbeddedLog
from tests.kafka.conftest import topic_records
from tests.unit.credentials import Credentials

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).parents[2]
POLICY = load_policy()
PROCESSES = 2
CALLS = 300


@pytest.fixture(scope="module")
def fact_set() -> list[Fact]:
    """Validated and normalised as a producer does (JSON round trip through the codec)."""
    return [
        fact_from_json(fact_to_json(fact)) for fact in generate(seed=9, companies=80, engineers=800, months=3)
    ]


@pytest.fixture(scope="module")
def namespace(kafka_broker: str, fact_set: list[Fact]) -> str:
    ns = f"t{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_broker, ns)
    rng = random.Random(4)
    arrival = fact_set + rng.sample(fact_set, len(fact_set) // 100)  # 1% re-sent by a retrying producer
    rng.shuffle(arrival)  # arrival order is not event order
    producer = KafkaProducer(
        bootstrap_servers=kafka_broker,
        acks="all",
        enable_idempotence=True,
        compression_type="lz4",
        linger_ms=5,
    )
    try:
        topic = topic_name(FACTS, ns)
        for fact in arrival:
            producer.send(topic, key=fact_key(fact), value=fact_to_json(fact))
        producer.flush(60)
    finally:
        producer.close()
    return ns


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(proc: subprocess.Popen[bytes], base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            pytest.fail(f"the API process exited with {proc.returncode}:\n{out}")
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{base} was not ready within {timeout}s")


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> Credentials:
    """A token store for the API processes (they refuse to start without one) and a token per role."""
    return Credentials(tmp_path_factory.mktemp("tokens"))


@pytest.fixture(scope="module")
def api_urls(kafka_broker: str, namespace: str, creds: Credentials) -> Iterator[list[str]]:
    procs, urls = [], []
    try:
        for _ in range(PROCESSES):
            port = _free_port()
            cmd = [sys.executable, "-m", "consumers.api", "serve", "--port", str(port)]
            cmd += ["--servers", kafka_broker, "--namespace", namespace, "--log-level", "warning"]
            cmd += ["--tokens", str(creds.store.path)]
            procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}")
        for proc, url in zip(procs, urls, strict=True):
            _wait_ready(proc, url)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def on_topic(servers: str, namespace: str) -> tuple[list[Fact], int]:
    """The distinct facts of the facts topic and its record count: the fact set with its re-sends, and
    the `admission.refused` facts that barcode-mismatch admissions added (none before they ran)."""
    reader = FactReader(servers, topic_name(FACTS, namespace))
    try:
        records = [fact for batch in reader.drain() for fact in batch]
    finally:
        reader.close()
    return list({fact.id: fact for fact in records}.values()), len(records)


def wait_caught_up(url: str, facts: int, headers: dict[str, str], timeout: float = 60) -> None:
    """An API process reads the topic continuously: wait until it has applied `facts` distinct facts."""
    deadline = time.monotonic() + timeout
    while httpx.get(f"{url}/status", timeout=10, headers=headers).json()["facts"] < facts:
        assert time.monotonic() < deadline, f"{url} did not read {facts} facts within {timeout}s"
        time.sleep(0.2)


def embedded_digest(tmp_path: Path, facts: list[Fact], as_of: datetime | None) -> str:
    with EmbeddedLog(tmp_path / f"embedded-{uuid.uuid4().hex}.db") as log:
        log.append(facts)
        return Hotline.of(log, POLICY).replay_digest(as_of)[0]


def random_calls(facts: list[Fact], rng: random.Random) -> list[tuple[CallRequest, datetime]]:
    """A mix of admissible calls, blacklisted accounts and numbers, unknown barcodes and accounts,
    mismatched models and sites, at times at or after the last fact."""
    last = max(fact.at for fact in facts)
    state = project(facts, POLICY, last)
    calls = [fact for fact in facts if isinstance(fact, CallReceived)]
    devices = state.devices
    black_accounts = sorted(state.blacklist["account"])
    black_numbers = sorted(state.blacklist["number"])
    out = []
    for i in range(CALLS):
        base = rng.choice(calls)
        device = devices.get(base.barcode)
        account, number, barcode = base.account_id, base.number, base.barcode
        model = device.product_model if device else base.stated_model
        site = device.site_id if device else base.stated_site
        match i % 7:
            case 1 if black_accounts:
                account = rng.choice(black_accounts)
            case 2 if black_numbers:
                number = rng.choice(black_numbers)
            case 3:
                barcode = f"UNKNOWN-{rng.randrange(10**6)}"
            case 4:
                model = "NO-SUCH-MODEL"
            case 5:
                site = "SITE-ELSEWHERE"
            case 6:
                account = f"A-NOBODY-{rng.randrange(1000)}"
        at = last + timedelta(days=rng.choice((0, 0, 1, 7, 30, 90, 200)), minutes=rng.randrange(1440))
        request = CallRequest(
            account_id=account, number=number, barcode=barcode, stated_model=model, stated_site=site
        )
        out.append((request, at))
    return out


def test_http_admission_agrees_with_in_process_admit_call(
    api_urls: list[str], fact_set: list[Fact], kafka_broker: str, namespace: str, creds: Credentials
) -> None:
    rng = random.Random(12)
    calls = random_calls(fact_set, rng)
    states = {at: project(fact_set, POLICY, at) for at in {at for _, at in calls}}
    seen: Counter[str] = Counter()
    ids = []
    refusals: dict[str, str] = {}  # decision id -> account: the answers that must add a fact
    with httpx.Client(timeout=30, headers=creds.router) as client:
        for i, (request, at) in enumerate(calls):
            url = api_urls[i % len(api_urls)]  # any process answers any key
            if i % 2:
                payload = msgspec.to_builtins(msgspec.structs.replace(request, at=at))
                answer = client.post(f"{url}/admission", json=payload)
            else:
                params = {
                    "account": request.account_id,
                    "number": request.number,
                    "barcode": request.barcode,
                    "model": request.stated_model,
                    "site": request.stated_site,
                    "at": at.isoformat(),
                }
                answer = client.get(f"{url}/admission", params=params)
            assert answer.status_code == 200, answer.text
            decision = msgspec.json.decode(answer.content, type=AdmissionDecision)
            assert answer.json()["recorded"] is True  # acknowledged by the brokers before the answer
            expected = admit_call(states[at], request, at, POLICY)
            assert decision.reasons == expected, (request, at)
            assert decision.admitted is (not expected) and decision.at == at
            # the facts behind the answer: the set, and the refusals the answers before it added
            assert decision.known_up_to >= len(fact_set)
            # the per-partition offsets behind the answer: every record of the topic was read
            assert decision.known_offsets is not None and set(decision.known_offsets) == {0, 1, 2, 3}
            assert sum(decision.known_offsets.values()) >= len(fact_set)
            seen.update(r.code for r in expected)
            seen["admitted"] += not expected
            ids.append(decision.id)
            codes = {r.code for r in expected}
            if "barcode-mismatch" in codes and "unknown-account" not in codes:
                refusals[decision.id] = request.account_id
    # The mix really covers the cases.
    for code in (
        "admitted",
        "account-blacklisted",
        "number-blacklisted",
        "unknown-barcode",
        "barcode-mismatch",
    ):
        assert seen[code] >= 5, seen
    assert seen["unknown-account"] >= 5, seen

    # Every decision was recorded on the admission-decisions topic, keyed by account.
    recorded = _read_topic(kafka_broker, topic_name(DERIVED["admission-decisions"], namespace), len(ids))
    assert sorted(d.id for _, d in recorded) == sorted(ids)
    assert all(key == d.request.account_id.encode() for key, d in recorded)

    # Each barcode-mismatch refusal also put its admission.refused fact on the facts topic (issue 9),
    # keyed and partitioned as the producers key facts: by account, Kafka's default rule.
    facts = _records(kafka_broker, topic_name(FACTS, namespace))
    added = {
        fact.id: (partition, key, fact)
        for partition, key, fact in facts
        if isinstance(fact, AdmissionRefused)
    }
    assert len(refusals) >= 5 and set(added) == set(refusals)
    for decision_id, (partition, key, fact) in added.items():
        assert key == refusals[decision_id].encode() == fact.account_id.encode()
        assert partition == default_partition(key, 4)
        assert "barcode-mismatch" in fact.reasons and fact.source == "admission"

    # The API links its refusal facts as the producers link theirs (this topic's other facts were
    # written by a bare producer, unlinked): the topic verifies clean, the refusals on the API's chain.
    verified = CliRunner().invoke(app, ["verify", "--from-kafka", "--namespace", namespace, "--json"])
    assert verified.exit_code == 0, verified.output
    chains = [c for p in msgspec.json.decode(verified.stdout)["partitions"] for c in p["chains"]]
    assert sum(c["records"] for c in chains if c["chain"].startswith("api-")) == len(refusals)


def _records(servers: str, topic: str) -> list[tuple[int, bytes, Fact]]:
    """(partition, key, fact) of every record on the topic now."""
    found = topic_records(servers, topic)
    return [(p, r.key, fact_from_json(r.value)) for p, records in found.items() for r in records]


def _read_topic(
    servers: str, topic: str, wanted: int, timeout: float = 30
) -> list[tuple[bytes, AdmissionDecision]]:
    consumer = KafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        out: list[tuple[bytes, AdmissionDecision]] = []
        deadline = time.monotonic() + timeout
        while len(out) < wanted and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                out += [(r.key, msgspec.json.decode(r.value, type=AdmissionDecision)) for r in records]
        return out
    finally:
        consumer.close()


def test_http_digest_and_kafka_replay_equal_the_embedded_run(
    api_urls: list[str],
    fact_set: list[Fact],
    kafka_broker: str,
    namespace: str,
    tmp_path: Path,
    creds: Credentials,
) -> None:
    last = max(fact.at for fact in fact_set)
    facts, records = on_topic(kafka_broker, namespace)  # with the refusals admissions added, if any
    for url in api_urls:
        wait_caught_up(url, len(facts), creds.headers(Role.READER))
    for as_of in (last - timedelta(days=30), last + timedelta(days=1), None):
        expected = embedded_digest(tmp_path, facts, as_of)
        params = {"as_of": as_of.isoformat()} if as_of else {}
        for url in api_urls:
            answer = httpx.get(
                f"{url}/digest", params=params, timeout=120, headers=creds.headers(Role.READER)
            )
            assert answer.json()["digest"] == expected
        for client in ("fetch", "kafka-python"):
            digest, replayed, seconds = replay_from_kafka(kafka_broker, namespace, as_of, client=client)
            assert digest == expected, client
            assert replayed == records and seconds > 0


def test_kafka_replay_refuses_a_missing_topic_without_creating_it(kafka_broker: str) -> None:
    ns = f"t{uuid.uuid4().hex[:8]}"
    for client in ("fetch", "kafka-python"):
        with pytest.raises(ConnectionError, match=f"topic {ns}.facts does not exist"):
            replay_from_kafka(kafka_broker, ns, None, client=client)
    consumer = KafkaConsumer(bootstrap_servers=kafka_broker)
    try:
        assert f"{ns}.facts" not in consumer.topics()
    finally:
        consumer.close()


def test_bad_parameters_over_http(api_urls: list[str], creds: Credentials) -> None:
    params = {"number": "139", "at": "yesterday"}
    answer = httpx.get(f"{api_urls[0]}/admission", params=params, headers=creds.router)
    assert answer.status_code == 400
    problems = {p["parameter"]: p["reason"] for p in answer.json()["problems"]}
    assert problems["account"] == "required" and "'yesterday' is not a date or time" in problems["at"]
    assert "Traceback" not in answer.text


def test_an_api_process_with_a_state_dir_resumes_instead_of_rereading(
    fact_set: list[Fact], kafka_broker: str, namespace: str, tmp_path: Path, creds: Credentials
) -> None:
    """Restarted on its state directory, an API process takes up its facts and newest checkpoint and
    reads on from its offsets: it reads no record of the topic again, and answers the same."""
    facts, records = on_topic(kafka_broker, namespace)
    expected = embedded_digest(tmp_path, facts, None)
    state_dir = tmp_path / "api-state"
    statuses = []
    for _ in range(2):
        port = _free_port()
        cmd = [
            sys.executable,
            "-m",
            "consumers.api",
            "serve",
            "--port",
            str(port),
            "--state-dir",
            str(state_dir),
        ]
        cmd += ["--servers", kafka_broker, "--namespace", namespace, "--log-level", "warning"]
        cmd += ["--tokens", str(creds.store.path)]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(proc, url)
            reader = creds.headers(Role.READER)
            assert httpx.get(f"{url}/digest", timeout=120, headers=reader).json()["digest"] == expected
            statuses.append(httpx.get(f"{url}/status", timeout=10, headers=reader).json())
        finally:
            proc.terminate()
            proc.wait(20)
    first, second = statuses
    assert first["records"] == records  # every record, re-sent ones too
    assert second["records"] == 0 and second["facts"] == len(facts)
