"""The SASL/SCRAM broker with ACLs (deploy/kafka/broker.sh --sasl): the CRM producer's principal
writes facts and nothing derived from them, a wrong password gets nobody in, and the other principals
write only their own topics.

The broker is started here when none answers on its port (and stopped at the end), as conftest.py
does for the plain one. It runs beside the plain broker (port 9094, its own data dir), with its ACLs
for the namespace "hotline"; the facts each run publishes have ids of their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from kafka import KafkaProducer
from kafka.errors import TopicAuthorizationFailedError

from consumers.kafka_log import FactReader, ensure_topics, topic_name
from consumers.kafka_security import client_settings
from producers.kafka_producer import FactPublisher, PublishError
from schemas.topics import DERIVED, FACTS, PROJECTIONS, REJECTS

from .conftest import BROKER, ROOT

sys.path.insert(0, str(ROOT / "deploy" / "kafka"))
from probe import AuthenticationFailed, Scram, probe  # noqa: E402  (a script, not a package)

pytestmark = pytest.mark.kafka

NAMESPACE = "hotline"  # the namespace broker.sh --sasl gives ACLs at its first start
SASL_AUTHENTICATION_FAILED = 58  # Kafka protocol error code
START_TIMEOUT_S = 420  # the first start on a fresh machine: format, boot, six AclCommand JVMs


@pytest.fixture(scope="session")
def kafka_broker() -> None:
    """Overrides conftest's autouse fixture: this module needs the SASL broker, not the plain one."""


def _broker(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOTLINE_NAMESPACE": NAMESPACE}
    return subprocess.run(
        ["bash", str(BROKER), "--sasl", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=START_TIMEOUT_S,
    )


def _principal_env(user: str) -> dict[str, str]:
    """What `broker.sh --sasl env USER` exports: the bootstrap and the principal's SASL settings."""
    result = _broker("env", user)
    assert result.returncode == 0, result.stderr
    lines = [line.removeprefix("export ") for line in result.stdout.splitlines()]
    return dict(line.split("=", 1) for line in lines if "=" in line)


@pytest.fixture(scope="module")
def sasl_broker() -> Iterator[str]:
    running = _broker("status").returncode == 0
    started = _broker("start")  # when running: only adds the namespace's ACLs if they are missing
    if started.returncode != 0:
        pytest.fail(f"`{BROKER} --sasl start` failed:\n{started.stdout}{started.stderr}")
    admin = _principal_env("admin")
    with principal(admin):
        ensure_topics(admin["HOTLINE_KAFKA_BOOTSTRAP"], NAMESPACE)  # admin creates the topics
    yield admin["HOTLINE_KAFKA_BOOTSTRAP"]
    if not running:
        _broker("stop")


@contextmanager
def principal(env: dict[str, str]) -> Iterator[None]:
    """The clients read their SASL settings from the environment when they are built."""
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("HOTLINE_KAFKA_")]:
            mp.delenv(name)
        for name, value in env.items():
            mp.setenv(name, value)
        yield


def _send(servers: str, topic: str) -> None:
    """One record to `topic` as the current principal, waiting for the broker's answer."""
    producer = KafkaProducer(
        bootstrap_servers=servers, acks="all", retries=0, **client_settings(), bootstrap_timeout_ms=20_000
    )
    try:
        producer.send(topic, key=b"sasl-test", value=b'{"test": "sasl"}').get(timeout=30)
    finally:
        producer.close(timeout=5)


def test_the_crm_principal_publishes_facts_and_the_api_reads_them(sasl_broker: str) -> None:
    company_id = f"C-SASL-{uuid.uuid4().hex[:8]}"
    line = (
        f'{{"type": "company.registered", "id": "f-{company_id}", "at": "2025-01-06T09:00:00+08:00", '
        f'"source": "crm", "company_id": "{company_id}", "name": "Acme"}}'
    )
    with principal(_principal_env("crm")):
        publisher = FactPublisher(sasl_broker, NAMESPACE, role="crm")
        try:
            report = publisher.publish(line, "crm.jsonl")
        finally:
            publisher.close()
    assert (report.published, len(report.rejected)) == (1, 0)
    with principal(_principal_env("api")):
        reader = FactReader(sasl_broker, topic_name(FACTS, NAMESPACE))
        try:
            ids = {fact.id for batch in reader.drain() for fact in batch}
        finally:
            reader.close()
    assert f"f-{company_id}" in ids


@pytest.mark.parametrize(
    "topic",
    [PROJECTIONS["blacklist"], DERIVED["blacklist-changes"], DERIVED["penalties"]],
    ids=lambda t: t.name,
)
def test_the_crm_principal_cannot_write_a_derived_topic(sasl_broker: str, topic: object) -> None:
    with principal(_principal_env("crm")), pytest.raises(TopicAuthorizationFailedError):
        _send(sasl_broker, topic_name(topic, NAMESPACE))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("user", "topic", "allowed"),
    [
        ("worker", PROJECTIONS["blacklist"], True),  # the same topic: refused for whom, not what
        ("worker", FACTS, False),  # a worker derives, it never adds a fact
        ("api", DERIVED["admission-decisions"], True),
        ("api", FACTS, True),  # admission.refused facts (only those, by the code)
        ("crm", REJECTS, True),
        ("crm", DERIVED["admission-decisions"], False),
    ],
    ids=lambda v: v.name if hasattr(v, "name") else str(v),
)
def test_each_principal_writes_only_its_own_topics(
    sasl_broker: str, user: str, topic: object, allowed: bool
) -> None:
    with principal(_principal_env(user)):
        if allowed:
            _send(sasl_broker, topic_name(topic, NAMESPACE))  # type: ignore[arg-type]
        else:
            with pytest.raises(TopicAuthorizationFailedError):
                _send(sasl_broker, topic_name(topic, NAMESPACE))  # type: ignore[arg-type]


def test_a_wrong_password_is_refused_at_authentication(sasl_broker: str) -> None:
    host, port = sasl_broker.rsplit(":", 1)
    with pytest.raises(AuthenticationFailed) as refused:
        probe(host, int(port), 10, Scram("SCRAM-SHA-512", "crm", "not-the-password"))
    assert refused.value.code == SASL_AUTHENTICATION_FAILED
    # the same exchange with the right password goes through to the metadata
    env = _principal_env("crm")
    with open(env["HOTLINE_KAFKA_PASSWORD_FILE"], encoding="utf-8") as f:
        password = f.read().removesuffix("\n")
    assert probe(host, int(port), 10, Scram("SCRAM-SHA-512", "crm", password))["brokers"]


def test_the_publisher_with_a_wrong_password_does_not_get_in(sasl_broker: str) -> None:
    env = {k: v for k, v in _principal_env("crm").items() if k != "HOTLINE_KAFKA_PASSWORD_FILE"}
    with principal({**env, "HOTLINE_KAFKA_PASSWORD": "not-the-password"}), pytest.raises(PublishError):
        FactPublisher(sasl_broker, NAMESPACE, role="crm", connect_timeout_s=3)
