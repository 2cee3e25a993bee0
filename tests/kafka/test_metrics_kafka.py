"""Prometheus metrics on a real broker: a running worker reports its lag per partition over its own
/metrics port until it has caught up, and the HTTP ingest counts what a real publisher did."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

with warnings.catch_warnings():  # Starlette asks for httpx2 instead of httpx; the client works the same
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from access.roles import Role
from consumers.kafka_log import ensure_topics
from consumers.worker.status import read_status
from producers.http_ingest import ingest_app
from producers.kafka_producer import FactPublisher, PublishError
from producers.synthetic import generate
from schemas.topics import PARTITIONS
from tests.kafka.test_producers import MIXED
from tests.kafka.test_worker import drop_topics, publish
from tests.unit.credentials import Credentials

ROOT = Path(__file__).parents[2]
_SAMPLE = re.compile(r"^(\w+)(?:\{([^}]*)\})? (\S+)$", re.M)


def samples(text: str) -> dict[tuple[str, str], float]:
    """(name, labels as written) -> value, from the text exposition format."""
    return {(name, labels or ""): float(v) for name, labels, v in _SAMPLE.findall(text)}


def scrape(port: int, token: str) -> dict[tuple[str, str], float]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        return samples(answer.read().decode())


@pytest.fixture
def namespace(kafka_broker: str) -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_broker, name)  # fails, never skips, without a broker
    yield name
    drop_topics(kafka_broker, name)


def test_worker_reports_lag_per_partition_until_caught_up(
    kafka_broker: str, namespace: str, tmp_path: Path
) -> None:
    creds = Credentials(tmp_path)
    facts = generate(seed=4, companies=80, engineers=800, months=2)
    distinct = len({fact.id for fact in facts})
    env = {
        **os.environ,
        "HOTLINE_METRICS_PORT": "0",
        "HOTLINE_TOKENS": str(creds.store.path),
        "PYTHONUNBUFFERED": "1",
    }
    datadir = tmp_path / "worker"
    log = (tmp_path / "worker.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "consumers.worker", "--index", "0", "--of", "1", "--servers", kafka_broker,
         "--namespace", namespace, "--datadir", str(datadir)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    reader = creds.tokens[Role.READER]
    lag_names = [("hotline_worker_lag_records", f'partition="{p}"') for p in range(PARTITIONS)]
    seen_behind = 0.0
    try:
        deadline = time.monotonic() + 180
        port = None
        while port is None and time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            port = (read_status(datadir / "status.json") or {}).get("metrics_port")
            time.sleep(0.05)
        assert port is not None
        # The whole backlog written while the worker is stopped: it then reads it 5,000 records at
        # a time, and the gauge shows what it has not read yet while we watch.
        proc.send_signal(signal.SIGSTOP)
        try:
            publish(kafka_broker, namespace, facts)
        finally:
            proc.send_signal(signal.SIGCONT)
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            got = scrape(port, reader)
            behind = sum(got[name] for name in lag_names)
            seen_behind = max(seen_behind, behind)
            if got[("hotline_worker_facts", "")] == distinct and behind == 0:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the worker did not catch up: {got}")
        assert got[("hotline_worker_facts_applied_total", "")] == distinct
        assert got[("hotline_worker_records_received_total", "")] >= len(facts)
        assert got[("hotline_worker_ready", "")] == 1
        assert got[("hotline_worker_records_undecodable_total", "")] == 0
        # it was behind at some point: the gauge follows end offset - position, it is not stuck at 0
        assert 0 < seen_behind <= len(facts)
        with pytest.raises(urllib.error.HTTPError) as refused:
            scrape(port, creds.tokens[Role.ROUTER])
        assert refused.value.code == 403
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_http_ingest_counts_what_the_publisher_did(kafka_broker: str, namespace: str, tmp_path: Path) -> None:
    creds = Credentials(tmp_path)
    crm = creds.headers(Role.PRODUCER_CRM, **{"content-type": "application/x-ndjson"})
    with (
        FactPublisher(kafka_broker, namespace) as publisher,
        TestClient(ingest_app(publisher, creds.store)) as client,
    ):
        body = "\n".join(MIXED).encode()
        for _ in range(2):
            assert client.post("/facts", content=body, headers=crm).status_code == 202
        sent = publisher._send

        def broken(*args: object, **kwargs: object) -> None:
            raise PublishError("the broker did not acknowledge")

        publisher._send = broken  # type: ignore[method-assign]
        assert client.post("/facts", content=body, headers=crm).status_code == 503
        publisher._send = sent  # type: ignore[method-assign]
        got = samples(client.get("/metrics", headers=creds.headers(Role.READER)).text)
    # 3 of MIXED's lines are the CRM's and good; the second post finds them on the topic already
    assert got[("hotline_ingest_facts_accepted_total", "")] == 6
    assert got[("hotline_ingest_facts_duplicate_total", "")] == 3
    assert got[("hotline_ingest_lines_rejected_total", "")] == 2 * 9
    rejects = {labels: v for (name, labels), v in got.items() if name == "hotline_ingest_rejects_total"}
    assert rejects == {
        'field="none"': 2,
        'field="type"': 2 * 5,
        'field="several"': 2,
        'field="at"': 2,
        'field="company_id"': 2,
    }
    assert got[("hotline_ingest_publish_errors_total", "")] == 1
    assert got[("hotline_ingest_http_request_duration_seconds_count", 'route="/facts",status="202"')] == 2
    assert got[("hotline_ingest_http_request_duration_seconds_count", 'route="/facts",status="503"')] == 1


# --- hotline serve: /metrics and /ready as the process wires them -------------------------------------
class Forwarder:
    """A TCP relay to the broker: the API bootstraps through it, and closing it makes the bootstrap
    address unreachable while the broker itself (shared with other tests) keeps running."""

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self.target = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            b.close()

    def close(self) -> None:
        self.listener.close()


def test_serve_reports_metrics_and_is_not_ready_without_a_broker(
    kafka_broker: str, namespace: str, tmp_path: Path
) -> None:
    creds = Credentials(tmp_path)
    forwarder = Forwarder(kafka_broker)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (tmp_path / "serve.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "consumers.api", "serve", "--port", str(port), "--servers",
         f"127.0.0.1:{forwarder.port}", "--namespace", namespace, "--tokens", str(creds.store.path),
         "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    reader = {"Authorization": f"Bearer {creds.tokens[Role.READER]}"}

    def get(path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(
                urllib.request.Request(url + path, headers=headers or {}), timeout=5
            ) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()
        except OSError:
            return 0, ""

    def wait_for(path: str, status: int, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            got, body = get(path)
            if got == status:
                return body
            time.sleep(0.1)
        pytest.fail(f"{path} never answered {status}")

    try:
        wait_for("/ready", 200)
        assert get("/metrics")[0] == 401
        status, text = get("/metrics", reader)
        got = samples(text)
        assert status == 200
        assert got[("hotline_api_broker_reachable", "")] == 1 and got[("hotline_api_ready", "")] == 1
        assert got[("hotline_api_http_request_duration_seconds_count", 'route="/ready",status="200"')] >= 1
        forwarder.close()
        body = wait_for("/ready", 503, timeout=10)
        assert f"no Kafka broker answers at 127.0.0.1:{forwarder.port}" in body
        got = samples(get("/metrics", reader)[1])
        assert got[("hotline_api_broker_reachable", "")] == 0 and got[("hotline_api_ready", "")] == 0
    finally:
        forwarder.close()
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
